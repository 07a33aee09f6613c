"""Where a turn's seconds go: per node, in tools, in the knowledge graph, in the agent itself."""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Any

import pytest

from agent.knowledge import Knowledge, kg_seconds
from agent.node_timing import NodeTiming, timed, turn_timings
from app.runner import Copilot
from core.settings import Settings
from memory.kg.store import KGStore

NODES = ("intake", "plan", "act", "recall", "reason", "verify", "respond")


def test_turn_timings_add_up() -> None:
    runs = [
        NodeTiming("plan", 0.2, 0.0),
        NodeTiming("act", 1.5, 0.0),
        NodeTiming("verify", 0.1, 0.05),
        NodeTiming("plan", 0.1, 0.0),  # a second plan after the verifier's feedback
        NodeTiming("recall", 0.3, 0.25),
    ]
    t = turn_timings(2.5, 1.4, runs)
    assert t["node_plan_s"] == pytest.approx(0.3)
    assert t["kg_s"] == pytest.approx(0.3)
    assert (t["kg_verify_s"], t["kg_recall_s"]) == (0.05, 0.25)
    assert "kg_plan_s" not in t
    assert t["agent_s"] == pytest.approx(2.5 - 1.4 - 0.3)
    assert t["graph_s"] == pytest.approx(2.5 - 2.2)


def test_timed_keeps_the_signature_and_the_result() -> None:
    def plan(state: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        return {"seen": config["x"]}

    wrapped = timed("plan", plan)
    assert inspect.signature(wrapped) == inspect.signature(plan)  # LangGraph passes config
    assert wrapped({}, config={"x": 1}) == {"seen": 1}  # outside a graph run: nothing sent


def test_knowledge_lookups_are_clocked_once(tmp_path: Path) -> None:
    kb = Knowledge(KGStore(Settings(home=tmp_path)), 0.8)
    before = kg_seconds()
    started = time.perf_counter()
    assert kb.problem() is not None  # nothing built
    wall = time.perf_counter() - started
    assert 0 < kg_seconds() - before <= wall
    assert not (tmp_path / "kg").exists()  # an absent store is not created to be asked


def test_a_turn_reports_each_node(copilot: Copilot, synthetic_slide: Any) -> None:
    result = copilot.ask(synthetic_slide.path, "what is the size of this slide?")
    t = result.timings
    assert {f"node_{n}_s" for n in NODES} <= set(t)
    assert t["total_s"] == pytest.approx(t["tools_s"] + t["kg_s"] + t["agent_s"], abs=1e-3)
    nodes = sum(v for k, v in t.items() if k.startswith("node_"))
    assert nodes + t["graph_s"] == pytest.approx(t["total_s"], abs=1e-3)
    assert t["tools_s"] <= t["node_act_s"]
