"""Phrases the tools' narrations share: where a result was measured, its notes, digits to show."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.narration import Section, StepKind, Writer

__all__ = ["decimals_for", "experts_word", "where", "with_notes"]


def where(o: Mapping[str, Any], e: str) -> Writer:
    """'region #n', 'tissue region #n' or 'the analysed region', with claims."""
    if o.get("roi_number") is not None:
        return Writer().text("region #").num(o["roi_number"], e, "roi_number")
    if o.get("region_index") is not None:
        return Writer().text("tissue region #").num(o["region_index"], e, "region_index")
    return Writer().text("the analysed region")


def with_notes(
    parts: list[tuple[StepKind, Writer]],
    short: Writer,
    o: Mapping[str, Any],
    e: str,
    *,
    in_answer: bool = True,
) -> Section:
    """Append each of the tool's notes as a quoted step (and to the answer when asked)."""
    for note in o.get("notes", []):
        nw = Writer().text("Note: ").quote(note, e).text(".")
        parts.append(("observe", nw))
        if in_answer:
            short.text(" ").extend(nw)
    return Section(parts, short)


def experts_word(expert: str | None) -> str:
    """'experts' when several experts were combined (a comma-separated name), else 'expert'."""
    return "experts" if expert and "," in expert else "expert"


def decimals_for(value: float) -> int:
    """Digits to show: enough for the value's own precision, at most 4."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return len(text.split(".")[1]) if "." in text else 0
