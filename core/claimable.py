"""Claimable output fields: which numbers of a tool's output a chain may cite, and what they hold.

A tool declares them as a mapping of field path patterns to field kinds. A pattern is a dotted
path into the output; ``*`` stands for any one key or list index: ``"count"``,
``"probabilities.*"`` (every class probability), ``"levels.*.width"`` (each pyramid level's
width), ``"regions.0.area_mm2"`` (the first of a ranked list), ``"region_box.*"`` (each
coordinate of a box). A field no pattern names is not claimable: a number written in a chain
never binds to it, however equal (a nucleus's area among thousands, a coordinate of a polygon).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any, Literal, get_args

__all__ = [
    "FIELD_KINDS",
    "UNIT_FACTORS",
    "FieldKind",
    "check_claimable",
    "claimable_numbers",
    "declared_kind",
    "resolve_path",
    "pattern_matches",
    "stored_unit",
]

FieldKind = Literal[
    "count",
    "index",
    "level",
    "px",
    "px²",
    "µm/px",
    "x",
    "fraction",
    "%",
    "µm²",
    "mm²",
    "mm",
    "per mm²",
    "ratio",
    "probability",
    "quantity",
]
"""What a claimable field holds.

``count`` (written before a noun: "60 nuclei"), ``index`` (a region's or an item's number,
written after ``#``), ``level`` (a pyramid level, written after "level"), ``px`` / ``px²``
(level-0 or output pixels; a box's coordinates), ``µm/px``, ``x`` (magnification),
``fraction`` (stored 0..1, written as a percentage), ``%`` (stored as a percentage), ``µm²``,
``mm²`` (converted into each other), ``mm`` (a length), ``per mm²`` (a density), and
``ratio``, ``probability`` or ``quantity`` (a number with no unit, which only a bare number
may stand for).
"""
FIELD_KINDS: frozenset[str] = frozenset(get_args(FieldKind))

UNIT_FACTORS: dict[tuple[str, str], float] = {
    ("fraction", "%"): 100.0,
    ("%", "%"): 1.0,
    ("mm²", "µm²"): 1e6,
    ("µm²", "mm²"): 1e-6,
    ("µm²", "µm²"): 1.0,
    ("mm²", "mm²"): 1.0,
}
"""(stored unit, written unit) → factor: a claim may show a field in another unit."""

_NAME_UNITS = (("fraction", "fraction"), ("mm2", "mm²"), ("um2", "µm²"))


def check_claimable(declared: Mapping[str, str]) -> None:
    """Raise ValueError unless every pattern is a dotted path and every kind a ``FieldKind``."""
    for pattern, kind in declared.items():
        if not isinstance(pattern, str) or not all(pattern.split(".")):
            msg = f"claimable pattern {pattern!r} is not a dotted path such as 'levels.*.width'"
            raise ValueError(msg)
        if kind not in FIELD_KINDS:
            msg = f"claimable {pattern!r}: kind {kind!r} is not one of {sorted(FIELD_KINDS)}"
            raise ValueError(msg)


def pattern_matches(pattern: str, path: str) -> bool:
    """``path`` is one of the fields ``pattern`` names."""
    want, have = pattern.split("."), path.split(".")
    return len(want) == len(have) and all(w in ("*", h) for w, h in zip(want, have, strict=True))


def declared_kind(declared: Mapping[str, str], path: str) -> str | None:
    """The kind declared for ``path`` (the pattern with the fewest ``*`` wins), or None."""
    found = [p for p in declared if pattern_matches(p, path)]
    if not found:
        return None
    return declared[min(found, key=lambda p: p.split(".").count("*"))]


def claimable_numbers(
    output: Mapping[str, Any], declared: Mapping[str, str]
) -> list[tuple[str, float]]:
    """The output's numbers at declared paths, as (path, value), in the output's own order."""
    patterns = [p.split(".") for p in declared]
    return list(_walk(output, [], patterns))


def _walk(node: Any, prefix: list[str], patterns: list[list[str]]) -> Iterator[tuple[str, float]]:
    depth = len(prefix)
    if isinstance(node, Mapping):
        items: list[tuple[str, Any]] = [(k, v) for k, v in node.items() if isinstance(k, str)]
    elif isinstance(node, list):
        items = [(str(i), v) for i, v in enumerate(node)]
    else:
        if any(len(p) == depth for p in patterns) and _is_number(node):
            yield ".".join(prefix), float(node)
        return
    for key, value in items:
        if "." in key:
            continue  # not addressable by a dotted path
        deeper = [p for p in patterns if len(p) > depth and p[depth] in ("*", key)]
        if deeper:
            yield from _walk(value, [*prefix, key], deeper)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def stored_unit(path: str, kind: str | None) -> str | None:
    """The unit a field's value is stored in, for conversion: fraction, %, µm² or mm².

    From its declared ``kind``; for a field with no declaration, from its name's ending
    (``…fraction``, ``…mm2``, ``…um2``).
    """
    if kind is not None:
        return kind if kind in ("fraction", "%", "µm²", "mm²") else None
    name = path.rsplit(".", 1)[-1]
    return next((unit for suffix, unit in _NAME_UNITS if name.endswith(suffix)), None)


def resolve_path(output: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """(found, value) at a dotted ``path`` into an output (list items by index)."""
    node: Any = output
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node
