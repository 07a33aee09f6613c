"""One writer per case across processes: real processes, real SQLite files, real SIGKILL.

Writers are processes with their own ``Copilot`` on one ``SMARTPATH_HOME`` (see
``tests/fixtures/case_writers.py``) and ``python -m app.main ask`` commands. The cheapest real
turn is a metadata question on the CMU sample. ``benchmarks/bench_case_kill.py`` runs the
random-kill trials at a larger count and prints a table of where the kills landed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.case_recovery import inspect_case
from app.runner import WAIT_LINE, Copilot
from core.errors import CaseBusyError
from core.progress import Progress
from core.settings import Settings
from memory.case_lock import CaseLocks
from memory.cases import CaseStore
from tests.fixtures.case_writers import (
    audit_turns,
    consistent,
    context,
    kill_during_turns,
    loop_turns,
    open_store,
    question,
    write_turns,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
HOLDER = """
import sys, time
from pathlib import Path
from memory.case_lock import CaseLocks
lease = CaseLocks(Path(sys.argv[1])).acquire(sys.argv[2], 5)
print("held", flush=True)
time.sleep(float(sys.argv[3]))
"""


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTPATH_")}
    env.update(SMARTPATH_HOME=str(home), SMARTPATH_PLANNER="rules", PYTHONPATH=str(REPO_ROOT))
    env.update(extra)
    return env


def _holder(folder: Path, case_id: str, seconds: float) -> subprocess.Popen[str]:
    """Another process that holds a case's lock for ``seconds`` (or until killed)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder), case_id, str(seconds)],
        cwd=REPO_ROOT,
        env=_env(folder),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    with proc.stdout:
        assert proc.stdout.readline() == "held\n"
    return proc


