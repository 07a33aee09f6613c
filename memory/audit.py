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
        """Append a record of ``kind`` with a UTC timestamp, flushed and fsynced."""
        line = json.dumps({"ts": time.time(), "kind": kind, **record}, default=str)
        with self._lock:
            self._folder.mkdir(parents=True, exist_ok=True)
            with self.path(case_id).open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())

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
