"""Chains for turns that look back: compare two regions' results, recall a region's findings.

Every number is claimed: a region's own numbers against its evidence (this turn's or an earlier
turn's, loaded from the case's archive), differences between regions as ``compare`` claims
over both outputs. A region the case never visited is said plainly, with nothing to cite, so
that part stays unverified.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from agent.case_memory import RANK_FIELD
from agent.claims import Writer
from agent.findings_table import TABLE_ASKED_RE, findings_table
from agent.reasoner import add_facts, section_of, step_of, where_of
from agent.scope import Caveat
from agent.state import CaseLookup, ChainStep, Evidence, Plan, ReasoningChain, RecalledFact, Roi
from core.claimable import resolve_path
from tools.phrasing import decimals_for
from tools.registry import tool_class

__all__ = ["compose_review", "ordinal"]

_ORDINALS = [
    *("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"),
    *("tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth"),
    *("seventeenth", "eighteenth", "nineteenth", "twentieth"),
]


def ordinal(n: int) -> str:
    """'first', 'second', … for 1-20; 'number N' beyond (a number the verifier cannot back)."""
    return _ORDINALS[n - 1] if 1 <= n <= len(_ORDINALS) else f"number {n}"


def compose_review(
    evidence: list[Evidence],
    earlier: list[Evidence],
    plan: Plan,
    lookup: CaseLookup,
    rois: list[Roi],
    facts: list[RecalledFact],
    caveats: Sequence[Caveat] = (),
) -> ReasoningChain:
    """The chain of a comparison or a recall turn.

    ``caveats``: the scope check's sentences for this turn's and the recalled evidence; each
    recalled result's caveats follow it (a summary of a liver case keeps "trained on colorectal
    tissue").
    """
    steps: list[ChainStep] = []
    answer = Writer()
    if lookup.kind == "compare":
        cites = _compare(steps, answer, evidence, earlier, lookup)
    else:
        if lookup.provenance:
            _provenance(answer, [e for e in earlier if e.id in lookup.earlier])
        cites = _recall_regions(steps, answer, earlier, lookup, rois)
        table = _table(earlier, lookup) if TABLE_ASKED_RE.search(plan.request.lower()) else None
        if table is not None:  # the regions' details stay in the chain's steps
            lead = "The case's findings by region (earlier results, not re-run):\n\n"
            answer = Writer().text(lead).extend(table)
        if _WHICH_RE.search(plan.request.lower()):
            _rank_counts(steps, answer, [e for e in earlier if e.id in cites])
    also = plan.also
    shown = {r.evidence for r in rois}  # a region's view is cited beside its analyses
    if also is not None and set(_recall_regions([], Writer(), earlier, also, rois)) - shown <= set(
        cites
    ):
        also = None  # "what was the second count and how does it compare with the first?"
    if also is not None:  # a recall asked beside the comparison
        if answer.render():
            answer.text(" ")
        cites += [c for c in _recall_regions(steps, answer, earlier, also, rois) if c not in cites]
    for ev in evidence:  # what the turn ran beside the comparison or recall
        if ev.id not in cites:
            summary = _add(steps, ev, "")
            answer.text(" ").extend(summary)
            cites.append(ev.id)
    told: set[tuple[str, str]] = set()
    for c in caveats:  # once per expert and kind: two results of one model share its caveat
        if c.evidence in cites and (c.expert, c.kind) not in told and c.text not in answer.render():
            told.add((c.expert, c.kind))
            steps.append(step_of(len(steps) + 1, "caveat", c.writer, [c.evidence]))
            answer.text(" ").extend(c.writer)
    latest = {ev.tool: ev for ev in [*earlier, *evidence] if ev.id in cites}
    fact_ids = add_facts(steps, answer, facts, latest, brief=True)
    if plan.notes:
        answer.text(" Note: " + "; ".join(plan.notes) + ".")
    steps.append(
        step_of(len(steps) + 1, "conclude", answer.without_repeated_notes(), [*cites, *fact_ids])
    )
    return ReasoningChain(steps=steps)


def _provenance(answer: Writer, recalled: list[Evidence]) -> None:
    """Where the recalled results came from: which tool computed each, and how it was checked."""
    made = "; ".join(
        f"{ev.id} by the {ev.tool} tool" + (f" ({ev.expert})" if ev.expert else "")
        for ev in recalled
    )
    answer.text(
        f"Where it came from: each result is a tool's stored output ({made}), not text a "
        "language model wrote; every number in the answers is checked in code by the verifier "
        "against the output it cites. The results, with what limits them: "
    )


def _table(earlier: list[Evidence], lookup: CaseLookup) -> Writer | None:
    """The recalled regions' results as a table (``agent.findings_table``)."""
    regions = [
        (n, [e for e in earlier if e.tool != "zoom" and e.output.get("roi_number") == n])
        for n in lookup.rois
    ]
    return findings_table(regions)


