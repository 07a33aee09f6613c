"""Bind the numbers and quotes a model wrote in a chain step to claims on the cited outputs.

Text in double quotes becomes a ``quote`` claim against the cited id that contains it; each
number outside quotes becomes a ``number`` claim at the first claimable output path of the
step's cited tool evidence whose value it shows (after the verifier's unit conversions, within
half a unit of its last shown digit), where the words around it fit what the field holds. A
number that matches nothing gets no claim, so the verifier's ``numbers_claimed`` check fails it.

Which output paths a number may bind to, and what each holds, is the cited tool's own
declaration (``Tool.claimable``, found by ``tools.registry.tool_class``). Only for a tool that
declares nothing (one this process does not know, or an extra tool without ``claimable``) are
both inferred: the paths by the output's shape (``claimable_leaves``), the kinds by the field
names (``field_kind``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from agent.state import Claim, Evidence, RecalledFact
from agent.verifier import strings_in
from core.claimable import UNIT_FACTORS, claimable_numbers, stored_unit
from core.labels import file_label
from tools.base import Tool
from tools.registry import tool_class

__all__ = [
    "claimable_leaves",
    "claims_for",
    "field_kind",
    "fits",
    "number_context",
    "numbers_in",
]

_QUOTE_RE = re.compile(r"\"([^\"\n]{1,300})\"|“([^”\n]{1,300})”")
# The verifier's number pattern (agent/verifier.py): what it counts as a number, we claim.
_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*\d)")
_EXEMPT_RE = re.compile(r"level-0")
_UNIT_AFTER = (("%", "%"), ("µm²", "µm²"), ("um²", "µm²"), ("um2", "µm²"), ("mm²", "mm²"))


def numbers_in(text: str) -> list[tuple[str, float, int]]:
    """Numbers the verifier counts in ``text``: (as written, value, end offset)."""
    cleaned = _EXEMPT_RE.sub(lambda m: " " * len(m.group(0)), text)
    return [(m.group(0), float(m.group(0)), m.end()) for m in _NUMBER_RE.finditer(cleaned)]


def claims_for(
    text: str,
    cites: list[str],
    evidence: dict[str, Evidence],
    facts: dict[str, RecalledFact],
) -> list[Claim]:
    """Quote claims for quoted text, number claims for numbers found in the cited outputs."""
    claims: list[Claim] = []
    for m in _QUOTE_RE.finditer(text):
        quote = m.group(1) or m.group(2)
        if not quote.strip() or not cites:
            continue
        named = next((c for c in cites if _names_file(c, quote, evidence)), None)
        if named is not None:
            claims.append(Claim(kind="name", evidence=named, text=quote))
            continue
        home = next((c for c in cites if _contains(c, quote, evidence, facts)), cites[0])
        claims.append(Claim(kind="quote", evidence=home, text=quote))
    unquoted = text
    for claim in claims:
        unquoted = unquoted.replace(claim.text or "", " " * len(claim.text or ""))
    leaves = [leaf for ref in cites if ref in evidence for leaf in _leaves(evidence[ref])]
    for shown, value, end in numbers_in(unquoted):
        digits = len(shown.split(".")[1]) if "." in shown else 0
        tolerance = 0.5 * 10 ** (-digits)
        context = number_context(unquoted, end - len(shown), end)
        fitting = [leaf for leaf in leaves if _fits(context, leaf.path, leaf.kind)]
        match = _match(value, tolerance, _unit_after(unquoted[end:]), fitting)
        if match is not None:
            ref, path, unit = match
            claims.append(
                Claim(
                    kind="number",
                    evidence=ref,
                    path=path,
                    value=value,
                    unit=unit,
                    tolerance=tolerance,
                )
            )
    return claims


def _names_file(ref: str, quote: str, evidence: dict[str, Evidence]) -> bool:
    """``quote`` is the label of the file name (``name``) that the cited tool output reports."""
    name = evidence[ref].output.get("name") if ref in evidence else None
    return isinstance(name, str) and file_label(name) == quote


def _contains(
    ref: str, quote: str, evidence: dict[str, Evidence], facts: dict[str, RecalledFact]
) -> bool:
    """The verifier's haystack for a quote: a fact's texts, or a tool's error/summary/strings."""
    fact = facts.get(ref)
    if fact is not None:
        hay = [fact.text, fact.source, fact.subject, fact.object or "", fact.id]
    elif ref in evidence:
        ev = evidence[ref]
        hay = [ev.error or "", ev.summary, ev.tool, ev.expert or "", *strings_in(ev.output)]
    else:
        return False
    return any(quote in h for h in hay)


