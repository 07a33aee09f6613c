"""Ordinal words in requests ("the second region", "the last one") and their numbers."""

from __future__ import annotations

import re

__all__ = ["ORDINAL_PATTERN", "ORDINAL_WORDS", "ordinal_number"]

ORDINAL_WORDS: dict[str, int] = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "last": -1,
}
"""Each ordinal word and its number; "last" is -1 (counted from the end)."""

ORDINAL_PATTERN = "|".join([*(w for w in ORDINAL_WORDS if w != "last"), r"\d{1,40}(?:st|nd|rd|th)"])
"""Alternation of the ordinal words counted from the start (no group, no "last")."""


_NUMERIC_RE = re.compile(r"(\d+)(?:st|nd|rd|th)")


def ordinal_number(word: str) -> int:
    """The number an ordinal word stands for ("second": 2, "12th": 12, "last": -1)."""
    if word in ORDINAL_WORDS:
        return ORDINAL_WORDS[word]
    m = _NUMERIC_RE.fullmatch(word)
    if m is None:
        msg = f"not an ordinal: {word!r}"
        raise ValueError(msg)
    return int(m.group(1))
