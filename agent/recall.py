"""Recall node: knowledge-graph facts for the turn's findings.

The knowledge graph is not connected yet, so the node records that no facts were retrieved;
chain steps may cite fact ids only once this node returns them.
"""

from __future__ import annotations

from typing import Any

from agent.state import CaseState

__all__ = ["recall"]


def recall(state: CaseState) -> dict[str, Any]:
    """Return the facts for this turn (none until a knowledge graph is configured)."""
    return {"facts": list(state.get("facts", []))}