_INDEX_BEFORE_RE = re.compile(r"#\s*$")
_CONTEXT_UNITS = (
    ("µm/px", "µm/px"),
    ("um/px", "µm/px"),
    ("%", "%"),
    ("µm²", "µm²"),
    ("um²", "µm²"),
    ("um2", "µm²"),
    ("mm²", "mm²"),
    ("×", "px"),
    ("px", "px"),
    ("pixel", "px"),
)
_MAGNIFICATION_RE = re.compile(r"^x(?![a-z])", re.IGNORECASE)
_NOUN_RE = re.compile(r"^[A-Za-z]")


_LEVEL_BEFORE_RE = re.compile(r"\blevels?\s*$", re.IGNORECASE)
_PER_RE = re.compile(r"^\s*[A-Za-z]+\s+per\s+(\S+)")
_BRACKET_RE = re.compile(r"\[([^\[\]]*)$")


def number_context(text: str, start: int, end: int) -> str:
    """What the words around a written number say it is.

    ``index`` (after "#" or "level"), ``unit:<u>`` (followed by a unit), ``noun`` (followed by a
    word: "60 nuclei", "3 levels"), or ``bare`` (inside a box, a parenthesis, a list).
    """
    before = text[:start]
    if _LEVEL_BEFORE_RE.search(before):
        return "level"
    if _INDEX_BEFORE_RE.search(before):
        return "index"
    bracket = _BRACKET_RE.search(before)
    if bracket is not None and "]" in text[end:]:
        return f"item:{bracket.group(1).count(',')}"  # the k-th number of a written list
    rest = text[end:]
    per = _PER_RE.match(rest)
    if per is not None:
        return "density" if per.group(1).startswith("mm") else "per:other"
    if _MAGNIFICATION_RE.match(rest):
        return "unit:x"
    stripped = rest.lstrip()
    for mark, unit in _CONTEXT_UNITS:
        if stripped.startswith(mark):
            return f"unit:{unit}"
    if _NOUN_RE.match(stripped) and rest[:1] == " ":
        return "noun"
    return "bare"


class _Leaf(NamedTuple):
    """A claimable number of a cited output: where it is, what it holds, how it is stored."""

    ref: str
    path: str
    value: float
    kind: str
    stored: str | None


def _leaves(ev: Evidence) -> list[_Leaf]:
    cls = _declaring(ev.tool)
    found = []
    for path, value in claimable_leaves(ev.output, ev.tool):
        declared = cls.claimable_kind(path) if cls is not None else None
        kind = _kind(path, declared)
        found.append(_Leaf(ev.id, path, value, kind, stored_unit(path, declared)))
    return found


def _declaring(tool: str | None) -> type[Tool] | None:
    """The tool's class when it declares its claimable fields, else None."""
    cls = tool_class(tool) if tool else None
    return cls if cls is not None and cls.claimable is not None else None


_DECLARED_KINDS = {
    "count": "count",
    "index": "index",
    "level": "level",
    "px": "unit:px",
    "px²": "unit:px",
    "µm/px": "unit:µm/px",
    "x": "unit:x",
    "fraction": "unit:%",
    "%": "unit:%",
    "µm²": "unit:µm²",
    "mm²": "unit:mm²",
    "per mm²": "density",
}
"""A declared field kind (``core.claimable.FieldKind``) → what a written number must look like;
a ratio, a probability or another quantity: ``quantity`` (a bare number only)."""


def field_kind(path: str, tool: str | None = None) -> str:
    """What a claimable field holds: as ``tool`` declares it, else guessed from its name.

    An index, a pyramid level, a count, a density, a quantity in a unit, or another quantity
    (which only a bare number, as in a box or a parenthesis, may stand for).
    """
    cls = _declaring(tool)
    return _kind(path, cls.claimable_kind(path) if cls is not None else None)


def _kind(path: str, declared: str | None) -> str:
    if declared is not None:
        return _DECLARED_KINDS.get(declared, "quantity")
    name = path.split(".")[0] if path.split(".")[-1].isdigit() else path.rsplit(".", 1)[-1]
    if name.endswith(("number", "index")):
        return "index"
    if name == "level":
        return "level"
    if "density" in name or "per_mm2" in name:
        return "density"  # "1439 nuclei per mm²"
    if name == "count" or name.endswith("_count"):
        return "count"  # "60 nuclei", "1 level(s)"
    if name.endswith("fraction"):
        return "unit:%"
    if name.endswith("um2"):
        return "unit:µm²"
    if name.endswith("mm2"):
        return "unit:mm²"
    if "mpp" in name:
        return "unit:µm/px"
    if "magnification" in name or "objective" in name:
        return "unit:x"
    if any(w in name for w in ("width", "height", "box", "_px", "size", "output")):
        return "unit:px"
    return "quantity"


