"""Reason node: compose the chain deterministically from evidence; every number is claimed."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from agent.asked_slot import PREDICATES, AskedSlot, answers, asked_slot, relation_words
from agent.planner import HELP_TEXT
from agent.scope import Caveat, caveats_of_state
from agent.state import (
    CaseState,
    ChainStep,
    Evidence,
    Plan,
    ReasoningChain,
    RecalledFact,
    Roi,
    StepKind,
)
from core.narration import Outcome, Section, Writer, quoted_summary
from tools.phrasing import where
from tools.registry import tool_class

__all__ = ["add_facts", "compose_chain", "reason", "section_of", "step_of", "where_of"]

log = logging.getLogger(__name__)


def reason(state: CaseState) -> dict[str, Any]:
    """Write the chain for this turn's evidence; the answer is the conclusion's text."""
    evidence = [Evidence.model_validate(e) for e in state.get("evidence", [])]
    plan = Plan.model_validate(state["plan"]) if state.get("plan") else None
    facts = [RecalledFact.model_validate(f) for f in state.get("facts", [])]
    if plan is not None and plan.lookup is not None:
        # imported here: the review chain builds on this module's sections
        from agent.review_chain import compose_review

        earlier = [Evidence.model_validate(e) for e in state.get("earlier", [])]
        rois = [Roi.model_validate(r) for r in state.get("rois", [])]
        chain = compose_review(
            evidence, earlier, plan, plan.lookup, rois, facts, caveats_of_state(state)
        )
    else:
        chain = compose_chain(evidence, plan, facts, caveats_of_state(state))
    conclusion = chain.conclusion
    return {
        "chain": chain.model_dump(mode="json"),
        "answer": conclusion.text if conclusion else "",
    }


def compose_chain(
    evidence: list[Evidence],
    plan: Plan | None,
    facts: list[RecalledFact] | None = None,
    caveats: list[Caveat] | None = None,
) -> ReasoningChain:
    """Build the chain: evidence steps, recall steps, and a conclude step that is the answer.

    Observe/measure steps come per evidence, then a caveat step per limit of its expert that
    applies (``agent.scope``); infer/recall steps per recalled entity; fact and tool texts
    enter the chain only as quotes. In the answer, what an expert cannot tell comes before its
    result, its other caveats after.
    """
    facts = facts or []
    caveats = caveats or []
    latest: dict[str, Evidence] = {}
    for ev in evidence:
        # a re-planned step (same tool, same inputs) supersedes the earlier attempt; the same
        # tool on another target or compartment ("the epithelium and the stroma") is kept
        key = ev.tool
        if any(e.tool == ev.tool and e.inputs != ev.inputs for e in evidence):
            key = f"{ev.tool} {json.dumps(ev.inputs, sort_keys=True)}"
        latest[key] = ev
    steps: list[ChainStep] = []
    answer = Writer()
    for ev in latest.values():
        parts, summary = section_of(ev)
        mine = [c for c in caveats if c.evidence == ev.id]
        for kind, w in parts:
            steps.append(_step(len(steps) + 1, kind, w, [ev.id]))
        for c in mine:
            steps.append(_step(len(steps) + 1, "caveat", c.writer, [ev.id]))
        lead = [c.writer for c in mine if c.kind == "cannot"]
        after = [c.writer for c in mine if c.kind != "cannot"]
        for w in [*lead, summary, *after]:
            if answer.render():
                answer.text(" ")
            answer.extend(w)
    brief = bool(latest) and not (plan and plan.knowledge)
    slot = asked_slot(plan.request) if plan and plan.knowledge else None
    unclassified = not any(_is_label(e) for e in latest.values())
    if slot is not None and slot.slide_diagnosis and facts and unclassified:
        if answer.render():
            answer.text(" ")
        answer.text(
            "A diagnosis of this slide needs the slide classified (ask to classify the "
            "slide or a region); the knowledge-graph facts below are background, not a "
            "diagnosis."
        )
    cited_facts = add_facts(steps, answer, facts, latest, brief=brief, slot=slot)
    if not latest and not facts:
        if plan and plan.clarify:
            answer.text(plan.clarify)
        elif plan and plan.knowledge:
            asked = asked_slot(plan.request).subjects
            what = f"“{asked[0]}”" if asked and not re.search(r"\d", asked[0]) else "this question"
            answer.text(
                f"Not answered: the knowledge graph holds no fact on {what} (no disease or term "
                "it knows is named, and no curated fact is near in meaning)"
            )
            answer.text("; " + "; ".join(plan.notes) + "." if plan.notes else ".")
        else:
            answer.text(HELP_TEXT)
            if plan and plan.notes:
                answer.text(" (" + "; ".join(plan.notes) + ")")
    elif plan and plan.notes:
        answer.text(" Note: " + "; ".join(plan.notes) + ".")
    cites = [e.id for e in latest.values()] + list(dict.fromkeys(cited_facts))
    steps.append(_step(len(steps) + 1, "conclude", answer.without_repeated_notes(), cites))
    return ReasoningChain(steps=steps)


def section_of(ev: Evidence) -> Section:
    """The chain steps (kind, writer) and the answer sentence for one piece of evidence.

    A successful output is narrated by its tool's class (``Tool.narrate``); a tool this process
    does not know, or a narration that fails, quotes the evidence's summary instead.
    """
    if not ev.ok:
        return _failed(ev)
    out = Outcome(
        evidence_id=ev.id, tool=ev.tool, output=ev.output, summary=ev.summary, expert=ev.expert
    )
    cls = tool_class(ev.tool)
    if cls is None:
        return quoted_summary(out)
    try:
        return cls.narrate(out)
    except Exception:  # a tool's own narration code: one bad output must not end the turn
        log.exception("narrating %s (%s) failed; its summary is quoted instead", ev.id, ev.tool)
        return quoted_summary(out)


def add_facts(
    steps: list[ChainStep],
    answer: Writer,
    facts: list[RecalledFact],
    latest: dict[str, Evidence],
    *,
    brief: bool,
    slot: AskedSlot | None = None,
) -> list[str]:
    """Append infer/recall steps per recalled entity and their summary; return the fact ids.

    With ``slot`` (a knowledge question), the summary answers the asked relations; a relation
    the graph does not hold for the entity is said in one line, and what it has is labelled
    as context.
    """
    cited: list[str] = []
    groups = _by_entity(facts)
    if (
        slot is not None
        and slot.comparison
        and len(groups) == 1
        and len(slot.subjects) == 2
        and any(f.link_method not in ("embedding", "hybrid", "terms") for f in groups[0][1])
    ):  # facts near in meaning only: ``_recall`` says the question names no entity
        a, b = slot.subjects
        name = groups[0][1][0].entity_name or groups[0][0]
        from memory.kg.store import normalise  # the linker's spelling: "tumour" is "tumor"

        vias = {normalise(v) for f in groups[0][1] if f.via for v in f.via.split(" / ")}
        linked = [s for s in (a, b) if any(normalise(s) in v or v in normalise(s) for v in vias)]
        if len(linked) == 1:  # "mmr ihc vs pcr": one side names nothing the graph holds
            other = b if linked[0] == a else a
            answer.text(
                f"The knowledge graph has no entry for “{other}”, so it cannot compare the two; "
                f"on {linked[0]} ({name}) it holds:"
            )
        else:  # "HGSC vs LGSC": the ontology has one term above both
            answer.text(
                f"The knowledge graph has no separate entries for {a} and {b}: both fall under "
                f"{name}."
            )
    for entity, group in groups:
        parts, summary, cites = _recall(entity, group, latest, brief=brief, slot=slot)
        for kind, w, refs in parts:
            steps.append(_step(len(steps) + 1, kind, w, refs))
        if answer.render():
            answer.text(" ")
        answer.extend(summary)
        cited.extend(cites)
    return cited


def step_of(n: int, kind: StepKind, w: Writer, cites: list[str]) -> ChainStep:
    """Chain step ``S<n>`` with the writer's text and claims."""
    return _step(n, kind, w, cites)


