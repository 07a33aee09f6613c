"""Draw the slide overview: the pyramid thumbnail, the tissue outline and numbered ROI boxes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage.morphology import dilation, disk
from skimage.segmentation import find_boundaries

__all__ = ["draw_overview"]

TISSUE_RGB = (0, 160, 0)
ROI_RGB = (220, 30, 30)


def draw_overview(
    thumb: np.ndarray,
    downsample: float,
    *,
    tissue_mask: np.ndarray | None = None,
    rois: Sequence[dict[str, Any]] = (),
) -> Image.Image:
    """Return the thumbnail with the tissue outline and every ROI as a numbered box.

    Args:
        thumb: RGB uint8 thumbnail read from the slide's pyramid (never a label or macro image).
        downsample: level-0 px per thumbnail px.
        tissue_mask: bool tissue mask at any scale; resized to the thumbnail.
        rois: the case's regions (``number`` and ``box`` = [x0, y0, x1, y1] in level-0 px).
    """
    rgb = thumb.copy()
    line = max(2, round(max(rgb.shape[:2]) / 300))  # visible when the panel shrinks the image
    if tissue_mask is not None and tissue_mask.any():
        edge = find_boundaries(_fit(tissue_mask, rgb.shape[:2]), mode="inner")
        rgb[dilation(edge, disk(line // 2))] = TISSUE_RGB
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=max(12, 10 * line))
    for roi in rois:
        x0, y0, x1, y1 = (v / downsample for v in roi["box"])
        x1, y1 = max(x1, x0 + 2), max(y1, y0 + 2)
        draw.rectangle((x0, y0, x1, y1), outline=ROI_RGB, width=line)
        label = str(roi["number"])
        tx, ty = x0 + 2 * line, y0 + 2 * line
        draw.rectangle(draw.textbbox((tx, ty), label, font=font), fill=(255, 255, 255))
        draw.text((tx, ty), label, fill=ROI_RGB, font=font)
    return image


def _fit(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    if mask.shape == shape:
        return mask
    resized = Image.fromarray(mask.astype(np.uint8) * 255).resize(
        (shape[1], shape[0]), Image.Resampling.NEAREST
    )
    return np.asarray(resized) > 0