def fits(context: str, path: str, tool: str | None = None) -> bool:
    """A number in ``context`` may stand for the field at ``path`` of ``tool``'s output."""
    return _fits(context, path, field_kind(path, tool))


def _fits(context: str, path: str, kind: str) -> bool:
    name = path.rsplit(".", 1)[-1]
    if context == "level":
        return kind == "level" or name == "level_count"
    if context.startswith("item:"):
        return name == context.split(":")[1]  # "[x0, y0, x1, y1]": the k-th of a short list
    if context == "density":
        return kind == "density"
    if context == "per:other":
        return False
    if context == "index" or kind == "index":
        return context == kind
    if context.startswith("unit:"):
        if context in ("unit:µm²", "unit:mm²") and kind in ("unit:µm²", "unit:mm²"):
            return True  # converted between the two
        return kind == context
    if context == "noun":
        return kind in ("count", "density", "unit:px")  # "60 nuclei", "2220 × 2967 pixels"
    return True  # bare: a box's coordinates, a probability in parentheses


def _unit_after(rest: str) -> str | None:
    rest = rest.lstrip()
    return next((unit for mark, unit in _UNIT_AFTER if rest.startswith(mark)), None)


def _match(
    value: float,
    tolerance: float,
    unit_hint: str | None,
    leaves: list[_Leaf],
) -> tuple[str, str, str | None] | None:
    """The best (evidence, path, unit) whose value, converted, shows as ``value``."""
    best: tuple[tuple[int, int, float, int], tuple[str, str, str | None]] | None = None
    for order, leaf in enumerate(leaves):
        for unit, converted in _conversions(leaf):
            gap = abs(converted - value)
            if not math.isclose(converted, value, abs_tol=tolerance + 1e-9):
                continue
            if unit_hint is not None and unit != unit_hint:
                continue  # "45 µm²" binds to an area in µm², never to a count of 45
            rank = 0 if unit == unit_hint else 1 if unit is None else 2
            key = (rank, leaf.path.count("."), gap, order)  # top-level fields before nested
            if best is None or key < best[0]:
                best = (key, (leaf.ref, leaf.path, unit))
    return best[1] if best else None


def _conversions(leaf: _Leaf) -> Iterator[tuple[str | None, float]]:
    """The value as stored, then in every unit the verifier converts its field to."""
    yield None, leaf.value
    for (src, unit), factor in UNIT_FACTORS.items():
        if src == leaf.stored:
            yield unit, leaf.value * factor


def claimable_leaves(output: dict[str, Any], tool: str | None = None) -> list[tuple[str, float]]:
    """The numbers of ``tool``'s output that a written number may stand for, as (path, value).

    Those at the paths the tool declares (``Tool.claimable``). For a tool that declares
    nothing, inferred from the output's shape: the output's own numeric fields (a count, a
    share, an area, µm/px, a magnification), the class probabilities of a mapping of names to
    numbers, a short list of numbers such as the view's box, and the scalar numbers of the
    first entry of a ranked list (the largest tissue region). Not claimable: the rest of a
    per-object list (any nucleus's box or area, any tile's attention), which a chain would
    otherwise match by chance among thousands of values.
    """
    cls = _declaring(tool)
    if cls is not None and cls.claimable is not None:
        return claimable_numbers(output, cls.claimable)
    out: list[tuple[str, float]] = []
    for key, value in output.items():
        if not isinstance(key, str) or "." in key or isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            if math.isfinite(value):
                out.append((key, float(value)))
        elif isinstance(value, dict) and all(_is_number(v) for v in value.values()):
            out.extend(
                (f"{key}.{name}", float(v))
                for name, v in value.items()
                if isinstance(name, str) and "." not in name and math.isfinite(v)
            )
        elif _short_numbers(value):
            out.extend((f"{key}.{i}", float(v)) for i, v in enumerate(value))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            # the first of a ranked list ("the largest tissue region"): its own numbers only
            out.extend(
                (f"{key}.0.{name}", float(v))
                for name, v in value[0].items()
                if isinstance(name, str) and "." not in name and _is_number(v) and math.isfinite(v)
            )
    return out


_SHORT_LIST = 4
"""A list of at most this many numbers is one value (a box, a size), not a list of objects."""


def _short_numbers(value: Any) -> bool:
    return (
        isinstance(value, list)
        and 0 < len(value) <= _SHORT_LIST
        and all(_is_number(v) for v in value)
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
