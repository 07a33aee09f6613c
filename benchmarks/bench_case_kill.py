"""Benchmark: one case under concurrent writers and under ``kill -9`` at random moments.

Two runs on a fresh ``SMARTPATH_HOME`` with the CMU sample and a metadata question (the
cheapest real turn), writers being real processes with their own ``Copilot`` (see
``tests/fixtures/case_writers.py``):

1. ``--writers`` processes ask ``--turns`` turns each on one case, at once (and as many on a
   case of their own): turns answered, turns lost or numbered twice, wall time.
2. ``--trials`` times: a writer loops turns on one case and is killed with SIGKILL at a random
   moment; the case is then opened (which repairs it) and checked (index turns = checkpoint
   turns = findings = answered turns of the audit log, numbered 1..N, no unfinished
   checkpoint), and the next turn is asked. Printed: a table of where the kills landed (before
   any turn, inside a turn at node X, after the last checkpoint with the index behind) with
   the checks that held.

Exit status 1 when a check failed. ``tests/test_case_lock.py`` runs 20 trials in CI.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.case_recovery import inspect_case  # noqa: E402
from app.runner import Copilot  # noqa: E402
from core.settings import Settings  # noqa: E402
from tests.fixtures.case_writers import (  # noqa: E402
    audit_turns,
    consistent,
    context,
    kill_during_turns,
    question,
    write_turns,
)

SLIDE = Path(__file__).resolve().parents[2] / "shared" / "data" / "wsi" / "CMU-1-Small-Region.svs"


def concurrent_run(home: Path, writers: int, turns: int) -> bool:
    """Writers on one shared case and one own case each; print the outcome; True when sound."""
    ctx = context()
    barrier = ctx.Barrier(writers)
    out = home / "answers.jsonl"
    procs = []
    for w in range(writers):
        asks = []
        for n in range(1, turns + 1):
            asks += [("shared", question(w, n)), (f"own-{w}", question(w, 100 + n))]
        procs.append(
            ctx.Process(target=write_turns, args=(str(home), str(SLIDE), asks, barrier, str(out)))
        )
    started = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    wall = time.perf_counter() - started
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    numbers = sorted(r["turn"] for r in rows if r["case"] == "shared")
    copilot = Copilot(Settings(home=home, planner="rules"))
    try:
        _, state = copilot.case("shared")
        kept = {f["request"] for f in state.get("findings", [])}
        asked = {r["request"] for r in rows if r["case"] == "shared"}
        lost = len(asked - kept) + writers * turns - len(asked)
        twice = len(numbers) - len(set(numbers))
        ok = all(p.exitcode == 0 for p in procs) and numbers == list(range(1, writers * turns + 1))
        ok = ok and lost == 0 and consistent(copilot, "shared") == writers * turns
    except AssertionError:
        traceback.print_exc()
        ok, lost, twice = False, -1, -1
    finally:
        copilot.close()
    print(f"\n{writers} writers x {turns} turns on one case (+{turns} each on its own case)")
    print("| turns answered | lost | numbered twice | wall s | sound |")
    print("|---:|---:|---:|---:|---|")
    print(f"| {len(numbers)} | {lost} | {twice} | {wall:.1f} | {'yes' if ok else 'NO'} |")
    return ok


def kill_trials(home: Path, trials: int, seed: int) -> bool:
    """Kill writers at random moments; print a table of where the kills landed."""
    rng = random.Random(seed)
    copilot = Copilot(Settings(home=home, planner="rules", case_lock_timeout_s=60))
    audit = copilot.audit.path("k")
    landed: Counter[str] = Counter()
    held: Counter[str] = Counter()
    started = time.perf_counter()
    try:
        for trial in range(trials):
            before = copilot.audit.read("k")
            kill_during_turns(home, SLIDE, "k", trial, rng, audit)
            new = copilot.audit.read("k")[len(before) :]
            record = copilot.cases.get("k")
            tip = inspect_case(copilot.graph, "k")
            if tip.interrupted is not None:
                where = f"inside a turn, at {'+'.join(tip.interrupted.next)}"
            elif tip.turns != (record.turns if record else 0):
                where = "after the last checkpoint, index behind"
            elif not any(r["kind"] == "request" for r in new):
                where = "before any turn began"
            else:
                where = "between turns"
            landed[where] += 1
            try:
                turns = consistent(copilot, "k")
                r = copilot.ask(SLIDE, f"What is the size of this slide? [after {trial}]", "k")
                assert r.turn == turns + 1
                assert r.exit_code == 0
                held[where] += 1
            except AssertionError:
                traceback.print_exc()
        _, interrupted = audit_turns(copilot.audit.read("k"))
        final = consistent(copilot, "k")
    finally:
        copilot.close()
    wall = time.perf_counter() - started
    print(f"\n{trials} kill -9 trials (seed {seed}), {wall:.1f} s")
    print("| where the kill landed | trials | case consistent and next turn answered |")
    print("|---|---:|---:|")
    for where, n in sorted(landed.items()):
        print(f"| {where} | {n} | {held[where]} |")
    print(f"\nanswered turns {final}, interrupted turns recorded {len(interrupted)}")
    return sum(held.values()) == trials


def main() -> int:
    """Run both benchmarks; exit status 1 when a check failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1729)
    args = parser.parse_args()
    if not SLIDE.is_file():
        print(f"the sample {SLIDE} is absent", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        ok = concurrent_run(Path(tmp) / "a", args.writers, args.turns)
        ok = kill_trials(Path(tmp) / "b", args.trials, args.seed) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
