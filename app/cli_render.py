"""Pure text rendering of turns and cases for the terminal."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.runner import TurnResult
from core.narration import OPINION_MARK
from memory.cases import CaseRecord

__all__ = ["render_case", "render_cases", "render_turn"]


def render_turn(result: TurnResult) -> str:
    """Answer, numbered chain with evidence ids and marks, verification, artifacts, case."""
    v = result.verification
    lines = [
        result.answer,
        "",
        f"Reasoning chain (verification: {v.get('status', 'none')}, "
        f"{100 * v.get('steps_verified', 0):.0f}% of steps verified):",
    ]
    for n, step in enumerate(result.chain, 1):
        opinion = any(c.get("kind") == "opinion" for c in step.get("claims", []))
        mark = "verified" if step["verified"] else "UNVERIFIED"
        if opinion and not step["verified"]:
            mark = f"UNVERIFIED: {OPINION_MARK}"
        cites = ", ".join(step["evidence"]) or "no evidence"
        lines.append(f"  {n}. [{step['kind']}] {step['text']}  ({cites}; {mark})")
    failed = [c for c in v.get("checks", []) if not c["ok"]]
    for check in failed:
        lines.append(f"  ! {check['step'] or 'answer'} {check['name']}: {check['detail']}")
    lines.append("Evidence:")
    for ev in result.evidence:
        state = "ok" if ev["ok"] else "FAILED"
        lines.append(
            f"  {ev['id']} {ev['tool']} ({ev['backend']}, {ev['seconds']:.2f} s, "
            f"{state}): {ev['summary']}"
        )
    for ev in result.earlier:  # earlier turns' results this turn compares or recalls
        lines.append(f"  {ev['id']} {ev['tool']} (earlier turn, not re-run): {ev['summary']}")
    if result.artifacts:
        lines.append("Artifacts:")
        lines.extend(f"  {a}" for a in result.artifacts)
    lines.append(
        f"Case {result.case_id}, turn {result.turn} "
        f"({result.timings['total_s']:.2f} s, tools {result.timings['tools_s']:.2f} s)"
    )
    return "\n".join(lines)


def render_cases(records: list[CaseRecord]) -> str:
    """One line per case, most recent first."""
    if not records:
        return "no cases yet"
    lines = [f"{'case':32} {'updated':19} {'turns':>5}  slide"]
    for r in records:
        lines.append(f"{r.case_id:32} {_when(r.updated_at)} {r.turns:>5}  {r.slide_name or '-'}")
    return "\n".join(lines)


def render_case(record: CaseRecord, state: dict[str, Any], audit_path: str) -> str:
    """A case's slide, regions and the answer of every turn."""
    lines = [
        f"Case {record.case_id}: {record.slide_name or 'no slide'} ({record.slide_path})",
        f"created {_when(record.created_at)}, updated {_when(record.updated_at)}, "
        f"{record.turns} turn(s); audit log {audit_path}",
    ]
    for roi in state.get("rois", []):
        lines.append(
            f"  region {roi['number']}: box {roi['box']} (level-0 px), "
            f"downsample {roi['downsample']:g}, turn {roi['turn']}"
        )
    for f in state.get("findings", []):
        lines.append(f"  turn {f['turn']} [{f['status']}] Q: {f['request']}")
        lines.append(f"      A: {f['answer']}")
    return "\n".join(lines)


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")