_WHICH_RE = re.compile(
    r"\bwhich\b[^?.;]*\b(?:more|most|fewer|fewest|less|least|higher|highest|lower|lowest|"
    r"denser|densest|busiest)\b"
)
"""'Which region had more nuclei?' asked of the case's memory: the recall ends with a ranking."""


def _rank_counts(steps: list[ChainStep], answer: Writer, recalled: list[Evidence]) -> None:
    """Name the recalled regions with the most and the fewest detections, each count claimed.

    Only the latest count of each numbered region; fewer than two regions rank nothing.
    """
    latest: dict[int, Evidence] = {}
    for ev in recalled:
        number = ev.output.get("roi_number")
        if ev.tool == "detect" and ev.ok and number is not None:
            latest[int(number)] = ev
    if len(latest) < 2:
        return
    ranked = sorted(latest.values(), key=lambda e: -int(e.output["count"]))
    top, low = ranked[0], ranked[-1]
    w = Writer().text("Of the regions counted, ")
    w.extend(where_of(top.output, top.id)).text(f" had the most {_noun(top)} (")
    w.num(top.output["count"], top.id, "count").text(") and ")
    w.extend(where_of(low.output, low.id)).text(" the fewest (")
    w.num(low.output["count"], low.id, "count").text(").")
    steps.append(step_of(len(steps) + 1, "infer", w, [top.id, low.id]))
    answer.text(" ").extend(w)


_RANKED_BY = {
    "detect": (RANK_FIELD["detect"], "most nuclei", "fewest"),
    "segment": (RANK_FIELD["segment"], "largest share", "smallest"),
}
"""How parts are ranked: the output field (``RANK_FIELD``), the words for the top and bottom."""


_RANK_CHOICES = {
    "density": (
        ("density_per_tissue_mm2", "highest nuclear density per tissue area", "lowest"),
        ("per_tissue_10k_px", "highest nuclear density per tissue area", "lowest"),
    ),
    "mean_area": (
        ("mean_area_um2", "largest mean nuclear area", "smallest"),
        ("mean_area_px", "largest mean nuclear area", "smallest"),
    ),
}
"""A ranking asked by density or by nuclear size: the fields that hold it, first held first."""
_RANK_UNITS = {
    "count": (" nuclei", None),
    "density_per_tissue_mm2": (" nuclei per mm² of tissue", 0),
    "per_tissue_10k_px": (" nuclei per ten thousand pixels² of tissue", 2),
    "mean_area_um2": (" µm² mean nuclear area", 1),
    "mean_area_px": (" pixels² mean nuclear area", 0),
}
"""How a detection's ranking value is written: the words after it, and its decimals."""


