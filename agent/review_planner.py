"""Plan turns that refer back to the case: compare regions, recall what was found.

A comparison runs the analysis the case ran last (or the one the request names) on each region
that has no result of it yet and reuses the results it already has; a recall runs nothing and
cites the archived evidence of the region(s).
"""

from __future__ import annotations

import re
from typing import Any

from agent.case_memory import ANALYSIS_TOOLS, Analysis, analyses_of
from agent.ordinals import ORDINAL_PATTERN, ordinal_number
from agent.review_intents import CompareRequest, RecallRequest, RegionRef
from agent.state import CaseLookup, PlanStep, Roi

__all__ = [
    "ordinal_analyses",
    "plan_provenance",
    "plan_compare",
    "plan_compare_with_new",
    "plan_recall",
    "plan_region_vs_whole",
]

_DEFAULT_TOOL = "detect"

_PROVENANCE_RE = re.compile(
    r"\b(?:ma(?:ke|de|king)\s+(?:(?:it|that|this|them|those|these|the)(?:\s+\w+)?)?\s*up|"
    r"hallucinat\w*|invent(?:ed|ing)|fabricat\w*)\b|"
    r"\b(?:where|how)\s+did\s+(?:you\s+get|(?:that|this|the|those|these)\s+(?:\w+\s+)?"
    r"(?:number|count|value|figure|percent\w*|%|probabilit\w*|score|label|class)s?\s+come)\b|"
    r"\b(?:actual|real|genuine|really\s+(?:a|an|the))\s+(?:model\s+|tool\s+|softmax\s+)?"
    r"(?:output|softmax|measurement|number|count|value|probabilit\w*)\b|"
    r"\bhow\s+much\s+(?:should|can|do)\s+i\s+trust\b|\b(?:should|can)\s+i\s+trust\b|"
    r"\bhow\s+(?:reliable|trustworthy)\b|"
    # "what does the tissue figure rest on?", "what is that count based on?"
    r"\bwhat\s+(?:does|do|is|are|was|were)\s+(?:that|this|the|those|these)\s+(?:[\w-]+\s+)?"
    r"(?:number|count|value|figure|percent\w*|%|probabilit\w*|score|label|class|result|area)s?\s+"
    r"(?:rest(?:ing)?|based|built|resting)\s+on\b|"
    r"\bwhich\s+(?:of\s+(?:your|ur|the)\s+)?(?:answers?|numbers?|results?)\b[^?.;]*"
    r"\b(?:from\s+(?:the\s+)?(?:kg|knowledge\s+graph|a\s+tool|the\s+tools?)|model\s+knowledge)"
)
"""A question about where a result came from, or how far it can be trusted."""


def plan_provenance(low: str, rois: list[Roi], archive: list[dict[str, Any]]) -> CaseLookup | None:
    """The case's latest results, to be told with where they came from and their caveats.

    None when the request asks no such thing or the case holds no result yet.
    """
    if not _PROVENANCE_RE.search(low):
        return None
    every = analyses_of(archive)
    if not every:
        return None
    last = max(a.turn for a in every)
    latest = [a for a in every if a.turn == last]
    numbers = {r.number for r in rois}
    regions = list(dict.fromkeys(a.roi for a in latest if a.roi in numbers))
    return CaseLookup(
        kind="recall",
        rois=[n for n in regions if n is not None],
        earlier=[a.evidence for a in latest],
        kinds=sorted({a.tool for a in latest}),
        provenance=True,
    )


