"""The most cellular field of a slide: the tissue window darkest in haematoxylin (thumbnail)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from core.errors import ToolInputError
from core.lazy_import import lazy_module
from tools.base import ToolContext
from tools.nuclei import haematoxylin_od
from tools.types import Box

ndi = lazy_module("scipy.ndimage")

__all__ = ["MIN_TISSUE_SHARE", "densest_window"]

MIN_TISSUE_SHARE = 0.5
"""A candidate window is at least this much tissue: an edge of tissue against glass is no field."""


def densest_window(ctx: ToolContext, width: int, height: int) -> Box:
    """The level-0 box of ``width`` × ``height`` whose tissue holds the most haematoxylin.

    Mean haematoxylin optical density over the window's tissue, on the tissue map's thumbnail:
    dense nuclei stain it darkest, so it stands for cellularity (not a count). Windows under
    ``MIN_TISSUE_SHARE`` tissue are skipped.
    """
    assert ctx.slide is not None
    meta = ctx.slide.metadata
    tissue = ctx.slides.tissue(ctx.slide, ctx.settings.thumbnail_px)
    if not tissue.regions:
        msg = "no tissue was found on this slide, so there is no cellular area to go to"
        raise ToolInputError(msg)
    thumb, _ = ctx.slide.thumbnail(ctx.settings.thumbnail_px)
    mask = tissue.mask
    if thumb.shape[:2] != mask.shape:
        size = (mask.shape[1], mask.shape[0])
        thumb = np.asarray(Image.fromarray(thumb).resize(size, Image.Resampling.BILINEAR))
    h = haematoxylin_od(thumb) * mask
    side = (max(1, round(height / tissue.downsample)), max(1, round(width / tissue.downsample)))
    share = ndi.uniform_filter(mask.astype(np.float32), size=side, mode="constant")
    stain = ndi.uniform_filter(h.astype(np.float32), size=side, mode="constant")
    score = np.where(share >= MIN_TISSUE_SHARE, stain / np.maximum(share, 1e-6), -1.0)
    if float(score.max()) < 0:
        score = np.where(share > 0, stain / np.maximum(share, 1e-6), -1.0)
    row, col = np.unravel_index(int(np.argmax(score)), score.shape)
    cx = (col + 0.5) * tissue.downsample
    cy = (row + 0.5) * tissue.downsample
    # shifted onto the slide whole where it fits, rather than cut at the edge
    x0 = min(max(0, round(cx - width / 2)), max(0, meta.width - width))
    y0 = min(max(0, round(cy - height / 2)), max(0, meta.height - height))
    inside = Box(x0=x0, y0=y0, x1=x0 + width, y1=y0 + height).clip(meta.width, meta.height)
    assert inside is not None
    return inside
