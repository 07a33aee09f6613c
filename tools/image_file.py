"""Decode plain (non-pyramidal) images into memory, with a decompression-bomb guard."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

from core.errors import SlideOpenError
from tools.pixel_budget import PixelBudget

__all__ = ["load_plain_image"]


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def load_plain_image(path: Path, budget: PixelBudget | None = None) -> np.ndarray:
    """Decode a plain image (PNG, JPEG, strip TIFF...) into an RGB or RGBA uint8 array.

    The size its header declares is checked against ``budget.image_pixels`` before decoding
    (a decompression-bomb guard); decoding then takes about 7 bytes per pixel at its peak.
    """
    budget = budget or PixelBudget()
    try:
        return _load_with_pil(path, budget)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as pil_error:
        if path.suffix.lower() not in (".tif", ".tiff"):
            msg = f"{path.name} is not a slide or image format we can read"
            raise SlideOpenError(msg) from pil_error
    return _load_with_tifffile(path, budget)


def _load_with_pil(path: Path, budget: PixelBudget) -> np.ndarray:
    with warnings.catch_warnings():
        # Our MAX_IMAGE_PIXELS guard replaces PIL's bomb warning (its hard error still applies);
        # PIL also warns on corrupt EXIF of truncated files, which then fail to decode anyway.
        warnings.simplefilter("ignore")
        try:
            with Image.open(path) as image:
                budget.check_image(path.name, image.width, image.height)
                image.load()
                mode = (
                    "RGBA" if ("A" in image.getbands() or "transparency" in image.info) else "RGB"
                )
                if image.mode == mode:  # no converted copy: PIL's buffer plus the array
                    return np.asarray(image)
                with image.convert(mode) as converted:
                    return np.asarray(converted)
        except Image.DecompressionBombError as error:
            msg = (
                f"{path.name} is too large to open as a plain image, over the "
                f"{budget.image_pixels} pixel limit for images without a pyramid (setting "
                f"SMARTPATH_MAX_IMAGE_PIXELS; the image decoder's own limit: {_one_line(error)})"
            )
            raise SlideOpenError(msg) from error


def _load_with_tifffile(path: Path, budget: PixelBudget) -> np.ndarray:
    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            budget.check_image(path.name, page.imagewidth, page.imagelength)
            _check_decoded_bytes(path, page, budget)
            array = page.asarray()
    except SlideOpenError:
        raise
    except Exception as error:  # tifffile and imagecodecs raise many types
        msg = (
            f"{path.name} is a TIFF that neither OpenSlide nor the plain-image reader can open "
            f"(truncated or corrupt?): {_one_line(error)}"
        )
        raise SlideOpenError(msg) from error
    return _to_uint8_rgb(path, array)


def _check_decoded_bytes(path: Path, page: tifffile.TiffPage, budget: PixelBudget) -> None:
    """Refuse a page whose decoded samples take more memory than an RGBA image at the limit.

    A page of 16-bit or floating-point samples takes 2 to 8 times the bytes of 8-bit ones.
    """
    itemsize = np.dtype(page.dtype).itemsize if page.dtype is not None else 1
    decoded = page.imagewidth * page.imagelength * max(1, page.samplesperpixel) * itemsize
    if decoded > 4 * budget.image_pixels:
        msg = (
            f"{path.name}: its {page.imagewidth}×{page.imagelength} pixels of "
            f"{page.samplesperpixel} × {page.dtype} samples take {decoded} bytes decoded, over "
            f"the {4 * budget.image_pixels} byte limit for images without a pyramid (setting "
            "SMARTPATH_MAX_IMAGE_PIXELS); convert it to an 8-bit pyramidal TIFF"
        )
        raise SlideOpenError(msg)


def _to_uint8_rgb(path: Path, array: np.ndarray) -> np.ndarray:
    """RGB or RGBA uint8 from gray, gray + alpha, RGB or RGBA of 8/16-bit or float samples.

    Floating-point samples are read as 0-1 (or 0-255 when the largest is above 1).
    """
    array = _to_uint8(path, array)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim == 3 and array.shape[2] in (1, 2):
        gray = np.repeat(array[..., :1], 3, axis=2)
        array = np.concatenate([gray, array[..., 1:]], axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        msg = (
            f"{path.name}: unsupported image layout {array.shape} (expected gray, gray + alpha, "
            "RGB or RGBA)"
        )
        raise SlideOpenError(msg)
    return np.ascontiguousarray(array)


def _to_uint8(path: Path, array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return np.where(array, 255, 0).astype(np.uint8)
    if array.dtype == np.uint16:
        return (array >> 8).astype(np.uint8)
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or array.size == 0 or float(array.min()) < 0:
            msg = f"{path.name}: its {array.dtype} samples are negative, NaN or infinite"
            raise SlideOpenError(msg)
        scale = 255.0 if float(array.max()) <= 1.0 else 1.0
        return np.clip(np.rint(array * scale), 0, 255).astype(np.uint8)
    msg = f"{path.name}: unsupported sample type {array.dtype} (8/16-bit or floating point)"
    raise SlideOpenError(msg)
