"""Reason node: compose the chain deterministically from evidence; every number is claimed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from agent.claims import Writer
from agent.planner import HELP_TEXT
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

__all__ = ["add_facts", "compose_chain", "reason", "section_of", "step_of", "where_of"]

_Section = tuple[list[tuple[StepKind, Writer]], Writer]


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
        chain = compose_review(evidence, earlier, plan, plan.lookup, rois, facts)
    else:
        chain = compose_chain(evidence, plan, facts)
    conclusion = chain.conclusion
    return {
        "chain": chain.model_dump(mode="json"),
        "answer": conclusion.text if conclusion else "",
    }


def compose_chain(
    evidence: list[Evidence], plan: Plan | None, facts: list[RecalledFact] | None = None
) -> ReasoningChain:
    """Build the chain: evidence steps, recall steps, and a conclude step that is the answer.

    Observe/measure steps come per evidence, infer/recall steps per recalled entity; fact and
    tool texts enter the chain only as quotes.
    """
    facts = facts or []
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
        for kind, w in parts:
            steps.append(_step(len(steps) + 1, kind, w, [ev.id]))
        if answer.render():
            answer.text(" ")
        answer.extend(summary)
    brief = bool(latest) and not (plan and plan.knowledge)
    cited_facts = add_facts(steps, answer, facts, latest, brief=brief)
    if not latest and not facts:
        if plan and plan.clarify:
            answer.text(plan.clarify)
        elif plan and plan.knowledge:
            answer.text("I found no knowledge-graph facts for this question")
            answer.text(" (" + "; ".join(plan.notes) + ")." if plan.notes else ".")
        else:
            answer.text(HELP_TEXT)
            if plan and plan.notes:
                answer.text(" (" + "; ".join(plan.notes) + ")")
    elif plan and plan.notes:
        answer.text(" Note: " + "; ".join(plan.notes) + ".")
    cites = [e.id for e in latest.values()] + list(dict.fromkeys(cited_facts))
    steps.append(_step(len(steps) + 1, "conclude", answer, cites))
    return ReasoningChain(steps=steps)


def section_of(ev: Evidence) -> _Section:
    """The chain steps (kind, writer) and the answer sentence for one piece of evidence."""
    builder = _BUILDERS.get(ev.tool) if ev.ok else _failed
    return (builder or _generic)(ev)


def add_facts(
    steps: list[ChainStep],
    answer: Writer,
    facts: list[RecalledFact],
    latest: dict[str, Evidence],
    *,
    brief: bool,
) -> list[str]:
    """Append infer/recall steps per recalled entity and their summary; return the fact ids."""
    cited: list[str] = []
    for entity, group in _by_entity(facts):
        parts, summary, cites = _recall(entity, group, latest, brief=brief)
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
_SEGMENT_NOUNS = {
    "nuclei": "nuclei",
    "cellular": "cellular region(s)",
    "epithelium": "epithelium region(s)",
    "stroma": "stroma region(s)",
}
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
}


def _recall(
    entity: str, group: list[RecalledFact], latest: dict[str, Evidence], *, brief: bool
) -> _RecallParts:
    """An infer step linking the label (or mention) to the entity, a recall step per fact.

    The answer gets the definition, site, cell of origin, features and grading; with ``brief``
    (a tool turn that did not ask about knowledge) the definition only.
    """
    wanted = ("definition",) if brief else _IN_ANSWER
    parts: list[tuple[StepKind, Writer, list[str]]] = []
    anchor = next((f for f in group if f.subject == entity), group[0])
    first = group[0]
    ev = first.via_evidence if first.via_evidence in {e.id for e in latest.values()} else None
    link = Writer()
    if ev is not None:
        link.text("The expert label ").quote(first.via, ev)
    else:
        link.text("The request")
    link.text(" links to the knowledge-graph entity ").quote(entity, anchor.id)
    link.text(f" ({first.link_method} match).")
    parts.append(("infer", link, [anchor.id, *([ev] if ev else [])]))
    summary = Writer()
    for f in group:
        w = Writer().text(_LEADS.get(f.predicate, "")).quote(f.text, f.id)
        w.text(" [source: ").quote(f.source, f.id).text("]")
        parts.append(("recall", w, [f.id]))
        if f.predicate in wanted:
            if summary.render():
                summary.text(" ")
            summary.text(_LEADS[f.predicate]).quote(f.text, f.id)
    if not summary.render():
        summary.text("Knowledge: ").quote(group[0].text, group[0].id)
    return parts, summary, [f.id for f in group]


def _step(n: int, kind: StepKind, w: Writer, cites: list[str]) -> ChainStep:
    return ChainStep(id=f"S{n}", kind=kind, text=w.render(), claims=w.claims, evidence=cites)


def _slide_info(ev: Evidence) -> _Section:
    o, e = ev.output, ev.id
    obs = Writer().text("The slide ").label(o["name"], e).text(" is ")
    obs.num(o["width_px"], e, "width_px").text(" × ")
    obs.num(o["height_px"], e, "height_px").text(" pixels at level ").num(0, e, "levels.0.level")
    obs.text(" and has ").num(o["level_count"], e, "level_count").text(" pyramid level(s)")
    if o.get("vendor"):
        obs.text(" (format: ").quote(o["vendor"], e).text(")")
    obs.text(".")
    for lv in o["levels"][1:4]:
        i = lv["level"]
        obs.text(" Level ").num(i, e, f"levels.{i}.level").text(" is ")
        obs.num(lv["width"], e, f"levels.{i}.width").text(" × ")
        obs.num(lv["height"], e, f"levels.{i}.height").text(" pixels (downsample ")
        obs.num(lv["downsample"], e, f"levels.{i}.downsample", decimals=2).text(").")
    res, short = Writer(), Writer()
    short.text("The slide ").label(o["name"], e).text(": ")
    short.num(o["width_px"], e, "width_px").text(" × ")
    short.num(o["height_px"], e, "height_px").text(" pixels, ")
    short.num(o["level_count"], e, "level_count").text(" level(s), ")
    if o.get("mpp_x") is not None:
        res.text("Its resolution is ").num(o["mpp_x"], e, "mpp_x", decimals=_dec(o["mpp_x"]))
        res.text(" µm/px at full resolution. ")
        short.num(o["mpp_x"], e, "mpp_x", decimals=_dec(o["mpp_x"])).text(" µm/px, ")
    else:
        res.absent(
            "It records no µm/px, so its physical resolution is unknown and sizes can be given "
            "in pixels only. ",
            e,
            "mpp_x",
        )
        short.absent("resolution unknown (no µm/px recorded), ", e, "mpp_x")
    if o.get("objective_power") is not None:
        res.text("It was scanned at ").num(o["objective_power"], e, "objective_power").text("x.")
        short.text("scanned at ").num(o["objective_power"], e, "objective_power").text("x.")
    else:
        res.absent(
            "It records no objective power, so its scan magnification is unknown.",
            e,
            "objective_power",
        )
        short.absent("magnification unknown (no objective power recorded).", e, "objective_power")
    return [("observe", obs), ("measure", res)], short


def _tissue(ev: Evidence) -> _Section:
    o, e = ev.output, ev.id
    frac = Writer().text("Tissue covers ")
    frac.num(100 * o["tissue_fraction"], e, "tissue_fraction", unit="%", decimals=1)
    frac.text("% of the slide in ").num(o["region_count"], e, "region_count")
    frac.text(" region(s).")
    parts: list[tuple[StepKind, Writer]] = [("measure", frac)]
    if o["regions"]:
        r0 = o["regions"][0]
        big = Writer().text("The largest, tissue region #").num(r0["index"], e, "regions.0.index")
        big.text(", spans ").box(r0["box"], e, "regions.0.box").text(" in level-0 pixels")
        if r0.get("area_mm2") is not None:
            big.text(" and holds ").num(r0["area_mm2"], e, "regions.0.area_mm2", decimals=3)
            big.text(" mm² of tissue")
        big.text(".")
        parts.append(("observe", big))
    short = Writer().extend(frac)
    if o["regions"] and o["regions"][0].get("area_mm2") is not None:
        r0 = o["regions"][0]
        short.text(" The largest holds ")
        short.num(r0["area_mm2"], e, "regions.0.area_mm2", decimals=3).text(" mm² of tissue.")
    return parts, short


def _zoom(ev: Evidence) -> _Section:
    o, e = ev.output, ev.id
    w = Writer().text("Showing ")
    target = o["target"]
    if target == "tissue_region":
        w.text("tissue region #").num(o["region_index"], e, "region_index")
    elif o.get("roi_number") is not None:
        w.text("the view around region #" if target == "roi" else "region #")
        w.num(o["roi_number"], e, "roi_number")
    else:
        w.text(
            {"box": "the requested box", "point": "the requested point"}.get(target, "the slide")
        )
    if o.get("magnification") is not None:
        w.text(" at ").num(
            o["magnification"], e, "magnification", decimals=_dec(o["magnification"])
        )
        w.text("x")
    else:
        w.absent(" at an unknown magnification", e, "magnification")
    if o.get("mpp") is not None:
        w.text(" (").num(o["mpp"], e, "mpp", decimals=_dec(o["mpp"])).text(" µm/px)")
    w.text(": box ").box(o["box"], e, "box").text(" in level-0 pixels, read from level ")
    w.num(o["level"], e, "level").text(" and shown at ").num(o["output_width"], e, "output_width")
    w.text(" × ").num(o["output_height"], e, "output_height").text(" pixels.")
    return _with_notes([("observe", w)], Writer().extend(w), o, e)


def _detect(ev: Evidence) -> _Section:
    o, e = ev.output, ev.id
    where = _where(o, e)
    found = Writer().text("The ").quote(ev.expert or ev.tool, e).text(" expert found ")
    found.num(o["count"], e, "count").text(f" {o['object']} in ").extend(where)
    found.text(" (box ").box(o["region_box"], e, "region_box").text(" in level-0 pixels")
    if o.get("mpp") is not None:
        found.text(", analysed at ").num(o["mpp"], e, "mpp", decimals=_dec(o["mpp"]))
        found.text(" µm/px).")
    else:
        found.absent(", at native resolution with unknown µm/px).", e, "mpp")
    parts: list[tuple[StepKind, Writer]] = [("measure", found)]
    short = Writer().num(o["count"], e, "count").text(f" {o['object']} detected in ").extend(where)
    sizes = _detect_sizes(o, e, "The mean nuclear area is ")
    if sizes is not None:
        parts.append(("measure", sizes))
        short.text("; ").extend(_detect_sizes(o, e, "mean nuclear area ") or Writer())
    else:
        short.text(".")
    return _with_notes(parts, short, o, e)


def _detect_sizes(o: dict[str, Any], e: str, lead: str) -> Writer | None:
    """Mean and median areas (µm² when known, else level-0 px²) and density."""
    if o.get("mean_area_um2") is not None:
        w = Writer().text(lead).num(o["mean_area_um2"], e, "mean_area_um2", decimals=1)
        w.text(" µm² (median ").num(o["median_area_um2"], e, "median_area_um2", decimals=1)
        w.text(" µm²)")
        if o.get("density_per_mm2") is not None:
            w.text(", ").num(o["density_per_mm2"], e, "density_per_mm2", decimals=0)
            w.text(" nuclei per mm²")
        return w.text(".")
    if o.get("mean_area_px") is not None:
        w = Writer().text(lead).num(o["mean_area_px"], e, "mean_area_px", decimals=0)
        w.text(" pixels² (median ").num(o["median_area_px"], e, "median_area_px", decimals=0)
        return w.text(" pixels²; no µm/px is recorded, so no physical size).")
    return None


def _classify(ev: Evidence) -> _Section:
    o, e = ev.output, ev.id
    label = o["label"]
    w = Writer().text("The ").quote(ev.expert or ev.tool, e).text(f" {_experts(ev)} classified ")
    w.extend(_where(o, e))
    w.text(" as ").quote(label, e).text(" (probability ")
    w.num(o["probabilities"][label], e, f"probabilities.{label}", decimals=2).text(").")
    parts: list[tuple[StepKind, Writer]] = [("infer", w)]
    for a in o.get("answers", []):
        if a.get("error"):
            note = Writer().text("Expert ").quote(a["expert"], e).text(" gave no label: ")
            parts.append(("observe", note.quote(a["error"], e)))
    return parts, Writer().extend(w)


def _segment(ev: Evidence) -> _Section:
    o, e = ev.output, ev.id
    w = Writer().text("The ").quote(ev.expert or ev.tool, e).text(" expert outlined ")
    w.num(o["count"], e, "count").text(" " + _SEGMENT_NOUNS.get(o["what"], "region(s)"))
    w.text(" in ")
    w.extend(_where(o, e))
    w.text("; they cover ").num(100 * o["area_fraction"], e, "area_fraction", unit="%", decimals=1)
    w.text("% of it")
    if o.get("total_area_um2") is not None:
        w.text(" (").num(o["total_area_um2"], e, "total_area_um2", decimals=0).text(" µm²)")
    w.text(".")
    return _with_notes([("measure", w)], Writer().extend(w), o, e)


def _wsi_classify(ev: Evidence) -> _Section:
    o, e = ev.output, ev.id
    label = o["label"]
    w = (
        Writer()
        .text("The ")
        .quote(ev.expert or ev.tool, e)
        .text(f" {_experts(ev)} classified the ")
    )
    w.text("slide as ").quote(label, e).text(" (probability ")
    w.num(o["probabilities"][label], e, f"probabilities.{label}", decimals=2).text(") from ")
    w.num(o["tiles_used"], e, "tiles_used").text(" tissue tiles")
    if o.get("tile_mpp") is not None:
        w.text(" at ").num(o["tile_mpp"], e, "tile_mpp", decimals=_dec(o["tile_mpp"]))
        w.text(" µm/px")
    w.text(".")
    parts: list[tuple[StepKind, Writer]] = [("infer", w)]
    if o.get("top_tiles"):
        top = Writer().text("The tile it attended to most spans ")
        top.box(o["top_tiles"][0]["box"], e, "top_tiles.0.box").text(" in level-0 pixels.")
        parts.append(("observe", top))
    return _with_notes(parts, Writer().extend(w), o, e, in_answer=False)


def _failed(ev: Evidence) -> _Section:
    w = Writer().text(f"The {ev.tool} step failed: ").quote(ev.error or "unknown error", ev.id)
    return [("observe", w)], Writer().text(f"Could not run {ev.tool}: ").extend(
        Writer().quote(ev.error or "unknown error", ev.id)
    )


def _generic(ev: Evidence) -> _Section:
    w = Writer().text(f"{ev.tool}: ").quote(ev.summary, ev.id)
    return [("observe", w)], w


def where_of(o: dict[str, Any], e: str) -> Writer:
    """'region #n', 'tissue region #n' or 'the analysed region', with claims."""
    return _where(o, e)


def _where(o: dict[str, Any], e: str) -> Writer:
    """'region #n', 'tissue region #n' or 'the analysed region', with claims."""
    if o.get("roi_number") is not None:
        return Writer().text("region #").num(o["roi_number"], e, "roi_number")
    if o.get("region_index") is not None:
        return Writer().text("tissue region #").num(o["region_index"], e, "region_index")
    return Writer().text("the analysed region")


def _with_notes(
    parts: list[tuple[StepKind, Writer]],
    short: Writer,
    o: dict[str, Any],
    e: str,
    *,
    in_answer: bool = True,
) -> _Section:
    """Append each of the tool's notes as a quoted step (and to the answer when asked)."""
    for note in o.get("notes", []):
        nw = Writer().text("Note: ").quote(note, e).text(".")
        parts.append(("observe", nw))
        if in_answer:
            short.text(" ").extend(nw)
    return parts, short


def _experts(ev: Evidence) -> str:
    return "experts" if ev.expert and "," in ev.expert else "expert"


def _dec(value: float) -> int:
    """Digits to show: enough for the value's own precision, at most 4."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return len(text.split(".")[1]) if "." in text else 0


_BUILDERS: dict[str, Callable[[Evidence], _Section]] = {
    "slide_info": _slide_info,
    "tissue": _tissue,
    "zoom": _zoom,
    "detect": _detect,
    "classify": _classify,
    "segment": _segment,
    "wsi_classify": _wsi_classify,
}