def plan_compare(
    req: CompareRequest,
    rois: list[Roi],
    current: int | None,
    archive: list[dict[str, Any]],
) -> tuple[list[PlanStep], CaseLookup | None]:
    """Steps and the lookup for a comparison; a resolution error is one failed step."""
    analyses = [
        a
        for a in analyses_of(archive)
        if a.roi in {r.number for r in rois} and a.tool in ANALYSIS_TOOLS
    ]
    tool, what, args = _choose_analysis(req, analyses)
    chosen: list[Roi] = []
    if req.last is not None:  # "the three views", "all the views so far"
        chosen = list(rois[-req.last :] if req.last else rois)
    for ref in req.regions if req.last is None else ():
        roi, error = _resolve(ref, rois, current, analyses)
        if error or roi is None:
            why = "the regions to compare"
            return [PlanStep(tool=tool, args={"target": "box"}, why=why, error=error)], None
        if roi not in chosen:
            chosen.append(roi)
    if len(chosen) < 2:
        error = (
            f"only one region (region {chosen[0].number}) was named; say which two to compare, "
            "e.g. 'compare region 1 with region 2'"
        )
        return [PlanStep(tool=tool, args={"target": "box"}, why="a comparison", error=error)], None
    steps: list[PlanStep] = []
    earlier: list[str] = []
    for roi in chosen:
        done = _latest(analyses, roi.number, tool, what)
        if done is not None:
            earlier.append(done.evidence)
            continue
        step_args = {**args, "target": "box", "box": roi.box, "roi_number": roi.number}
        if tool == "segment":
            step_args["what"] = what
        steps.append(PlanStep(tool=tool, args=step_args, why=f"region {roi.number}, to compare"))
    lookup = CaseLookup(
        kind="compare",
        rois=[r.number for r in chosen],
        earlier=earlier,
        tool=tool,
        what=what,
    )
    return steps, lookup


def plan_compare_with_new(
    req: CompareRequest,
    rois: list[Roi],
    current: int | None,
    archive: list[dict[str, Any]],
    new: Roi,
) -> tuple[list[PlanStep], CaseLookup | None]:
    """A comparison beside an analysis of a new place in the same request.

    "Count the nuclei in the top left corner and compare the two": "this" / "the two" are
    the new place (``new``, the region this turn's analysis will make) and the region the case
    was on before it. The new place's analysis is the request's own step, not the comparison's.
    """
    if req.last is not None or not {"current", "previous"} & set(req.regions):
        return plan_compare(req, rois, current, archive)
    analyses = [a for a in analyses_of(archive) if a.roi in {r.number for r in rois}]
    before, _ = _resolve("current", rois, current, analyses)
    refs: list[RegionRef] = []
    for ref in req.regions:
        if ref == "current":
            refs.append(new.number)
        elif ref == "previous" and before is not None:
            refs.append(before.number)
        else:
            refs.append(ref)
    if new.number not in refs:
        refs.append(new.number)
    steps, lookup = plan_compare(
        CompareRequest(regions=tuple(dict.fromkeys(refs)), tool=req.tool, what=req.what),
        [*rois, new],
        new.number,
        archive,
    )
    return [s for s in steps if s.args.get("roi_number") != new.number], lookup


_ORDINAL = rf"(?:{ORDINAL_PATTERN}|last|latest|most\s+recent)"
_KIND_NOUNS = (
    ("detect", r"(?:nuclear\s+|nuclei\s+|cell\s+)?counts?|tall(?:y|ies)"),
    ("segment", r"segmentations?|masks?"),
    ("classify", r"classifications?|labels?|class(?:es)?"),
)
_ORDINAL_ANALYSES_RE = re.compile(
    rf"\b(?P<a>{_ORDINAL})\s+(?:(?P<n1>[a-z]+(?:\s+[a-z]+)?)\s+)?(?:and|vs\.?|versus|with|to|&)\s+"
    rf"(?:the\s+)?(?P<b>{_ORDINAL})\s+(?P<n2>[a-z]+(?:\s+[a-z]+)?)\b"
)


