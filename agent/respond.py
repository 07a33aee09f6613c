"""Respond node: post the answer, record the finding, archive the evidence, write the audit."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableConfig

from agent.case_memory import compact
from agent.deps import GraphDeps
from agent.executor import case_id_of
from agent.knowledge import labels_of
from agent.scope import caveats_of_state, out_of_domain
from agent.state import CaseState, Evidence, Node

__all__ = ["make_respond"]


def make_respond(deps: GraphDeps) -> Node:
    """Return the ``respond`` node."""

    def respond(state: CaseState, config: RunnableConfig) -> dict[str, Any]:
        turn = state.get("turn", 1)
        verification = state.get("verification") or {}
        evidence = state.get("evidence", [])
        outside = out_of_domain(caveats_of_state(state))  # labels a later turn must not define
        finding = {
            "turn": turn,
            "request": state.get("request", ""),
            "answer": state.get("answer", ""),
            "status": verification.get("status"),
            "evidence": [e["id"] for e in evidence],
            "rois": [r["number"] for r in state.get("rois", []) if r.get("turn") == turn],
            "labels": [
                label
                for label, ev_id in labels_of([Evidence.model_validate(e) for e in evidence])
                if ev_id not in outside
            ],
            "facts": [f["id"] for f in state.get("facts", [])],
            "earlier": [e["id"] for e in state.get("earlier", [])],
        }
        deps.audit.append(
            case_id_of(config),
            "turn",
            {
                "turn": turn,
                "request": state.get("request", ""),
                "plan": state.get("plan"),
                "evidence": [e["id"] for e in evidence],
                "facts": state.get("facts", []),
                "chain": state.get("chain"),
                "verification": verification,
                "answer": state.get("answer", ""),
            },
        )
        return {
            "messages": [AIMessage(content=state.get("answer", ""))],
            "findings": [finding],
            "archive": [compact(e) for e in evidence],
        }

    return respond
