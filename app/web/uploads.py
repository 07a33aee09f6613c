"""Accept an uploaded slide: size cap, a copy under a generated name, format sniffed by content.

The browser's file name is kept as a display label only (``upload_label``); the stored copy has
a generated name, and no message names a server path.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
from pathlib import Path

from app.web.paths import PathRefused, file_inside
from core.errors import CopilotError
from core.labels import file_label
from tools.pixel_budget import PixelBudget
from tools.slide import Slide

__all__ = [
    "UploadRejected",
    "accept_upload",
    "discard_received",
    "original_name",
    "remember_name",
    "upload_label",
    "uploaded_as",
]

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
        received: where Gradio wrote the upload (taken literally, never URL-decoded); must
            lie inside ``incoming``.
        incoming: Gradio's upload folder (the app's web cache).
        uploads: the app's folder of accepted slides.
        original_name: the browser's file name; shown as a label, and only its suffix is kept
            on the copy, and only a known one.
        max_bytes: the size cap.
        budget: the pixel budget the slide layer reads under (the same check as every read).

    Raises:
        UploadRejected: too large, empty, not a slide or image, corrupt or truncated.
        PathRefused: ``received`` lies outside ``incoming``.

    Every message is one line naming the upload by its label, never a server path.
    """
    label = upload_label(original_name)
    source = file_inside(received, [incoming])
    if source is None:
        msg = f"upload refused: {label} is not a file this app received"
        raise PathRefused(msg)
    size = source.stat().st_size
    if size > max_bytes:
        msg = f"upload rejected: {label} is {_mb(size)}; the upload limit is {_mb(max_bytes)}"
        raise UploadRejected(msg)
    suffix = Path(label).suffix.lower()
    dest = uploads / f"upload-{secrets.token_hex(8)}{suffix if suffix in KNOWN_SUFFIXES else ''}"
    uploads.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copyfile(source, dest)
        _check_readable(dest, budget)
    except (CopilotError, OSError) as exc:
        dest.unlink(missing_ok=True)
        reason = _without_paths(str(exc), label, dest, source)
        msg = f"upload rejected: {reason if label in reason else f'{label}: {reason}'}"
        raise UploadRejected(msg) from None
    remember_name(dest, original_name)
    logger.info("accepted upload %s as %s", label, dest.name)
    return dest


def discard_received(received: str | Path, incoming: Path) -> None:
    """Remove the web cache's copy of an upload and its folder when that is left empty.

    Only inside ``incoming``; ``received`` is taken literally, as ``accept_upload`` takes it.
    """
    path = file_inside(received, [incoming])
    if path is None:
        return
    try:
        path.unlink(missing_ok=True)
        if path.parent != incoming.resolve() and not any(path.parent.iterdir()):
            path.parent.rmdir()
    except OSError:
        logger.warning("could not remove the received copy of an upload", exc_info=True)


def upload_label(name: str) -> str:
    """The browser's file name as a display label.

    Browsers send ``"`` and line breaks in a file name as ``%22``, ``%0A`` and ``%0D`` (and
    nothing else encoded), so only those are decoded: a file really named ``CMU%20copy.svs``
    keeps its name. Then ``core.labels.file_label``: base name, no control characters, capped.
    """
    for code, char in (("%22", '"'), ("%0A", " "), ("%0D", " ")):
        name = name.replace(code, char).replace(code.lower(), char)
    return file_label(name)


def _without_paths(text: str, label: str, *files: Path) -> str:
    """``text`` on one line with each of ``files`` named by ``label`` and no server path left."""
    for path in sorted({p for f in files for p in (f, f.resolve())}, key=lambda p: -len(str(p))):
        text = text.replace(str(path), label)
    for f in files:
        text = text.replace(f.name, label)
    return " ".join(_ABSOLUTE_PATH_RE.sub("…", text).split())


_ABSOLUTE_PATH_RE = re.compile(r"(?<![\w.])(?:[A-Za-z]:)?[/\\](?:[^\s'\"/\\]+[/\\])+[^\s'\"]*")


def _sidecar(stored: Path) -> Path:
    return stored.with_name(stored.name + ".name.json")


def remember_name(stored: Path, original: str) -> None:
    """Keep the browser's file name of an upload beside it (display text only, never a path)."""
    _sidecar(stored).write_text(json.dumps({"original_name": upload_label(original)}), "utf-8")


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
    return file_label(name) if isinstance(name, str) and name else None


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


def _check_readable(path: Path, budget: PixelBudget | None) -> None:
    """Open the file by content and decode a thumbnail, so a truncated file fails here.

    The declared sizes are checked against the pixel budget before any pixel is decoded.
    """
    with Slide.open(path, budget) as slide:
        slide.thumbnail(_THUMBNAIL_CHECK_PX)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"
