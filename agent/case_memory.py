"""The case's memory of results: archived evidence and the region each analysis looked at.

Every turn's evidence is archived in the checkpointed state (``archive``), compacted: lists
longer than ``MAX_LIST`` items (polygons, detections) are left out and named in ``trimmed``;
every scalar a chain step can claim stays, so an earlier result can be cited and verified in a
later turn, after a restart too.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from agent.state import Evidence

__all__ = [
    "ANALYSIS_TOOLS",
    "NOT_FINDINGS",
    "RANK_FIELD",
    "MAX_LIST",
    "Analysis",
    "analyses_of",
    "compact",
    "records",
    "turn_of",
]

MAX_LIST = 32
ANALYSIS_TOOLS = ("segment", "detect", "classify", "composition")
RANK_FIELD = {"detect": "count", "segment": "area_fraction"}
"""The output field parts set side by side are ranked by ("which quadrant has the most
nuclei?"): the answer ranks them by it, and "that quadrant" after it is the first."""
"""Tools two regions are compared by (their outputs carry the region's ROI number)."""
NOT_FINDINGS = ("zoom",)
"""Tools whose results are views, not findings (a recall names the view with its region)."""
_WHERE = ("target", "box", "roi_number", "region_index")
"""Arguments that say where an analysis looked (the rest say how: kept to repeat it)."""


class Analysis(BaseModel):
    """One successful region analysis the case holds."""

    model_config = ConfigDict(frozen=True)

    evidence: str
    tool: str
    roi: int | None
    what: str | None
    turn: int
    args: dict[str, Any]


def compact(ev: dict[str, Any]) -> dict[str, Any]:
    """Return an evidence record with its output's long lists left out (named in ``trimmed``)."""
    output = ev.get("output") or {}
    kept = {k: v for k, v in output.items() if not (isinstance(v, list) and len(v) > MAX_LIST)}
    trimmed = sorted(set(output) - set(kept))
    return {**ev, "output": kept, "trimmed": trimmed}


def records(archive: list[dict[str, Any]], ids: list[str]) -> list[Evidence]:
    """The archived evidence with these ids, in the order given (unknown ids are skipped)."""
    by_id = {e["id"]: e for e in archive}
    return [Evidence.model_validate(by_id[i]) for i in ids if i in by_id]


def turn_of(evidence_id: str) -> int:
    """The turn of an evidence id ``E<turn>.<n>``."""
    return int(evidence_id[1:].split(".", 1)[0])


def analyses_of(archive: list[dict[str, Any]]) -> list[Analysis]:
    """Successful analyses in the archive, oldest first.

    Each is of one region (``roi`` set) or of the whole slide (``roi`` None: tissue
    detection, slide classification, the slide's facts).
    """
    out = []
    for raw in archive:
        ev = Evidence.model_validate(raw)
        if not ev.ok or ev.tool in NOT_FINDINGS:
            continue
        roi = ev.output.get("roi_number", ev.inputs.get("roi_number"))
        keep = {k: v for k, v in ev.inputs.items() if k not in _WHERE}
        out.append(
            Analysis(
                evidence=ev.id,
                tool=ev.tool,
                roi=roi,
                what=ev.inputs.get("what"),
                turn=turn_of(ev.id),
                args=keep,
            )
        )
    return out
