"""Classical tissue detection on a slide thumbnail: a mask, tissue regions and their areas."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from core.lazy_import import lazy_module
from tools.slide import Slide
from tools.types import Box

ndi = lazy_module("scipy.ndimage")
_skfilters = lazy_module("skimage.filters")

__all__ = ["TissueMap", "TissueRegion", "detect_tissue", "mask_iou", "resize_mask", "tissue_mask"]

# Thresholds on [0, 1] saturation and mean optical density (log10): Otsu, clamped to a range
# so that slides with almost no tissue (Otsu splits background noise) or almost no background
# still get a sensible cut.
_SAT_RANGE = (0.05, 0.15)
_OD_RANGE = (0.08, 0.20)
_MIN_OBJECT_FRACTION = 5e-4
"""Components smaller than this share of the image (and than 64 px) are dropped as debris."""
_MAX_HOLE_FRACTION = 0.01
"""Holes smaller than this share of the image are filled (lumens, tears inside tissue)."""


@dataclass(frozen=True)
class TissueRegion:
    """One connected tissue component.

    Attributes:
        index: 1-based rank by area (1 = largest).
        box: bounding box in level-0 pixels.
        area_px: tissue area in level-0 pixels² (mask pixels × downsample²).
        area_mm2: tissue area in mm², None when the slide has no µm/px.
        fraction: share of the slide's level-0 area.
    """

    index: int
    box: Box
    area_px: float
    area_mm2: float | None
    fraction: float


@dataclass(frozen=True, eq=False)
class TissueMap:
    """Tissue mask of a whole slide at thumbnail scale.

    Attributes:
        mask: bool array (height, width) in thumbnail pixels.
        downsample: level-0 pixels per mask pixel.
        tissue_fraction: share (0..1) of the slide area that is tissue.
        regions: connected components, largest first.
    """

    mask: np.ndarray
    downsample: float
    tissue_fraction: float
    regions: list[TissueRegion] = field(default_factory=list)


def _saturation_and_density(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pixels = rgb.astype(np.float32)
    high = pixels.max(axis=2)
    low = pixels.min(axis=2)
    saturation = np.where(high > 0, (high - low) / np.maximum(high, 1.0), 0.0)
    density = -np.log10((pixels + 1.0) / 256.0).mean(axis=2)
    return saturation, density


def _clamped_otsu(values: np.ndarray, bounds: tuple[float, float]) -> float:
    if float(values.max()) - float(values.min()) < 1e-6:
        return bounds[1]
    return float(np.clip(_skfilters.threshold_otsu(values), *bounds))


def _pen_marks(rgb: np.ndarray, saturation: np.ndarray) -> np.ndarray:
    """Green, red, strong blue and black marker ink: colours H&E and IHC stains do not produce.

    Red ink is told from eosin by its low blue: eosin pink keeps blue near red, ink does not.
    """
    r, g, b = (rgb[..., i].astype(np.int16) for i in range(3))
    red = (r > 90) & (g * 20 < r * 9) & (b * 20 < r * 11)
    green = (g > r + 25) & (g >= b - 10) & (saturation > 0.25)
    blue = (b > r + 60) & (b > g + 30) & (saturation > 0.55)
    black = (rgb.max(axis=2) < 50) & (saturation < 0.35)
    return green | red | blue | black


def _drop_small(mask: np.ndarray, min_px: int) -> np.ndarray:
    labels, count = ndi.label(mask, structure=np.ones((3, 3), bool))
    if count == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    keep = sizes >= min_px
    keep[0] = False
    return keep[labels]


def _fill_small_holes(mask: np.ndarray, max_px: int) -> np.ndarray:
    holes = ~mask & ndi.binary_fill_holes(mask)
    labels, count = ndi.label(holes)
    if count == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    fill = sizes <= max_px
    fill[0] = False
    return mask | fill[labels]


def tissue_mask(rgb: np.ndarray) -> np.ndarray:
    """Return a bool tissue mask of an RGB uint8 image (thumbnail or tile), same height/width.

    Tissue is stained (saturated) or absorbing (optical density) against a bright, grey
    background: Otsu thresholds on both, clamped to sane ranges, minus pen ink, then
    closing, small-hole filling and removal of debris components.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        msg = f"expected an RGB (H, W, 3) image, got shape {rgb.shape}"
        raise ValueError(msg)
    saturation, density = _saturation_and_density(rgb)
    mask = (saturation > _clamped_otsu(saturation, _SAT_RANGE)) | (
        density > _clamped_otsu(density, _OD_RANGE)
    )
    mask &= ~_pen_marks(rgb, saturation)
    mask = _smooth(mask, radius=max(1, round(min(rgb.shape[:2]) / 512)))
    mask = _fill_small_holes(mask, int(_MAX_HOLE_FRACTION * mask.size))
    return _drop_small(mask, max(64, int(_MIN_OBJECT_FRACTION * mask.size)))