def _by_entity(facts: list[RecalledFact]) -> list[tuple[str, list[RecalledFact]]]:
    groups: dict[str, list[RecalledFact]] = {}
    for f in facts:
        groups.setdefault(f.entity, []).append(f)
    return list(groups.items())


_RecallParts = tuple[list[tuple[StepKind, Writer, list[str]]], Writer, list[str]]
_IN_ANSWER = ("definition", "located_in", "derives_from", "feature", "grading")
_LEADS = {
    "definition": "Definition: ",
    "located_in": "Site: ",
    "derives_from": "Cell of origin: ",
    "material_basis": "Basis: ",
    "is_a": "Parent class: ",
    "feature": "Look for: ",
    "grading": "Grading: ",
    "differential": "Differential: ",
    "markers": "Markers: ",
    "testing": "Testing: ",
}


def _recall(
    entity: str,
    group: list[RecalledFact],
    latest: dict[str, Evidence],
    *,
    brief: bool,
    slot: AskedSlot | None = None,
) -> _RecallParts:
    """An infer step linking the label (or mention) to the entity, a recall step per fact.

    The answer gets the definition, site, cell of origin, features and grading; with ``brief``
    (a tool turn that did not ask about knowledge) the definition only; with ``slot`` the
    asked relations, a line for each the graph lacks, and otherwise the definition as context.
    """
    wanted: tuple[str, ...] = ("definition",) if brief else _IN_ANSWER
    if slot is not None and slot.comparison:
        wanted = (*wanted, "differential")
    missing: list[str] = []
    semantic = all(f.link_method in ("embedding", "hybrid", "terms") for f in group)
    if all(f.link_method == "terms" for f in group):  # the facts the question's terms name
        wanted = tuple(dict.fromkeys(f.predicate for f in group))
    if slot is not None and slot.relations and not semantic:
        asked = [p for r in slot.relations for p in PREDICATES.get(r, ())]
        if slot.comparison:
            asked.append("differential")
        wanted = tuple(
            dict.fromkeys([*(_IN_ANSWER if "definition" in slot.relations else ()), *asked])
        )
        if "definition" in slot.relations and any(f.predicate == "definition" for f in group):
            wanted = tuple(p for p in wanted if p != "is_a")
        missing = [  # a narrower entity's fact may not hold for the whole entity asked about
            r
            for r in slot.relations
            if not any(answers(r, f.predicate, f.text) for f in group if f.borrowed != "narrower")
        ]
        if any(answers(r, "definition", f.text) for r in slot.relations for f in group):
            wanted = (*wanted, "definition")
    parts: list[tuple[StepKind, Writer, list[str]]] = []
    anchor = next((f for f in group if f.subject == entity), group[0])
    first = group[0]
    by_id = {e.id: e for e in latest.values()}
    ev = first.via_evidence if first.via_evidence in by_id else None
    link = Writer()
    cls = tool_class(by_id[ev].tool) if ev is not None else None
    earlier_label = (first.via_evidence or "").startswith("turn:")
    if ev is not None and cls is not None and cls.opinions:
        link.text("The expert's answer names “").quote(first.via, ev).text("”, which")
    elif ev is not None:
        link.text("The expert label ").quote(first.via, ev)
    elif earlier_label:
        link.text(f"The case's earlier label “{first.via}”")
    else:
        link.text("The request")
    link.text(" links to the knowledge-graph entity ").quote(entity, anchor.id)
    link.text(f" ({first.link_method} match).")
    parts.append(("infer", link, [anchor.id, *([ev] if ev else [])]))
    summary = Writer()
    name = first.entity_name or entity
    if slot is not None and slot.comparison and len(slot.subjects) == 2:
        summary.text(f"{name}: ")
    if semantic and not earlier_label and slot is not None and (slot.relations or slot.subjects):
        nearest = (
            "the curated facts that share its rarest terms"
            if all(f.link_method == "terms" for f in group)
            else "nearest in meaning"
        )
        summary.text(f"The question names no knowledge-graph entity; {nearest}, as context only: ")
    elif _beside_subject(slot, first):
        # "What is MSI-H and why does it matter in colon cancer?": colon cancer linked, not
        # what was asked about
        assert slot is not None
        asked = slot.subjects[0]
        if re.search(r"\d", asked):  # the user's digits are no claim of any evidence
            summary.text("The knowledge graph has no entry for what was asked; about ")
        else:
            summary.text(f"The knowledge graph has no entry for “{asked}”; about ")
        summary.text(f"{name}, as context only: ")
    answered = False
    for f in group:
        w = Writer().text(_LEADS.get(f.predicate, "")).quote(f.text, f.id)
        w.text(" [source: ").quote(f.source, f.id).text("]")
        parts.append(("recall", w, [f.id]))
        if f.predicate in wanted:
            if answered:
                summary.text(" ")
            summary.text(_LEADS[f.predicate])
            if f.borrowed == "narrower":
                summary.text("(held for a narrower entity only) ")
            summary.quote(f.text, f.id)
            answered = True
    for rel in missing:
        summary.text(" " if answered else "")
        summary.text(f"The knowledge graph has no {relation_words(rel)} for {name}.")
        answered = True
    if missing and not any(f.predicate in wanted for f in group):
        context = next((f for f in group if f.predicate == "definition"), group[0])
        summary.text(" Context only, not what was asked: ")
        summary.text(_LEADS.get(context.predicate, "")).quote(context.text, context.id)
    elif not answered:
        summary.text("Knowledge: ").quote(group[0].text, group[0].id)
    return parts, summary, [f.id for f in group]


