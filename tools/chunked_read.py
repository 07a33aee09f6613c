"""Read a large OpenSlide region in bounded chunks, each resampled to its share of the output."""

from __future__ import annotations

import math

import numpy as np
import openslide

from tools.pixels import read_openslide_rgb, resize_rgb
from tools.types import Box

__all__ = ["read_chunked"]


def read_chunked(
    handle: openslide.OpenSlide,
    box: Box,
    level: int,
    out_w: int,
    out_h: int,
    *,
    chunk_pixels: int,
) -> tuple[np.ndarray, float]:
    """Read ``box`` (level-0 px) from ``level`` into an ``out_w`` × ``out_h`` RGB image.

    The output is cut into squares whose source, at ``level``, holds at most ``chunk_pixels``
    pixels; each square is decoded, resampled and pasted, so memory stays near one chunk plus
    the output whatever the size of the box.

    Returns:
        The RGB uint8 image and the share of fully transparent output pixels.

    Raises:
        openslide.OpenSlideError: a chunk could not be decoded.
    """
    level_ds = float(handle.level_downsamples[level])
    sx, sy = box.width / out_w, box.height / out_h  # level-0 px per output px
    side = max(1, math.floor(math.sqrt(chunk_pixels) * level_ds / max(sx, sy)))
    image = np.empty((out_h, out_w, 3), dtype=np.uint8)
    transparent = 0.0
    for oy0 in range(0, out_h, side):
        oy1 = min(out_h, oy0 + side)
        y0 = box.y0 + math.floor(oy0 * sy)
        y1 = min(box.y1, box.y0 + math.ceil(oy1 * sy))
        for ox0 in range(0, out_w, side):
            ox1 = min(out_w, ox0 + side)
            x0 = box.x0 + math.floor(ox0 * sx)
            x1 = min(box.x1, box.x0 + math.ceil(ox1 * sx))
            read_w = max(1, math.ceil((x1 - x0) / level_ds))
            read_h = max(1, math.ceil((y1 - y0) / level_ds))
            rgb, share = read_openslide_rgb(handle, x0, y0, level, read_w, read_h)
            image[oy0:oy1, ox0:ox1] = resize_rgb(rgb, ox1 - ox0, oy1 - oy0)
            transparent += share * (ox1 - ox0) * (oy1 - oy0)
    return image, transparent / (out_w * out_h)
