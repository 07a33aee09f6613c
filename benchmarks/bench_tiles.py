"""Benchmark: tiles/s of the tile reader against a plain OpenSlide loop, and tissue-detection time.

Every run opens fresh handles (OpenSlide's tile cache starts cold), reads every tile of the
grid once, and converts it to an RGB numpy array; the table reports the median of the repeats
after one warm-up run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import openslide  # noqa: E402

from tools.slide import Slide  # noqa: E402
from tools.tile_reader import TileReader  # noqa: E402
from tools.tiling import Tile, tile_grid  # noqa: E402
from tools.tissue import detect_tissue  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
WSI_DIR = REPO.parent / "shared" / "data" / "wsi"
DEFAULT_SLIDE = WSI_DIR / "CMU-1-Small-Region.svs"


def plain_loop(path: Path, tiles: list[Tile]) -> int:
    """Reference: one handle, ``read_region`` per tile, PIL → RGB → numpy."""
    slide = openslide.OpenSlide(str(path))
    try:
        for tile in tiles:
            size = (tile.tile_px, tile.tile_px)
            region = slide.read_region((tile.box.x0, tile.box.y0), tile.read_level, size)
            np.asarray(region.convert("RGB"))
    finally:
        slide.close()
    return len(tiles)


def reader_loop(path: Path, tiles: list[Tile], workers: int) -> int:
    """Our reader, opened for this run, reading every tile once."""
    with TileReader(path, workers=workers) as reader:
        return sum(1 for _ in reader.read(tiles))


def interleaved_rates(runs: dict[str, Callable[[], int]], repeats: int) -> dict[str, float]:
    """Median tiles/s of each reader; rounds alternate the readers so load drift hits all alike."""
    for run in runs.values():
        run()  # warm-up: page cache and imports
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            count = run()
            rates[name].append(count / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in rates.items()}


def bench_reader(path: Path, tile_px: int, repeats: int) -> None:
    """Print the tiles/s table for one slide (level-0 tiles over the whole slide)."""
    with Slide.open(path) as slide:
        tiles = tile_grid(slide.metadata, None, tile_px=tile_px, level=0)
    print(
        f"slide {path.name}: {len(tiles)} tiles of {tile_px}px at level 0, "
        f"median of {repeats} interleaved rounds"
    )
    runs = {
        "plain OpenSlide loop": lambda: plain_loop(path, tiles),
        "TileReader workers=1": lambda: reader_loop(path, tiles, 1),
        "TileReader workers=2": lambda: reader_loop(path, tiles, 2),
    }
    rates = interleaved_rates(runs, repeats)
    reference = rates["plain OpenSlide loop"]
    print(f"{'reader':<24}{'tiles/s':>10}{'ratio':>8}")
    for name, rate in rates.items():
        print(f"{name:<24}{rate:>10.1f}{rate / reference:>8.2f}")


def bench_tissue(slides: list[Path], repeats: int) -> None:
    """Print the median tissue-detection time (open + thumbnail + mask) per slide."""
    print(f"{'slide':<32}{'tissue s':>10}{'fraction':>10}{'regions':>9}")
    for path in slides:
        times = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            with Slide.open(path) as slide:
                tissue = detect_tissue(slide)
            times.append(time.perf_counter() - start)
        median = statistics.median(times[1:])
        print(
            f"{path.name:<32}{median:>10.3f}{tissue.tissue_fraction:>10.3f}{len(tissue.regions):>9}"
        )


def main(argv: list[str] | None = None) -> None:
    """Run both benchmarks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slide", nargs="?", type=Path, default=DEFAULT_SLIDE)
    parser.add_argument("--tile-px", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--wsi-dir", type=Path, default=WSI_DIR, help="slides for tissue timing")
    args = parser.parse_args(argv)
    bench_reader(args.slide, args.tile_px, args.repeats)
    print()
    bench_tissue(sorted(p for p in args.wsi_dir.iterdir() if p.is_file()), args.repeats)


if __name__ == "__main__":
    main()
