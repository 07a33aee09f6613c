"""Wiring of the co-pilot graph: intake → plan → act → recall → reason → verify → respond."""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from agent.deps import GraphDeps
from agent.executor import make_executor, route_after_act
from agent.intake import make_intake
from agent.node_timing import timed
from agent.planner import make_planner
from agent.recall import make_recall
from agent.respond import make_respond
from agent.state import CaseState
from agent.verifier import make_router, make_verify

__all__ = ["build_graph"]


def build_graph(deps: GraphDeps) -> StateGraph:
    """Return the uncompiled graph; compile it with a checkpointer in app/ or tests."""
    graph = StateGraph(CaseState)
    nodes = {
        "intake": make_intake(deps),
        "plan": deps.planner or make_planner(deps.tools, deps.settings),
        "act": make_executor(deps),
        "recall": make_recall(deps),
        "reason": deps.reasoner,
        "verify": make_verify(deps.knowledge),
        "respond": make_respond(deps),
    }
    for name, node in nodes.items():
        graph.add_node(name, timed(name, node))  # each run's seconds on the custom stream
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