def _beside_subject(slot: AskedSlot | None, first: RecalledFact) -> bool:
    """The request linked an entity by words other than the subject it asks about."""
    if slot is None or slot.comparison or len(slot.subjects) != 1 or not first.via:
        return False
    from memory.kg.store import normalise  # the linker's spelling: "tumour" is "tumor"

    asked, via = normalise(slot.subjects[0]), normalise(first.via)
    return first.via_evidence is None and asked not in via and via not in asked


def _is_label(ev: Evidence) -> bool:
    """A classifier's successful output (a class label the slide was given)."""
    cls = tool_class(ev.tool)
    return ev.ok and cls is not None and cls.label_field is not None


def _step(n: int, kind: StepKind, w: Writer, cites: list[str]) -> ChainStep:
    return ChainStep(id=f"S{n}", kind=kind, text=w.render(), claims=w.claims, evidence=cites)


def _failed(ev: Evidence) -> Section:
    w = Writer().text(f"The {ev.tool} step failed: ").quote(ev.error or "unknown error", ev.id)
    return Section(
        [("observe", w)],
        Writer()
        .text("Not answered: " if ev.tool == "vqa" else f"Could not run {ev.tool}: ")
        .extend(Writer().quote(ev.error or "unknown error", ev.id)),
    )


def where_of(o: dict[str, Any], e: str) -> Writer:
    """'region #n', 'tissue region #n' or 'the analysed region', with claims."""
    return where(o, e)
