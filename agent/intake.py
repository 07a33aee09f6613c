"""Intake node: start a turn: number it, reset per-turn fields, log the request."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from agent.deps import GraphDeps
from agent.executor import case_id_of
from agent.state import CaseState, Node
from agent.stated_scale import read_stated_scale

__all__ = ["make_intake"]


def make_intake(deps: GraphDeps) -> Node:
    """Return the ``intake`` node."""

    def intake(state: CaseState, config: RunnableConfig) -> dict[str, Any]:
        turn = state.get("turn", 0) + 1
        slide = state.get("slide") or {}
        current = state.get("current_roi")
        rois = {r["number"]: r for r in state.get("rois", [])}
        if current is not None and rois.get(current, {}).get("slide_id") != slide.get("slide_id"):
            current = None  # the case moved to another slide
        deps.audit.append(
            case_id_of(config),
            "request",
            {"turn": turn, "request": state.get("request", ""), "slide": slide},
        )
        update: dict[str, Any] = {}
        stated = read_stated_scale(state.get("request", ""))
        if stated is not None and slide.get("slide_id"):
            scale = {"mpp": stated.mpp, "magnification": stated.magnification}
            update["scales"] = {**state.get("scales", {}), slide["slide_id"]: scale}
        return {
            **update,
            "turn": turn,
            "current_roi": current,
            "plan": None,
            "evidence": [],
            "earlier": [],
            "facts": [],
            "chain": None,
            "verification": None,
            "answer": "",
            "reasoner_error": None,
            "attempts": 0,
            "acted": 0,
            "feedback": [],
        }

    return intake
