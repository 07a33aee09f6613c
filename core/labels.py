"""File names as display labels: data to show in quotes, never text to read as a statement."""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_LABEL_CHARS", "file_label", "quoted_label"]

MAX_LABEL_CHARS = 80
"""Longest label shown, in characters (a longer name ends with "…")."""

_QUOTE_MARKS = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "«": '"', "»": '"'})


def file_label(name: str) -> str:
    """A file's name as one line of display text.

    Its base name only; control and format characters removed, runs of white space made one
    space, curly quotation marks made straight (so the label cannot close the quotes it is
    shown in), at most ``MAX_LABEL_CHARS`` characters. An empty result is "unnamed".
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in base)
    text = " ".join(kept.translate(_QUOTE_MARKS).split())
    if len(text) > MAX_LABEL_CHARS:
        text = text[: MAX_LABEL_CHARS - 1] + "…"
    return text or "unnamed"


def quoted_label(name: str) -> str:
    """``file_label(name)`` in typographic quotes: “my slide.svs”."""
    return f"“{file_label(name)}”"
