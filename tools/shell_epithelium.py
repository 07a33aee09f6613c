"""Epithelium and stroma from lavlab-shell's SegResNetVAE (ONNX, MIT), preprocessing in numpy.

The model comes from the ``lavlab-shell==0.9.1`` wheel on PyPI (``shell/weights/model_v1.onnx``
and its ``.onnx.data``), fetched by ``smartpath models fetch lavlab-shell``. Its input is not RGB
but EHO: Macenko eosin and haematoxylin concentrations and the mean optical density, each
stretched between its 1st and 99th percentile. This module reproduces the package's own
preprocessing (``shell/transforms.py``: ``detect_background``, ``compute_background_intensity``,
``estimate_stain_params``, ``apply_eho_chunked``; ``shell/inference.py``: channel-wise min-max
scaling, reflect padding to a multiple of 64, sigmoid + threshold against the background
channel) with numpy and scikit-image only. The Macenko stain matrix follows HistomicsTK's
``rgb_separate_stains_macenko_pca`` as the package's ``macenko-pca`` 1.0.4 (Rust) computes it,
zero intensities clamped to 1e-10 (checked: the same stain matrices, EHO within one grey level).

The three output channels are read as the package's ``model.py`` and ``post_process.py`` name
them: 0 inner (lumen), 1 outer (epithelium), 2 background; tissue in neither mask is stroma
("background tissue"). (The package's README calls label 1 epithelium; on the HGSC image
channel 0 holds none of the neoplastic nuclei and channel 1 over 90% of them.)

Differences from the package, all deliberate: stain parameters and the tissue mask come from
the analysed region instead of a whole-slide thumbnail; a region smaller than one tile is run
at its own size (reflect-padded to a multiple of 64) instead of zero-padded to 2048 px (zero
padding changes the whole prediction: on the HGSC image the share of neoplastic nuclei inside
epithelium falls from 0.93 to 0.02; ``benchmarks/bench_pypi_models.py``); the
prostate-specific post-processing (urethra, gland surround filters) is not applied, only the
restriction of both masks to the hole-filled tissue.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.lazy_import import lazy_module
from tools.pixels import resize_rgb

ndi = lazy_module("scipy.ndimage")
_skmorphology = lazy_module("skimage.morphology")

__all__ = [
    "ShellResult",
    "ShellSegmenter",
    "StainParams",
    "detect_background",
    "eho_image",
    "estimate_stain_params",
    "macenko_stain_matrix",
    "tile_starts",
]

TILE_MPP = 1.0
"""µm/px the model runs at (``TARGET_MPP`` in ``shell/infer_wsi.py``)."""
TILE_PX = 2048
"""Tile side in pixels at ``TILE_MPP`` (``TILE_SIZE`` in ``shell/model.py``)."""
MIN_TISSUE = 0.05
"""Tiles with a smaller tissue share are skipped (``min_tissue_frac`` of ``infer_wsi``)."""
STAIN_PX = 2048
"""Longest side of the image the stain parameters are estimated on (the package's thumbnail)."""

HAEMATOXYLIN = np.array([0.65, 0.70, 0.29])
"""Reference stain direction in optical-density space (HistomicsTK ``stain_color_map``)."""
EOSIN = np.array([0.07, 0.99, 0.11])


def detect_background(rgb: np.ndarray) -> np.ndarray:
    """Bright, unsaturated, low-entropy pixels (``shell.transforms.detect_background``)."""
    cmax = rgb[..., :3].max(axis=2)
    cmin = rgb[..., :3].min(axis=2)
    val = cmax.astype(np.float32) / 255.0
    sat = np.zeros_like(val)
    nz = cmax > 0
    sat[nz] = (cmax[nz].astype(np.float32) - cmin[nz]) / cmax[nz]
    gray_q = (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]).astype(np.uint8) >> 4
    entropy = np.zeros(gray_q.shape, dtype=np.float32)
    for b in range(16):
        p = ndi.uniform_filter((gray_q == b).astype(np.float32), size=9, mode="nearest")
        entropy -= p * np.log2(np.clip(p, 1e-6, 1.0))
    white_entropy = (val > 0.82) & (sat < 0.25) & (entropy < 2.4)
    white_base = (val > 0.83) & (sat < 0.12)
    frac_entropy, frac_base = float(white_entropy.mean()), float(white_base.mean())
    if frac_entropy < 0.01 or frac_entropy > 0.90 or frac_entropy > frac_base * 1.8 + 1e-6:
        white = white_base
    else:
        white = white_entropy | (white_base & (val > 0.94))
    white = _skmorphology.remove_small_objects(white, max_size=256)
    white = _skmorphology.remove_small_holes(white, max_size=256)
    labels, n = ndi.label(white)
    if n == 0:
        return np.zeros(white.shape, dtype=bool)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    keep = sizes >= 128
    keep[0] = False
    return keep[labels]