def _rank_places(
    steps: list[ChainStep],
    answer: Writer,
    found: list[Evidence],
    places: list[str],
    rank_by: str | None = None,
) -> None:
    """Name each part's region, then the parts ranked first and last.

    "Which quadrant has the most nuclei?": each number claimed against its evidence.
    """
    tools = {ev.tool for ev in found}
    field, most, least = _RANKED_BY.get(next(iter(tools)), ("", "", ""))
    for choice, top_words, low_words in _RANK_CHOICES.get(rank_by or "", ()):
        if tools == {"detect"} and all(ev.output.get(choice) is not None for ev in found):
            field, most, least = choice, top_words, low_words
            break
    if len(tools) != 1 or any(ev.output.get(field) is None for ev in found):
        field = ""
    named = Writer()
    for i, (ev, place) in enumerate(zip(found, places, strict=True)):
        named.text("; " if i else "")
        _place(named, place, ev, capital=not i)
        named.text(" (").extend(where_of(ev.output, ev.id)).text(")")
        label = _label_field(ev)
        if field and ev.tool == "detect":
            named.text(": ").num(ev.output["count"], ev.id, "count").text(" nuclei")
            if field != "count" and not field.startswith("mean_area"):
                named.text(", ")
                _rank_value(named, ev, field)
            _mean_area(named, ev)
        elif field:
            named.text(": ")
            _rank_value(named, ev, field)
            named.text(f" {ev.inputs.get('what') or ''}")
        elif label and ev.output.get(label) is not None:
            named.text(": ").quote(str(ev.output[label]), ev.id)
    named.text(".")
    steps.append(step_of(len(steps) + 1, "observe", named, [e.id for e in found]))
    answer.text(" " if answer.render() else "").extend(named)
    if not field or (len(found) < 3 and not rank_by):
        return  # two parts: the comparison below says by how much they differ
    order = sorted(range(len(found)), key=lambda k: -float(found[k].output[field]))
    top, low = order[0], order[-1]
    w = Writer()
    _place(w, places[top], found[top], capital=True)
    w.text(f" has the {most} (")
    _rank_value(w, found[top], field)
    w.text("); ")
    _place(w, places[low], found[low], capital=False)
    w.text(f" the {least} (")
    _rank_value(w, found[low], field)
    w.text(").")
    steps.append(step_of(len(steps) + 1, "infer", w, [found[top].id, found[low].id]))
    answer.text(" ").extend(w)


def _place(w: Writer, place: str, ev: Evidence, *, capital: bool) -> None:
    """A part's name ("the top left quadrant"), or a named box with its corners claimed."""
    if place.startswith("box [") and ev.output.get("region_box"):
        w.text("Box " if capital else "box ").box(ev.output["region_box"], ev.id, "region_box")
    else:
        w.text(f"{place[:1].upper()}{place[1:]}" if capital else place)


def _mean_area(w: Writer, ev: Evidence) -> None:
    """The mean nuclear area after a count (", mean nuclear area 42.9 µm²", or pixels²)."""
    o = ev.output
    if o.get("mean_area_um2") is not None:
        w.text(", mean nuclear area ").num(o["mean_area_um2"], ev.id, "mean_area_um2", decimals=1)
        w.text(" µm²")
    elif o.get("mean_area_px") is not None:
        w.text(", mean nuclear area ").num(o["mean_area_px"], ev.id, "mean_area_px", decimals=0)
        w.text(" pixels²")


def _rank_value(w: Writer, ev: Evidence, field: str) -> None:
    if field == "area_fraction":
        w.num(100 * float(ev.output[field]), ev.id, field, unit="%", decimals=1).text("%")
    elif field in _RANK_UNITS and field != "count":
        words, decimals = _RANK_UNITS[field]
        w.num(ev.output[field], ev.id, field, decimals=decimals).text(words)
    else:
        w.num(ev.output[field], ev.id, field)


def _add(steps: list[ChainStep], ev: Evidence, lead: str) -> Writer:
    """The evidence's steps (the first led by ``lead``) and its answer sentence."""
    parts, summary = section_of(ev)
    for i, (kind, w) in enumerate(parts):
        text = Writer().text(lead).extend(w) if i == 0 and lead else w
        steps.append(step_of(len(steps) + 1, kind, text, [ev.id]))
    return summary


