"""Detect nuclei in an RGB H&E image: colour deconvolution, threshold, seeded split, rejection.

Every step is an OpenCV array operation (look-up table, matrix transform, blur, morphology,
distance transform, connected components); measurements are ``np.bincount`` sums. Large images
are cut into tiles with an overlap margin that are analysed in parallel threads (OpenCV
releases the GIL); a nucleus belongs to the tile whose core holds its centroid, so a nucleus
cut by a tile seam is counted once.
"""

from __future__ import annotations

import logging
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from core.lazy_import import lazy_module

cv2 = lazy_module("cv2")

__all__ = [
    "DEFAULT_MPP",
    "NucleiResult",
    "Nucleus",
    "detect_nuclei",
    "estimate_mpp",
    "haematoxylin_od",
    "stain_od",
]

logger = logging.getLogger(__name__)

DEFAULT_MPP = 0.5
"""µm/px assumed when the caller gives none (20x scans are ~0.5 µm/px)."""

_MIN_AREA_UM2 = 15.0
"""Smallest nucleus kept, µm²: thin stromal (fibroblast) nuclei are ~15-25 µm² in section."""
_RELATIVE_MIN_AREA = 0.3
"""... and at least this share of the image's typical nucleus (the area-weighted median of its
candidate nuclei), whatever the scale: small fragments, debris and split-off pieces fall below
it, and a floor relative to the image holds when the scale is only estimated."""
_MAX_AREA_UM2 = 400.0
"""Largest nucleus kept, µm² (large pleomorphic tumour nuclei reach ~300 µm²; bigger is a clump)."""
_MIN_WIDTH_UM = 1.5
"""Least minor axis of a nucleus, µm: thinner objects are fibre fragments or strands."""
_MAX_ELONGATION = 6.0
"""Greatest ratio of major to minor axis: longer is a fibre fragment (a spindle-shaped
fibroblast nucleus, ~2.5 × 12 µm, is about 5)."""
_MIN_FILL = 0.8
"""Least share of its moment-equivalent ellipse an object fills: lower is a ragged fragment."""
_MIN_RELATIVE_H = 1.1
"""A nucleus's mean haematoxylin is at least this multiple of the threshold (faint debris)."""
_MAX_EOSIN_RATIO = 3.0
"""Mean eosin over mean haematoxylin above which an object is a red cell (nuclei of a well
stained section: 0.4-1.5) ..."""
_MAX_DAB_RATIO = 0.8
"""... and mean brown (third stain) over haematoxylin above which it is pigment or debris
(nuclei: 0.01-0.3; haemosiderin, formalin pigment and black debris are far above) ..."""
_COLOUR_OUTLIER = 2.5
"""... or this multiple of the image's median ratio over its candidate nuclei, if more: the
fixed stain matrix fits some sections badly (a reddish frozen section's nuclei read eosin and
brown at 2-3 times their haematoxylin), and a red cell is an outlier among its own image's
nuclei."""
_SMOOTH_UM = 0.5
"""Gaussian sigma on the haematoxylin channel, µm."""
_OPEN_UM = 0.5
"""Radius of the opening that removes thin haematoxylin-stained strands, µm."""
_DIST_SMOOTH_UM = 1.0
"""Gaussian sigma on the distance transform before seeding, µm."""
_SEED_WINDOW_UM = 4.0
"""Radius within which a seed is near the highest distance, µm (a large nucleus's radius)."""
_SEED_H_UM = 0.5
"""Least depth of the saddle between two seeds of the distance transform, µm ..."""
_SEED_H_RELATIVE = 0.1
"""... or this share of the local highest distance, whichever is more."""
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
_TILE_PX = 768
"""Core side of a tile, analysed pixels; an image up to 1.5 tiles a side is one tile."""
_MARGIN_UM = 16.0
"""Overlap margin around a tile's core, µm: more than half the longest nucleus, so a nucleus
whose centroid lies in the core is whole in the tile."""
_SAMPLE_STEP = 4
"""Pixel step of the subsample the threshold and the background are taken from."""

