"""Accept an uploaded slide: size cap, a copy under a generated name, format sniffed by content."""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import unicodedata
from pathlib import Path

from app.web.paths import resolve_inside
from core.errors import CopilotError
from tools.pixel_budget import PixelBudget
from tools.slide import Slide

__all__ = ["UploadRejected", "accept_upload", "original_name", "remember_name", "uploaded_as"]

logger = logging.getLogger(__name__)

KNOWN_SUFFIXES = frozenset(
    {".svs", ".tif", ".tiff", ".ndpi", ".scn", ".bif", ".svslide", ".dcm", ".png", ".jpg", ".jpeg"}
)
"""Suffixes kept on the stored copy (some readers want them); the format is still sniffed."""

_THUMBNAIL_CHECK_PX = 256


class UploadRejected(CopilotError):
    """An uploaded file is too large, not a slide, corrupt or truncated."""


def accept_upload(
    received: str | Path,
    *,
    incoming: Path,
    uploads: Path,
    original_name: str,
    max_bytes: int,
    budget: PixelBudget | None = None,
) -> Path:
    """Copy an upload Gradio received into ``uploads`` and return the copy once it opens as a slide.

    Args:
        received: where Gradio wrote the upload; must lie inside ``incoming``.
        incoming: Gradio's upload folder (the app's web cache).
        uploads: the app's folder of accepted slides.
        original_name: the browser's file name; only its suffix is kept, and only a known one.
        max_bytes: the size cap.
        budget: the pixel budget the slide layer reads under (the same check as every read).

    Raises:
        UploadRejected: too large, empty, not a slide or image, corrupt or truncated.
        PathRefused: ``received`` lies outside ``incoming``.
    """
    source = resolve_inside(received, [incoming], relative_only=False)
    size = source.stat().st_size
    if size > max_bytes:
        msg = f"{_shown(original_name)} is {_mb(size)}; the upload limit is {_mb(max_bytes)}"
        raise UploadRejected(msg)
    suffix = Path(original_name).suffix.lower()
    dest = uploads / f"upload-{secrets.token_hex(8)}{suffix if suffix in KNOWN_SUFFIXES else ''}"
    uploads.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)
    try:
        _check_readable(dest, budget)
    except CopilotError as exc:
        dest.unlink(missing_ok=True)
        shown = _shown(original_name)
        reason = " ".join(str(exc).replace(dest.name, shown).split())
        msg = f"upload rejected: {reason if shown in reason else f'{shown}: {reason}'}"
        raise UploadRejected(msg) from None
    remember_name(dest, original_name)
    logger.info("accepted upload %s as %s", _shown(original_name), dest.name)
    return dest


def _sidecar(stored: Path) -> Path:
    return stored.with_name(stored.name + ".name.json")


def remember_name(stored: Path, original: str) -> None:
    """Keep the browser's file name of an upload beside it (display text only, never a path)."""
    _sidecar(stored).write_text(json.dumps({"original_name": _display(original)}), "utf-8")


def original_name(stored: str | Path, uploads: Path) -> str | None:
    """The browser's file name of an upload stored in ``uploads``, or None (not an upload)."""
    path = Path(stored)
    try:
        if path.resolve().parent != uploads.resolve():
            return None
        data = json.loads(_sidecar(path.resolve()).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    name = data.get("original_name") if isinstance(data, dict) else None
    return _display(name) if isinstance(name, str) and name else None


def uploaded_as(stored: str | Path | None, uploads: Path, *, markdown: bool = False) -> str:
    """`` (uploaded as NAME)`` for an upload with a remembered name, else ""."""
    name = original_name(stored, uploads) if stored else None
    if name is None:
        return ""
    if markdown:
        name = "".join(f"\\{c}" if c in _MARKDOWN_SPECIAL else c for c in name)
        name = name.replace("<", "&lt;").replace(">", "&gt;")
    return f" (uploaded as {name})"


_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()#+-.!|~")


def _display(name: str) -> str:
    """A file name as display text: its base name, control characters removed, 80 at most."""
    printable = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    return _shown(printable).strip() or "the file"


def _check_readable(path: Path, budget: PixelBudget | None) -> None:
    """Open the file by content and decode a thumbnail, so a truncated file fails here.

    The declared sizes are checked against the pixel budget before any pixel is decoded.
    """
    with Slide.open(path, budget) as slide:
        slide.thumbnail(_THUMBNAIL_CHECK_PX)


def _shown(name: str) -> str:
    """The browser's file name, reduced to a short base name for messages."""
    base = Path(name.replace("\\", "/")).name or "the file"
    return base[:80]


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"
