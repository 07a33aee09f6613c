"""Ordinal words in requests ("the second region", "the last one") and their numbers."""

from __future__ import annotations

__all__ = ["ORDINAL_PATTERN", "ORDINAL_WORDS"]

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
    "last": -1,
}
"""Each ordinal word and its number; "last" is -1 (counted from the end)."""

ORDINAL_PATTERN = "|".join(w for w in ORDINAL_WORDS if w != "last")
"""Alternation of the ordinal words counted from the start (no group, no "last")."""
