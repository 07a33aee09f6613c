"""A table of the case's findings by region, asked for in words ("make me a table of the regions").

One row per recalled region, one column per kind of result the case holds for any of them: the
count (and density) of nuclei, the tissue class, the main composition class and its share, the
covered share of each segmented compartment. Every cell is written with its claim on the
evidence it comes from, so the table is verified like any other sentence of the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from agent.state import Evidence
from core.narration import Writer

__all__ = ["TABLE_ASKED_RE", "findings_table"]

TABLE_ASKED_RE = re.compile(r"\b(?:tables?|tabulate|tabular|spreadsheet)\b")
"""The request asks for its recall as a table."""

_EMPTY = "–"


@dataclass(frozen=True)
class _Column:
    title: str
    tool: str
    what: str | None
    cell: Callable[[Writer, Evidence], bool]
    """Writes the cell; False when the output has no value for it."""


def _count(w: Writer, ev: Evidence) -> bool:
    count = ev.output.get("count")
    if not isinstance(count, int | float):
        return False
    w.num(count, ev.id, "count")
    return True


def _density(w: Writer, ev: Evidence) -> bool:
    value = ev.output.get("density_per_mm2")
    if not isinstance(value, int | float):
        return False
    w.num(value, ev.id, "density_per_mm2", decimals=0)
    return True


def _label(w: Writer, ev: Evidence) -> bool:
    label, confidence = ev.output.get("label"), ev.output.get("confidence")
    if not isinstance(label, str):
        return False
    w.quote(label, ev.id)
    if isinstance(confidence, int | float):
        w.text(" (").num(confidence, ev.id, "confidence", decimals=2).text(")")
    return True


def _main_share(w: Writer, ev: Evidence) -> bool:
    shares = ev.output.get("shares")
    if not isinstance(shares, dict) or not shares:
        return False
    main = max(shares, key=lambda k: shares[k])
    w.quote(str(main), ev.id).text(" ")
    w.num(100 * float(shares[main]), ev.id, f"shares.{main}", unit="%", decimals=0).text("%")
    return True


def _cover(w: Writer, ev: Evidence) -> bool:
    value = ev.output.get("area_fraction")
    if not isinstance(value, int | float):
        return False
    w.num(100 * value, ev.id, "area_fraction", unit="%", decimals=1).text("%")
    return True


def _columns(found: list[Evidence]) -> list[_Column]:
    """The columns the recalled evidence fills, in a fixed order."""
    tools = {(e.tool, e.inputs.get("what") if e.tool == "segment" else None) for e in found}
    columns: list[_Column] = []
    if ("detect", None) in tools:
        columns.append(_Column("Nuclei", "detect", None, _count))
        if any(isinstance(e.output.get("density_per_mm2"), int | float) for e in found):
            columns.append(_Column("Nuclei per mm²", "detect", None, _density))
    if ("classify", None) in tools:
        columns.append(_Column("Tissue class (confidence)", "classify", None, _label))
    if ("composition", None) in tools:
        columns.append(_Column("Main class (share)", "composition", None, _main_share))
    for what in sorted(str(w) for t, w in tools if t == "segment" and w):
        columns.append(_Column(f"{what.capitalize()} cover", "segment", what, _cover))
    return columns


def findings_table(regions: list[tuple[int, list[Evidence]]]) -> Writer | None:
    """A Markdown table of each region's latest results; None when no region has any.

    ``regions``: (region number, its analyses oldest first) in the order to list them.
    """
    rows = [(n, evs) for n, evs in regions if evs]
    columns = _columns([e for _, evs in rows for e in evs])
    if not rows or not columns:
        return None
    w = Writer().text("| Region | Box (level-0 px) | " + " | ".join(c.title for c in columns))
    w.text(" |\n" + "|---" * (len(columns) + 2) + "|\n")
    for number, evs in rows:
        first = evs[0]
        w.text("| #").num(number, first.id, "roi_number").text(" | ")
        box = first.output.get("region_box")
        if isinstance(box, list) and len(box) == 4:
            w.box([int(v) for v in box], first.id, "region_box")
        else:
            w.text(_EMPTY)
        w.text(" |")
        for column in columns:
            mine = [
                e
                for e in evs
                if e.tool == column.tool
                and (column.what is None or e.inputs.get("what") == column.what)
            ]
            w.text(" ")
            if not mine or not column.cell(w, mine[-1]):
                w.text(_EMPTY)
            w.text(" |")
        w.text("\n")
    return w
