"""Detect nuclei in an RGB H&E image by haematoxylin thresholding and watershed splitting."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from core.lazy_import import lazy_module

ndi = lazy_module("scipy.ndimage")
_skcolor = lazy_module("skimage.color")
_skfilters = lazy_module("skimage.filters")
_skmeasure = lazy_module("skimage.measure")
_skmorphology = lazy_module("skimage.morphology")
_sksegmentation = lazy_module("skimage.segmentation")

__all__ = [
    "DEFAULT_MPP",
    "NucleiResult",
    "Nucleus",
    "detect_nuclei",
    "estimate_mpp",
    "haematoxylin_od",
]

logger = logging.getLogger(__name__)

DEFAULT_MPP = 0.5
"""µm/px assumed when the caller gives none (20x scans are ~0.5 µm/px)."""

_MIN_AREA_UM2 = 15.0
"""Smallest nucleus kept, µm²: thin stromal (fibroblast) nuclei are ~15-25 µm² in section."""
_MAX_AREA_UM2 = 400.0
"""Largest nucleus kept, µm² (large pleomorphic tumour nuclei reach ~300 µm²; bigger is a clump)."""
_SMOOTH_UM = 0.5
"""Gaussian sigma on the haematoxylin channel, µm."""
_OPEN_UM = 0.5
"""Radius of the opening that removes thin haematoxylin-stained strands, µm."""
_SEED_H_UM = 0.25
"""Least depth of the saddle between two seeds of the distance transform, µm."""
_MIN_SEED_DEPTH_UM = 1.0
"""A seed must lie at least this far inside the foreground, µm."""
_MIN_PEAK_H = 0.02
"""Least haematoxylin optical density (rgb2hed units) the darkest 0.5% of a smoothed image
must reach for it to hold nuclei at all: a blank or eosin-only image stays empty."""
_MIN_CONTRAST = 0.005
"""Least margin of the Otsu threshold over the image's median haematoxylin: Otsu on noise
splits it at the median. A floor relative to the image, not absolute, so a faintly stained
frozen section (haematoxylin ~0.01-0.03 where a well stained section reads 0.1-0.2) is read."""
_NUCLEAR_RADIUS_UM = 2.5
"""Median radius of the largest disc inside a nucleus, µm (hgsc_nest at its assumed 0.5
µm/px: 5 px): the ruler that sets the scale of an image without µm/px."""
_MPP_RANGE = (0.2, 4.0)
"""Estimated scales are kept within 40x-equivalent and 2.5x-equivalent scans."""
_MIN_SEEDS = 30
"""An estimate rests on at least this many nuclear cores; fewer gives no estimate."""
_MAX_FOREGROUND = 0.8
"""If more than this share of the image is above the threshold, the split is not nuclear."""


@dataclass(frozen=True)
class Nucleus:
    """One detected nucleus.

    Attributes:
        label: instance id in `NucleiResult.labels`.
        box: x0, y0, x1, y1 in image pixels (x1, y1 exclusive).
        centroid: x, y in image pixels.
        area_px: area in image pixels².
        eccentricity: eccentricity of the fitted ellipse, 0 (circle) to 1 (line).
        hematoxylin: mean haematoxylin optical density inside the nucleus (rgb2hed units).
        score: confidence-like value in [0, 1]: solidity × contrast, where contrast is the
            nucleus's mean haematoxylin above the threshold, relative to the threshold's
            margin over the background median, capped at 1 (a nucleus twice as far above the
            background as the threshold gets full contrast).
    """

    label: int
    box: tuple[int, int, int, int]
    centroid: tuple[float, float]
    area_px: int
    eccentricity: float
    hematoxylin: float
    score: float


@dataclass(frozen=True, eq=False)
class NucleiResult:
    """Instance mask and per-nucleus measurements of one image.

    Attributes:
        labels: int32 instance mask, 0 = background, shape (H, W) of the image.
        nuclei: one entry per label, in label order.
    """

    labels: np.ndarray
    nuclei: list[Nucleus]
    mpp_used: float = DEFAULT_MPP
    mpp_estimated: bool = False


def haematoxylin_od(rgb: np.ndarray) -> np.ndarray:
    """Return the haematoxylin optical density of an RGB uint8 image (rgb2hed, fixed matrix)."""
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        msg = f"expected an (H, W, 3) RGB image, got shape {rgb.shape}"
        raise ValueError(msg)
    return _skcolor.rgb2hed(rgb[..., :3]).astype(np.float32)[..., 0]


def _threshold(h: np.ndarray) -> float | None:
    """Otsu's threshold on haematoxylin, or None where the image shows no nuclear stain."""
    if float(np.percentile(h, 99.5)) < _MIN_PEAK_H:
        return None
    threshold = max(float(_skfilters.threshold_otsu(h)), float(np.median(h)) + _MIN_CONTRAST)
    return threshold if float(h.max()) > threshold else None


def estimate_mpp(rgb: np.ndarray) -> float | None:
    """µm/px of an H&E image from the size of its nuclei, or None without enough of them.

    The median inscribed radius of the haematoxylin-dark blobs (at the maxima of their distance
    transform) is taken as ``_NUCLEAR_RADIUS_UM``. An estimate, good to a factor of ~1.5: it
    sizes the detector's filters, never an area reported in µm².
    """
    h = _skfilters.gaussian(haematoxylin_od(np.asarray(rgb)), sigma=1.0)
    threshold = _threshold(h) if h.size else None
    if threshold is None:
        return None
    mask = ndi.binary_opening(h > threshold)
    distance = ndi.distance_transform_edt(mask)
    cores = (distance == ndi.maximum_filter(distance, size=5)) & (distance >= 1.5)
    if int(cores.sum()) < _MIN_SEEDS:
        return None
    radius = float(np.median(distance[cores]))
    low, high = _MPP_RANGE
    return float(min(max(_NUCLEAR_RADIUS_UM / radius, low), high))


