"""Decode plain (non-pyramidal) images into memory, with a decompression-bomb guard."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

from core.errors import SlideOpenError

__all__ = ["MAX_IMAGE_PIXELS", "load_plain_image"]

MAX_IMAGE_PIXELS = 16384 * 16384
"""Decompression-bomb guard: largest plain (non-pyramidal) image opened, in pixels."""


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def load_plain_image(path: Path) -> np.ndarray:
    """Decode a plain image (PNG, JPEG, strip TIFF...) into an RGB or RGBA uint8 array."""
    try:
        return _load_with_pil(path)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as pil_error:
        if path.suffix.lower() not in (".tif", ".tiff"):
            msg = f"{path.name} is not a slide or image format we can read"
            raise SlideOpenError(msg) from pil_error
    return _load_with_tifffile(path)


def _load_with_pil(path: Path) -> np.ndarray:
    with warnings.catch_warnings():
        # Our MAX_IMAGE_PIXELS guard replaces PIL's bomb warning (its hard error still applies);
        # PIL also warns on corrupt EXIF of truncated files, which then fail to decode anyway.
        warnings.simplefilter("ignore")
        try:
            with Image.open(path) as image:
                _guard_size(path, image.width, image.height)
                image.load()
                mode = (
                    "RGBA" if ("A" in image.getbands() or "transparency" in image.info) else "RGB"
                )
                return np.asarray(image.convert(mode))
        except Image.DecompressionBombError as error:
            msg = f"{path.name} is too large to open as a plain image ({_one_line(error)})"
            raise SlideOpenError(msg) from error


def _load_with_tifffile(path: Path) -> np.ndarray:
    try:
        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            _guard_size(path, page.imagewidth, page.imagelength)
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


def _to_uint8_rgb(path: Path, array: np.ndarray) -> np.ndarray:
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4) or array.dtype != np.uint8:
        msg = f"{path.name}: unsupported image layout {array.shape} {array.dtype}"
        raise SlideOpenError(msg)
    return np.ascontiguousarray(array)


def _guard_size(path: Path, width: int, height: int) -> None:
    if width * height > MAX_IMAGE_PIXELS:
        msg = (
            f"{path.name} is a {width}×{height} plain image, over the {MAX_IMAGE_PIXELS} pixel"
            " limit for non-pyramidal images; convert it to a pyramidal TIFF"
        )
        raise SlideOpenError(msg)