def _background_intensity(rgb: np.ndarray, background: np.ndarray) -> float:
    """Illumination ``Io`` from background pixels (``compute_background_intensity``)."""
    pure_white = (rgb[..., :3] == 255).all(axis=2)
    for mask in (background & ~pure_white, background):
        if mask.sum() >= 100:
            return float(np.clip(np.mean(rgb[mask], dtype=np.float64), 200, 255))
    return 240.0


def _unit_columns(m: np.ndarray) -> np.ndarray:
    norm = np.sqrt((m**2).sum(0))
    return np.divide(m, norm, out=np.zeros_like(m), where=norm > 0)


def macenko_stain_matrix(
    rgb: np.ndarray,
    io: float,
    mask_out: np.ndarray | None = None,
    *,
    minimum_magnitude: float = 16.0,
    percentiles: tuple[float, float] = (0.01, 0.99),
) -> np.ndarray:
    """3×3 stain matrix (columns: two stains and their complement) by Macenko's PCA method.

    HistomicsTK's ``rgb_separate_stains_macenko_pca`` as ``macenko-pca`` computes it: pixels to
    SDA space, principal plane, the stain vectors at the 1st and 99th percentile of the angle
    in that plane.

    Raises:
        ValueError: fewer than two stained pixels to estimate from.
    """
    pixels = rgb[..., :3].reshape(-1, 3).astype(np.float64)
    if mask_out is not None:
        pixels = pixels[~mask_out.reshape(-1)]
    # macenko-pca (the package's Rust port) clamps zero intensities to 1e-10, not dropping them
    m = (-np.log(np.clip(pixels, 1e-10, io) / io) * 255.0 / np.log(io)).T
    if m.shape[1] < 2:
        msg = "too few tissue pixels to estimate the stains"
        raise ValueError(msg)
    pcs = np.linalg.svd(m, full_matrices=False)[0]
    proj = pcs.T[:-1] @ m
    filt = proj[:, np.sqrt((proj**2).sum(0)) > minimum_magnitude]
    if filt.shape[1] < 2:
        msg = "too few stained pixels to estimate the stains"
        raise ValueError(msg)
    unit = _unit_columns(filt)
    angles = (1 - unit[1]) * np.sign(unit[0])

    def at(p: float) -> np.ndarray:
        i = min(int(p * angles.size + 0.5), angles.size - 1)
        return pcs[:, :-1] @ filt[:, np.argpartition(angles, i)[i]]

    w = _unit_columns(np.array([at(percentiles[0]), at(percentiles[1])]).T)
    third = np.cross(w[:, 0], w[:, 1])
    return np.column_stack([w, third / (np.linalg.norm(third) or 1.0)])


def _stain_index(reference: np.ndarray, w: np.ndarray) -> int:
    return int(np.argmax(np.abs((reference / np.linalg.norm(reference)) @ _unit_columns(w))))


@dataclass(frozen=True)
class StainParams:
    """What ``eho_image`` needs (``shell.transforms.estimate_stain_params``)."""

    io: float
    w: np.ndarray
    e_idx: int
    h_idx: int
    e_lo: float
    e_hi: float
    h_lo: float
    h_hi: float
    od_lo: float
    od_hi: float


def _od(rgb: np.ndarray, io: float) -> np.ndarray:
    """Optical density in log10 units, clipped as the package does (float32)."""
    od = np.clip(rgb[..., :3].astype(np.float32), 1.0, np.float32(io)) / np.float32(io)
    return -np.log10(od)