def _foreground(h: np.ndarray, px_per_um: float) -> tuple[np.ndarray, float]:
    """Threshold the smoothed haematoxylin channel; return the cleaned mask and the threshold."""
    threshold = _threshold(h)
    if threshold is None:
        return np.zeros(h.shape, dtype=bool), 0.0
    mask = h > threshold
    if mask.mean() > _MAX_FOREGROUND:
        return np.zeros_like(mask), threshold
    radius = max(1, round(_OPEN_UM * px_per_um))
    mask = ndi.binary_opening(mask, structure=_skmorphology.disk(radius))
    return ndi.binary_fill_holes(mask), threshold


def _split(mask: np.ndarray, px_per_um: float) -> np.ndarray:
    """Split touching nuclei: a watershed on the distance transform seeded at its h-maxima.

    h-maxima (rather than every local peak) give one seed per plateau, so an elongated band
    of stain is not sliced into a ladder of strips, while a saddle deeper than ``_SEED_H_UM``
    between two touching nuclei still separates them.
    """
    distance = _skfilters.gaussian(ndi.distance_transform_edt(mask), sigma=1.0)
    seeds = _skmorphology.h_maxima(distance, _SEED_H_UM * px_per_um)
    seeds &= distance >= _MIN_SEED_DEPTH_UM * px_per_um
    markers, _ = ndi.label(seeds)
    return _sksegmentation.watershed(-distance, markers, mask=mask).astype(np.int32)


def _filter_sizes(labels: np.ndarray, px_per_um: float) -> np.ndarray:
    """Drop instances outside the nuclear area range and relabel 1..n in scan order."""
    area = np.bincount(labels.ravel())
    px2 = px_per_um**2
    keep = (area >= _MIN_AREA_UM2 * px2) & (area <= _MAX_AREA_UM2 * px2)
    keep[0] = False
    new_ids = np.zeros(area.size, dtype=np.int32)
    new_ids[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return new_ids[labels]


def _measure(
    labels: np.ndarray, h: np.ndarray, threshold: float, background: float
) -> list[Nucleus]:
    """Measure every instance of `labels` on the haematoxylin channel `h`."""
    margin = max(threshold - background, 1e-6)
    nuclei = []
    for region in _skmeasure.regionprops(labels, intensity_image=h):
        y0, x0, y1, x1 = region.bbox
        cy, cx = region.centroid
        mean_h = float(region.intensity_mean)
        contrast = min(1.0, max(0.0, (mean_h - background) / (2.0 * margin)))
        nuclei.append(
            Nucleus(
                label=int(region.label),
                box=(int(x0), int(y0), int(x1), int(y1)),
                centroid=(float(cx), float(cy)),
                area_px=int(region.area),
                eccentricity=float(region.eccentricity),
                hematoxylin=mean_h,
                score=float(region.solidity) * contrast,
            )
        )
    return nuclei


def _empty(shape: tuple[int, ...]) -> NucleiResult:
    """Return a result with no nuclei for an image of the given shape."""
    return NucleiResult(labels=np.zeros(shape[:2], dtype=np.int32), nuclei=[])


def detect_nuclei(rgb: np.ndarray, *, mpp: float | None = None) -> NucleiResult:
    """Detect and outline nuclei in an H&E image.

    Haematoxylin is separated by colour deconvolution (rgb2hed), smoothed, thresholded by
    Otsu (floored so blank or eosin-only images give nothing), opened and hole-filled; touching
    nuclei are split by a watershed on the distance transform seeded at its h-maxima; instances
    outside 15-400 µm² are dropped. Deterministic.

    Args:
        rgb: (H, W, 3) uint8 RGB image (an alpha channel, if present, is ignored).
        mpp: µm/px of the image; None estimates it from the nuclei's size (``estimate_mpp``),
            else assumes DEFAULT_MPP (0.5). The result says which.

    Raises:
        ValueError: when the image is not (H, W, 3+) or mpp is not positive.
    """
    if mpp is not None and not (math.isfinite(mpp) and mpp > 0):
        msg = f"mpp must be a positive number of µm/px, got {mpp!r}"
        raise ValueError(msg)
    h = haematoxylin_od(np.asarray(rgb))
    if h.size == 0 or float(h.max()) < _MIN_PEAK_H:
        return _empty(h.shape)
    guess = estimate_mpp(rgb) if mpp is None else None
    used = mpp or guess or DEFAULT_MPP
    estimated = mpp is None and guess is not None
    px_per_um = 1.0 / used
    h = _skfilters.gaussian(h, sigma=_SMOOTH_UM * px_per_um)
    mask, threshold = _foreground(h, px_per_um)
    if not mask.any():
        return _empty(h.shape)
    labels = _filter_sizes(_split(mask, px_per_um), px_per_um)
    background = float(np.median(h[~mask])) if not mask.all() else 0.0
    nuclei = _measure(labels, h, threshold, background)
    logger.debug("detected %d nuclei (threshold %.3f OD)", len(nuclei), threshold)
    return NucleiResult(labels=labels, nuclei=nuclei, mpp_used=used, mpp_estimated=estimated)