ALL_TISSUE = 0.95
"""A region at least this share tissue is all tissue: its shares of the tissue go unsaid."""


def tissue_fraction_of(image: np.ndarray, side: int = 1024) -> float:
    """Share of an RGB image that is tissue (not glass), by ``tissue_mask`` on a shrunk copy.

    The image is shrunk so that its longest side is at most ``side`` px (the share does not
    depend on the scale); 4 decimals.
    """
    height, width = image.shape[:2]
    scale = min(1.0, side / max(height, width, 1))
    small = np.ascontiguousarray(image[..., :3])
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = np.asarray(Image.fromarray(small).resize(size, Image.Resampling.BILINEAR))
    return round(float(tissue_mask(small).mean()), 4)


def _smooth(mask: np.ndarray, radius: int) -> np.ndarray:
    """Close gaps then open away specks; edge padding keeps tissue that touches the border."""
    pad = radius + 1
    padded = np.pad(mask, pad, mode="edge")
    padded = ndi.binary_closing(padded, structure=_disk(radius))
    padded = ndi.binary_opening(padded, structure=_disk(1))
    return padded[pad:-pad, pad:-pad]


def _disk(radius: int) -> np.ndarray:
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return (xx * xx + yy * yy) <= radius * radius


def _regions(
    mask: np.ndarray, downsample: float, slide_size: tuple[int, int], mpp: float | None
) -> list[TissueRegion]:
    width, height = slide_size
    labels, count = ndi.label(mask, structure=np.ones((3, 3), bool))
    if count == 0:
        return []
    sizes = np.bincount(labels.ravel())[1:]
    slices = ndi.find_objects(labels)
    order = np.argsort(-sizes, kind="stable")
    px_area = downsample * downsample
    regions = []
    for rank, label_index in enumerate(order, start=1):
        rows, cols = slices[label_index]
        box = Box(
            x0=min(width - 1, math.floor(cols.start * downsample)),
            y0=min(height - 1, math.floor(rows.start * downsample)),
            x1=min(width, math.ceil(cols.stop * downsample)),
            y1=min(height, math.ceil(rows.stop * downsample)),
        )
        area_px = float(sizes[label_index]) * px_area
        area_mm2 = None if mpp is None else area_px * mpp * mpp / 1e6
        regions.append(TissueRegion(rank, box, area_px, area_mm2, area_px / (width * height)))
    return regions


def detect_tissue(slide: Slide, *, thumbnail_px: int = 1024) -> TissueMap:
    """Detect tissue on a thumbnail of the whole slide (longest side ``thumbnail_px``).

    Region boxes are in level-0 pixels; areas use the slide's µm/px along x and y.
    """
    meta = slide.metadata
    thumb, downsample = slide.thumbnail(thumbnail_px)
    mask = tissue_mask(thumb)
    mpp = None
    if meta.mpp_x is not None and meta.mpp_y is not None:
        mpp = math.sqrt(meta.mpp_x * meta.mpp_y)
    regions = _regions(mask, downsample, (meta.width, meta.height), mpp)
    return TissueMap(
        mask=mask, downsample=downsample, tissue_fraction=float(mask.mean()), regions=regions
    )


def resize_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a bool mask to ``shape`` (rows, cols) with nearest-neighbour sampling."""
    if mask.shape == tuple(shape):
        return mask.astype(bool)
    image = Image.fromarray(mask.astype(np.uint8) * 255)
    resized = image.resize((shape[1], shape[0]), Image.Resampling.NEAREST)
    return np.asarray(resized) > 127


def mask_iou(
    ours: np.ndarray, reference: np.ndarray, *, dilate_px: int = 0, fill_holes: bool = False
) -> float:
    """Intersection over union of two bool masks; ``ours`` is resized to the reference's shape.

    Args:
        ours: our mask, any shape (resized with nearest-neighbour sampling).
        reference: the reference mask.
        dilate_px: dilate ``ours`` by a disk of this radius (reference pixels) after resizing,
            e.g. 5 to mimic histolab's ``BinaryDilation`` step.
        fill_holes: fill every hole of ``ours`` after dilation (histolab's ``BinaryFillHoles``).

    Returns:
        IoU in [0, 1]; 1.0 when both masks are empty.
    """
    ours = resize_mask(ours, reference.shape)
    if dilate_px > 0:
        ours = ndi.binary_dilation(ours, structure=_disk(dilate_px))
    if fill_holes:
        ours = ndi.binary_fill_holes(ours)
    reference = reference.astype(bool)
    union = np.count_nonzero(ours | reference)
    if union == 0:
        return 1.0
    return float(np.count_nonzero(ours & reference)) / union
