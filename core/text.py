"""Untrusted text made safe to store and to print: undecodable bytes and control characters.

Text from the command line arrives as ``str`` with undecodable bytes as lone surrogates
(Python's surrogateescape); such a string cannot be written to SQLite, JSON or a UTF-8 stream.
Control characters (NUL, ESC…) reach a terminal as commands. Both are made visible as escapes.
"""

from __future__ import annotations

import re

__all__ = ["clean_text", "has_undecodable", "terminal_safe"]

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""C0 controls except tab and newline, DEL, and C1 controls."""
_BIDI_RE = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Bidirectional formatting characters: on a terminal they reorder the text that follows."""
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")


def has_undecodable(text: str) -> bool:
    """True when ``text`` holds lone surrogates (bytes that were not valid UTF-8)."""
    return _SURROGATE_RE.search(text) is not None


def _escape(text: str) -> str:
    r"""Lone surrogates as ``\xNN`` (the original byte) or ``\udNNN``; valid UTF-8 after."""
    if not has_undecodable(text):
        return text
    raw = text.encode("utf-8", "surrogateescape") if _all_escaped_bytes(text) else None
    if raw is not None:
        return raw.decode("utf-8", "backslashreplace")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _all_escaped_bytes(text: str) -> bool:
    return all(0xDC80 <= ord(c) <= 0xDCFF for c in _SURROGATE_RE.findall(text))


def clean_text(text: str) -> str:
    """``text`` to store: undecodable bytes escaped, control characters but tab/newline removed."""
    return _CONTROL_RE.sub("", _escape(text))


def terminal_safe(text: str) -> str:
    r"""``text`` to print: undecodable bytes, control and bidirectional characters as escapes.

    Controls show as ``\x1b``, bidirectional overrides and isolates as ``\u202e``.
    """
    shown = _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", _escape(text))
    return _BIDI_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", shown)
