"""Benchmark: the OpenCV nuclei detector against a naive Otsu + distance-watershed detector.

Same run, interleaved rounds, median seconds: Mpix/s of ``detect_nuclei`` on one thread
(OpenCV's own threads set to 1 as well: the per-core figure), ``detect_nuclei`` over every core
(tile threads), and the naive reference below; then precision, recall, F1 and count error of
each on hgsc_nest.jpg at 6-px centroid matching (pseudo ground truth, mpp 0.5 assumed).

    PYTHONPATH=. python benchmarks/bench_nuclei.py --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from eval.detection_metrics import label_centroids, match_by_centroid  # noqa: E402
from eval.nuclei_hgsc import ASSUMED_MPP, CENTROID_RADIUS_PX  # noqa: E402
from tools.nuclei import detect_nuclei  # noqa: E402
from tools.slide import Slide  # noqa: E402
from tools.types import Box  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def naive_centroids(rgb: np.ndarray, mpp: float) -> np.ndarray:
    """The naive reference: Otsu on haematoxylin, distance-transform watershed, size filter."""
    from scipy import ndimage as ndi
    from skimage.color import rgb2hed
    from skimage.feature import peak_local_max
    from skimage.filters import gaussian, threshold_otsu
    from skimage.segmentation import watershed

    h = gaussian(rgb2hed(rgb)[..., 0], sigma=1.0)
    mask = ndi.binary_fill_holes(ndi.binary_opening(h > threshold_otsu(h)))
    distance = ndi.distance_transform_edt(mask)
    peaks = peak_local_max(distance, min_distance=max(1, round(2.5 / mpp)), labels=mask)
    markers = np.zeros(mask.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    labels = watershed(-distance, markers, mask=mask)
    area = np.bincount(labels.ravel())
    keep = np.flatnonzero(area >= 15.0 / mpp**2)
    keep = keep[keep > 0]
    if keep.size == 0:
        return np.empty((0, 2))
    yx = np.asarray(ndi.center_of_mass(mask, labels, keep), dtype=np.float64)
    return yx[:, ::-1]


def _one_core(rgb: np.ndarray, mpp: float) -> object:
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        return detect_nuclei(rgb, mpp=mpp, workers=1)
    finally:
        cv2.setNumThreads(threads)


def _images(data: Path) -> list[tuple[str, np.ndarray, float]]:
    hgsc = np.asarray(Image.open(data / "histolytics_hgsc" / "hgsc_nest.jpg").convert("RGB"))
    with Slide.open(data / "wsi" / "CMU-1-Small-Region.svs") as slide:
        box = Box(x0=72, y0=497, x1=2120, y1=2545)
        cmu = slide.read_region(box, level=0, max_pixels=1 << 24).image
    return [("hgsc_nest 1500²", hgsc, ASSUMED_MPP), ("CMU-1 2048² 0.499", cmu, 0.499)]


def bench_speed(images: list[tuple[str, np.ndarray, float]], rounds: int) -> None:
    """Print Mpix/s of each method per image: interleaved rounds, median."""
    cores = os.cpu_count() or 1
    methods: list[tuple[str, Callable[[np.ndarray, float], object]]] = [
        ("naive Otsu+watershed (skimage)", naive_centroids),
        ("opencv, 1 thread", _one_core),
        (f"opencv, {cores} tile threads", lambda rgb, mpp: detect_nuclei(rgb, mpp=mpp)),
    ]
    print(f"{'image':20}{'method':34}{'Mpix/s':>8}{'x naive':>9}")
    for name, rgb, mpp in images:
        times: dict[str, list[float]] = {m: [] for m, _ in methods}
        for _, fn in methods:  # warm-up: imports, caches
            fn(rgb, mpp)
        for _ in range(rounds):
            for label, fn in methods:
                start = time.perf_counter()
                fn(rgb, mpp)
                times[label].append(time.perf_counter() - start)
        mpx = rgb.shape[0] * rgb.shape[1] / 1e6
        naive = statistics.median(times[methods[0][0]])
        for label, _ in methods:
            t = statistics.median(times[label])
            print(f"{name:20}{label:34}{mpx / t:>8.2f}{naive / t:>9.2f}")


def bench_accuracy(data: Path) -> None:
    """Print precision, recall, F1 and count error of each detector on hgsc_nest.jpg."""
    folder = data / "histolytics_hgsc"
    rgb = np.asarray(Image.open(folder / "hgsc_nest.jpg").convert("RGB"))
    with np.load(folder / "hgsc_nest_inst_mask.npz") as npz:
        truth = label_centroids(npz["nuc_raster"])
    new = detect_nuclei(rgb, mpp=ASSUMED_MPP)
    rows = [
        ("naive Otsu+watershed", naive_centroids(rgb, ASSUMED_MPP)),
        ("opencv detector", np.array([n.centroid for n in new.nuclei]).reshape(-1, 2)),
    ]
    print(f"\nhgsc_nest.jpg, centroids within {CENTROID_RADIUS_PX:g} px (pseudo ground truth)")
    head = f"{'method':24}{'precision':>10}{'recall':>8}{'F1':>7}{'n':>6}{'truth':>7}"
    print(head + f"{'count err':>10}")
    for label, xy in rows:
        s = match_by_centroid(xy, truth, CENTROID_RADIUS_PX)
        err = f"{100 * (s.relative_count_error or 0):+.1f}%"
        print(
            f"{label:24}{s.precision:>10.3f}{s.recall:>8.3f}{s.f1:>7.3f}"
            f"{s.count_pred:>6}{s.count_truth:>7}{err:>10}"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the speed and accuracy tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    bench_speed(_images(args.data), args.rounds)
    bench_accuracy(args.data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