def _compare(
    steps: list[ChainStep],
    answer: Writer,
    evidence: list[Evidence],
    earlier: list[Evidence],
    lookup: CaseLookup,
) -> list[str]:
    """Each region's result, then how they differ; returns the evidence ids cited."""
    pool = [*earlier, *evidence]
    found: list[Evidence] = []
    if not lookup.rois:  # "the first and second counts": the results themselves, in order
        found = [e for wanted in lookup.earlier for e in earlier if e.id == wanted]
        found += [e for e in evidence if e.tool == lookup.tool]  # "… vs the whole tile"
    for number in lookup.rois:
        mine = [e for e in pool if e.output.get("roi_number", e.inputs.get("roi_number")) == number]
        # the analysis compared, not a view of the region shown in the same turn
        mine = [e for e in mine if e.tool == lookup.tool] or mine
        ok = [e for e in mine if e.ok]
        if ok or mine:
            found.append((ok or mine)[-1])
    ok = [e for e in found if e.ok]
    by_place = bool(lookup.places) and len(ok) == len(lookup.places)
    for ev in found:
        lead = f"Earlier in this case ({ev.id}): " if ev in earlier else ""
        summary = _add(steps, ev, lead)
        if by_place:
            continue  # each part's value in one line below; its notes stay in the chain
        if answer.render():
            answer.text(" ")
        answer.text(lead).extend(summary)
    if by_place:
        _rank_places(steps, answer, ok, lookup.places, lookup.rank_by)
    if len(ok) >= 2 and not (lookup.places and len(ok) > 2):
        a, b = ok[0], ok[1]
        diff = _difference(a, b)
        if diff is not None:
            kind = "infer" if _label_field(a) else "measure"
            steps.append(step_of(len(steps) + 1, kind, diff, [a.id, b.id]))
            answer.text(" Comparison: ").extend(diff)
    elif found and len(ok) < 2:
        answer.text(" The regions cannot be compared: one of the analyses failed.")
    return [e.id for e in found]


def _difference(a: Evidence, b: Evidence) -> Writer | None:
    """Sentences that compare ``a``'s output with ``b``'s (same tool), every number claimed."""
    if a.tool != b.tool:
        return None
    if _label_field(a):
        return _compare_labels(a, b)
    cls = tool_class(a.tool)
    if cls is not None and cls.compare_shares:
        named = cls.shares_named(str(a.inputs.get("question") or ""))
        return _compare_shares(a, b, cls.compare_shares, named)
    w = Writer()
    written: list[str] = []
    for m in cls.compare_metrics if cls is not None else ():
        va, vb = a.output.get(m.path), b.output.get(m.path)
        if not isinstance(va, int | float) or not isinstance(vb, int | float):
            continue
        if w.render():
            w.text(" ")
        _metric(w, a, b, m.path, m.what, m.unit, m.decimals, (m.more, m.less), m.unit_text)
        written.append(m.what)
    if w.render() and _sizes_differ(a, b) and cls is not None and cls.compare_fairly_by:
        fair = cls.compare_fairly_by
        if any(what and what in fair for what in written):
            w.text(
                " The two regions differ in size, so their counts are not directly comparable; "
                f"{fair} is."
            )
        else:  # no µm/px: the density that would make them comparable cannot be given
            w.text(
                " The two regions differ in size, so their counts are not directly comparable, "
                f"and without µm/px {fair} per mm² cannot be given."
            )
    return w if w.render() else None


_SHARE_FLOOR = 0.05
"""A class is compared when it holds at least this share of either region."""
_MAX_SHARES = 4


def _compare_shares(a: Evidence, b: Evidence, field: str, named: list[str]) -> Writer | None:
    """How much more of each class one region holds: the classes asked about, then the rest.

    A class is shown when it is asked about or holds ``_SHARE_FLOOR`` of either region.
    """
    sa, sb = a.output.get(field), b.output.get(field)
    if not isinstance(sa, dict) or not isinstance(sb, dict):
        return None
    shared = [
        k
        for k in sa
        if k in sb and isinstance(sa[k], int | float) and isinstance(sb[k], int | float)
    ]
    asked = [k for k in named if k in shared]
    shown = (
        asked
        + sorted(
            (k for k in shared if max(sa[k], sb[k]) >= _SHARE_FLOOR and k not in asked),
            key=lambda k: (-max(sa[k], sb[k]), shared.index(k)),
        )[: max(0, _MAX_SHARES - len(asked))]
    )
    w = Writer()
    for k in shown:
        if w.render():
            w.text(" ")
        words = ("higher", "lower")
        hi, lo = (b, a) if sb[k] > sa[k] else (a, b)  # the region with more of it first
        _metric(w, hi, lo, f"{field}.{k}", "share", "%", 0, words, " percentage points", k)
    if w.render() and _sizes_differ(a, b):
        w.text(
            " The regions differ in size; each share is of its own region's tiles, so the "
            "shares compare fairly."
        )
    return w if w.render() else None


