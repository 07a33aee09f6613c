"""Tile grid of a whole slide for the tile classifier, against the whole-region reference.

Tissue is found on a shrunk copy and only the kept tiles are resampled; the reference resamples
and masks the whole region, as the grid did before. Same run, alternating.

Usage: python benchmarks/bench_tile_grid.py [SLIDE] [--rounds N]. Prints a table: seconds per
grid (median over rounds, the two alternating), the ratio, and how many kept tiles agree.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from tools import capricorn

SLIDE = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "wsi"
    / "tcga-cr-7395-01a-01-ts1.svs"
)


def _read(path: Path, side: int) -> np.ndarray:
    import openslide

    with openslide.OpenSlide(str(path)) as slide:
        width, height = slide.dimensions
        level = slide.get_best_level_for_downsample(max(width, height) / side)
        size = slide.level_dimensions[level]
        return np.asarray(slide.read_region((0, 0), level, size).convert("RGB"))


def _grid(image: np.ndarray, mask_side: int) -> tuple[float, list[tuple[int, int, int, int]]]:
    capricorn._MASK_SIDE = mask_side
    started = time.perf_counter()
    _, boxes, _ = capricorn.region_tile_grid(
        image, mpp=0.5, tile_px=224, tile_mpp=0.5, max_tiles=64
    )
    return time.perf_counter() - started, boxes


def main(argv: list[str] | None = None) -> int:
    """Print the table; 2 when the slide is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slide", nargs="?", type=Path, default=SLIDE)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--side", type=int, default=12000, help="longest side read (px)")
    args = parser.parse_args(argv)
    if not args.slide.is_file():
        print(f"no slide at {args.slide}", file=sys.stderr)
        return 2
    image = _read(args.slide, args.side)
    default = capricorn._MASK_SIDE
    whole, shrunk = [], []
    for _ in range(args.rounds):
        t, ref = _grid(image, 10**9)
        whole.append(t)
        t, new = _grid(image, default)
        shrunk.append(t)
    capricorn._MASK_SIDE = default
    same = len(set(ref) & set(new))
    print(f"region {image.shape[1]} x {image.shape[0]} px, 64 tiles at most, {args.rounds} rounds")
    print("| grid | s (median) | × reference |")
    print("|---|---:|---:|")
    a, b = statistics.median(whole), statistics.median(shrunk)
    print(f"| whole region resampled and masked (reference) | {a:.2f} | 1.0 |")
    print(f"| mask on a {default}-px copy, kept tiles resampled | {b:.2f} | {a / b:.1f} |")
    print(f"kept tiles in both: {same} of {len(new)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
