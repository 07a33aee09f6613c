"""Benchmark: tiles/s of the tile reader against a plain OpenSlide loop, and tissue-detection time.

Every run opens fresh handles (OpenSlide's tile cache starts cold), reads every 256-px tile of
the level-0 grid once and converts it to an RGB numpy array. Rounds run every reader once, in an
order that rotates from round to round, so load from other processes hits all alike; the table
gives each reader's median tiles/s and the median (and range) of its per-round ratio to the plain
loop of the same round, and ``cpu ratio``, the plain loop's CPU seconds (all threads of the process)
over the reader's: the work saved, whatever share of the cores other processes leave. A last row
measures the machine itself: GIL-free work (zlib) on 2 threads against 1 thread in the same
rounds, the most that 2 workers could gain in wall time while the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
DEFAULT_SLIDES = [WSI_DIR / "CMU-1-Small-Region.svs", WSI_DIR / "tcga-cr-7395-01a-01-ts1.svs"]
REFERENCE = "plain OpenSlide loop"
CEILING = "machine: zlib 2 threads / 1"
_ZLIB_DATA = np.random.default_rng(0).integers(0, 16, 1 << 20, dtype=np.uint8).tobytes()


def plain_loop(path: Path, tiles: list[Tile]) -> list[np.ndarray]:
    """Reference: one handle, ``read_region`` per tile, PIL → RGB → numpy."""
    slide = openslide.OpenSlide(str(path))
    try:
        out = []
        for tile in tiles:
            size = (tile.tile_px, tile.tile_px)
            region = slide.read_region((tile.box.x0, tile.box.y0), tile.read_level, size)
            out.append(np.asarray(region.convert("RGB")))
    finally:
        slide.close()
    return out


def reader_loop(path: Path, tiles: list[Tile], workers: int) -> list[np.ndarray]:
    """Our reader, opened for this run, reading every tile once."""
    with TileReader(path, workers=workers) as reader:
        return [rgb for _, rgb in reader.read(tiles)]


def _zlib_work(chunks: int) -> None:
    for _ in range(chunks):
        zlib.compress(_ZLIB_DATA, 6)


def zlib_seconds(threads: int, chunks: int) -> float:
    """Seconds for ``chunks`` zlib compressions of 1 MiB split over ``threads`` threads."""
    start = time.perf_counter()
    if threads == 1:
        _zlib_work(chunks)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(_zlib_work, [chunks // threads] * threads))
    return time.perf_counter() - start


def interleaved(
    runs: dict[str, Callable[[], object]], repeats: int, zlib_chunks: int
) -> tuple[dict[str, list[float]], dict[str, list[float]], list[float]]:
    """Wall and CPU seconds of each reader per round, and the machine's 2-thread ratio per round."""
    for run in runs.values():
        run()  # warm-up: page cache and imports
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    ceiling: list[float] = []
    names = list(runs)
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start, start_cpu = time.perf_counter(), time.process_time()
            runs[name]()
            seconds[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
        ceiling.append(zlib_seconds(1, zlib_chunks) / zlib_seconds(2, zlib_chunks))
    return seconds, cpu, ceiling


def bench_reader(path: Path, tile_px: int, repeats: int) -> None:
    """Print the tiles/s table for one slide (level-0 tiles over the whole slide)."""
    with Slide.open(path) as slide:
        tiles = tile_grid(slide.metadata, None, tile_px=tile_px, level=0)
    reference = plain_loop(path, tiles)
    same = all(
        all(
            np.array_equal(a, b)
            for a, b in zip(reader_loop(path, tiles, w), reference, strict=True)
        )
        for w in (1, 2)
    )
    print(
        f"slide {path.name}: {len(tiles)} tiles of {tile_px}px at level 0, {repeats} rounds; "
        f"pixels identical to the plain loop: {'yes' if same else 'NO'}"
    )
    runs: dict[str, Callable[[], object]] = {
        REFERENCE: lambda: plain_loop(path, tiles),
        "TileReader workers=1": lambda: reader_loop(path, tiles, 1),
        "TileReader workers=2": lambda: reader_loop(path, tiles, 2),
    }
    # zlib work of about one plain-loop run
    probe = time.perf_counter()
    zlib_seconds(1, 4)
    per_chunk = (time.perf_counter() - probe) / 4
    start = time.perf_counter()
    plain_loop(path, tiles)
    chunks = max(2, 2 * round((time.perf_counter() - start) / per_chunk / 2))
    seconds, cpu, ceiling = interleaved(runs, repeats, chunks)
    ref, ref_cpu = seconds[REFERENCE], statistics.median(cpu[REFERENCE])
    print(f"{'reader':<30}{'tiles/s':>9}{'ratio':>8}{'min':>7}{'max':>7}{'cpu ratio':>11}")
    for name, values in seconds.items():
        ratios = [r / v for r, v in zip(ref, values, strict=True)]
        rate = len(tiles) / statistics.median(values)
        print(
            f"{name:<30}{rate:>9.1f}{statistics.median(ratios):>8.2f}"
            f"{min(ratios):>7.2f}{max(ratios):>7.2f}{ref_cpu / statistics.median(cpu[name]):>11.2f}"
        )
    print(
        f"{CEILING:<30}{'':>9}{statistics.median(ceiling):>8.2f}"
        f"{min(ceiling):>7.2f}{max(ceiling):>7.2f}"
    )


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
    """Run the tile benchmark on each slide (and, with ``--tissue``, the tissue timing)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slides", nargs="*", type=Path, default=DEFAULT_SLIDES)
    parser.add_argument("--tile-px", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--tissue", action="store_true", help="also time tissue detection")
    parser.add_argument("--wsi-dir", type=Path, default=WSI_DIR, help="slides for tissue timing")
    args = parser.parse_args(argv)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for path in args.slides:
        bench_reader(path, args.tile_px, args.repeats)
        print()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.tissue:
        print()
        bench_tissue(sorted(p for p in args.wsi_dir.iterdir() if p.is_file()), args.repeats)


if __name__ == "__main__":
    main()
