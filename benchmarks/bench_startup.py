"""Benchmark: start-up of whole ``smartpath`` processes against an OpenSlide-only process.

Each round runs, one after the other (so that load drift hits them alike), fresh processes:
the reference (Python opens the slide with OpenSlide and reads its µm/px), ``smartpath --help``,
a metadata question (``ask SLIDE "what is the mpp of this slide?" --json``) and an analysis
question (a nuclei count in a 512 × 512 region), both in a temporary ``SMARTPATH_HOME``.
``smartpath`` runs as its console script does (``app.main.main``), from this checkout. Printed:
the median, fastest and slowest wall time of each over ``--runs`` rounds after one warm-up
round, with its ratio to the reference; then the turns' own ``timings`` (median per key): where
an in-process turn's seconds go, and the agent's share (``agent_s / total_s``).

The warm-up round is also the first question in a new home, which encodes the planner's
example requests once (``memory.vector_cache``); its wall time is printed on its own line.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SLIDE = REPO.parent / "shared" / "data" / "wsi" / "CMU-1-Small-Region.svs"
METADATA_QUESTION = "what is the mpp of this slide?"
ANALYSIS_QUESTION = "count the nuclei in a 512 x 512 region at the centre of the slide"

logger = logging.getLogger("bench_startup")

_REFERENCE = """
import sys
import openslide
slide = openslide.OpenSlide(sys.argv[1])
mpp = float(slide.properties[openslide.PROPERTY_NAME_MPP_X])
slide.close()
"""
_SMARTPATH = "import sys; from app.main import main; sys.exit(main())"


def commands(slide: Path) -> dict[str, list[str]]:
    """The processes to time, by name; the first is the reference."""
    python = sys.executable
    return {
        "OpenSlide only (reference)": [python, "-c", _REFERENCE, str(slide)],
        "smartpath --help": [python, "-c", _SMARTPATH, "--help"],
        "metadata question": [python, "-c", _SMARTPATH, "ask", str(slide), METADATA_QUESTION],
        "analysis question": [python, "-c", _SMARTPATH, "ask", str(slide), ANALYSIS_QUESTION],
    }


def run_once(
    name: str, argv: list[str], env: dict[str, str]
) -> tuple[float, dict[str, float] | None]:
    """Wall seconds of one process; the turn's ``timings`` when it answered a question."""
    asks = "ask" in argv
    cmd = [*argv, "--json"] if asks else argv
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        msg = f"{name} exited {proc.returncode}: {proc.stderr.strip()}"
        raise RuntimeError(msg)
    return wall, json.loads(proc.stdout)["timings"] if asks else None


def bench(slide: Path, runs: int, home: Path) -> None:
    """Print the wall-time table and the turns' timings table."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPATH_")}
    env.update(SMARTPATH_HOME=str(home), PYTHONPATH=str(REPO))
    todo = commands(slide)
    walls: dict[str, list[float]] = {name: [] for name in todo}
    timings: dict[str, list[dict[str, float]]] = {name: [] for name in todo}
    first_in_home = 0.0
    for round_no in range(runs + 1):
        for name, argv in todo.items():
            wall, turn = run_once(name, argv, env)
            if round_no == 0:
                logger.info("warm-up %s: %.2f s", name, wall)
                if name == "metadata question":
                    first_in_home = wall
                continue
            walls[name].append(wall)
            if turn is not None:
                timings[name].append(turn)
        if round_no:
            logger.info("round %d/%d done", round_no, runs)
    reference = statistics.median(walls["OpenSlide only (reference)"])
    print(f"slide {slide.name}, median of {runs} interleaved rounds after one warm-up round")
    print()
    print("| process | median s | fastest s | slowest s | × reference |")
    print("|---|---:|---:|---:|---:|")
    for name, values in walls.items():
        median = statistics.median(values)
        print(
            f"| {name} | {median:.3f} | {min(values):.3f} | {max(values):.3f} "
            f"| {median / reference:.1f} |"
        )
    print()
    print(f"First metadata question in a new home (example vectors encoded): {first_in_home:.2f} s")
    print()
    print_turn_timings({k: v for k, v in timings.items() if v})


def print_turn_timings(timings: dict[str, list[dict[str, float]]]) -> None:
    """The median of each ``timings`` key per question, and the agent's share of the turn."""
    names = list(timings)
    keys = list(dict.fromkeys(k for runs in timings.values() for t in runs for k in t))
    print("In-process turn (`timings` of the turn's JSON; median of the runs, seconds):")
    print()
    print("| key | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for key in keys:
        cells = [f"{statistics.median(t.get(key, 0.0) for t in timings[n]):.4f}" for n in names]
        print(f"| {key} | " + " | ".join(cells) + " |")
    shares = [statistics.median(_agent_share(t) for t in timings[n]) for n in names]
    print("| agent share | " + " | ".join(f"{s:.1%}" for s in shares) + " |")


def _agent_share(t: dict[str, float]) -> float:
    """``agent_s / total_s``: the part of the turn in none of tools and knowledge graph."""
    agent = t["total_s"] - t.get("tools_s", 0.0) - t.get("kg_s", 0.0)
    return agent / t["total_s"] if t["total_s"] > 0 else 0.0


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark in a temporary home."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("slide", nargs="?", type=Path, default=DEFAULT_SLIDE)
    parser.add_argument("--runs", type=int, default=5, help="timed rounds (default 5)")
    args = parser.parse_args(argv)
    if not args.slide.is_file():
        parser.error(f"no slide at {args.slide}")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as home:
        bench(args.slide, args.runs, Path(home))


if __name__ == "__main__":
    main()
