"""How requests name the case's regions: "here", "this view", "the previous field", "view 2".

One grammar for every planner and for case review, so "current" and "previous" mean the same
wherever a request is read.
"""

from __future__ import annotations

import re

__all__ = ["AREA", "CURRENT_RE", "DEICTIC_RE", "PREVIOUS_RE", "RANGE_RE", "expand_ranges"]

AREA = r"(?:region|roi|area|view|spot|place|location|field|hpf|frame|crop|patch|tile)"
"""A word for a place the case looked at (singular; callers add ``s?`` where plurals fit)."""

_ON_SCREEN = rf"\b(?:this|that|current|same|present)\s+(?:one|{AREA})\b|\baround\s+here\b|\bhere\b"
DEICTIC_RE = re.compile(_ON_SCREEN)
"""The region on screen named as such ("this field", "here"), not by a pronoun."""
CURRENT_RE = re.compile(rf"\bit\b|{_ON_SCREEN}")
"""The region the conversation is on ("it" too)."""

PREVIOUS_RE = re.compile(
    rf"\b(?:previous|prior|earlier|preceding|last)\s+(?:{AREA}|one)\b|\bgo\s+back\b(?!\s+to\b)|"
    rf"\b(?:the\s+)?{AREA}\s+before\s+(?:this|that|it)\b|\bwhere\s+we\s+were\b|"
    # "how does that compare with before": the view before this one
    r"(?<=\bcompare\swith\s)before\b(?!\s+\w)|(?<=\bcompare\sto\s)before\b(?!\s+\w)|"
    r"(?<=\bcompared\swith\s)before\b(?!\s+\w)|(?<=\bcompared\sto\s)before\b(?!\s+\w)"
)
"""The region visited before the current one ("the last view" alone is the one before)."""

RANGE_RE = re.compile(
    rf"\b({AREA}s?\s*#?\s*)(\d{{1,3}})\s*(?:-|–|through|thru|to)\s*(?:{AREA}\s*#?\s*)?(\d{{1,3}})\b"
    r"(?!\s*(?:x|×|px|µm|um|%))"
)
"""A range of numbered regions: "views 1-3", "regions 2 through 4"."""

_MAX_RANGE = 12


def expand_ranges(low: str) -> str:
    """``low`` with each region range written out: "views 1-3" → "views 1, 2, 3"."""

    def expand(m: re.Match[str]) -> str:
        first, last = int(m.group(2)), int(m.group(3))
        if not 0 < first < last or last - first > _MAX_RANGE:
            return m.group()
        return m.group(1) + ", ".join(str(n) for n in range(first, last + 1))

    return RANGE_RE.sub(expand, low)
