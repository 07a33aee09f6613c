"""Arrays derived from a model and fixed inputs (the planner's example vectors), kept on disk.

Each entry is one ``.npz`` file named by a hash of everything the arrays depend on, so a
changed model or input set is a new entry, never a stale hit. Files are written whole
(temporary file, then rename), so processes sharing the folder read a complete entry or none;
an unreadable entry is treated as missing and rebuilt.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["VectorCache", "cache_key"]

logger = logging.getLogger(__name__)


def cache_key(*parts: str) -> str:
    """A file-name-safe hash of ``parts`` (order matters)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    return digest.hexdigest()[:32]


class VectorCache:
    """Named float arrays per key in one folder (created on the first write).

    At most ``keep`` entries of a prefix are kept: a write removes the oldest others (entries
    of earlier example sets or models).
    """

    def __init__(self, folder: Path, prefix: str, keep: int = 4) -> None:
        self.folder = folder
        self._prefix = prefix
        self._keep = keep

    def path(self, key: str) -> Path:
        """The file of ``key``."""
        return self.folder / f"{self._prefix}-{key}.npz"

    def get(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays stored under ``key``, or None when there are none or they cannot be read."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError, EOFError) as exc:
            logger.warning("ignoring unreadable cache file %s: %s", path, exc)
            return None

    def put(self, key: str, arrays: dict[str, np.ndarray]) -> None:
        """Store ``arrays`` under ``key``; a folder that cannot be written is logged, not raised."""
        path = self.path(key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=path.name, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as handle:
                    np.savez(handle, **arrays)  # type: ignore[arg-type]
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            self._prune(path)
        except OSError as exc:
            logger.warning("cannot write the cache file %s: %s", path, exc)

    def _prune(self, kept: Path) -> None:
        """Remove all but the newest ``keep`` entries of the prefix (never ``kept``)."""
        entries = sorted(
            self.folder.glob(f"{self._prefix}-*.npz"), key=lambda p: (p.stat().st_mtime_ns, p.name)
        )
        for old in entries[: max(0, len(entries) - self._keep)]:
            if old != kept:
                old.unlink(missing_ok=True)
