"""Lay a grid of fixed-size tiles over a slide at a µm/px or level and keep the tissue tiles."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.errors import ToolInputError
from tools.scale import downsample_for
from tools.slide import best_level
from tools.tissue import TissueMap
from tools.types import Box, SlideMetadata

__all__ = ["Tile", "tile_grid"]


@dataclass(frozen=True)
class Tile:
    """One tile and how to read it.

    Attributes:
        box: the tile in level-0 pixels.
        tile_px: output side in pixels (the tile is square).
        downsample: level-0 pixels per output pixel.
        read_level: pyramid level to decode (largest downsample not above ``downsample``).
        mpp: µm per output pixel, None when the slide has no mpp.
        tissue: share of the tile covered by tissue (1.0 when no tissue map was given).
    """

    box: Box
    tile_px: int
    downsample: float
    read_level: int
    mpp: float | None
    tissue: float


def _downsample(meta: SlideMetadata, mpp: float | None, level: int | None) -> float:
    if mpp is not None and level is not None:
        msg = "give either mpp or level for a tile grid, not both"
        raise ToolInputError(msg)
    return downsample_for(meta, level=level, mpp=mpp)


def _tissue_shares(tissue: TissueMap, boxes: list[Box]) -> np.ndarray:
    """Mean of the tissue mask over each level-0 box, via a summed-area table."""
    mask = tissue.mask
    table = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), dtype=np.int64)
    table[1:, 1:] = mask.astype(np.int64).cumsum(0).cumsum(1)
    shares = np.empty(len(boxes))
    rows, cols = mask.shape
    for i, box in enumerate(boxes):
        c0 = min(cols - 1, math.floor(box.x0 / tissue.downsample))
        r0 = min(rows - 1, math.floor(box.y0 / tissue.downsample))
        c1 = max(c0 + 1, min(cols, math.ceil(box.x1 / tissue.downsample)))
        r1 = max(r0 + 1, min(rows, math.ceil(box.y1 / tissue.downsample)))
        total = table[r1, c1] - table[r0, c1] - table[r1, c0] + table[r0, c0]
        shares[i] = total / ((r1 - r0) * (c1 - c0))
    return shares


def tile_grid(
    slide_meta: SlideMetadata,
    tissue: TissueMap | None,
    *,
    tile_px: int,
    mpp: float | None = None,
    level: int | None = None,
    min_tissue: float = 0.5,
) -> list[Tile]:
    """Return the non-overlapping tiles of ``tile_px`` output pixels that hold enough tissue.

    Tiles are laid row by row from the level-0 origin; partial tiles at the right and bottom
    edges are left out, so every box lies on the slide. The tile side in level-0 pixels is
    ``round(tile_px × downsample)``.

    Args:
        slide_meta: the slide's metadata.
        tissue: tissue map of the slide; None keeps every tile.
        tile_px: tile side in output pixels.
        mpp: µm per output pixel (exclusive with ``level``); level 0 when both are None.
        level: pyramid level whose resolution the tiles have.
        min_tissue: smallest tissue share (0..1) a kept tile has.
    """
    if tile_px < 1:
        msg = f"tile_px must be positive, got {tile_px}"
        raise ToolInputError(msg)
    downsample = _downsample(slide_meta, mpp, level)
    side = max(1, round(tile_px * downsample))
    boxes = [
        Box.from_xywh(x, y, side, side)
        for y in range(0, slide_meta.height - side + 1, side)
        for x in range(0, slide_meta.width - side + 1, side)
    ]
    shares = np.ones(len(boxes)) if tissue is None else _tissue_shares(tissue, boxes)
    read_level = best_level([lv.downsample for lv in slide_meta.levels], downsample)
    actual = side / tile_px
    tile_mpp = None if slide_meta.mpp_x is None else slide_meta.mpp_x * actual
    return [
        Tile(box, tile_px, actual, read_level, tile_mpp, float(share))
        for box, share in zip(boxes, shares, strict=True)
        if tissue is None or share >= min_tissue
    ]
