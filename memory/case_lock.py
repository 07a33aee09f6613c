"""One writer per case, across threads and processes: an advisory lock file per case.

A turn holds its case's lock from reading the case's state to committing its last checkpoint
and index row, so that two processes (two ``smartpath ask``, the web app and the command line)
never number a turn alike or build on the same checkpoint. The lock is ``fcntl.flock`` on
``<case_id>.lock`` in a folder beside the cases database, plus a thread lock per case inside
the process (flock alone would make threads of one process poll each other). The kernel drops
a flock when its process dies, also on ``kill -9``: a crashed turn never leaves its case locked.

The files are never deleted (deleting a lock file while another process waits on it would let
two processes hold "the" lock). flock is reliable on local file systems only, as SQLite is.
A shared PostgreSQL checkpointer would take the same lock with ``pg_advisory_lock`` on a hash of
the case id, held by the connection of the turn (also released when that connection drops).
"""

from __future__ import annotations

import fcntl
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from core.errors import CaseBusyError

__all__ = ["CaseLease", "CaseLocks"]

_POLL_S = (0.02, 0.1)  # a waiter retries the file lock after a random pause in this range


class CaseLease:
    """A held case lock; ``release`` (or leaving the ``with`` block) gives it back, once."""

    def __init__(self, case_id: str, thread_lock: threading.Lock, fd: int) -> None:
        self.case_id = case_id
        self._thread_lock = thread_lock
        self._fd: int | None = fd

    def release(self) -> None:
        """Unlock the file and the thread lock; a second call does nothing."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
            self._thread_lock.release()

    def __enter__(self) -> CaseLease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class CaseLocks:
    """The case locks of one cases database: ``<folder>/<case_id>.lock`` (ids are validated)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._threads: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def path(self, case_id: str) -> Path:
        """Return the lock file of a case."""
        return self.folder / f"{case_id}.lock"

    @contextmanager
    def schema_lock(self) -> Iterator[None]:
        """Hold the database's set-up lock (``.schema.lock``: no case id starts with a dot).

        Processes that open the cases database at once create its tables one at a time.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / ".schema.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor drops the flock

    def try_acquire(self, case_id: str) -> CaseLease | None:
        """Take the case's lock if no other turn holds it; else return None at once."""
        thread_lock = self._thread_lock(case_id)
        if not thread_lock.acquire(blocking=False):
            return None
        return self._file_lock(case_id, thread_lock, deadline=None)

    def acquire(self, case_id: str, timeout_s: float) -> CaseLease:
        """Take the case's lock, waiting at most ``timeout_s`` seconds for the turn holding it.

        Raises:
            CaseBusyError: another turn of the case (in this or another process) still holds it.
        """
        deadline = time.monotonic() + timeout_s
        thread_lock = self._thread_lock(case_id)
        if not thread_lock.acquire(timeout=max(timeout_s, 0.0)):
            raise _busy(case_id, timeout_s)
        lease = self._file_lock(case_id, thread_lock, deadline=deadline)
        if lease is None:
            raise _busy(case_id, timeout_s)
        return lease

    def _thread_lock(self, case_id: str) -> threading.Lock:
        with self._guard:
            return self._threads.setdefault(case_id, threading.Lock())

    def _file_lock(
        self, case_id: str, thread_lock: threading.Lock, *, deadline: float | None
    ) -> CaseLease | None:
        """Lock the file, polling until ``deadline`` (once when None).

        On failure ``thread_lock`` is released and None returned (or the error raised).
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path(case_id), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except BaseException:
            thread_lock.release()
            raise
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return CaseLease(case_id, thread_lock, fd)
                except BlockingIOError:
                    left = 0.0 if deadline is None else deadline - time.monotonic()
                    if left <= 0:
                        break
                    time.sleep(min(left, random.uniform(*_POLL_S)))  # noqa: S311 (jitter only)
        except BaseException:
            os.close(fd)
            thread_lock.release()
            raise
        os.close(fd)
        thread_lock.release()
        return None


def _busy(case_id: str, timeout_s: float) -> CaseBusyError:
    return CaseBusyError(
        f"case {case_id!r} is busy: another turn of it is still running "
        f"(waited {timeout_s:g} s, SMARTPATH_CASE_LOCK_TIMEOUT_S); try again when it has answered"
    )