def ordinal_analyses(low: str, archive: list[dict[str, Any]]) -> CaseLookup | None:
    """A comparison of analyses named by their order in the case, or None.

    "what were the first and second counts?", "compare the first count with the last one":
    the k-th result of that kind the case holds, whatever it analysed (a region, the whole
    image), cited as earlier evidence.
    """
    m = _ORDINAL_ANALYSES_RE.search(low)
    if m is None:
        return None
    nouns = " ".join(n for n in (m.group("n1"), m.group("n2")) if n)
    tool = next((t for t, pat in _KIND_NOUNS if re.search(rf"\b(?:{pat})\b", nouns)), None)
    if tool is None:
        return None
    held = [a for a in analyses_of(archive) if a.tool == tool]
    picked: list[str] = []
    for word in (m.group("a"), m.group("b")):
        found = _nth(held, word)
        if found is None:
            return None
        picked.append(found.evidence)
    if len(set(picked)) < 2:
        return None
    return CaseLookup(kind="compare", earlier=picked, tool=tool)


_ORDINAL_ONE_RE = re.compile(rf"\b(?P<a>{_ORDINAL})\s+(?P<n>[a-z]+(?:\s+[a-z]+)?)\b")


def ordinal_result(low: str, archive: list[dict[str, Any]]) -> tuple[str, int] | None:
    """The tool and region of one result named by its order in the case, or None.

    "what was the first count?", "remind me of the last classification": the k-th result of
    that kind the case holds, when it is of a region (a whole-slide result has no region).
    """
    for m in _ORDINAL_ONE_RE.finditer(low):
        tool = next(
            (t for t, pat in _KIND_NOUNS if re.fullmatch(rf"(?:{pat})(?:\s+\w+)?", m.group("n"))),
            None,
        )
        if tool is None:
            continue
        found = _nth([a for a in analyses_of(archive) if a.tool == tool], m.group("a"))
        if found is None or found.roi is None:
            return None
        return tool, found.roi
    return None


def _nth(held: list[Analysis], word: str) -> Analysis | None:
    """The result an ordinal word names among ``held`` ("first", "second", "last"), or None."""
    k = -1 if word in ("last", "latest") or word.startswith("most") else ordinal_number(word)
    index = k - 1 if k > 0 else k
    return held[index] if held and -len(held) <= index < len(held) else None


_WHOLE_RE = re.compile(
    r"\b(?:the\s+)?(?:whole|entire|full)\s+(?:tile|image|slide|picture|thing|section|scan|field)\b|"
    r"\bthe\s+rest\s+of\s+the\s+(?:tile|image|slide|section|tissue)\b|"
    r"\bthe\s+(?:slide|image|tile)\s+(?:as\s+a\s+whole|overall)\b"
)
_VERSUS_RE = re.compile(
    r"\bcompar\w*|\bvs\.?(?!\w)|\bversus\b|\bagainst\b|\brelative\s+to\b|\bthan\b"
)


def plan_region_vs_whole(
    low: str,
    tool: str,
    rois: list[Roi],
    current: int | None,
    archive: list[dict[str, Any]],
    slide: dict[str, Any],
) -> tuple[list[PlanStep], CaseLookup] | None:
    """The current region against the whole image ("that box vs the whole tile"), or None.

    Each side's latest result of ``tool`` is cited; a side without one is analysed now.
    """
    whole_said = _WHOLE_RE.search(low)
    if whole_said is None:
        return None
    before = re.split(r"\bthen\b|[;?.]", low[max(0, whole_said.start() - 60) : whole_said.start()])
    if not _VERSUS_RE.search(before[-1]):
        return None  # "compare 1 and 2 …, then tell me what the whole slide is": not compared
    if not slide.get("width") or not slide.get("height"):
        return None
    analyses = [a for a in analyses_of(archive) if a.roi in {r.number for r in rois}]
    region, _ = _resolve("current", rois, current, analyses)
    if region is None:
        return None
    steps: list[PlanStep] = []
    cited: list[str] = []
    done = _latest(analyses, region.number, tool, None)
    if done is not None:
        cited.append(done.evidence)
    else:
        args = {"target": "box", "box": region.box, "roi_number": region.number}
        steps.append(PlanStep(tool=tool, args=args, why=f"region {region.number}, to compare"))
    whole = [0, 0, int(slide["width"]), int(slide["height"])]
    held = next(
        (
            e
            for e in reversed(archive)
            if e.get("ok")
            and e.get("tool") == tool
            and (e.get("output") or {}).get("region_box") == whole
            and (e.get("output") or {}).get("roi_number") is None
        ),
        None,
    )
    if held is not None:
        cited.append(str(held["id"]))
    else:
        steps.append(
            PlanStep(tool=tool, args={"target": "slide"}, why="the whole image, to compare")
        )
    return steps, CaseLookup(kind="compare", earlier=cited, tool=tool)


