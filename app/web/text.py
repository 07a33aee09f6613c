"""Text from users, files and models shown in the chat's Markdown as text, never as markup."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["as_text"]

# what Markdown or HTML could read as markup anywhere in a line: emphasis, code, links and
# images ("[" opens both), raw HTML and entities, tables, strikethrough, LaTeX delimiters
_SPECIAL = frozenset("\\`*_[]<>&|~$")
# what Markdown turns into a link without brackets: "http://…", "www.…", "name@host"
_AUTOLINK_RE = re.compile(r"(?i)(?<=[a-z]):(?=/)|(?<=www)\.|@")
# what starts a list, a heading or a rule only at the start of a line: "1. ", "2) ", "- ", "# "
_LEADING_RE = re.compile(r"^(\d+)([.)])|^([-+=#])")


def as_text(text: str) -> str:
    """``text`` as one line of Markdown that shows exactly these characters.

    Control and format characters are removed (line breaks become spaces), and every character
    that could start Markdown or HTML markup is backslash-escaped, so a user's ``![x](url)``,
    ``<img src=…>`` or ``<a href=…>`` shows as typed: no image is fetched, no link is made.
    """
    kept = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in str(text))
    line = " ".join(kept.split())
    line = "".join(f"\\{c}" if c in _SPECIAL else c for c in line)
    line = _AUTOLINK_RE.sub(lambda m: "\\" + m.group(0), line)
    return _LEADING_RE.sub(_escape_leading, line, count=1)


def _escape_leading(m: re.Match[str]) -> str:
    if m.group(3):
        return "\\" + m.group(3)
    return f"{m.group(1)}\\{m.group(2)}"
