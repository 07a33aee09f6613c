"""Run evaluation suites through the co-pilot: a fresh case per scenario, turns in order."""

from __future__ import annotations

import json
import logging
import queue
import secrets
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Protocol

from core.errors import CopilotError
from eval.expectations import score_turn
from eval.suite import Case, Suite
from eval.versions import record_versions

__all__ = ["Asker", "Progress", "progress_line", "run_suites", "turn_record"]

logger = logging.getLogger(__name__)


class Asker(Protocol):
    """What the runner needs of the co-pilot: ``Copilot.ask``."""

    def ask(self, slide: str | Path, question: str, case_id: str | None = None) -> Any:
        """Answer one turn; the result has ``model_dump(mode="json")`` (a ``TurnResult``)."""
        ...


Progress = Callable[[int, int, list[dict[str, Any]]], None]
"""Told each finished case: cases done, cases in all, the case's records."""


def run_suites(
    suites: list[Suite],
    copilot: Asker | Sequence[Asker],
    data_root: Path,
    jsonl: Path,
    progress: Progress | None = None,
    versions: dict[str, Any] | None = None,
    unmet: dict[str, list[str]] | None = None,
) -> list[dict[str, Any]]:
    """Run every case of every suite; write one JSON record per turn to ``jsonl``.

    With several askers (one co-pilot per worker) as many cases run at once, each case on one
    asker, its turns in order. Records are written and returned in suite and case order
    whatever the order cases finish in. A case whose files are missing gets one record saying
    which, and the run goes on. A turn that raises gets a record with the error; the case's
    later turns still run.

    Args:
        suites: loaded suites, run in this order.
        copilot: one asker, or one per worker (cases run at once = their number).
        data_root: folder the cases' slide paths are relative to.
        jsonl: file the records are written to (replaced).
        progress: told of each finished case.
        versions: the run's versions (``eval.versions.run_versions``); each answered record
            then carries its id and the versions of the experts its evidence names.
        unmet: suite name -> requirements this run cannot provide
            (``eval.requirements.unmet_requirements``); such a suite's cases are not run, each
            gets one ``missing`` record naming them.

    Returns:
        The records written, in order.
    """
    askers = list(copilot) if isinstance(copilot, Sequence) else [copilot]
    if not askers:
        msg = "run_suites needs at least one co-pilot"
        raise ValueError(msg)
    unmet = unmet or {}
    work = [(suite, case) for suite in suites for case in suite.cases]
    total = len(work)
    finished: dict[int, list[dict[str, Any]]] = {}
    records: list[dict[str, Any]] = []
    jsonl.parent.mkdir(parents=True, exist_ok=True)
    with jsonl.open("w", encoding="utf-8") as out:
        done = 0
        next_index = 0

        def deliver(index: int, case_records: list[dict[str, Any]]) -> None:
            nonlocal done, next_index
            done += 1
            finished[index] = case_records
            if progress is not None:
                progress(done, total, case_records)
            while next_index in finished:  # write in suite and case order
                for record in finished.pop(next_index):
                    out.write(json.dumps(record, default=str) + "\n")
                    records.append(record)
                out.flush()
                next_index += 1

        if len(askers) == 1:
            for index, (suite, case) in enumerate(work):
                deliver(index, list(_run_case(suite, case, askers[0], data_root, versions, unmet)))
        else:
            free: queue.SimpleQueue[Asker] = queue.SimpleQueue()
            for asker in askers:
                free.put(asker)

            def one(index: int) -> list[dict[str, Any]]:
                asker = free.get()
                try:
                    suite, case = work[index]
                    return list(_run_case(suite, case, asker, data_root, versions, unmet))
                finally:
                    free.put(asker)

            with ThreadPoolExecutor(len(askers), thread_name_prefix="eval") as pool:
                futures = {pool.submit(one, i): i for i in range(total)}
                try:
                    for future in as_completed(futures):
                        deliver(futures[future], future.result())
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
    return records


def _run_case(
    suite: Suite,
    case: Case,
    copilot: Asker,
    data_root: Path,
    versions: dict[str, Any] | None,
    unmet: dict[str, list[str]],
) -> Iterator[dict[str, Any]]:
    base = {"suite": suite.suite, "case": case.id, "family": case.family}
    if unmet.get(suite.suite):
        yield {**base, "turn": None, "status": "missing", "ok": False,
               "missing": unmet[suite.suite],
               "error": "suite requirement not met: " + "; ".join(unmet[suite.suite])}  # fmt: skip
        return
    missing = suite.missing.get(case.id)
    if missing:
        yield {**base, "turn": None, "status": "missing", "ok": False, "missing": missing,
               "error": "missing file(s) under the data root: " + ", ".join(missing)}  # fmt: skip
        return
    case_id = f"eval-{suite.suite[:20]}-{case.id[:24]}-{secrets.token_hex(3)}"
    slide = data_root / case.slide
    for index, turn in enumerate(case.turns, start=1):
        try:
            result = copilot.ask(slide, turn.ask, case_id=case_id).model_dump(mode="json")
        except CopilotError as exc:
            yield {**base, "turn": index, "case_id": case_id, "request": turn.ask,
                   "status": "error", "ok": False, "error": str(exc)}  # fmt: skip
            continue
        except Exception as exc:  # one scenario's crash must not end the run
            logger.debug("turn crashed", exc_info=True)
            yield {**base, "turn": index, "case_id": case_id, "request": turn.ask,
                   "status": "error", "ok": False,
                   "error": f"internal error: {type(exc).__name__}: {exc}"}  # fmt: skip
            continue
        record = turn_record(base, index, result, score_turn(result, turn.expect, data_root))
        if versions is not None:
            record["versions"] = record_versions(versions, record["evidence"])
        yield record


def turn_record(base: dict[str, Any], index: int, result: dict[str, Any], scores: Any) -> dict:
    """Build the JSONL record of one answered turn from its result and scores."""
    verification = result.get("verification") or {}
    return {
        **base,
        "turn": index,
        "case_id": result.get("case_id"),
        "status": "answered",
        "ok": scores.ok,
        "request": result.get("request"),
        "slide": {k: result.get("slide", {}).get(k) for k in ("name", "slide_id")},
        "plan": result.get("plan"),
        "evidence": [
            {
                "id": e.get("id"),
                "tool": e.get("tool"),
                "ok": e.get("ok"),
                "expert": e.get("expert"),
                "backend": e.get("backend"),
                "seconds": e.get("seconds"),
                "error": e.get("error"),
                "output_sha256": e.get("output_sha256"),
            }
            for e in result.get("evidence", [])
        ],
        "answer": result.get("answer"),
        "chain": result.get("chain"),
        "facts": [f.get("id") for f in result.get("facts", [])],
        "verification": {
            k: verification.get(k)
            for k in (
                "status",
                "steps_verified",
                "citation_precision",
                "citation_recall",
                "entity_dice",
                "reasons",
            )
        },
        "scores": scores.model_dump(mode="json"),
        "timings": result.get("timings"),
    }


def progress_line(done: int, total: int, record: dict[str, Any]) -> str:
    """One line about one record: ``[done/total] suite/case turn N: ok (0.21 s)``."""
    turn = f" turn {record['turn']}" if record.get("turn") else ""
    if record["status"] == "answered":
        seconds = (record.get("timings") or {}).get("total_s", 0.0)
        state = f"{'ok' if record['ok'] else 'FAILED'} ({seconds:.2f} s)"
    else:
        state = f"{record['status'].upper()}: {record['error']}"
    return f"[{done}/{total}] {record['suite']}/{record['case']}{turn}: {state}"
