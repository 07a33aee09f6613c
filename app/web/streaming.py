"""Streaming a turn to the chat: the progress message, and running the turn in its own thread."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any, TypeVar

from app.web.text import as_text

__all__ = ["TurnThread", "progress_message"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_DONE = object()
MAX_LINES_SHOWN = 40


def progress_message(lines: list[str]) -> dict[str, Any]:
    """The "working" message of a turn in progress: a collapsible list of what has happened.

    Its title names the latest step (``Working: verifying…``); the pending status shows a
    spinner in Gradio's chatbot. The message is replaced by the answer when the turn ends.
    """
    latest = as_text(lines[-1]) if lines else "starting…"
    shown = lines[-MAX_LINES_SHOWN:]
    return {
        "role": "assistant",
        "content": "\n".join(f"- {as_text(line)}" for line in shown) or "starting…",
        "metadata": {"title": f"Working: {latest}", "status": "pending", "id": "progress"},
    }


class TurnThread(Iterator[T]):
    """Iterate ``events`` in a thread of its own and hand each item over as it comes.

    The producer runs to the end even when the consumer stops early (a browser that leaves
    mid-turn), so a turn that started is always completed and saved. An exception raised by
    ``events`` is raised again by ``__next__`` in the consumer.
    """

    def __init__(self, events: Iterator[T], name: str = "smartpath-turn") -> None:
        self._queue: queue.Queue[Any] = queue.Queue()
        self._events = events
        self._thread = threading.Thread(target=self._produce, name=name, daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            for item in self._events:
                self._queue.put(item)
        except BaseException as exc:  # handed to the consumer, which decides what to show
            self._queue.put(_Raised(exc))
        finally:
            self._queue.put(_DONE)

    def __iter__(self) -> TurnThread[T]:
        return self

    def __next__(self) -> T:
        item = self._queue.get()
        if item is _DONE:
            raise StopIteration
        if isinstance(item, _Raised):
            raise item.exc
        return item


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