def _label_field(ev: Evidence) -> str | None:
    cls = tool_class(ev.tool)
    return cls.label_field if cls is not None else None


def _sizes_differ(a: Evidence, b: Evidence) -> bool:
    boxes = [e.output.get("region_box") for e in (a, b)]
    if not all(isinstance(x, list) and len(x) == 4 for x in boxes):
        return False
    areas = [(x[2] - x[0]) * (x[3] - x[1]) for x in boxes]  # type: ignore[index]
    return abs(areas[0] - areas[1]) > 0.05 * max(areas)


def _metric(
    w: Writer,
    a: Evidence,
    b: Evidence,
    path: str,
    what: str,
    unit: str | None,
    decimals: int | None,
    words: tuple[str, str],
    unit_text: str,
    quoted: str | None = None,
) -> None:
    """One sentence comparing the number at ``path`` in two outputs.

    ``quoted``: a class name the measure is of ("the <quoted> share"), quoted from ``a``'s
    output rather than written as a term.
    """
    subject = Writer().text("The ")
    if quoted is not None:
        subject.quote(quoted, a.id).text(f" {what}")
    else:
        subject.text(what or "number of " + _noun(a))
    scale = 100.0 if unit == "%" else 1.0
    va, vb = (scale * float(resolve_path(e.output, path)[1] or 0.0) for e in (a, b))
    hi, lo = (a, b) if va >= vb else (b, a)
    shown_a = Writer().num(va, a.id, path, unit=unit, decimals=decimals)
    shown_b = Writer().num(vb, b.id, path, unit=unit, decimals=decimals)
    suffix = "%" if unit == "%" else unit_text
    values = Writer().text(" (").extend(shown_a).text(f"{suffix} vs ").extend(shown_b)
    values.text(f"{suffix}).")
    # the difference of the values as shown, so that the reader's subtraction agrees with it
    shown = [float(x.claims[0].value or 0.0) for x in (shown_a, shown_b)]
    step = 10.0 ** -(decimals or 0)
    diff = Writer().difference(
        round(abs(shown[0] - shown[1]), decimals or 0),
        hi.id,
        lo.id,
        path,
        unit=unit,
        decimals=decimals,
        tolerance=step,
    )
    if diff.claims[0].value == 0:
        w.extend(subject).text(" is the same in ")
        w.extend(where_of(a.output, a.id)).text(" and ").extend(where_of(b.output, b.id))
        w.text(" (difference ").extend(diff).text(f"{unit_text}: ").extend(shown_a)
        w.text(f"{suffix} vs ").extend(shown_b).text(f"{suffix}).")
        return
    word = words[0] if hi is a else words[1]
    if not what:  # a count: "region #2 has 289 more nuclei than region #1"
        w.extend(_cap(where_of(a.output, a.id))).text(" has ").extend(diff)
        w.text(f" {word} {_noun(a)} than ").extend(where_of(b.output, b.id)).extend(values)
        return
    w.extend(subject).text(" is ").extend(diff).text(f"{unit_text} {word} in ")
    w.extend(where_of(a.output, a.id)).text(" than in ").extend(where_of(b.output, b.id))
    w.extend(values)


def _compare_labels(a: Evidence, b: Evidence) -> Writer:
    field = _label_field(a) or "label"
    la, lb = str(a.output.get(field)), str(b.output.get(field))
    w = Writer().extend(_cap(where_of(a.output, a.id))).text(" was classified as ").quote(la, a.id)
    w.text(" and ").extend(where_of(b.output, b.id)).text(" as ").quote(lb, b.id)
    if la == lb:
        return w.relation(": the same class.", a.id, b.id, field, same=True)
    return w.relation(": the classes differ.", a.id, b.id, field, same=False)