def plan_recall(
    req: RecallRequest, rois: list[Roi], current: int | None, archive: list[dict[str, Any]]
) -> CaseLookup:
    """The earlier evidence that answers a question about what the case found.

    A question that names kinds of result ("the count", "the class") is answered with those
    only, for every region that has one (or the regions it names) and for the whole slide; a
    question that names none recalls the latest result of each kind: of the whole slide first,
    then of each region.
    """
    if req.views:
        listed = rois if not req.regions else [r for r in rois if r.number in req.regions]
        return CaseLookup(
            kind="recall",
            rois=[r.number for r in listed],
            earlier=[r.evidence for r in listed],
            missing=[] if listed else ["No region of this slide has been visited yet."],
            views=True,
        )
    every = analyses_of(archive)
    numbers = {r.number for r in rois}
    analyses = [a for a in every if a.roi in numbers]
    kinds = set(req.kinds)
    if "classify" in kinds:  # a composition is the same tile classifier's classes, tile by tile
        kinds.add("composition")
    if kinds:
        analyses = [a for a in analyses if a.tool in kinds]
    slide_level = [] if req.regions else _latest_of_slide(every, kinds)
    missing: list[str] = []
    wanted: list[Roi] = []
    none_held = False
    if not req.regions:
        analysed = sorted({a.roi for a in analyses if a.roi is not None})
        wanted = [r for r in rois if r.number in analysed]
        if not wanted and not slide_level:
            missing.append(_nothing_yet(kinds))
            none_held = True
    for ref in req.regions:
        roi, error = _resolve(ref, rois, current, analyses or every)
        if roi is None:
            missing.append(error or "The case has no region to recall yet.")
        elif roi not in wanted:
            wanted.append(roi)
    if not kinds and not req.regions:
        undone = _not_done(archive)
        if undone:  # "state clearly what you could not do"
            missing.append(undone)
    earlier: list[str] = [a.evidence for a in slide_level]
    # A region opened by an analysis of another kind than the one asked would bring that
    # analysis along as the region's own evidence: "what was the count" gives the count only.
    other_kinds = {a.evidence for a in every if kinds and a.tool not in kinds}
    for roi in wanted:
        if roi.evidence not in other_kinds:
            earlier.append(roi.evidence)
        found = _latest_per_kind(analyses, roi.number)
        earlier.extend(a.evidence for a in found)
        if kinds and req.regions and not found:
            missing.append(f"{_nothing_yet(kinds)[:-1]} for region {roi.number}.")
    return CaseLookup(
        kind="recall",
        rois=[r.number for r in wanted],
        earlier=list(dict.fromkeys(earlier)),
        missing=missing,
        kinds=sorted(kinds),
        none_held=none_held,
    )


_NOT_DONE_WORDS = {
    "vqa": "free visual questions (a description, mitoses, single cells)",
    "wsi_classify": "whole-slide classification",
    "classify": "tissue classification",
    "composition": "tissue composition",
    "segment": "segmentation",
    "detect": "nuclei detection",
}


def _not_done(archive: list[dict[str, Any]]) -> str | None:
    """What the case asked for that no expert here could do (a missing or unavailable one)."""
    tools = [
        str(ev.get("tool"))
        for ev in archive
        if not ev.get("ok") and ev.get("error_kind") in ("backend", "output")
    ]
    done = {str(ev.get("tool")) for ev in archive if ev.get("ok")}
    names = [_NOT_DONE_WORDS.get(t, t) for t in dict.fromkeys(tools) if t not in done]
    if not names:
        return None
    return (
        "Asked in this case but not done, as no expert here could do it: "
        + "; ".join(names)
        + ' (ask "what can your models do?" for what each one can)'
    )


