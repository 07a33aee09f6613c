"""Benchmark: agreement (IoU) of our tissue masks with histolab's masks on the three real slides.

histolab computed its masks on ``Slide.thumbnail``: each level-0 dimension divided by
10**(digits - 3) (10 for these slides: 2220×2967 → 222×296), then OpenSlide/PIL
``thumbnail`` fits that box keeping the aspect ratio (→ 221×296). Our mask, computed on our
own thumbnail, is resized (nearest) to their shape before the IoU. histolab's default
``TissueMask`` then dilates by a disk of radius 5 (their pixels) and fills holes, so its
masks are wider than the tissue; the last column applies the same two steps to ours.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from tools.slide import Slide  # noqa: E402
from tools.tissue import detect_tissue, mask_iou, resize_mask  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SLIDES = {
    "cmu-1-small-region": "wsi/CMU-1-Small-Region.svs",
    "tcga-cr-7395": "wsi/tcga-cr-7395-01a-01-ts1.svs",
    "kidney-48-5": "wsi/kidney-48-5.tif",
}


def agreement(data: Path, key: str, thumbnail_px: int) -> tuple[tuple[int, int], float, ...]:
    """Return (reference shape, IoU, IoU dilated, our fraction, histolab's) for one slide."""
    reference = np.load(data / "histolab_masks" / f"tissue-mask-{key}.npy")
    with Slide.open(data / SLIDES[key]) as slide:
        tissue = detect_tissue(slide, thumbnail_px=thumbnail_px)
    ours = resize_mask(tissue.mask, reference.shape)
    dilated = mask_iou(ours, reference, dilate_px=5, fill_holes=True)
    return (
        reference.shape,
        mask_iou(ours, reference),
        dilated,
        float(ours.mean()),
        float(reference.mean()),
    )


def main(argv: list[str] | None = None) -> None:
    """Print the agreement table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--thumbnail-px", type=int, default=1024)
    args = parser.parse_args(argv)
    header = f"{'slide':<22}{'mask shape':>12}{'IoU':>8}{'IoU (dilated)':>15}"
    print(f"{header}{'ours':>8}{'histolab':>10}")
    for key in SLIDES:
        shape, iou, dilated, ours, theirs = agreement(args.data, key, args.thumbnail_px)
        row = f"{key:<22}"
        row += f"{f'{shape[0]}×{shape[1]}':>12}{iou:>8.3f}{dilated:>15.3f}"
        print(f"{row}{ours:>8.3f}{theirs:>10.3f}")


if __name__ == "__main__":
    main()
