"""The co-pilot's LangGraph agent: state, planner, executor, reasoner, verifier, wiring.

Exports resolve lazily (PEP 562): importing one module of the agent does not pull in the graph
and, through it, the tools themselves.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CaseState": "agent.state",
    "ChainStep": "agent.state",
    "Claim": "agent.state",
    "Evidence": "agent.state",
    "GraphDeps": "agent.deps",
    "Plan": "agent.state",
    "PlanStep": "agent.state",
    "ReasoningChain": "agent.state",
    "Settings": "core.settings",
    "build_graph": "agent.graph",
    "verify_chain": "agent.verifier",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        msg = f"module 'agent' has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(_EXPORTS[name]), name)
