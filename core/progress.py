"""Progress of long work inside a tool, streamed to whoever runs the graph.

The web app shows each line in the turn's working message (``read 40/200 tissue tiles``); the
CLI and tests, which do not stream, ignore it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

__all__ = ["Progress", "ProgressFn", "report", "stream_writer"]

ProgressFn = Callable[[str], None]
"""What a tool calls with one line about its long work (``ToolContext.progress``)."""


class Progress(BaseModel):
    """One event of a turn streamed by ``Copilot.ask_stream``, before its ``TurnResult``.

    ``node`` starts a graph node, ``tool_start`` a tool call, ``tool_progress`` reports long
    work inside one (``read 40/200 tissue tiles``), ``tool_done`` ends one; ``text`` is
    one line for a person (``planning…``, ``running segment on region #2 (cpu)…``) and
    ``evidence`` carries a finished call's id, tool, expert, backend, seconds, status and summary.
    """

    kind: Literal["node", "tool_start", "tool_progress", "tool_done"]
    node: str
    text: str
    evidence: dict[str, Any] | None = None


def stream_writer() -> Callable[[Any], None]:
    """The running graph's custom-stream writer; a no-op outside a graph run."""
    from langgraph.config import get_stream_writer

    try:
        return get_stream_writer()
    except RuntimeError:  # called outside a graph run
        return lambda _chunk: None


def report(text: str) -> None:
    """Send one line about the running tool's progress; nothing happens outside a streamed run."""
    stream_writer()({"tool_progress": text})