def _cli_ask(home: Path, slide: Path, text: str, case_id: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.main", "ask", str(slide), text, "--case", case_id, "--json"],
        cwd=REPO_ROOT,
        env=_env(home, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def rules_copilot(home: Path) -> Iterator[Copilot]:
    c = Copilot(Settings(home=home, planner="rules", case_lock_timeout_s=60))
    yield c
    c.close()


def test_the_lock_holds_across_processes_and_dies_with_its_holder(tmp_path: Path) -> None:
    locks = CaseLocks(tmp_path / "cases.sqlite-locks")
    holder = _holder(locks.folder, "c1", 60)
    try:
        assert locks.try_acquire("c1") is None
        started = time.monotonic()
        with pytest.raises(CaseBusyError, match="case 'c1' is busy.*waited 0.3 s"):
            locks.acquire("c1", 0.3)
        assert time.monotonic() - started >= 0.3
        with locks.acquire("c2", 0):  # another case is free
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    started = time.monotonic()
    with locks.acquire("c1", 5):  # the kernel dropped the dead holder's lock
        assert locks.try_acquire("c1") is None  # another turn of this process waits too
    assert time.monotonic() - started < 1
    lease = locks.try_acquire("c1")  # released on leaving the block
    assert lease is not None
    lease.release()
    lease.release()  # a second release does nothing
    assert locks.path("c1").is_file()


@pytest.mark.shared_data
def test_a_turn_waits_for_another_process_then_answers(
    rules_copilot: Copilot, home: Path, cmu_slide: Path
) -> None:
    holder = _holder(rules_copilot.cases.locks.folder, "w", 1.5)
    items = list(rules_copilot.ask_stream(cmu_slide, "What is the size of this slide?", "w"))
    assert holder.wait(timeout=10) == 0
    assert isinstance(items[0], Progress)
    assert items[0].text == WAIT_LINE  # the holder had it: the turn waited, then answered
    assert items[-1].turn == 1


@pytest.mark.shared_data
@pytest.mark.slow
def test_cli_on_a_busy_case_is_one_line_exit_3_and_writes_nothing(
    home: Path, cmu_slide: Path
) -> None:
    holder = _holder(home / "cases.sqlite-locks", "held", 120)
    try:
        proc = _cli_ask(
            home, cmu_slide, "What is the size?", "held", SMARTPATH_CASE_LOCK_TIMEOUT_S="1"
        )
        out, err = proc.communicate(timeout=300)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    assert proc.returncode == 3, err
    assert err.startswith("error: case 'held' is busy: another turn of it is still running")
    assert "SMARTPATH_CASE_LOCK_TIMEOUT_S" in err
    assert err.count("\n") == 1
    assert out == ""
    assert not (home / "audit" / "held.jsonl").exists()
    copilot = Copilot(Settings(home=home, planner="rules"))
    try:
        assert copilot.case("held") == (None, {})
    finally:
        copilot.close()


def test_processes_opening_a_new_cases_database_at_once_all_open_it(tmp_path: Path) -> None:
    """Twelve processes open one new file at the same instant, ten times over: none is refused.

    Switching a new file to WAL needs an exclusive lock that SQLite refuses without waiting;
    before the set-up lock, about one round in eight had an opener fail "database is locked".
    """
    ctx, openers, rounds = context(), 12, 10
    for r in range(rounds):
        path, out = tmp_path / f"r{r}" / "cases.sqlite", tmp_path / f"r{r}.txt"
        barrier = ctx.Barrier(openers)
        procs = [
            ctx.Process(target=open_store, args=(str(path), barrier, str(out)))
            for _ in range(openers)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
        assert [p.exitcode for p in procs] == [0] * openers
        assert out.read_text().splitlines() == ["ok"] * openers, f"round {r}"
        store = CaseStore(path)
        try:
            assert len(store.list()) == openers
        finally:
            store.close()


@pytest.mark.shared_data
@pytest.mark.slow
def test_concurrent_writers_lose_and_repeat_no_turn(home: Path, cmu_slide: Path) -> None:
    writers, shared_turns, own_turns, clis = 8, 5, 2, 2
    ctx = context()
    barrier = ctx.Barrier(writers)
    out = home / "answers.jsonl"
    procs = []
    for w in range(writers):
        asks = [("shared", question(w, n)) for n in range(1, shared_turns + 1)]
        for n in range(own_turns):  # interleave a case of its own
            asks.insert(2 * n + 1, (f"own-{w}", question(w, 100 + n)))
        procs.append(
            ctx.Process(
                target=write_turns, args=(str(home), str(cmu_slide), asks, barrier, str(out))
            )
        )
    for p in procs:
        p.start()
    cli = [_cli_ask(home, cmu_slide, question(100 + i, 1), "shared") for i in range(clis)]
    try:
        for p in procs:
            p.join(timeout=400)
        assert [p.exitcode for p in procs] == [0] * writers
        cli_rows = []
        for c in cli:
            stdout, stderr = c.communicate(timeout=300)
            assert c.returncode == 0, stderr
            cli_rows.append(json.loads(stdout))
    finally:  # a failed assertion leaves no process running and no pipe open
        for p in procs:
            p.kill()
            p.join()
        for c in cli:
            c.kill()
            c.communicate()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == writers * (shared_turns + own_turns)
    assert all(r["code"] == 0 for r in rows)
    total = writers * shared_turns + clis
    shared = [r for r in rows if r["case"] == "shared"] + cli_rows
    assert sorted(r["turn"] for r in shared) == list(range(1, total + 1))  # none twice
    copilot = Copilot(Settings(home=home, planner="rules"))
    try:
        assert consistent(copilot, "shared") == total
        _, state = copilot.case("shared")
        by_turn = {f["turn"]: f["request"] for f in state["findings"]}
        assert all(by_turn[r["turn"]] == r["request"] for r in shared)  # none lost
        for w in range(writers):
            assert consistent(copilot, f"own-{w}") == own_turns
        assert [r.case_id for r in copilot.cases.list()].count("shared") == 1
        assert not any(rec["kind"] == "interrupted" for rec in copilot.audit.read("shared"))
    finally:
        copilot.close()


@pytest.mark.shared_data
@pytest.mark.slow
def test_kill_9_at_random_moments_leaves_the_case_consistent(
    rules_copilot: Copilot, home: Path, cmu_slide: Path
) -> None:
    trials, seed = 20, 1729
    rng = random.Random(seed)
    audit = rules_copilot.audit.path("k")
    interrupted_trials = 0
    for trial in range(trials):
        before = consistent(rules_copilot, "k")
        seen = len(audit_turns(rules_copilot.audit.read("k"))[1])
        kill_during_turns(home, cmu_slide, "k", trial, rng, audit)
        turns = consistent(rules_copilot, "k")  # repairs, then checks
        assert turns >= before
        interrupted = audit_turns(rules_copilot.audit.read("k"))[1]
        interrupted_trials += len(interrupted) > seen
        assert len(interrupted) <= seen + 1  # one interrupted turn per kill at most
        r = rules_copilot.ask(cmu_slide, f"What is the size of this slide? [after {trial}]", "k")
        assert r.turn == turns + 1
        assert r.exit_code == 0
    assert interrupted_trials >= 5, f"seed {seed}: only {interrupted_trials} kills hit a turn"
    assert consistent(rules_copilot, "k") >= trials


def _kill_at(home: Path, slide: Path, case_id: str, point: str) -> None:
    p = context().Process(target=loop_turns, args=(str(home), str(slide), case_id, 0, point))
    p.start()
    p.join(timeout=120)
    assert p.exitcode == -signal.SIGKILL, point


def _index_turns(copilot: Copilot, case_id: str) -> int:
    record = copilot.cases.get(case_id)
    return record.turns if record else 0


@pytest.mark.shared_data
@pytest.mark.slow
def test_kill_9_at_each_point_of_a_turn(
    rules_copilot: Copilot, home: Path, cmu_slide: Path
) -> None:
    c = rules_copilot
    assert c.ask(cmu_slide, "What is the size of this slide? [first]", "p").turn == 1
    _kill_at(home, cmu_slide, "p", "tool_call")  # mid-act
    assert inspect_case(c.graph, "p").interrupted is not None
    assert _index_turns(c, "p") == 1
    _kill_at(home, cmu_slide, "p", "repair")  # the next opener dies while repairing
    last = c.audit.last("p")
    assert last is not None
    assert (last["kind"], last["turn"], last["pending"]) == ("interrupted", 2, ["act"])
    assert last["request"] == question(0, 1)
    assert consistent(c, "p") == 1  # the repair is finished, not recorded twice
    assert [a.turn for a in audit_turns(c.audit.read("p"))[1]] == [2]
    assert c.ask(cmu_slide, "What is the size of this slide? [second]", "p").turn == 2

    _kill_at(home, cmu_slide, "p", "turn")  # after the turn's audit record, before its checkpoint
    assert consistent(c, "p") == 2
    assert c.audit.last("p")["pending"] == ["respond"]  # type: ignore[index]
    assert c.ask(cmu_slide, "What is the size of this slide? [third]", "p").turn == 3

    _kill_at(home, cmu_slide, "p", "index")  # after the last checkpoint, before the index row
    assert _index_turns(c, "p") == 3
    assert inspect_case(c.graph, "p").turns == 4  # answered: it stays in the case
    assert consistent(c, "p") == 4
    assert _index_turns(c, "p") == 4
    assert c.ask(cmu_slide, "What is the size of this slide? [fifth]", "p").turn == 5
    assert [a.turn for a in audit_turns(c.audit.read("p"))[1]] == [2, 3]

    _kill_at(home, cmu_slide, "first", "tool_call")  # a new case's first turn
    assert consistent(c, "first") == 0
    assert c.cases.get("first") is None
    assert c.ask(cmu_slide, "What is the size of this slide?", "first").turn == 1
    assert consistent(c, "first") == 1


@pytest.mark.shared_data
def test_a_turn_abandoned_in_process_is_recorded_and_its_number_reused(
    rules_copilot: Copilot, cmu_slide: Path
) -> None:
    c = rules_copilot
    c.ask(cmu_slide, "What is the size of this slide?", "a")
    events = c.ask_stream(cmu_slide, "What is the size of this slide? [abandoned]", "a")
    for item in events:
        if isinstance(item, Progress) and item.node == "act":
            break
    events.close()  # type: ignore[attr-defined]
    last: dict[str, Any] | None = c.audit.last("a")
    assert last is not None
    assert last["kind"] == "interrupted"
    assert last["reason"] == "the caller stopped reading the turn before it completed"
    assert (last["turn"], last["continues_from_turn"]) == (2, 1)
    assert consistent(c, "a") == 1
    again = c.ask(cmu_slide, "What is the size of this slide? [again]", "a")
    assert again.turn == 2
    assert consistent(c, "a") == 2


@pytest.mark.shared_data
def test_threads_of_one_process_take_turns(rules_copilot: Copilot, cmu_slide: Path) -> None:
    turns: list[int] = []
    errors: list[BaseException] = []

    def ask(n: int) -> None:
        try:
            turns.append(rules_copilot.ask(cmu_slide, question(n, 1), "t").turn)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted(turns) == [1, 2, 3, 4]
    assert consistent(rules_copilot, "t") == 4
