"""Cases: the SQLite checkpointer on a file, the case index in it, the case locks beside it.

One writer per case across processes: ``memory/case_lock.py``.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel

from core.errors import CaseError
from memory.case_lock import CaseLocks

__all__ = ["CaseRecord", "CaseStore", "new_case_id", "validate_case_id"]

_CASE_ID_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    case_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    slide_name TEXT,
    slide_id TEXT,
    slide_path TEXT,
    turns INTEGER NOT NULL DEFAULT 0,
    last_request TEXT,
    last_status TEXT
)
"""


class CaseRecord(BaseModel):
    """One row of the case index."""

    case_id: str
    created_at: float
    updated_at: float
    slide_name: str | None
    slide_id: str | None
    slide_path: str | None
    turns: int
    last_request: str | None
    last_status: str | None


def validate_case_id(case_id: str) -> str:
    """Return ``case_id`` if it is 1-64 letters, digits, '.', '_' or '-'; else raise CaseError."""
    if not _CASE_ID_RE.match(case_id):
        msg = (
            f"invalid case id {case_id!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
        raise CaseError(msg)
    return case_id


def new_case_id() -> str:
    """Return a fresh case id such as ``case-20261123-101500-3fa2``."""
    return time.strftime("case-%Y%m%d-%H%M%S-") + secrets.token_hex(2)


class CaseStore:
    """The cases database: LangGraph checkpoints plus the case index, one SQLite file.

    ``locks`` are the case locks in ``<file>-locks/`` beside it: a turn writes a case's
    checkpoints and index row only while it holds that case's lock.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.locks = CaseLocks(path.parent / f"{path.name}-locks")
        self._lock = threading.Lock()
        opened: list[sqlite3.Connection] = []
        try:
            opened.append(sqlite3.connect(str(path), check_same_thread=False, timeout=30))
            opened.append(sqlite3.connect(str(path), check_same_thread=False, timeout=30))
            self._conn, self._saver_conn = opened
            self.checkpointer = SqliteSaver(self._saver_conn)
            with self.locks.schema_lock():
                self._set_up()
        except sqlite3.DatabaseError as exc:
            for conn in opened:
                conn.close()
            msg = f"cannot open the cases database {path}: {exc}"
            raise CaseError(msg) from None

    def _set_up(self) -> None:
        """Switch the file to WAL and create the index and checkpoint tables if missing.

        Run by one process at a time (the caller holds the schema lock): switching a new file
        to WAL needs an exclusive lock that SQLite refuses at once, without waiting its busy
        timeout, while other processes are opening the same new file.
        """
        mode = self._conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(_SCHEMA)
        self._conn.commit()
        self.checkpointer.setup()

    def touch(
        self, case_id: str, *, slide: dict[str, Any], request: str, status: str | None, turns: int
    ) -> None:
        """Create or update a case's index row after a turn."""
        now = time.time()
        with self._lock, self._conn:
            self._conn.execute(
                """INSERT INTO cases (case_id, created_at, updated_at, slide_name, slide_id,
                       slide_path, turns, last_request, last_status)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(case_id) DO UPDATE SET updated_at=excluded.updated_at,
                       slide_name=excluded.slide_name, slide_id=excluded.slide_id,
                       slide_path=excluded.slide_path, turns=excluded.turns,
                       last_request=excluded.last_request, last_status=excluded.last_status""",
                (
                    case_id,
                    now,
                    now,
                    slide.get("name"),
                    slide.get("slide_id"),
                    slide.get("path"),
                    turns,
                    request,
                    status,
                ),
            )

    def get(self, case_id: str) -> CaseRecord | None:
        """Return a case's index row, or None."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM cases WHERE case_id = ?", (case_id,)).fetchone()
        return None if row is None else self._record(row)

    def list(self) -> list[CaseRecord]:
        """Return every case, most recently updated first."""
        with self._lock:
            rows = self._conn.execute("SELECT * FROM cases ORDER BY updated_at DESC").fetchall()
        return [self._record(r) for r in rows]

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()
            self._saver_conn.close()

    @staticmethod
    def _record(row: tuple[Any, ...]) -> CaseRecord:
        keys = [
            "case_id",
            "created_at",
            "updated_at",
            "slide_name",
            "slide_id",
            "slide_path",
            "turns",
            "last_request",
            "last_status",
        ]
        return CaseRecord(**dict(zip(keys, row, strict=True)))