def estimate_stain_params(rgb: np.ndarray, background: np.ndarray) -> StainParams:
    """Stain matrix, illumination and percentile ranges of an RGB image.

    Raises:
        ValueError: the image has too little stained tissue.
    """
    io = _background_intensity(rgb, background)
    w = macenko_stain_matrix(rgb, io, background)
    h_idx, e_idx = _stain_index(HAEMATOXYLIN, w), _stain_index(EOSIN, w)
    if h_idx == e_idx or 2 in (h_idx, e_idx):
        h_idx, e_idx = 0, 1
    w_inv = np.linalg.pinv(w).astype(np.float32)
    od = _od(rgb, io)
    e = od @ w_inv[e_idx]
    h = od @ w_inv[h_idx]
    mean_od = od.mean(axis=2)
    e_lo, e_hi = (float(v) for v in np.percentile(e, (1, 99)))
    h_lo, h_hi = (float(v) for v in np.percentile(h, (1, 99)))
    od_lo, od_hi = (float(v) for v in np.percentile(mean_od, (1, 99)))
    if e_hi <= e_lo + 1e-8:
        e_lo, e_hi = 0.0, 1.0
    if h_hi <= h_lo + 1e-8:
        h_lo, h_hi = 0.0, 1.0
    return StainParams(io, w, e_idx, h_idx, e_lo, e_hi, h_lo, h_hi, od_lo, od_hi)


def eho_image(rgb: np.ndarray, p: StainParams) -> np.ndarray:
    """Eosin, haematoxylin, optical density as uint8 channels (``apply_eho_chunked``)."""
    od = _od(rgb, p.io)
    w_inv = np.linalg.pinv(p.w).astype(np.float32)
    out = np.empty((*rgb.shape[:2], 3), dtype=np.uint8)
    channels = (
        (od @ w_inv[p.e_idx], p.e_lo, p.e_hi - p.e_lo),
        (od @ w_inv[p.h_idx], p.h_lo, p.h_hi - p.h_lo),
        (od.sum(axis=2) * np.float32(1.0 / 3.0), p.od_lo, p.od_hi - p.od_lo),
    )
    for c, (values, lo, span) in enumerate(channels):
        scaled = np.clip((values - np.float32(lo)) / np.float32(span + 1e-8), 0, 1) * 255
        out[..., c] = scaled  # truncates like the package's implicit uint8 cast
    return out


def tile_starts(length: int, tile: int, min_overlap: float = 0.25, max_overlap: float = 0.5):
    """Evenly spaced tile starts covering ``length`` (``shell.infer_wsi._tile_positions``)."""
    if length <= tile:
        return [0]
    step_min = max(1, round(tile * (1 - max_overlap)))
    step_max = max(step_min, round(tile * (1 - min_overlap)))
    span = length - tile
    n_steps = max(1, math.ceil(span / step_max))
    step = span / n_steps
    return sorted({min(round(i * step), span) for i in range(n_steps + 1)})


@dataclass(frozen=True)
class ShellResult:
    """Masks at the input image's resolution, and how many tiles the model saw."""

    epithelium: np.ndarray
    lumen: np.ndarray
    stroma: np.ndarray
    tissue: np.ndarray
    tiles: int
    notes: list[str]


