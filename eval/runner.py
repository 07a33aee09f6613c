"""Run evaluation suites through the co-pilot: a fresh case per scenario, turns in order."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from agent.errors import CopilotError
from eval.expectations import score_turn
from eval.suite import Case, Suite

__all__ = ["Asker", "run_suites", "turn_record"]

logger = logging.getLogger(__name__)


class Asker(Protocol):
    """What the runner needs of the co-pilot: ``Copilot.ask``."""

    def ask(self, slide: str | Path, question: str, case_id: str | None = None) -> Any:
        """Answer one turn; the result has ``model_dump(mode="json")`` (a ``TurnResult``)."""
        ...


def run_suites(
    suites: list[Suite],
    copilot: Asker,
    data_root: Path,
    jsonl: Path,
    progress: Callable[[str], None] = lambda _line: None,
) -> list[dict[str, Any]]:
    """Run every case of every suite; append one JSON record per turn to ``jsonl``.

    A case whose files are missing gets one record saying which, and the run goes on. A turn
    that raises gets a record with the error; the case's later turns still run.

    Returns:
        The records written, in order.
    """
    total = sum(len(s.cases) for s in suites)
    records: list[dict[str, Any]] = []
    jsonl.parent.mkdir(parents=True, exist_ok=True)
    with jsonl.open("w", encoding="utf-8") as out:
        done = 0
        for suite in suites:
            for case in suite.cases:
                done += 1
                for record in _run_case(suite, case, copilot, data_root):
                    out.write(json.dumps(record, default=str) + "\n")
                    out.flush()
                    records.append(record)
                    progress(_progress_line(done, total, record))
    return records


def _run_case(
    suite: Suite, case: Case, copilot: Asker, data_root: Path
) -> Iterator[dict[str, Any]]:
    base = {"suite": suite.suite, "case": case.id, "family": case.family}
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
        yield turn_record(base, index, result, score_turn(result, turn.expect))


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


def _progress_line(done: int, total: int, record: dict[str, Any]) -> str:
    turn = f" turn {record['turn']}" if record.get("turn") else ""
    if record["status"] == "answered":
        seconds = (record.get("timings") or {}).get("total_s", 0.0)
        state = f"{'ok' if record['ok'] else 'FAILED'} ({seconds:.2f} s)"
    else:
        state = f"{record['status'].upper()}: {record['error']}"
    return f"[{done}/{total}] {record['suite']}/{record['case']}{turn}: {state}"
