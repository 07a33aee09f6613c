"""Pixel conversion for the slide layer: OpenSlide ARGB buffers and RGBA arrays to RGB on white."""

from __future__ import annotations

import ctypes
import sys

import numpy as np
import openslide
from openslide import lowlevel
from PIL import Image

__all__ = ["composite_on_white", "read_openslide_rgb", "resize_rgb"]


def composite_on_white(rgba: np.ndarray) -> tuple[np.ndarray, float]:
    """Composite straight (non-premultiplied) RGBA onto white.

    Args:
        rgba: uint8 array (height, width, 4) or (height, width, 3); RGB input passes through.

    Returns:
        The RGB uint8 image and the share of pixels whose alpha is 0 (0.0 for RGB input).
    """
    if rgba.ndim != 3 or rgba.shape[2] not in (3, 4):
        msg = f"expected an (H, W, 3|4) array, got shape {rgba.shape}"
        raise ValueError(msg)
    if rgba.shape[2] == 3:
        return np.ascontiguousarray(rgba, dtype=np.uint8), 0.0
    alpha = rgba[..., 3]
    transparent = float(np.count_nonzero(alpha == 0)) / max(alpha.size, 1)
    if transparent == 0.0 and bool(np.all(alpha == 255)):
        return np.ascontiguousarray(rgba[..., :3]), 0.0
    a = alpha.astype(np.float32)[..., None] / 255.0
    rgb = rgba[..., :3].astype(np.float32) * a + 255.0 * (1.0 - a)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8), transparent


def _premultiplied_argb_to_rgb(buf: np.ndarray) -> tuple[np.ndarray, float]:
    """Turn OpenSlide's premultiplied native-endian ARGB uint32 (H, W) into RGB on white."""
    if sys.byteorder != "little":  # pragma: no cover - every supported platform is little-endian
        buf = buf.byteswap()
    bgra = buf.view(np.uint8).reshape(*buf.shape, 4)
    alpha = bgra[..., 3]
    rgb = np.empty((*buf.shape, 3), dtype=np.uint8)
    for channel in range(3):  # three plain copies beat one reversed-stride gather by ~7x
        rgb[..., channel] = bgra[..., 2 - channel]
    if alpha.min() == 255:
        return rgb, 0.0
    transparent = float(np.count_nonzero(alpha == 0)) / alpha.size
    # Premultiplied "over white": C + (255 - A); C <= A, so no overflow in uint8.
    rgb += (255 - alpha)[..., None]
    return rgb, transparent


def read_openslide_rgb(
    slide: openslide.OpenSlide, x: int, y: int, level: int, width: int, height: int
) -> tuple[np.ndarray, float]:
    """Read a region into RGB uint8 composited on white, bypassing PIL.

    Args:
        slide: an open OpenSlide handle.
        x: left edge in level-0 pixels.
        y: top edge in level-0 pixels.
        level: pyramid level to decode.
        width: width in pixels of ``level``.
        height: height in pixels of ``level``.

    Returns:
        RGB uint8 array (height, width, 3) and the share of fully transparent pixels.

    Raises:
        openslide.OpenSlideError: when OpenSlide cannot decode the region.
    """
    raw = getattr(lowlevel, "_read_region", None)
    osr = getattr(slide, "_osr", None)
    if raw is None or osr is None:  # pragma: no cover - fallback for other openslide-python
        rgba = np.asarray(slide.read_region((x, y), level, (width, height)))
        return composite_on_white(rgba)
    buf = np.empty((height, width), dtype=np.uint32)
    raw(osr, buf.ctypes.data_as(ctypes.POINTER(ctypes.c_uint32)), x, y, level, width, height)
    return _premultiplied_argb_to_rgb(buf)


def resize_rgb(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resample an RGB uint8 image to exactly (width, height) output pixels (antialiased)."""
    if rgb.shape[1] == width and rgb.shape[0] == height:
        return rgb
    image = Image.fromarray(np.ascontiguousarray(rgb))
    return np.asarray(image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0))
