"""Score the classical nuclei detector on the HGSC nest image against its pseudo ground truth."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

if __package__ in (None, ""):  # run as `python eval/nuclei_hgsc.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.detection_metrics import (
    DetectionScores,
    label_centroids,
    match_by_centroid,
    match_by_iou,
)
from tools.nuclei import detect_nuclei

__all__ = ["ASSUMED_MPP", "CENTROID_RADIUS_PX", "evaluate", "format_table", "main"]

ASSUMED_MPP = 0.5
"""µm/px assumed for hgsc_nest.jpg, which has no mpp metadata: its label nuclei have a median
area of 245 px², i.e. ~61 µm² at 0.5 µm/px, typical of carcinoma nuclei at 20x."""
CENTROID_RADIUS_PX = 6.0
"""Centroid match radius, image pixels (3 µm at the assumed 0.5 µm/px)."""
_DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CAVEAT = (
    "caveat: the HGSC labels are a segmentation model's output (histolytics), pseudo ground "
    "truth, not manual annotation; mpp 0.5 is assumed, not read from the image."
)


def evaluate(
    data: Path, image: Path | None = None, labels: Path | None = None
) -> tuple[list[DetectionScores], float, float]:
    """Detect nuclei on hgsc_nest.jpg (or ``image`` with its ``labels``) and score them.

    ``labels`` is an .npz whose ``nuc_raster`` is the image's int instance mask, as the HGSC
    nest's: a held-out image is scored the same way.

    Returns:
        The IoU and centroid scores, the seconds detect_nuclei took and the image megapixels.
    """
    folder = data / "histolytics_hgsc"
    image = image or folder / "hgsc_nest.jpg"
    labels = labels or folder / "hgsc_nest_inst_mask.npz"
    rgb = np.asarray(Image.open(image).convert("RGB"))
    with np.load(labels) as npz:
        truth = npz["nuc_raster"]
    start = time.perf_counter()
    result = detect_nuclei(rgb, mpp=ASSUMED_MPP)
    seconds = time.perf_counter() - start
    pred_xy = np.array([n.centroid for n in result.nuclei], dtype=np.float64).reshape(-1, 2)
    scores = [
        match_by_iou(result.labels, truth, threshold=0.5),
        match_by_centroid(pred_xy, label_centroids(truth), CENTROID_RADIUS_PX),
    ]
    return scores, seconds, rgb.shape[0] * rgb.shape[1] / 1e6


def format_table(scores: list[DetectionScores], seconds: float) -> str:
    """Render the scores as a fixed-width text table."""
    head = ("method", "precision", "recall", "F1", "n_pred", "n_truth", "count_err", "mIoU", "s")
    rows = [" ".join(f"{h:>12}" for h in head)]
    for s in scores:
        miou = "-" if s.mean_iou is None else f"{s.mean_iou:.3f}"
        cells = (s.method, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}")
        cells += (str(s.count_pred), str(s.count_truth), f"{s.count_error:+d}", miou)
        cells += (f"{seconds:.2f}",)
        rows.append(" ".join(f"{c:>12}" for c in cells))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation and write the table to stdout."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=_DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--image", type=Path, help="another H&E image at 0.5 µm/px")
    parser.add_argument("--labels", type=Path, help="its instance mask: .npz with nuc_raster")
    args = parser.parse_args(argv)
    if (args.image is None) != (args.labels is None):
        parser.error("--image and --labels go together")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    scores, seconds, megapixels = evaluate(args.data, args.image, args.labels)
    sys.stdout.write(format_table(scores, seconds) + "\n")
    sys.stdout.write(f"throughput: {megapixels / seconds:.2f} Mpx/s (detect_nuclei only)\n")
    sys.stdout.write(CAVEAT + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