# Ruifrok & Johnston's H&E-DAB stains (as skimage.color.rgb2hed): rows are stain RGB vectors.
_RGB_FROM_HED = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]])
_HED_FROM_RGB = np.linalg.inv(_RGB_FROM_HED).T.astype(np.float32)  # cv2.transform's layout
_OD_LUT = (np.log(np.maximum(np.arange(256) / 255.0, 1e-6)) / np.log(1e-6)).astype(np.float32)
"""Optical density of each 8-bit value, normalised as rgb2hed (OD / ln 10⁶)."""


@dataclass(frozen=True)
class Nucleus:
    """One detected nucleus.

    Attributes:
        label: instance id in `NucleiResult.labels`.
        box: x0, y0, x1, y1 in image pixels (x1, y1 exclusive).
        centroid: x, y in image pixels.
        area_px: area in image pixels².
        eccentricity: eccentricity of the moment-equivalent ellipse, 0 (circle) to 1 (line).
        hematoxylin: mean haematoxylin optical density inside the nucleus (rgb2hed units).
        score: confidence-like value in [0, 1]: fill × contrast, where fill is the share of its
            moment-equivalent ellipse the nucleus fills (1 for an ellipse, less for a ragged
            shape) and contrast is the nucleus's mean haematoxylin above the threshold,
            relative to the threshold's margin over the background median, capped at 1 (a
            nucleus twice as far above the background as the threshold gets full contrast).
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
        mpp_used: µm/px the size filters assumed.
        mpp_estimated: whether ``mpp_used`` was estimated from the nuclei themselves.
        tiles: how many tiles the image was analysed in.
    """

    labels: np.ndarray
    nuclei: list[Nucleus]
    mpp_used: float = DEFAULT_MPP
    mpp_estimated: bool = False
    tiles: int = 1


def _rgb(rgb: np.ndarray) -> np.ndarray:
    """The image as a contiguous (H, W, 3) uint8 array, or ValueError."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        msg = f"expected an (H, W, 3) RGB image, got shape {rgb.shape}"
        raise ValueError(msg)
    if rgb.dtype != np.uint8:
        rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(rgb[..., :3])


def _clamp(od: np.ndarray) -> np.ndarray:
    """Negative optical densities to 0, in place (as rgb2hed)."""
    return np.maximum(od, 0.0, out=od)


def stain_od(rgb: np.ndarray) -> np.ndarray:
    """Return the (H, W, 3) float32 haematoxylin, eosin and DAB optical densities (rgb2hed)."""
    rgb = _rgb(rgb)
    if rgb.size == 0:
        return np.zeros((*rgb.shape[:2], 3), dtype=np.float32)
    od = cv2.LUT(rgb, np.repeat(_OD_LUT.reshape(1, 256, 1), 3, axis=2))
    return _clamp(cv2.transform(od, _HED_FROM_RGB))


def haematoxylin_od(rgb: np.ndarray) -> np.ndarray:
    """Return the haematoxylin optical density of an RGB uint8 image (rgb2hed, fixed matrix)."""
    rgb = _rgb(rgb)
    if rgb.size == 0:
        return np.zeros(rgb.shape[:2], dtype=np.float32)
    od = cv2.LUT(rgb, np.repeat(_OD_LUT.reshape(1, 256, 1), 3, axis=2))
    return _clamp(cv2.transform(od, _HED_FROM_RGB[:1]))


def _disk(radius_px: float) -> np.ndarray:
    r = max(1, round(radius_px))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _blur(a: np.ndarray, sigma_px: float) -> np.ndarray:
    return cv2.GaussianBlur(a, (0, 0), sigmaX=max(sigma_px, 0.3), borderType=cv2.BORDER_REFLECT)


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold of float values (256-bin histogram over their range)."""
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return lo
    scaled = ((values - lo) * (255.0 / (hi - lo))).astype(np.uint8).reshape(1, -1)
    t8, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return lo + (float(t8) + 0.5) * (hi - lo) / 255.0