def _latest_of_slide(analyses: list[Analysis], kinds: set[str]) -> list[Analysis]:
    """The latest whole-slide analysis of each kind (of the asked kinds, when some are).

    A kind is the tool and what it measured: the epithelium and the stroma masks of one image
    are two results, both recalled.
    """
    latest: dict[tuple[str, str | None], Analysis] = {}
    for a in analyses:
        if a.roi is None and (not kinds or a.tool in kinds):
            latest.pop((a.tool, a.what), None)
            latest[(a.tool, a.what)] = a
    return list(latest.values())


def _nothing_yet(kinds: set[str]) -> str:
    if not kinds:
        return "Nothing has been analysed in this case yet, so nothing was concluded."
    names = " or ".join(_KIND_NAMES.get(k, f"{k} result") for k in sorted(kinds))
    return f"This case holds no {names} yet: ask for it and it will be measured."


_KIND_NAMES = {
    "detect": "nuclei count",
    "classify": "tissue classification",
    "segment": "segmentation",
    "composition": "tissue composition",
    "tissue": "tissue detection",
    "wsi_classify": "slide classification",
    "slide_info": "slide metadata",
}
"""How a plain line names a kind of result the case does not hold (other tools: by name)."""


def _choose_analysis(
    req: CompareRequest, analyses: list[Analysis]
) -> tuple[str, str | None, dict[str, Any]]:
    """(tool, what, arguments) of the analysis to compare by."""
    if req.tool is not None:
        what = req.what if req.tool == "segment" else None
        same = [a for a in analyses if a.tool == req.tool and (what is None or a.what == what)]
        args = dict(same[-1].args) if same else {}
        return req.tool, what, args
    pool = analyses
    if req.nuclei:
        pool = [a for a in analyses if a.tool == "detect" or a.what == "nuclei"]
    if pool:
        last = pool[-1]
        return last.tool, last.what, dict(last.args)
    return _DEFAULT_TOOL, None, {}


def _resolve(
    ref: RegionRef, rois: list[Roi], current: int | None, analyses: list[Analysis]
) -> tuple[Roi | None, str | None]:
    """The region a reference names; "it" is the region analysed last, else the current one."""
    have = ", ".join(str(r.number) for r in rois) or "none yet"
    if ref in ("current", "previous"):
        done = [a for a in analyses if a.roi is not None]
        number = done[-1].roi if done else current
        shown = next((r for r in rois if r.number == current), None)
        if done and shown is not None and shown.turn > done[-1].turn:
            # "count here and compare with view 1" after a move: the view shown since the
            # last analysis is the one on screen, not the region analysed before it
            number = current
        if number is None:
            return None, (
                "this slide has no region in the case yet: analyse or zoom to one first "
                "(regions are compared within one slide)"
            )
        if ref == "previous":
            before = [r.number for r in rois if r.number < number]
            if not before:
                return None, f"no region was visited before region {number} on this slide"
            number = before[-1]
    else:
        number = rois[-1].number if ref == -1 and rois else ref
    found = next((r for r in rois if r.number == number), None)
    if found is None:
        return None, f"region {ref} does not exist; regions visited on this slide: {have}"
    return found, None


def _latest(analyses: list[Analysis], roi: int, tool: str, what: str | None) -> Analysis | None:
    same = [a for a in analyses if a.roi == roi and a.tool == tool and a.what == what]
    return same[-1] if same else None


def _latest_per_kind(analyses: list[Analysis], roi: int) -> list[Analysis]:
    """The latest analysis of each kind (tool and what) on ``roi``, in the order they ran."""
    latest: dict[tuple[str, str | None], Analysis] = {}
    for a in analyses:
        if a.roi == roi:
            latest.pop((a.tool, a.what), None)
            latest[(a.tool, a.what)] = a
    return list(latest.values())
