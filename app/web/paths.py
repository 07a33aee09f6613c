"""The web app's directories and the one rule for resolving a requested file inside them."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from core.errors import CopilotError
from core.settings import Settings

__all__ = ["AppDirs", "PathRefused", "file_inside", "place_once", "resolve_inside"]

_MAX_UNQUOTE_ROUNDS = 4


class PathRefused(CopilotError):
    """A requested path lies outside the app's directories or is malformed."""


@dataclass(frozen=True)
class AppDirs:
    """Where the web app reads and writes; nothing outside these folders is served or written.

    Attributes:
        artifacts: images the tools write, one subfolder per case (not served: the chat shows
            copies in the web cache, see ``WebService``).
        samples: bundled sample slides (served only as thumbnails the app renders).
        uploads: slides uploaded through the app, under generated names.
        web_cache: Gradio's own temporary folder (uploads in transit, rendered images).
    """

    artifacts: Path
    samples: Path
    uploads: Path
    web_cache: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> AppDirs:
        """Return the app's folders under ``settings.home``."""
        return cls(
            artifacts=settings.artifacts_dir,
            samples=settings.samples_dir,
            uploads=settings.home / "uploads",
            web_cache=settings.home / "web-cache",
        )

    def ensure(self) -> None:
        """Create every folder (called when the app starts, never at import)."""
        for path in (self.artifacts, self.samples, self.uploads, self.web_cache):
            path.mkdir(parents=True, exist_ok=True)

    @property
    def served(self) -> list[Path]:
        """Folders whose files the browser may fetch (Gradio's ``allowed_paths``)."""
        return [self.web_cache]


def resolve_inside(requested: str | Path, roots: list[Path], *, relative_only: bool = True) -> Path:
    """Return the resolved file for ``requested`` if it lies inside one of ``roots``.

    ``requested`` is URL-decoded (repeatedly, so ``%252e%252e`` counts as ``..``) and refused when
    it holds a NUL byte, a ``..`` component, or, with ``relative_only``, is absolute or starts
    with ``~``. A relative path is taken relative to each root in turn. Symbolic links are
    resolved before the containment check, so a link pointing out of a root is refused too.

    Raises:
        PathRefused: the path is malformed, escapes every root, or names no existing file.
    """
    text = _decoded(str(requested))
    if not text or "\x00" in text:
        msg = "refused: empty path or NUL byte in the requested path"
        raise PathRefused(msg)
    normalised = text.replace("\\", "/")
    pure = PurePosixPath(normalised)
    if ".." in pure.parts:
        msg = f"refused: {text!r} contains '..'"
        raise PathRefused(msg)
    if pure.is_absolute() or normalised.startswith("~") or _has_drive(normalised):
        if relative_only:
            msg = f"refused: {text!r} is an absolute path"
            raise PathRefused(msg)
        candidates = [Path(normalised)]
    else:
        candidates = [root / pure for root in roots]
    resolved_roots = [root.resolve() for root in roots]
    for candidate in candidates:
        resolved = candidate.resolve()
        if any(resolved.is_relative_to(root) for root in resolved_roots) and resolved.is_file():
            return resolved
    msg = f"refused: {text!r} is not a file inside the app's folders"
    raise PathRefused(msg)


def file_inside(path: str | Path, roots: list[Path]) -> Path | None:
    """The resolved file at ``path`` if it lies inside one of ``roots``, else None.

    For a path the app was handed by its own server (where Gradio wrote an upload), taken
    literally: a real file may be named ``CMU%20copy.svs``, so nothing is URL-decoded. Links
    are resolved before the containment check.
    """
    text = str(path)
    if not text or "\x00" in text:
        return None
    resolved = Path(text).resolve()
    inside = any(resolved.is_relative_to(root.resolve()) for root in roots)
    return resolved if inside and resolved.is_file() else None


def _decoded(text: str) -> str:
    for _ in range(_MAX_UNQUOTE_ROUNDS):
        once = unquote(text)
        if once == text:
            return text
        text = once
    msg = "refused: the requested path is encoded too many times"
    raise PathRefused(msg)


def _has_drive(text: str) -> bool:
    return len(text) >= 2 and text[1] == ":" and text[0].isalpha()


def place_once(dest: Path, write: Callable[[Path], None]) -> Path:
    """``dest``, written by ``write`` under a temporary name and renamed into place, if missing.

    Served files are named by their content, so one that exists is already whole; a reader
    never sees a partial file, nor one that a second writer of the same content is rewriting.
    """
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}")
        write(partial)
        os.replace(partial, dest)
    return dest
