"""Accept an uploaded slide: size cap, a copy under a generated name, format sniffed by content."""

from __future__ import annotations

import logging
import secrets
import shutil
from pathlib import Path

from agent.errors import CopilotError
from app.web.paths import resolve_inside
from tools.slide import Slide

__all__ = ["UploadRejected", "accept_upload"]

logger = logging.getLogger(__name__)

KNOWN_SUFFIXES = frozenset(
    {".svs", ".tif", ".tiff", ".ndpi", ".scn", ".bif", ".svslide", ".dcm", ".png", ".jpg", ".jpeg"}
)
"""Suffixes kept on the stored copy (some readers want them); the format is still sniffed."""

_THUMBNAIL_CHECK_PX = 256


class UploadRejected(CopilotError):
    """An uploaded file is too large, not a slide, corrupt or truncated."""


def accept_upload(
    received: str | Path, *, incoming: Path, uploads: Path, original_name: str, max_bytes: int
) -> Path:
    """Copy an upload Gradio received into ``uploads`` and return the copy once it opens as a slide.

    Args:
        received: where Gradio wrote the upload; must lie inside ``incoming``.
        incoming: Gradio's upload folder (the app's web cache).
        uploads: the app's folder of accepted slides.
        original_name: the browser's file name; only its suffix is kept, and only a known one.
        max_bytes: the size cap.

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
        _check_readable(dest)
    except CopilotError as exc:
        dest.unlink(missing_ok=True)
        shown = _shown(original_name)
        reason = " ".join(str(exc).replace(dest.name, shown).split())
        msg = f"upload rejected: {reason if shown in reason else f'{shown}: {reason}'}"
        raise UploadRejected(msg) from None
    logger.info("accepted upload %s as %s", _shown(original_name), dest.name)
    return dest


def _check_readable(path: Path) -> None:
    """Open the file by content and decode a thumbnail, so a truncated file fails here."""
    with Slide.open(path) as slide:
        slide.thumbnail(_THUMBNAIL_CHECK_PX)


def _shown(name: str) -> str:
    """The browser's file name, reduced to a short base name for messages."""
    base = Path(name.replace("\\", "/")).name or "the file"
    return base[:80]


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"
