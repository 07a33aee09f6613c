"""Progress of long work inside a tool, streamed to whoever runs the graph.

The web app shows each line in the turn's working message (``read 40/200 tissue tiles``); the
CLI and tests, which do not stream, ignore it.
"""

from __future__ import annotations

__all__ = ["report"]


def report(text: str) -> None:
    """Send one line about the running tool's progress; nothing happens outside a streamed run."""
    from langgraph.config import get_stream_writer

    try:
        write = get_stream_writer()
    except RuntimeError:  # not inside a graph run
        return
    write({"tool_progress": text})
