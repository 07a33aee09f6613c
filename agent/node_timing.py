"""Seconds each graph node takes, and how much of them the knowledge graph took.

``build_graph`` wraps every node with ``timed``: when the node returns (or fails) it sends one
``NodeTiming`` on the run's custom stream, which ``Copilot`` adds up into the turn's
``timings``. The knowledge graph's share is measured where it is spent (``agent.knowledge``
clocks its look-ups per thread); the tools' share is the evidence's own seconds.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from agent.knowledge import kg_seconds
from agent.state import Node
from core.progress import stream_writer

__all__ = ["NodeTiming", "timed", "turn_timings"]


@dataclass(frozen=True)
class NodeTiming:
    """One run of one node: its wall-clock seconds and the part in knowledge-graph look-ups."""

    node: str
    seconds: float
    kg_s: float


def timed(name: str, node: Node) -> Node:
    """``node``, reporting a ``NodeTiming`` for each run on the graph's custom stream.

    The wrapper keeps the node's signature (``functools.wraps``), so LangGraph passes it the
    same arguments (``config``, ``runtime``) it passes the node.
    """

    @functools.wraps(node)
    def run(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        kg_before = kg_seconds()
        try:
            return node(*args, **kwargs)
        finally:
            seconds = time.perf_counter() - started
            stream_writer()(NodeTiming(name, seconds, kg_seconds() - kg_before))

    return run


def turn_timings(total_s: float, tools_s: float, runs: list[NodeTiming]) -> dict[str, float]:
    """A turn's ``timings``: where its ``total_s`` went.

    ``tools_s``: tool calls (their experts included), inside ``act``; ``kg_s``: knowledge-graph
    look-ups (recall's facts, the verifier's entity linking); ``agent_s``: the rest, the agent's
    own overhead (``total_s - tools_s - kg_s``); ``node_<name>_s``: each node's seconds, summed
    over its runs; ``kg_<name>_s``: a node's knowledge-graph seconds, where it had any;
    ``graph_s``: time outside every node (LangGraph's scheduling, checkpoint writes).
    """
    kg = sum(r.kg_s for r in runs)
    out = {
        "total_s": total_s,
        "tools_s": tools_s,
        "kg_s": kg,
        "agent_s": max(0.0, total_s - tools_s - kg),
    }
    for run in runs:
        out[f"node_{run.node}_s"] = out.get(f"node_{run.node}_s", 0.0) + run.seconds
        if run.kg_s > 0:
            out[f"kg_{run.node}_s"] = out.get(f"kg_{run.node}_s", 0.0) + run.kg_s
    out["graph_s"] = max(0.0, total_s - sum(r.seconds for r in runs))
    return {k: round(v, 4) for k, v in out.items()}
