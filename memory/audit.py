"""Append-only JSONL audit log, one file per case."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["AuditLog", "output_hash"]


def output_hash(payload: Any) -> str:
    """sha256 of a JSON payload with sorted keys: identifies a tool output in the log."""
    blob = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


class AuditLog:
    """Write one JSON object per line to ``<folder>/<case_id>.jsonl``; never rewrite a line."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._lock = threading.Lock()

    def path(self, case_id: str) -> Path:
        """Return the audit file of a case."""
        return self._folder / f"{case_id}.jsonl"

    def append(self, case_id: str, kind: str, record: dict[str, Any]) -> None:
        """Append a record of ``kind`` with a UTC timestamp, flushed and fsynced.

        A line left unfinished by a killed process stays on its own line (skipped by ``read``).
        """
        data = (
            json.dumps({"ts": time.time(), "kind": kind, **record}, default=str) + "\n"
        ).encode()
        with self._lock:
            self._folder.mkdir(parents=True, exist_ok=True)
            with self.path(case_id).open("a+b") as fh:
                if fh.seek(0, os.SEEK_END) > 0:
                    fh.seek(-1, os.SEEK_END)
                    if fh.read(1) != b"\n":  # a process died while writing the last line
                        data = b"\n" + data
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())

    def last(self, case_id: str) -> dict[str, Any] | None:
        """Return the newest complete record of a case (read from the end), or None."""
        path = self.path(case_id)
        if not path.exists():
            return None
        with path.open("rb") as fh:
            end = fh.seek(0, os.SEEK_END)
            size = 4096
            while True:
                start = max(0, end - size)
                fh.seek(start)
                lines = fh.read(end - start).splitlines()
                for line in reversed(lines[1:] if start > 0 else lines):
                    try:
                        return dict(json.loads(line))
                    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, ValueError):
                        continue  # an unfinished last line
                if start == 0:
                    return None
                size *= 4

    def read(self, case_id: str) -> list[dict[str, Any]]:
        """Return every record of a case, oldest first (an unfinished last line is skipped)."""
        path = self.path(case_id)
        if not path.exists():
            return []
        records = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records
