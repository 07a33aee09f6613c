"""Convert boxes between level-0 slide px, the read image and the resized model input."""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.errors import ModelOutputError, ToolInputError
from tools.types import Box

__all__ = [
    "MAX_ASPECT_RATIO",
    "PROCESSOR_MAX_PIXELS",
    "PROCESSOR_MIN_PIXELS",
    "level0_box_to_image",
    "level0_box_to_model",
    "model_box_to_level0",
    "model_input_size",
    "norm1000_box_to_level0",
    "read_image_size",
]

PROCESSOR_MIN_PIXELS = 56 * 56
"""Default ``min_pixels`` of transformers' ``Qwen2VLImageProcessor`` (model-input px²)."""
PROCESSOR_MAX_PIXELS = 28 * 28 * 1280
"""Default ``max_pixels`` of transformers' ``Qwen2VLImageProcessor`` (model-input px²).

Released Qwen2.5-VL checkpoints and qwen-vl-utils use a larger cap (16384 × 28 × 28); pass what
the serving processor is configured with.
"""
MAX_ASPECT_RATIO = 200
"""Longest/shortest side above which the Qwen2-VL processors refuse an image."""

_EPS = 1e-6  # float slack when rounding outward, in level-0 px


def model_input_size(
    width: int, height: int, *, min_pixels: int, max_pixels: int, factor: int = 28
) -> tuple[int, int]:
    """Size (width, height) in model-input px that Qwen2-VL/2.5-VL resize an image to.

    Reproduces ``smart_resize``: each side rounded to a multiple of ``factor`` (patch 14 ×
    merge 2), then, if the area leaves [min_pixels, max_pixels], both sides scaled by one
    factor and floored (too large) or ceiled (too small) to multiples of ``factor``. Matches
    ``qwen_vl_utils/vision_process.py::smart_resize`` (QwenLM/Qwen2-VL, Qwen3-VL repos) and
    ``transformers/models/qwen2_vl/image_processing_qwen2_vl.py::smart_resize`` for every image
    whose sides are at least ``factor``; for thinner images this keeps each side at least one
    ``factor`` (as qwen-vl-utils and recent transformers do) instead of refusing it (as
    transformers 4.49-4.50 did).

    Args:
        width: image width in px (the image sent to the model).
        height: image height in px.
        min_pixels: smallest model-input area, in model-input px².
        max_pixels: largest model-input area, in model-input px².
        factor: side granularity in model-input px.

    Raises:
        ToolInputError: a non-positive size or budget, or an aspect ratio over 200.
    """
    if min(width, height, factor, min_pixels) < 1 or max_pixels < min_pixels:
        msg = (
            f"cannot size a {width}×{height} image for the model with factor {factor}, "
            f"min_pixels {min_pixels}, max_pixels {max_pixels}"
        )
        raise ToolInputError(msg)
    if max(width, height) / min(width, height) > MAX_ASPECT_RATIO:
        msg = (
            f"image {width}×{height} px is too elongated for the model (limit {MAX_ASPECT_RATIO}:1)"
        )
        raise ToolInputError(msg)
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return w_bar, h_bar


def read_image_size(region: Box, downsample: float) -> tuple[int, int]:
    """Size (width, height) in output px of ``region`` (level-0 px) read at ``downsample``.

    The same rounding as ``Slide.read_region``: ``max(1, round(side / downsample))``.
    """
    if not downsample > 0:
        msg = f"downsample must be positive, got {downsample}"
        raise ToolInputError(msg)
    return max(1, round(region.width / downsample)), max(1, round(region.height / downsample))


def _finite_box(box_xyxy: Sequence[float], frame: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in box_xyxy)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        msg = f"box {list(box_xyxy)!r:.80} in {frame} is not 4 finite numbers"
        raise ModelOutputError(msg)
    x1, y1, x2, y2 = values
    if x2 <= x1 or y2 <= y1:
        msg = f"box {list(values)} in {frame} is empty or has its corners swapped"
        raise ModelOutputError(msg)
    return x1, y1, x2, y2


def _check_size(size: tuple[int, int], what: str) -> tuple[int, int]:
    width, height = size
    if width < 1 or height < 1:
        msg = f"{what} must be positive, got {width}×{height}"
        raise ToolInputError(msg)
    return width, height