def _threshold(h: np.ndarray) -> float | None:
    """Otsu's threshold on haematoxylin, or None where the image shows no nuclear stain."""
    sample = h[::_SAMPLE_STEP, ::_SAMPLE_STEP] if h.size > 1 << 16 else h
    if float(np.percentile(sample, 99.5)) < _MIN_PEAK_H:
        return None
    threshold = max(_otsu(sample), float(np.median(sample)) + _MIN_CONTRAST)
    return threshold if float(h.max()) > threshold else None


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill the background components of a 0/1 mask that do not touch its border."""
    n, lab, stats, _ = cv2.connectedComponentsWithStats(1 - mask, connectivity=4)
    if n <= 2:
        return mask
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    hole = (x > 0) & (y > 0) & (x + w < mask.shape[1]) & (y + h < mask.shape[0])
    hole[0] = False
    return mask | hole.astype(np.uint8)[lab]


def _foreground(h_smooth: np.ndarray, threshold: float, px_per_um: float) -> np.ndarray:
    """Threshold, open and hole-fill the smoothed haematoxylin: a 0/1 uint8 mask."""
    mask = (h_smooth > threshold).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _disk(_OPEN_UM * px_per_um))
    return _fill_holes(mask)


def _split(mask: np.ndarray, px_per_um: float) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Split touching nuclei; return connectedComponentsWithStats of the instances.

    Seeds are the parts of the smoothed distance transform within a saddle depth of the
    highest distance nearby (an h-maxima made local), so an elongated band of stain is one
    seed while two touching nuclei with a deeper saddle are two. Every foreground pixel goes to
    its nearest seed (a Voronoi split of the mask); the one-pixel lines between neighbouring
    seeds' pixels part the instances.
    """
    dist = cv2.distanceTransform(mask, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    dist = _blur(dist, _DIST_SMOOTH_UM * px_per_um)
    local = cv2.dilate(dist, _disk(_SEED_WINDOW_UM * px_per_um))
    depth = np.maximum(_SEED_H_UM * px_per_um, _SEED_H_RELATIVE * local)
    seeds = (dist >= local - depth) & (dist >= _MIN_SEED_DEPTH_UM * px_per_um)
    _, nearest = cv2.distanceTransformWithLabels(
        (~seeds).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_CCOMP
    )
    nearest *= mask
    cut = np.zeros(mask.shape, dtype=bool)
    both = (nearest[:, 1:] != nearest[:, :-1]) & (nearest[:, 1:] > 0) & (nearest[:, :-1] > 0)
    cut[:, 1:] |= both
    both = (nearest[1:] != nearest[:-1]) & (nearest[1:] > 0) & (nearest[:-1] > 0)
    cut[1:] |= both
    inside = mask.copy()
    inside[cut] = 0
    return cv2.connectedComponentsWithStats(inside, connectivity=4, ltype=cv2.CV_32S)


@dataclass(frozen=True)
class _Context:
    """What every tile shares: the scale and the image-wide threshold and background."""

    px_per_um: float
    threshold: float
    background: float


@dataclass(frozen=True)
class _TileNuclei:
    """The nuclei one tile keeps, in image pixels, and their pixels' flat indices per label."""

    labels: np.ndarray  # tile's instance mask, restricted to the kept nuclei
    origin: tuple[int, int]  # x, y of the tile in the image
    ids: np.ndarray  # kept labels of `labels`
    box: np.ndarray  # (n, 4) x0, y0, x1, y1 in image pixels
    centroid: np.ndarray  # (n, 2) x, y in image pixels
    area: np.ndarray
    eccentricity: np.ndarray
    hematoxylin: np.ndarray
    fill: np.ndarray
    eosin_ratio: np.ndarray  # mean eosin / mean haematoxylin
    dab_ratio: np.ndarray  # mean brown / mean haematoxylin


def _moments(
    flat: np.ndarray, index: np.ndarray, width: int, n: int, area: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Second central moments' eigenvalues (major, minor) per label, pixels².

    ``flat`` holds the labels of the foreground pixels whose flat indices are ``index``.
    """
    y, x = np.divmod(index, width)
    x, y = x.astype(np.float64), y.astype(np.float64)
    a = np.maximum(area, 1.0)
    mx, my = np.bincount(flat, x, n) / a, np.bincount(flat, y, n) / a
    sxx = np.bincount(flat, x * x, n) / a - mx * mx + 1 / 12  # + a pixel's own spread
    syy = np.bincount(flat, y * y, n) / a - my * my + 1 / 12
    sxy = np.bincount(flat, x * y, n) / a - mx * my
    half = (sxx + syy) / 2
    root = np.sqrt(np.maximum(((sxx - syy) / 2) ** 2 + sxy**2, 0.0))
    return half + root, np.maximum(half - root, 0.0)


def _analyse_tile(
    stains: np.ndarray,
    h_smooth: np.ndarray,
    origin: tuple[int, int],
    core: tuple[int, int, int, int],
    ctx: _Context,
) -> _TileNuclei:
    """Segment one tile and keep the nuclei whose centroid lies in ``core`` (tile pixels)."""
    mask = _foreground(h_smooth, ctx.threshold, ctx.px_per_um)
    n, labels, stats, centroids = _split(mask, ctx.px_per_um)
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    index = np.flatnonzero(labels)
    flat = labels.ravel()[index]
    a = np.maximum(area, 1.0)
    od = stains[labels > 0]  # (k, 3), in the order of `index`
    mean = [np.bincount(flat, od[:, c], n) / a for c in range(3)]
    major, minor = _moments(flat, index, labels.shape[1], n, area)
    px_per_um2 = ctx.px_per_um**2
    fill = area / np.maximum(4 * np.pi * np.sqrt(major * minor), 1e-9)
    x0, y0, x1, y1 = core
    cx, cy = centroids[:, 0], centroids[:, 1]
    h_mean = mean[0]
    keep = (
        (area >= _MIN_AREA_UM2 * px_per_um2)
        & (area <= _MAX_AREA_UM2 * px_per_um2)
        & (4 * np.sqrt(minor) >= _MIN_WIDTH_UM * ctx.px_per_um)
        & (major <= _MAX_ELONGATION**2 * minor)
        & (fill >= _MIN_FILL)
        & (h_mean >= _MIN_RELATIVE_H * ctx.threshold)
        & (cx >= x0)
        & (cx < x1)
        & (cy >= y0)
        & (cy < y1)
    )
    keep[0] = False
    ids = np.flatnonzero(keep)
    ox, oy = origin
    left, top = stats[ids, cv2.CC_STAT_LEFT] + ox, stats[ids, cv2.CC_STAT_TOP] + oy
    box = np.stack(
        [left, top, left + stats[ids, cv2.CC_STAT_WIDTH], top + stats[ids, cv2.CC_STAT_HEIGHT]],
        axis=1,
    )
    ecc = np.sqrt(1.0 - minor[ids] / np.maximum(major[ids], 1e-12))
    return _TileNuclei(
        labels=labels,
        origin=origin,
        ids=ids,
        box=box.reshape(-1, 4),
        centroid=(centroids[ids] + (ox, oy)).reshape(-1, 2),
        area=area[ids],
        eccentricity=ecc,
        hematoxylin=h_mean[ids],
        fill=np.minimum(fill[ids], 1.0),
        eosin_ratio=mean[1][ids] / h_mean[ids],
        dab_ratio=mean[2][ids] / h_mean[ids],
    )


def _tiles(height: int, width: int, margin: int) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(outer x0, y0, x1, y1; core x0, y0, x1, y1) of each tile, image pixels, row-major."""
    ny = max(1, math.floor(height / _TILE_PX + 1 / 3))
    nx = max(1, math.floor(width / _TILE_PX + 1 / 3))
    ys = [round(i * height / ny) for i in range(ny + 1)]
    xs = [round(i * width / nx) for i in range(nx + 1)]
    out = []
    for j in range(ny):
        for i in range(nx):
            core = (xs[i], ys[j], xs[i + 1], ys[j + 1])
            outer = (
                max(0, core[0] - margin),
                max(0, core[1] - margin),
                min(width, core[2] + margin),
                min(height, core[3] + margin),
            )
            out.append((outer, core))
    return out


def _workers(requested: int | None, tiles: int) -> int:
    cores = os.cpu_count() or 1
    return max(1, min(tiles, requested if requested is not None else cores))


def _scale(rgb: np.ndarray, mpp: float | None) -> tuple[float, bool]:
    if mpp is not None:
        return mpp, False
    guess = estimate_mpp(rgb)
    return (DEFAULT_MPP, False) if guess is None else (guess, True)


def estimate_mpp(rgb: np.ndarray) -> float | None:
    """µm/px of an H&E image from the size of its nuclei, or None without enough of them.

    The median inscribed radius of the haematoxylin-dark blobs (at the maxima of their distance
    transform) is taken as ``_NUCLEAR_RADIUS_UM``. An estimate, good to a factor of ~1.5: it
    sizes the detector's filters, never an area reported in µm².
    """
    h = haematoxylin_od(rgb)
    if h.size == 0:
        return None
    h = _blur(h, 1.0)
    threshold = _threshold(h)
    if threshold is None:
        return None
    mask = cv2.morphologyEx((h > threshold).astype(np.uint8), cv2.MORPH_OPEN, _disk(1))
    distance = cv2.distanceTransform(mask, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    peak = cv2.dilate(distance, np.ones((5, 5), np.uint8))
    cores = (distance == peak) & (distance >= 1.5)
    if int(cores.sum()) < _MIN_SEEDS:
        return None
    radius = float(np.median(distance[cores]))
    low, high = _MPP_RANGE
    return float(min(max(_NUCLEAR_RADIUS_UM / radius, low), high))


def _empty(shape: tuple[int, ...], used: float, estimated: bool) -> NucleiResult:
    """Return a result with no nuclei for an image of the given shape."""
    labels = np.zeros(shape[:2], dtype=np.int32)
    return NucleiResult(labels=labels, nuclei=[], mpp_used=used, mpp_estimated=estimated)


def detect_nuclei(
    rgb: np.ndarray, *, mpp: float | None = None, workers: int | None = None
) -> NucleiResult:
    """Detect and outline nuclei in an H&E image.

    Haematoxylin is separated by colour deconvolution (rgb2hed's matrix), smoothed and
    thresholded by Otsu over the whole image (floored so blank or eosin-only images give
    nothing); each tile is opened and hole-filled, touching nuclei are split at seeds of the
    distance transform, and objects are rejected by size (15-400 µm², and at least 0.3 of the
    image's typical nucleus), shape (thinner than 1.5 µm or over 6 times longer than wide:
    fibres; ragged: fragments) and colour (pale: debris; eosin- or brown-dominated: red cells
    and pigment, judged against the image's own nuclei). Deterministic, whatever the number of
    workers.

    Args:
        rgb: (H, W, 3) uint8 RGB image (an alpha channel, if present, is ignored).
        mpp: µm/px of the image; None estimates it from the nuclei's size (``estimate_mpp``),
            else assumes DEFAULT_MPP (0.5). The result says which.
        workers: threads over the tiles; None uses every core.

    Raises:
        ValueError: when the image is not (H, W, 3+) or mpp is not positive.
    """
    if mpp is not None and not (math.isfinite(mpp) and mpp > 0):
        msg = f"mpp must be a positive number of µm/px, got {mpp!r}"
        raise ValueError(msg)
    rgb = _rgb(rgb)
    if rgb.size == 0:
        return _empty(rgb.shape, mpp or DEFAULT_MPP, False)
    used, estimated = _scale(rgb, mpp)
    px_per_um = 1.0 / used
    stains = stain_od(rgb)
    h_smooth = _blur(np.ascontiguousarray(stains[..., 0]), _SMOOTH_UM * px_per_um)
    threshold = _threshold(h_smooth)
    if threshold is None:
        return _empty(rgb.shape, used, estimated)
    sample = h_smooth[::_SAMPLE_STEP, ::_SAMPLE_STEP]
    if float((sample > threshold).mean()) > _MAX_FOREGROUND:
        return _empty(rgb.shape, used, estimated)
    below = sample[sample <= threshold]
    ctx = _Context(px_per_um, threshold, float(np.median(below)) if below.size else 0.0)
    height, width = h_smooth.shape
    tiles = _tiles(height, width, math.ceil(_MARGIN_UM * px_per_um))

    def run(tile: tuple[tuple[int, ...], tuple[int, ...]]) -> _TileNuclei:
        (ox0, oy0, ox1, oy1), (cx0, cy0, cx1, cy1) = tile
        return _analyse_tile(
            stains[oy0:oy1, ox0:ox1],
            h_smooth[oy0:oy1, ox0:ox1],
            (ox0, oy0),
            (cx0 - ox0, cy0 - oy0, cx1 - ox0, cy1 - oy0),
            ctx,
        )

    n_workers = _workers(workers, len(tiles))
    if n_workers == 1:
        parts = [run(t) for t in tiles]
    else:
        with ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="nuclei") as pool:
            parts = list(pool.map(run, tiles))
    labels, nuclei = _assemble(parts, (height, width), ctx)
    logger.debug(
        "detected %d nuclei in %d tile(s) (threshold %.3f OD)", len(nuclei), len(tiles), threshold
    )
    return NucleiResult(
        labels=labels, nuclei=nuclei, mpp_used=used, mpp_estimated=estimated, tiles=len(tiles)
    )


def _colour_limits(parts: list[_TileNuclei]) -> tuple[float, float]:
    """Greatest eosin and brown ratios a nucleus of this image may have."""
    eosin = np.concatenate([p.eosin_ratio for p in parts])
    dab = np.concatenate([p.dab_ratio for p in parts])
    if eosin.size == 0:
        return _MAX_EOSIN_RATIO, _MAX_DAB_RATIO
    return (
        max(_MAX_EOSIN_RATIO, _COLOUR_OUTLIER * float(np.median(eosin))),
        max(_MAX_DAB_RATIO, _COLOUR_OUTLIER * float(np.median(dab))),
    )


def _area_floor(parts: list[_TileNuclei]) -> float:
    """Least area, pixels², of a nucleus of this image: a share of its typical nucleus."""
    area = np.concatenate([p.area for p in parts])
    if area.size == 0:
        return 0.0
    order = np.sort(area)
    weight = np.cumsum(order)
    typical = float(order[np.searchsorted(weight, weight[-1] / 2)])
    return _RELATIVE_MIN_AREA * typical


def _select(part: _TileNuclei, keep: np.ndarray) -> _TileNuclei:
    """The tile's nuclei where ``keep``."""
    if bool(keep.all()):
        return part
    return _TileNuclei(
        labels=part.labels,
        origin=part.origin,
        ids=part.ids[keep],
        box=part.box[keep],
        centroid=part.centroid[keep],
        area=part.area[keep],
        eccentricity=part.eccentricity[keep],
        hematoxylin=part.hematoxylin[keep],
        fill=part.fill[keep],
        eosin_ratio=part.eosin_ratio[keep],
        dab_ratio=part.dab_ratio[keep],
    )


def _assemble(
    parts: list[_TileNuclei], shape: tuple[int, int], ctx: _Context
) -> tuple[np.ndarray, list[Nucleus]]:
    """Paste each tile's kept nuclei into one instance mask, numbered 1..n in tile order."""
    labels = np.zeros(shape, dtype=np.int32)
    margin = max(ctx.threshold - ctx.background, 1e-6)
    max_eosin, max_dab = _colour_limits(parts)
    parts = [_select(p, (p.eosin_ratio <= max_eosin) & (p.dab_ratio <= max_dab)) for p in parts]
    floor = _area_floor(parts)
    nuclei: list[Nucleus] = []
    for part in parts:
        part = _select(part, part.area >= floor)
        if part.ids.size == 0:
            continue
        first = len(nuclei) + 1
        new_ids = np.zeros(int(part.labels.max()) + 1, dtype=np.int32)
        new_ids[part.ids] = np.arange(first, first + part.ids.size, dtype=np.int32)
        ox, oy = part.origin
        th, tw = part.labels.shape
        window = labels[oy : oy + th, ox : ox + tw]
        mapped = new_ids[part.labels]
        np.copyto(window, mapped, where=(mapped > 0) & (window == 0))
        contrast = np.clip((part.hematoxylin - ctx.background) / (2.0 * margin), 0.0, 1.0)
        score = part.fill * contrast
        nuclei.extend(
            Nucleus(
                label=first + k,
                box=(x0, y0, x1, y1),
                centroid=(cx, cy),
                area_px=int(area),
                eccentricity=ecc,
                hematoxylin=h,
                score=sc,
            )
            for k, ((x0, y0, x1, y1), (cx, cy), area, ecc, h, sc) in enumerate(
                zip(
                    part.box.tolist(),
                    part.centroid.tolist(),
                    part.area.tolist(),
                    part.eccentricity.tolist(),
                    part.hematoxylin.tolist(),
                    score.tolist(),
                    strict=True,
                )
            )
        )
    return labels, nuclei
