"""Benchmark: peak memory and outcome of ``smartpath ask`` on slides built to exhaust memory.

Builds one-level tiled TIFFs that declare 40000² and 200000² pixels (every tile shares one
deflated block: 50 KB and 1.2 MB on disk, 4.8 GB and 120 GB decoded), a copy of the sample slide
cut 5 KiB short, and the sample itself as a control; asks each for its tissue (a thumbnail of the
whole slide) in a fresh process and reports that process's peak RSS, exit code and first line
of stderr as a table. Every row must stay under 2 GB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.slides import write_declared_tiff  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO.parent / "shared" / "data" / "wsi" / "CMU-1-Small-Region.svs"
LIMIT_MB = 2048
QUESTION = "How much tissue is there?"


def build_inputs(folder: Path) -> list[tuple[str, Path]]:
    """The slides to ask about, with a label each."""
    inputs = [
        ("40000² one level", write_declared_tiff(folder / "d40000.tiff", 40_000, 40_000)),
        ("200000² one level", write_declared_tiff(folder / "d200000.tiff", 200_000, 200_000)),
    ]
    if SAMPLE.is_file():
        cut = folder / "tail-cut.svs"
        cut.write_bytes(SAMPLE.read_bytes()[: -5 * 1024])
        inputs += [("sample cut 5 KiB short", cut), ("sample (control)", SAMPLE)]
    return inputs


def ask(slide: Path, home: Path, planner: str | None) -> tuple[int, str, float, float]:
    """Run the CLI once; return exit code, first stderr line, peak RSS in MB and seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPATH_")}
    env.update(SMARTPATH_HOME=str(home), PYTHONPATH=str(REPO))
    if planner:
        env["SMARTPATH_PLANNER"] = planner
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.main", "ask", str(slide), QUESTION],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    err = proc.stderr.read().decode("utf-8", "replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    first = err.splitlines()[0] if err else "answered"
    return proc.returncode, first, usage.ru_maxrss / 1024, seconds


def main() -> int:
    """Print the table; exit 1 when a row passes the memory limit or shows a traceback."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planner", choices=["llm", "semantic", "rules"], default=None)
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = []
        for label, path in build_inputs(folder):
            home = folder / f"home-{len(rows)}"
            code, line, peak_mb, seconds = ask(path, home, args.planner)
            size_kb = path.stat().st_size / 1024
            rows.append((label, size_kb, code, peak_mb, seconds, line))
            failed |= peak_mb >= LIMIT_MB or "Traceback" in line
    print(f"{'input':24} {'file KB':>9} {'exit':>4} {'peak RSS MB':>11} {'s':>6}  outcome")
    for label, size_kb, code, peak_mb, seconds, line in rows:
        shown = line if len(line) <= 110 else line[:109] + "…"
        print(f"{label:24} {size_kb:9.0f} {code:4d} {peak_mb:11.0f} {seconds:6.1f}  {shown}")
    print(f"limit: {LIMIT_MB} MB peak RSS per run; {'FAILED' if failed else 'all within'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