def model_box_to_level0(
    box_xyxy: Sequence[float],
    *,
    model_size: tuple[int, int],
    region: Box,
    downsample: float | None = None,
) -> Box:
    """Map a box in resized model-input px to level-0 px, rounded outward, clipped to ``region``.

    The model saw ``region`` (level-0 px), read as an image and resized to ``model_size``
    (see ``model_input_size``), so one model-input px spans ``region.width / model_w`` by
    ``region.height / model_h`` level-0 px; the read's own scale cancels out.

    Args:
        box_xyxy: (x1, y1, x2, y2) in resized model-input px, x2 > x1 and y2 > y1.
        model_size: (width, height) of the resized model input, in model-input px.
        region: the level-0 box the image showed.
        downsample: level-0 px per px of the image read for ``region``; when given, the box is
            rounded outward on that image's pixel grid first (the model cannot point finer),
            so that ``level0_box_to_image`` maps it back onto whole image px.

    Raises:
        ModelOutputError: the box is not finite, is empty, or lies outside the model input.
        ToolInputError: a non-positive ``model_size`` or ``downsample``.
    """
    x1, y1, x2, y2 = _finite_box(box_xyxy, "resized model-input px")
    model_w, model_h = _check_size(model_size, "model input size")
    if downsample is not None:
        image_w, image_h = read_image_size(region, downsample)
        sx, sy = image_w / model_w, image_h / model_h
        x1, x2 = math.floor(x1 * sx + _EPS) / sx, math.ceil(x2 * sx - _EPS) / sx
        y1, y2 = math.floor(y1 * sy + _EPS) / sy, math.ceil(y2 * sy - _EPS) / sy
    sx, sy = region.width / model_w, region.height / model_h
    level0 = Box(
        x0=math.floor(region.x0 + x1 * sx + _EPS),
        y0=math.floor(region.y0 + y1 * sy + _EPS),
        x1=math.ceil(region.x0 + x2 * sx - _EPS),
        y1=math.ceil(region.y0 + y2 * sy - _EPS),
    )
    clipped = _intersect(level0, region)
    if clipped is None:
        msg = f"box {[x1, y1, x2, y2]} lies outside the {model_w}×{model_h} px model input"
        raise ModelOutputError(msg)
    return clipped


def norm1000_box_to_level0(
    box_xyxy: Sequence[float], *, region: Box, downsample: float | None = None
) -> Box:
    """Map a box on Qwen2-VL's 0-1000 grid over the image of ``region`` to level-0 px.

    Same rounding, clipping and errors as ``model_box_to_level0``; the grid is 1000 × 1000
    whatever the image's shape.
    """
    return model_box_to_level0(
        box_xyxy, model_size=(1000, 1000), region=region, downsample=downsample
    )


def level0_box_to_image(
    box: Box, region: Box, downsample: float
) -> tuple[float, float, float, float]:
    """Map a level-0 box to (x1, y1, x2, y2) in px of the image read for ``region``.

    For drawing overlays on a ``read_region`` result: its size is ``read_image_size(region,
    downsample)``. Not clipped: parts outside the region fall outside the image.
    """
    image_w, image_h = read_image_size(region, downsample)
    sx, sy = image_w / region.width, image_h / region.height
    return (
        (box.x0 - region.x0) * sx,
        (box.y0 - region.y0) * sy,
        (box.x1 - region.x0) * sx,
        (box.y1 - region.y0) * sy,
    )


def level0_box_to_model(
    box: Box, *, model_size: tuple[int, int], region: Box
) -> tuple[float, float, float, float]:
    """Map a level-0 box to (x1, y1, x2, y2) in resized model-input px (e.g. for a prompt).

    The inverse of ``model_box_to_level0`` before rounding; not clipped.
    """
    model_w, model_h = _check_size(model_size, "model input size")
    sx, sy = model_w / region.width, model_h / region.height
    return (
        (box.x0 - region.x0) * sx,
        (box.y0 - region.y0) * sy,
        (box.x1 - region.x0) * sx,
        (box.y1 - region.y0) * sy,
    )


def _intersect(box: Box, region: Box) -> Box | None:
    x0, y0 = max(box.x0, region.x0), max(box.y0, region.y0)
    x1, y1 = min(box.x1, region.x1), min(box.y1, region.y1)
    if x1 <= x0 or y1 <= y0:
        return None
    return Box(x0=x0, y0=y0, x1=x1, y1=y1)