class ShellSegmenter:
    """The ONNX model in an onnxruntime session (created once; calls are serialised)."""

    def __init__(self, onnx_path: Path, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input = self._session.get_inputs()[0].name
        self._lock = threading.Lock()

    def logits(self, eho: np.ndarray, zero_pad_to: int | None = None) -> np.ndarray:
        """Model logits [3, H, W] of one EHO tile (channel-wise min-max, reflect pad to 64).

        ``zero_pad_to`` pads a smaller tile with zeros to that side instead, as the package's
        MONAI sliding window does with an image smaller than its window.
        """
        x = eho.astype(np.float32).transpose(2, 0, 1)
        lo = x.min(axis=(1, 2), keepdims=True)
        span = x.max(axis=(1, 2), keepdims=True) - lo
        x = np.divide(x - lo, span, out=np.zeros_like(x), where=span > 0)
        h, w = x.shape[1:]
        if zero_pad_to:
            ph, pw = max(0, zero_pad_to - h), max(0, zero_pad_to - w)
        else:
            ph, pw = (64 - h % 64) % 64, (64 - w % 64) % 64
        pads = ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2))
        if zero_pad_to and (ph or pw):
            x = np.pad(x, pads)
        elif ph or pw:
            x = np.pad(x, pads, mode="reflect" if min(h, w) > max(ph, pw) else "symmetric")
        with self._lock:
            out: Any = self._session.run(None, {self._input: x[None]})[0][0]
        return out[:, pads[1][0] : pads[1][0] + h, pads[2][0] : pads[2][0] + w]

    def predict(
        self, eho: np.ndarray, zero_pad_to: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Inner (lumen) and outer (epithelium) masks of one EHO tile.

        sigmoid(a) > 0.5 and sigmoid(a) > sigmoid(background) is a > 0 and a > background.
        """
        logits = self.logits(eho, zero_pad_to)
        inner = (logits[0] > 0) & (logits[0] > logits[2])
        outer = (logits[1] > 0) & (logits[1] > logits[2])
        return inner, outer

    def segment(
        self,
        rgb: np.ndarray,
        *,
        mpp: float,
        tile_px: int = TILE_PX,
        tile_mpp: float = TILE_MPP,
        zero_pad: bool = False,
    ) -> ShellResult:
        """Epithelium, lumen and stroma of an RGB H&E image whose resolution is ``mpp`` µm/px.

        The image is resampled to ``tile_mpp`` and cut into overlapping tiles of ``tile_px``
        (a multiple of 64); each tile's masks are OR-ed into the whole, as the package does.
        ``zero_pad`` zero-pads smaller tiles to ``tile_px`` (the package's behaviour; slower,
        and worse on the HGSC measurement).
        """
        notes: list[str] = []
        height, width = rgb.shape[:2]
        scale = mpp / tile_mpp
        small = rgb
        if abs(scale - 1) > 0.01:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = resize_rgb(rgb, *size)
        background = detect_background(small)
        tissue = ndi.binary_fill_holes(~background)
        inner = np.zeros(small.shape[:2], dtype=bool)
        outer = np.zeros(small.shape[:2], dtype=bool)
        tiles = 0
        try:
            params: StainParams | None = estimate_stain_params(*_stain_sample(small, background))
        except ValueError as exc:
            notes.append(f"not segmented: {exc}")
            params = None
        if params is not None:
            h, w = small.shape[:2]
            for y0 in tile_starts(h, tile_px):
                for x0 in tile_starts(w, tile_px):
                    window = (slice(y0, y0 + tile_px), slice(x0, x0 + tile_px))
                    if float((~background[window]).mean()) < MIN_TISSUE:
                        continue
                    tile_inner, tile_outer = self.predict(
                        eho_image(small[window], params), tile_px if zero_pad else None
                    )
                    inner[window] |= tile_inner
                    outer[window] |= tile_outer
                    tiles += 1
        epithelium = outer & tissue
        lumen = inner & tissue & ~epithelium  # the package's label map: outer wins over inner
        stroma = tissue & ~epithelium & ~lumen
        masks = (epithelium, lumen, stroma, tissue)
        if small is not rgb:
            masks = tuple(_resize_mask(m, (height, width)) for m in masks)
        return ShellResult(*masks, tiles=tiles, notes=notes)


def _stain_sample(rgb: np.ndarray, background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The image (and background) the stain parameters are estimated on, at most STAIN_PX."""
    longest = max(rgb.shape[:2])
    if longest <= STAIN_PX:
        return rgb, background
    f = STAIN_PX / longest
    size = (max(1, round(rgb.shape[1] * f)), max(1, round(rgb.shape[0] * f)))
    return resize_rgb(rgb, *size), _resize_mask(background, (size[1], size[0]))


def _resize_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a boolean mask to ``shape`` (rows, cols)."""
    rows = np.minimum((np.arange(shape[0]) + 0.5) * mask.shape[0] / shape[0], mask.shape[0] - 1)
    cols = np.minimum((np.arange(shape[1]) + 0.5) * mask.shape[1] / shape[1], mask.shape[1] - 1)
    return mask[rows.astype(np.int64)[:, None], cols.astype(np.int64)[None, :]]
