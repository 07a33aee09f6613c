"""Recall node: knowledge-graph facts for the turn's findings.

The entities come from this turn's classification labels (and those of the earlier evidence it
cites) and the entities a model's statements name (a VQA expert's sentences); for a request
that asks about knowledge, also the labels of the case's latest finding that had any and the
diseases the request names. A turn that runs tools and asks nothing about knowledge gets facts
for its own tools' labels and statements only. Without a built knowledge graph the node
records why in the plan's notes and returns no facts. The label of an expert trained on another
organ than the one the turn names (``agent.scope``) brings no facts: its disease's definition
would read as if it described the slide.
"""

from __future__ import annotations

import logging
from typing import Any

from agent.asked_slot import PREDICATES, asked_slot
from agent.deps import GraphDeps
from agent.knowledge import Knowledge, LabelRef, labels_of, statements_of
from agent.scope import caveats_of_state, out_of_domain
from agent.state import CaseState, Evidence, Node, Plan

__all__ = ["make_recall"]

logger = logging.getLogger(__name__)

EARLIER_LABEL = "turn:"
"""``via_evidence`` of a label an earlier turn of the case gave ("turn:2"), not this turn's."""


def make_recall(deps: GraphDeps) -> Node:
    """Return the ``recall`` node bound to the knowledge graph (or its absence)."""

    def recall(state: CaseState) -> dict[str, Any]:
        plan = Plan.model_validate(state["plan"]) if state.get("plan") else None
        evidence = [Evidence.model_validate(e) for e in state.get("evidence", [])]
        earlier = [Evidence.model_validate(e) for e in state.get("earlier", [])]
        outside = out_of_domain(caveats_of_state(state))
        labels: list[LabelRef] = [x for x in labels_of(evidence + earlier) if x[1] not in outside]
        knowledge = plan.knowledge if plan else False
        statements = statements_of(evidence)
        kb = deps.knowledge
        if not labels and knowledge and not _names_a_disease(kb, state.get("request", "")):
            # "what is this tumour?" after a classification: the case's label is the topic;
            # a request that names its own disease is about that one
            for finding in reversed(state.get("findings", [])):
                if finding.get("labels"):
                    said = f"{EARLIER_LABEL}{finding.get('turn', '')}"
                    labels = [(str(x), said) for x in finding["labels"]]
                    break
        if not (labels or knowledge or statements):
            return {"facts": []}  # nothing to look up: the store is not opened
        problem = kb.problem() if kb else "no knowledge graph is configured"
        if kb is None or problem:
            update: dict[str, Any] = {"facts": []}
            if plan is not None and knowledge:
                notes = [*plan.notes, problem or "no knowledge graph"]
                update["plan"] = plan.model_copy(update={"notes": notes}).model_dump(mode="json")
            return update
        request = state.get("request", "")
        slot = asked_slot(request) if knowledge else None
        asked = tuple(p for r in slot.relations for p in PREDICATES.get(r, ())) if slot else ()
        compared = tuple(slot.subjects) if slot is not None and slot.comparison else ()
        facts = kb.recall(
            request,
            labels,
            knowledge=knowledge,
            statements=statements,
            asked=asked,
            compared=compared,
        )
        return {"facts": [f.model_dump(mode="json") for f in facts]}

    return recall


def _names_a_disease(kb: Knowledge | None, request: str) -> bool:
    """The request names a disease of the knowledge graph by name, synonym or abbreviation."""
    if kb is None or kb.problem():
        return False
    return any(x.kind == "disease" and x.method == "exact" for x in kb.mentions(request).links)
