"""Wiring of the co-pilot graph: intake → plan → act → recall → reason → verify → respond."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agent.deps import GraphDeps
from agent.executor import make_executor, route_after_act
from agent.intake import make_intake
from agent.planner import make_planner
from agent.recall import make_recall
from agent.respond import make_respond
from agent.state import CaseState
from agent.verifier import make_router, make_verify

__all__ = ["build_graph"]


def build_graph(deps: GraphDeps) -> StateGraph:
    """Return the uncompiled graph; compile it with a checkpointer in app/ or tests."""
    graph = StateGraph(CaseState)
    graph.add_node("intake", make_intake(deps))
    graph.add_node("plan", deps.planner or make_planner(deps.tools, deps.settings))
    graph.add_node("act", make_executor(deps))
    graph.add_node("recall", make_recall(deps))
    graph.add_node("reason", deps.reasoner)
    graph.add_node("verify", make_verify(deps.knowledge))
    graph.add_node("respond", make_respond(deps))
    graph.add_edge(START, "intake")
    graph.add_edge("intake", "plan")
    graph.add_edge("plan", "act")
    graph.add_conditional_edges("act", route_after_act, ["plan", "recall"])
    graph.add_edge("recall", "reason")
    graph.add_edge("reason", "verify")
    graph.add_conditional_edges(
        "verify",
        make_router(deps.settings.verify_budget, rewrite=deps.rewrite_on_failure),
    )
    graph.add_edge("respond", END)
    return graph