def _recall_regions(
    steps: list[ChainStep],
    answer: Writer,
    earlier: list[Evidence],
    lookup: CaseLookup,
    rois: list[Roi],
) -> list[str]:
    """What the case holds about each region: its view and its latest analyses."""
    by_number = {r.number: r for r in rois}
    cites: list[str] = []
    if lookup.views:
        return _list_views(steps, answer, earlier, lookup, by_number)
    views = {r.evidence for r in rois}
    whole = [
        e
        for e in earlier
        if e.id not in views and e.tool != "zoom" and e.output.get("roi_number") is None
    ]
    if whole:
        answer.text("For the whole slide, earlier in this case:")
        for ev in whole:
            summary = _add(steps, ev, f"Earlier in this case ({ev.id}): ")
            answer.text(" ").extend(summary)
            cites.append(ev.id)
    for number in lookup.rois:
        roi = by_number.get(number)
        view = next((e for e in earlier if roi is not None and e.id == roi.evidence), None)
        mine = [e for e in earlier if e.tool != "zoom" and e.output.get("roi_number") == number]
        name = f"the {ordinal(number)} region"
        if answer.render():
            answer.text(" ")
        if view is not None:
            w = _view_of(f"{name.capitalize()} of this case is the view of box ", view)
            steps.append(step_of(len(steps) + 1, "observe", w, [view.id]))
            cites.append(view.id)
        if not mine:
            line = Writer().text(f"About {name}: it was ")
            if view is not None:
                key = _box_key(view)
                line.text("viewed (box ").box(view.output[key], view.id, key)
                line.text(" in level-0 pixels) but ")
            line.text("not analysed, so nothing was concluded about it yet.")
            answer.extend(line)
            continue
        answer.text(f"About {name}, earlier in this case:")
        for ev in mine:
            summary = _add(steps, ev, f"Earlier in this case ({ev.id}): ")
            answer.text(" ").extend(summary)
            cites.append(ev.id)
    for line in lookup.missing:
        if answer.render():
            answer.text(" ")
        answer.text(line[0].upper() + line[1:] + ("" if line.endswith(".") else "."))
    return cites


def _list_views(
    steps: list[ChainStep],
    answer: Writer,
    earlier: list[Evidence],
    lookup: CaseLookup,
    by_number: dict[int, Roi],
) -> list[str]:
    """Every region the case visited, in order: its number, box and scale."""
    cites: list[str] = []
    by_id = {e.id: e for e in earlier}
    for number in lookup.rois:
        roi = by_number.get(number)
        view = by_id.get(roi.evidence) if roi is not None else None
        if view is None:
            continue
        w = _view_of(f"The {ordinal(number)} region: box ", view)
        steps.append(step_of(len(steps) + 1, "observe", w, [view.id]))
        answer.text(" " if answer.render() else "").extend(w)
        cites.append(view.id)
    for line in lookup.missing:
        answer.text((" " if answer.render() else "") + line)
    return cites


def _box_key(view: Evidence) -> str:
    """The output field holding a region's box: a view's, or the field an analysis chose."""
    return "box" if "box" in view.output else "region_box"


def _view_of(lead: str, view: Evidence) -> Writer:
    """``lead``, then the view's level-0 box and its magnification when known."""
    key = _box_key(view)
    w = Writer().text(lead).box(view.output[key], view.id, key).text(" in level-0 pixels")
    if view.output.get("magnification") is not None:
        mag = view.output["magnification"]
        w.text(" at ").num(mag, view.id, "magnification", decimals=decimals_for(mag)).text("x")
    return w.text(".")


def _noun(ev: Evidence) -> str:
    cls = tool_class(ev.tool)
    if cls is None:
        return str(ev.output.get("object") or "objects")
    return cls.object_noun(ev.output)


def _cap(w: Writer) -> Writer:
    return w.capitalized()
