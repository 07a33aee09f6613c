"""Classical CPU segmentation: nuclei outlines and haematoxylin-rich (cellular) regions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.lazy_import import lazy_module
from tools.nuclei import DEFAULT_MPP, detect_nuclei, haematoxylin_od

ndi = lazy_module("scipy.ndimage")
_skfilters = lazy_module("skimage.filters")
_skmeasure = lazy_module("skimage.measure")
_skmorphology = lazy_module("skimage.morphology")

__all__ = [
    "Segment",
    "SegmentTarget",
    "label_masks",
    "label_regions",
    "segment_image",
    "segments_from_labels",
]

SegmentTarget = Literal["nuclei", "cellular"]

_CELLULAR_SMOOTH_UM = 4.0
"""Gaussian sigma on haematoxylin for cellular regions, µm (merges neighbouring nuclei)."""
_CELLULAR_MIN_UM2 = 500.0
"""Smallest cellular region kept, µm² (about ten nuclei)."""


@dataclass(frozen=True)
class Segment:
    """One segmented object: its outline and area in IMAGE pixels."""

    polygon: list[tuple[float, float]]  # (x, y) vertices, image px
    area_px: int


def segment_image(
    rgb: np.ndarray, what: SegmentTarget, *, mpp: float | None
) -> tuple[np.ndarray, list[Segment]]:
    """Segment ``what`` in an RGB H&E image; ``mpp`` in µm/px (None assumes 0.5).

    Returns the instance labels (int32, 0 = background) and one outline per instance.
    """
    labels = detect_nuclei(rgb, mpp=mpp).labels if what == "nuclei" else _cellular(rgb, mpp)
    return labels, segments_from_labels(labels)


def segments_from_labels(labels: np.ndarray) -> list[Segment]:
    """One outline (image px) and area per instance of an int label image."""
    segments = []
    for region in _skmeasure.regionprops(labels):
        r0, c0, _, _ = region.bbox
        outline = [(x + c0, y + r0) for x, y in _outline(region.image)]
        segments.append(Segment(polygon=outline, area_px=int(region.area)))
    return segments


def label_masks(masks: np.ndarray) -> np.ndarray:
    """Int32 label image from boolean masks [N, H, W]; a later mask wins where they overlap."""
    labels = np.zeros(masks.shape[1:], dtype=np.int32)
    for index, mask in enumerate(masks, start=1):
        labels[mask] = index
    return labels


def _cellular(rgb: np.ndarray, mpp: float | None) -> np.ndarray:
    """Label connected regions dense in haematoxylin (clusters of nuclei)."""
    px_per_um = 1.0 / (mpp or DEFAULT_MPP)
    h = _skfilters.gaussian(haematoxylin_od(rgb), sigma=_CELLULAR_SMOOTH_UM * px_per_um)
    if float(h.max()) <= 0.02:
        return np.zeros(h.shape, dtype=np.int32)
    mask = h > max(float(_skfilters.threshold_otsu(h)), 0.02)
    mask = ndi.binary_closing(mask, structure=_skmorphology.disk(max(1, round(2 * px_per_um))))
    return label_regions(ndi.binary_fill_holes(mask), _CELLULAR_MIN_UM2 * px_per_um**2)


def label_regions(mask: np.ndarray, min_px: float) -> np.ndarray:
    """Int32 labels of the connected regions of ``mask`` with at least ``min_px`` pixels."""
    labels = _skmeasure.label(mask)
    areas = np.bincount(labels.ravel())
    small = areas < min_px
    small[0] = False
    labels[small[labels]] = 0
    return _skmeasure.label(labels > 0).astype(np.int32)


def _outline(mask: np.ndarray) -> list[tuple[float, float]]:
    """The longest outer contour of ``mask`` as (x, y) image pixels, simplified to 0.5 px."""
    padded = np.pad(mask, 1)
    contours = _skmeasure.find_contours(padded.astype(float), 0.5)
    if not contours:
        return []
    longest = max(contours, key=len)
    simple = _skmeasure.approximate_polygon(longest, tolerance=0.5)
    return [(round(float(c) - 1, 2), round(float(r) - 1, 2)) for r, c in simple]
