"""Plan node: turn the request and the case's regions into validated tool steps."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig

from agent.beyond_he import beyond_he
from agent.capabilities import BUILT_IN, Capability, capabilities_of
from agent.case_memory import ANALYSIS_TOOLS, RANK_FIELD
from agent.errands import errand_line
from agent.intents import (
    COMPARTMENT_WORD_RE,
    ParsedRequest,
    RegionRequest,
    Relative,
    ZoomRequest,
    parse_request,
    region_request,
)
from agent.llm_planner import make_llm_planner
from agent.request_cues import DENSITY_ASKED_RE, SIZE_VARIATION_RE, analysis_verb
from agent.request_text import split_clauses
from agent.review_intents import CompareRequest, RecallRequest
from agent.review_planner import (
    ordinal_analyses,
    ordinal_result,
    plan_compare,
    plan_compare_with_new,
    plan_provenance,
    plan_recall,
    plan_region_vs_whole,
)
from agent.semantic_planner import (
    SAME_QUESTION_RE,
    SemanticRouter,
    clarifying_question,
    semantic_parse,
    without_complaints,
)
from agent.state import CaseLookup, CaseState, Node, Plan, PlannerName, PlanStep, Roi
from agent.stated_scale import read_stated_scale
from agent.typed_count import typed_count
from core.errors import ConfigError
from core.http import ModelClient
from core.settings import Settings
from memory.kg.embed import shared_embedder
from memory.vector_cache import VectorCache
from tools.registry import tool_class
from tools.zoom import CORNERS, PARTS

if TYPE_CHECKING:
    from tools.registry import ToolRegistry


__all__ = [
    "FOR_ANALYSIS",
    "HELP_TEXT",
    "PlannerChoice",
    "build_plan",
    "choose_planner",
    "literal_tool",
    "make_planner",
    "plan_request",
    "planner_client",
    "semantic_plan",
]

ONE_VIEW_PX = 2048
"""An image no larger than this a side (the default view's size, ``Settings.max_view_px``) is
looked at whole: a question about what is on screen asks about it."""
FOR_ANALYSIS = "the named box or point, shown as a region to analyse"
"""Why of a zoom that only shows the place an analysis names (it becomes a numbered region)."""
HELP_TEXT = (
    "I can report the slide's size, pyramid levels, resolution and magnification; measure the "
    "tissue fraction and tissue regions; and zoom to a tissue region, an earlier region, a point "
    "or a box at a magnification, µm/px or level."
)


@dataclass(frozen=True)
class PlannerChoice:
    """Which planner a graph uses and why (recorded with every plan)."""

    name: PlannerName
    reason: str


def choose_planner(settings: Settings) -> PlannerChoice:
    """``SMARTPATH_PLANNER`` when set; else llm with a planner endpoint, else semantic.

    Raises:
        ConfigError: the llm planner is asked for without an endpoint and model.
    """
    if settings.planner == "llm" or (settings.planner is None and settings.planner_url):
        if not (settings.planner_url and settings.planner_model):
            msg = (
                "the llm planner needs SMARTPATH_PLANNER_URL and SMARTPATH_PLANNER_MODEL "
                "(or set SMARTPATH_PLANNER=semantic)"
            )
            raise ConfigError(msg)
        why = "SMARTPATH_PLANNER=llm" if settings.planner else "a planner endpoint is configured"
        return PlannerChoice("llm", f"{why} ({settings.planner_model} at {settings.planner_url})")
    if settings.planner == "rules":
        return PlannerChoice("rules", "SMARTPATH_PLANNER=rules")
    why = "SMARTPATH_PLANNER=semantic" if settings.planner else "no planner endpoint is configured"
    return PlannerChoice("semantic", why)


def make_planner(
    registry: ToolRegistry,
    settings: Settings | None = None,
    client_factory: Callable[[str], ModelClient] | None = None,
) -> Node:
    """Return the ``plan`` node bound to the tool registry and the chosen planner.

    ``client_factory`` (base URL -> client) replaces the LLM planner's HTTP client in tests.
    """
    choice = choose_planner(settings) if settings is not None else PlannerChoice("rules", "")
    if choice.name == "llm" and settings is not None:
        assert settings.planner_url
        assert settings.planner_model
        client = (client_factory or planner_client(settings))(settings.planner_url)
        node = make_llm_planner(
            registry,
            client,
            settings.planner_model,
            budget=settings.max_tool_calls,
            reason=choice.reason,
            tools_in_prompt=settings.planner_tools_in_prompt,
        )
        node.close = client.close  # type: ignore[attr-defined]  # the owner closes the client
        return node
    # the rules match a tool's own examples word for word, never the users' requests
    extra = [c for c in capabilities_of(registry, users=False) if c.tool and c.name not in BUILT_IN]
    router: SemanticRouter | None = None
    if choice.name == "semantic" and settings is not None:
        encoder = shared_embedder(settings.embedding_model)
        problem = encoder.problem()
        if problem:
            choice = PlannerChoice("rules", f"the semantic planner cannot run: {problem}")
        else:
            router = SemanticRouter(
                capabilities_of(registry),
                encoder,
                threshold=settings.planner_threshold,
                cache=VectorCache(settings.cache_dir, "planner"),
            )

    def plan(state: CaseState, config: RunnableConfig) -> dict[str, Any]:
        request = state.get("request", "")
        case_id = str(config.get("configurable", {}).get("thread_id", "CASE"))
        rois = [Roi.model_validate(r) for r in state.get("rois", [])]
        slide = state.get("slide") or {}
        args = (rois, state.get("current_roi"), slide.get("slide_id", ""))
        archive = state.get("archive", [])
        stated = read_stated_scale(request)
        if stated is not None:  # intake kept the scale; the planners see the rest of the request
            request = stated.rest
        export = export_asked(request, case_id)
        if stated is not None and not request:
            why = f"the image's scale as stated ({stated.words}) with the slide's other facts"
            steps = [PlanStep(tool="slide_info", why=why)]
            result = Plan(request=state.get("request", ""), steps=steps)
        elif export is not None and not ANALYSIS_ASKED_RE.search(request):
            said = export[:1].upper() + export[1:] + "."
            result = Plan(request=request, clarify=said)  # "export the nuclei as GeoJSON"
        elif router is not None:
            result = semantic_plan(request, router, *args, archive=archive, slide=slide)
        else:
            parsed = parse_request(request)
            literal = literal_tool(request, extra) if parsed.empty and extra else None
            if literal is not None:
                region = region_request(request.lower()) if literal.takes_region else None
                parsed = ParsedRequest(other=((literal.name, region),))
            result = build_plan(request, parsed, *args, archive=archive, slide=slide)
        result = result.model_copy(update={"planner": choice.name, "planner_reason": choice.reason})
        result = _stand_ins(result, {x.task for x in registry.experts()}, request)
        if export is not None and result.clarify is None:
            result = result.model_copy(update={"notes": [*result.notes, export]})
        available = set(registry.names())
        missing = sorted({s.tool for s in result.steps} - available)
        if missing:
            result = result.model_copy(
                update={
                    "steps": [s for s in result.steps if s.tool in available],
                    "notes": [*result.notes, f"not available in this set-up: {', '.join(missing)}"],
                }
            )
        return {"plan": result.model_dump(mode="json")}

    return plan


_EXPORT_RE = re.compile(
    r"\bexport\w*|\bdownload\w*|\bgeo\s*json\b|\bcsv\b|\bqupath\b|\bspreadsheet\b|"
    r"\b(?:save|write|dump)\s+(?:(?:the|all|these|those|my)\s+)?(?:results|masks|detections|"
    r"nuclei|annotations|outlines|polygons|centroids|findings|report)\b",
    re.IGNORECASE,
)
ANALYSIS_ASKED_RE = re.compile(
    r"\b(?:count|detect|segment|measure|classify|find|run|outline|zoom|show|compare|quantify)\b",
    re.IGNORECASE,
)
"""A request that orders an analysis besides an export ("count the nuclei and export them")."""


def export_asked(request: str, case_id: str) -> str | None:
    """How to take the case's results out, when the request asks to export them; else None."""
    if not _EXPORT_RE.search(request):
        return None
    return (
        "to take this case's results out, run `smartpath cases export "
        f"{case_id} --geojson case.geojson --markdown report.md`: the regions, nuclei and masks "
        "as QuPath GeoJSON (level-0 pixels), the findings as a Markdown report; in the web app, "
        "Download GeoJSON and Download report"
    )


_DESCRIBE_RE = re.compile(
    r"\b(?:describe|description|what\s+(?:is|are)\s+(?:this|these|here)|what\s+do\s+you\s+see|"
    r"what\s+(?:tissues?|tissue\s+types?)\b|what\s+(?:have\s+we\s+got|are\s+we\s+looking\s+at))",
    re.IGNORECASE,
)
"""A request to describe the image: the tile classifier's composition stands in without VQA."""


def _stand_ins(plan: Plan, tasks: set[str], request: str) -> Plan:
    """Steps for experts this set-up lacks, replaced by the nearest tool it has, with a note.

    No whole-slide classifier: the tile classifier labels the whole image instead. No VQA
    expert and a request to describe the image: the tissue composition instead. Other VQA
    requests (mitoses, a single cell) keep the step, which fails with the one line that names
    what is missing.
    """
    steps: list[PlanStep] = []
    notes: list[str] = []
    for step in plan.steps:
        if step.tool == "wsi_classify" and "wsi_classify" not in tasks and "roi_classify" in tasks:
            step = PlanStep(tool="classify", args={"target": "slide"}, why="the whole image")
            notes.append(
                "no whole-slide classifier is configured: the tile classifier labelled the whole "
                "image instead"
            )
        elif (
            step.tool == "vqa"
            and "vqa" not in tasks
            and "roi_classify" in tasks
            and _DESCRIBE_RE.search(request)
        ):
            args = {k: v for k, v in step.args.items() if k != "question"}
            step = PlanStep(tool="composition", args=args, why="the tissue classes, described")
            notes.append(
                "no vision-language (VQA) expert is configured, so nothing describes the image "
                "in words: the tile classifier's tissue composition is given instead"
            )
        if step not in steps:
            steps.append(step)
    if not notes:
        return plan
    return plan.model_copy(update={"steps": steps, "notes": [*plan.notes, *notes]})


def planner_client(settings: Settings) -> Callable[[str], ModelClient]:
    """Base URL -> the LLM planner's HTTP client (its timeout, retries and name in errors)."""

    def make(url: str) -> ModelClient:
        return ModelClient(
            url,
            timeout_s=settings.planner_timeout_s,
            retries=settings.expert_retries,
            role="LLM planner server",
        )

    return make


def _one_view(slide: dict[str, Any]) -> bool:
    """The slide is an image no larger than one view (a tile, an exported region)."""
    width, height = slide.get("width") or 0, slide.get("height") or 0
    return 0 < max(width, height) <= ONE_VIEW_PX


def semantic_plan(
    request: str,
    router: SemanticRouter,
    rois: list[Roi],
    current: int | None,
    slide_id: str,
    *,
    archive: list[dict[str, Any]] | None = None,
    slide: dict[str, Any] | None = None,
) -> Plan:
    """The meaning-based plan: capabilities by similarity, arguments by the shared grammar.

    When no capability is close enough the plan holds one clarifying question and no step.
    """
    has_view = any(r.slide_id == slide_id for r in rois)
    has_class = any(r.get("ok") and _labels(str(r.get("tool"))) for r in archive or [])
    asked = _first_ranked_named(without_complaints(request), archive or [])
    asked = _place_by_what_was_done(asked, archive or [])
    asked = _same_spelled_out(_other_half(asked, archive or [], slide or {}), archive or [])
    asked, which = _other_view(asked, rois, current, slide_id)
    if which is not None:  # "same for the other one", with three views to choose from
        return Plan(request=request, clarify=which)
    parsed, routing, low = semantic_parse(
        asked, router, has_view=has_view, has_class=has_class, whole_image=_one_view(slide or {})
    )
    here = [r for r in rois if r.slide_id == slide_id]
    told = plan_provenance(low, here, archive or [])
    if told is not None:  # "is that number a real softmax output or did the LLM make it up?"
        return Plan(request=request, lookup=told, routing=routing.as_json())
    ordered = ordinal_analyses(low, archive or []) if parsed.compare or parsed.recall else None
    if ordered is not None:  # "what were the first and second counts, and how do they compare?"
        return Plan(request=request, lookup=ordered, routing=routing.as_json())
    nth = ordinal_result(low, archive or []) if parsed.compare is None else None
    if nth is not None and parsed.recall is not None and not parsed.recall.regions:
        # "what was the first count?": that one result
        recall = replace(parsed.recall, regions=(nth[1],), kinds=(nth[0],))
        parsed = replace(parsed, recall=recall)
    elif nth is not None and _ORDINAL_ALONE_RE.fullmatch(low) and analysis_verb(low) is None:
        # "and the last count?": a result named by its order alone is recalled, not re-run
        parsed = ParsedRequest(recall=RecallRequest(regions=(nth[1],), kinds=(nth[0],)))
    tool = _compared_tool(parsed, low)
    if tool is not None:
        here = [r for r in rois if r.slide_id == slide_id]
        vs = plan_region_vs_whole(low, tool, here, current, archive or [], slide or {})
        if vs is not None:  # "how does the density in that box compare with the whole tile?"
            return Plan(request=request, steps=vs[0], lookup=vs[1], routing=routing.as_json())
    typed = typed_count(low)
    chosen = {s.capability for s in routing.selected}
    if typed is not None and (
        chosen <= _TYPED_COUNT_TOOLS
        or (chosen <= _TYPED_COUNT_TOOLS | {"knowledge"} and len(split_clauses(low)) == 1)
    ):
        # a marker named in the one clause ("count just the Melan-A+ melanocytes") is no
        # textbook question
        # "count only the lymphocytes in this core": the total would answer another question
        return Plan(request=request, clarify=typed, routing=routing.as_json())
    beyond = beyond_he(low)
    if _nothing(parsed):
        # "put p16 and Ki67 on this block": the order placed is the errand, not a result asked
        question = errand_line(low) or beyond or clarifying_question(routing, router.capabilities)
        return Plan(request=request, clarify=question, routing=routing.as_json())
    plan = build_plan(low, parsed, rois, current, slide_id, archive=archive, slide=slide)
    tools = {s.tool for s in plan.steps}
    if (
        beyond is not None
        and plan.lookup is None
        and (tools <= {"vqa"} or (len(routing.selected) <= 1 and tools <= _SHARE_OR_LOOK))
    ):
        # "is this tumour MSI-high?", "the Ki-67 percentage for this area": neither a textbook
        # fact, the image's look nor its tissue classes answer it
        return Plan(request=request, clarify=beyond, routing=routing.as_json())
    if beyond is not None:  # "count the nuclei here and is it HER2 positive?": the rest is said
        plan = plan.model_copy(update={"notes": [*plan.notes, beyond.split(". None")[0]]})
    errand = errand_line(low)
    if errand is not None and not _EXPORT_RE.search(low):
        # "summarise the case and email it to Dr Okafor": the summary, and a word on the errand
        plan = plan.model_copy(update={"notes": [*plan.notes, errand.split(". It can")[0]]})
    asked = _earlier_question(request, archive or [])  # "… the same invasion question again"
    steps = [_with_question(s, asked) for s in plan.steps]  # the user's words, not ``low``
    return plan.model_copy(
        update={"request": request, "steps": steps, "routing": routing.as_json()}
    )


def _other_view(
    request: str, rois: list[Roi], current: int | None, slide_id: str
) -> tuple[str, str | None]:
    """``request`` with "the other one" named by its number, or a question asking which.

    Beside the view on screen, "the other one" is the slide's one other view; among more it
    names none of them, so the user is asked which (their numbers listed).
    """
    m = _OTHER_VIEW_RE.search(request)
    if m is None or _VIEW_NUMBER_RE.search(request):  # "no, the other one — view 3"
        return request, None
    here = [r.number for r in rois if r.slide_id == slide_id]
    others = [n for n in here if n != current]
    if len(others) == 1:
        return f"{request[: m.start()]}view {others[0]}{request[m.end() :]}", None
    if not others:
        return request, "There is no other view on this slide yet: which place do you mean?"
    listed = ", ".join(str(n) for n in here)
    on_screen = f" (view {current} is on screen)" if current in here else ""
    return request, (
        f'Which view do you mean by "the other one"? This slide has views {listed}{on_screen}: '
        "name it by its number."
    )


_OTHER_VIEW_RE = re.compile(
    r"\bthe\s+other\s+(?:one|view|region|roi|field)\b(?!\s*(?:s\b|half|side|corner|#?\s*\d))",
    re.IGNORECASE,
)
"""A view named only as "the other one"."""
_ORDINAL_ALONE_RE = re.compile(
    r"\s*(?:(?:and|so|ok|okay|also)\s*,?\s+)?(?:(?:what|how)\s+about\s+)?(?:what\s+(?:was|were)\s+)?"
    r"(?:the\s+)?[a-z]+\s+[a-z]+(?:\s+[a-z]+)?(?:\s+again)?\s*\?*\s*"
)
"""A result named by its order and nothing else ("and the last count?", "what about the second
classification?")."""
_VIEW_NUMBER_RE = re.compile(r"\b(?:view|region|roi|field)\s*#?\s*\d+", re.IGNORECASE)
_SHARE_OR_LOOK = frozenset({"vqa", "composition", "classify"})
"""Tools a stain's index or a molecular status asked alone lands near: none answers it."""
_TYPED_COUNT_TOOLS = frozenset({"detect", "composition", "vqa"})
"""What a count of one cell type is routed to; none of them counts one type."""


_CELLULARITY_RE = re.compile(
    r"\b(?:more|less)\s+cellular\b|\b(?:denser|higher\s+density|lower\s+density|more\s+nuclei|"
    r"fewer\s+nuclei|more\s+cells|fewer\s+cells)\b|\bdensity\b"
)
"""Cellularity compared: the nuclear count and density are the measure."""
_OUTLINE_RE = re.compile(r"\b(?:segment\w*|mask\w*|outlin\w*|cover\w*|area\s+fraction)\b")
"""A comparison that names a mask: the segmentation is the measure, cellular or not."""


def _compared_tool(parsed: ParsedRequest, low: str) -> str | None:
    """The analysis a comparison (or an analysis beside a "versus") is about, or None."""
    if parsed.compare is not None:
        return parsed.compare.tool or "detect"
    if parsed.segment is not None and _CELLULARITY_RE.search(low) and not _OUTLINE_RE.search(low):
        # "is this area more cellular than the rest of the slide?": pathologists compare
        # cellularity by the nuclear count and density, not by a mask's share
        return "detect"
    for tool, region in (
        ("detect", parsed.detect),
        ("segment", parsed.segment),
        ("classify", parsed.classify),
    ):
        if region is not None:
            return tool
    return "detect" if _nothing(parsed) and _CELLULARITY_RE.search(low) else None


def _nothing(parsed: ParsedRequest) -> bool:
    return parsed.empty and not parsed.knowledge


def literal_tool(request: str, capabilities: list[Capability]) -> Capability | None:
    """The rules' way to a tool beyond the built-in ones: one of its examples, word for word."""
    low = " ".join(request.lower().split())
    for cap in capabilities:
        if cap.tool and cap.name not in BUILT_IN and any(e.lower() in low for e in cap.examples):
            return cap
    return None


def plan_request(
    request: str,
    rois: list[Roi],
    current: int | None,
    slide_id: str,
    *,
    archive: list[dict[str, Any]] | None = None,
    slide: dict[str, Any] | None = None,
) -> Plan:
    """Build the plan for ``request`` given the ROIs the case has visited on this slide.

    ``rois`` are all the case's ROIs (numbered across slides); ``archive`` is the case's
    archived evidence, which comparisons and recalls of earlier regions use; ``slide`` the
    open slide's reference (its level-0 size places the slide's centre).
    """
    parsed: ParsedRequest = parse_request(request)
    return build_plan(request, parsed, rois, current, slide_id, archive=archive, slide=slide)


def build_plan(
    request: str,
    parsed: ParsedRequest,
    rois: list[Roi],
    current: int | None,
    slide_id: str,
    *,
    archive: list[dict[str, Any]] | None = None,
    slide: dict[str, Any] | None = None,
) -> Plan:
    """Turn parsed intents and their arguments into validated steps (shared by the planners)."""
    steps: list[PlanStep] = []
    notes: list[str] = []
    here = [r for r in rois if r.slide_id == slide_id]
    lookup = also = None
    first_compare: list[PlanStep] = []
    moved = _compares_after_move(parsed)  # "zoom out 2x and compare … here with view 1"
    if parsed.compare is not None and (parsed.compare.parts or parsed.compare.boxes):
        steps, lookup = _plan_parts(parsed.compare, here, len(rois), current, slide or {})
    elif parsed.compare is not None and not moved:
        steps, lookup = plan_compare(parsed.compare, here, current, archive or [])
        first_compare = list(steps)
        if parsed.recall is not None:  # "compare 1 and 2, and remind me what the slide was"
            also = plan_recall(parsed.recall, here, current, archive or [])
    elif parsed.recall is not None:
        lookup = plan_recall(parsed.recall, here, current, archive or [])
    if (parsed.recall or parsed.compare) and _only_review(parsed):
        return Plan(request=request, steps=steps, lookup=lookup, also=also)
    if parsed.info:
        steps.append(PlanStep(tool="slide_info", why="slide size, levels, resolution"))
    if parsed.tissue:
        steps.append(PlanStep(tool="tissue", why="tissue fraction and regions"))
    view: int | None = None
    again: int | None = None
    if parsed.zoom is not None:
        zoom = _zoom_step(parsed.zoom, here, current, notes, slide or {})
        steps.append(zoom)
        if not zoom.error:
            view = len(rois) + 1  # the executor numbers ROIs across the case
            again = _shown_again(zoom, here)
    if parsed.compare is not None and moved:
        # "here" is the view the move shows, analysed as the others are: "back to view 3 and
        # compare it with view 2" compares region 3, which the move shows again
        shown, lookup = _compare_after_move(
            parsed.compare, here, current, archive or [], again or view
        )
        steps.extend(shown)
    if parsed.detect is not None:
        step = _region_step("detect", parsed.detect, here, current, notes, view, slide)
        if not step.error and SIZE_VARIATION_RE.search(request.lower()):
            step = step.model_copy(update={"args": {**step.args, "size_variation": True}})
        if not step.error and DENSITY_ASKED_RE.search(request.lower()):
            step = step.model_copy(update={"args": {**step.args, "density": True}})
        steps.append(step)
    if parsed.classify is not None:
        steps.append(_region_step("classify", parsed.classify, here, current, notes, view, slide))
    if parsed.segment is not None:
        step = _region_step("segment", parsed.segment, here, current, notes, view, slide)
        if not step.error:
            step = step.model_copy(update={"args": {**step.args, "what": parsed.segment.what}})
        steps.append(step)
        for what in parsed.segment_also:
            extra = step.model_copy(update={"args": {**step.args, "what": what}})
            steps.append(extra.model_copy(update={"why": f"{step.why}: the {what}"}))
    if parsed.classify_slide:
        steps.append(PlanStep(tool="wsi_classify", why="the slide's diagnosis class"))
    for name, region in parsed.other:
        if region is None:
            step = PlanStep(tool=name, why="asked for by name or example")
        else:
            step = _region_step(name, region, here, current, notes, view, slide)
        steps.append(_with_question(step, request))
    steps = _at_each_place(steps, parsed.also_at, here, current, notes, view, slide)
    new = _new_place(steps, rois, slide_id) if first_compare or lookup is None else None
    if parsed.compare is not None and new is not None and not _only_review(parsed):
        # "count the nuclei in the top left corner and compare the two": the new place is one
        compare_steps, lookup = plan_compare_with_new(
            parsed.compare, here, current, archive or [], new
        )
        steps = [*compare_steps, *steps[len(first_compare) :]]
    if first_compare and steps[: len(first_compare)] == first_compare:
        # "classify this, then compare it with view 3": this view's classification runs once,
        # as the step asked for, and the comparison reads it
        rest = steps[len(first_compare) :]
        kept = [s for s in first_compare if _step_key(s) not in map(_step_key, rest)]
        if len(kept) < len(first_compare):  # the analysis asked for first, then the others
            steps = [*rest, *kept]
    if not steps and not parsed.knowledge and lookup is None:
        notes.append("no tool matched the request")
    return Plan(
        request=request,
        steps=steps,
        notes=notes,
        knowledge=parsed.knowledge,
        lookup=lookup,
        also=also,
    )


def _step_key(step: PlanStep) -> tuple[str, str, str, str, str]:
    """What a step analyses: its tool, place (box or region) and compartment."""
    args = step.args or {}
    return (
        step.tool,
        str(args.get("target")),
        str(args.get("box")),
        str(args.get("roi_number")),
        str(args.get("what")),
    )


_SAME_FOR_RE = re.compile(
    r"\b(?:do\s+)?(?:the\s+)?same\s+(?:thing\s+|again\s+|analysis\s+|please\s+)?(?=(?:for|in|on|at|"
    r"with)\b)|\b(?:repeat|redo)\s+(?:that|it|this)\s+(?=(?:for|in|on|at)\b)",
    re.IGNORECASE,
)
"""'now the same for the bottom half': the case's latest analysis, asked of another place."""
_DO_THE_SAME_RE = re.compile(
    r"\b(?:do|repeat|run)\s+(?:the\s+)?same(?:\s+(?:thing|analysis|measurement|again))?\s*"
    r"(?=(?:(?:here|there|again|too|as\s+well|now|please)\s*)*[?.!]*\s*$)|"
    r"^\s*(?:(?:and|ok|okay|so|now|then)\s+)*(?:the\s+)?same(?:\s+(?:thing|analysis|measurement))?"
    r"\s+(?=(?:here|there)\b)",
    re.IGNORECASE,
)
"""'pan left and do the same there', 'same here': the case's latest analysis, asked again."""
_SAID_AS = {
    "detect": "count the nuclei ",
    "classify": "classify the tissue ",
    "composition": "give the tissue composition ",
}


_BARE_PLACE_RE = re.compile(
    r"\s*(?:(?:and|or|ok|okay|so|now|then|what\s+about|how\s+about)\s+)+(?:in\s+|for\s+|at\s+|on\s+)?"
    r"(?P<place>(?:the\s+)?(?:(?:top|bottom|upper|lower|left|right)[\s-]*){1,2}(?:one|half|"
    r"quadrant|corner|side|part)?|(?:the\s+)?(?:centre|center|middle)|region\s+\d+|view\s+\d+)"
    r"(?:\s+(?:then|too|now|please))?\s*[?.!]*\s*",
    re.IGNORECASE,
)
"""'and the bottom right one?', 'what about region 2': a place alone, after an analysis."""


def _latest_turn_analysis(archive: list[dict[str, Any]]) -> str | None:
    """The order that repeats the analysis the case's latest turn ran (None: it ran none)."""
    turns = [_turn_of(ev) for ev in archive]
    last = max((t for t in turns if t is not None), default=None)
    for ev, turn in zip(reversed(archive), reversed(turns), strict=True):
        if turn != last:
            break
        said = _said(ev)
        if said is not None:
            return said
    return None


def _turn_of(ev: dict[str, Any]) -> int | None:
    found = re.match(r"E(\d+)\.", str(ev.get("id", "")))
    return int(found.group(1)) if found else None


def _said(ev: dict[str, Any]) -> str | None:
    """An analysis' evidence said as an order ("count the nuclei "), None for anything else."""
    tool = str(ev.get("tool"))
    if not ev.get("ok"):
        return None
    if tool == "segment":
        what = (ev.get("inputs") or {}).get("what") or "nuclei"
        return f"segment the {what} "
    return _SAID_AS.get(tool)


_THAT_PART_RE = re.compile(
    r"\b(?:that|this|the\s+(?:winning|densest|busiest|top))\s+(?:quadrant|half|part)\b",
    re.IGNORECASE,
)


def _first_ranked_named(request: str, archive: list[dict[str, Any]]) -> str:
    """The part ranked first, as "region N", for "that quadrant" right after parts were ranked.

    "Which quadrant has the most nuclei?", then "zoom into that quadrant and count it".
    """
    found = _THAT_PART_RE.search(request)
    if found is None:
        return request
    turns = [_turn_of(ev) for ev in archive]
    last = max((t for t in turns if t is not None), default=None)
    ranked = [
        ev
        for ev, turn in zip(archive, turns, strict=True)
        if turn == last
        and ev.get("ok")
        and ev.get("tool") in RANK_FIELD
        and (ev.get("output") or {}).get("roi_number") is not None
        and (ev.get("output") or {}).get(RANK_FIELD[str(ev.get("tool"))]) is not None
    ]
    if len(ranked) < 2:
        return request
    top = max(ranked, key=lambda ev: float(ev["output"][RANK_FIELD[str(ev["tool"])]]))
    number = int(top["output"]["roi_number"])
    return request[: found.start()] + f"region {number}" + request[found.end() :]


_DONE_THERE_RE = re.compile(
    r"\b(?:the|that)\s+(?:[\w-]+\s+){0,3}?(?:field|view|region|area|spot|place|one|core|box)\s+"
    r"(?:where|in\s+which|that)\s+(?:you|we|i)\s+(?:(?:first|last|just|already|earlier)\s+)?"
    r"(?P<verb>counted|detected|enumerated|outlined|segmented|masked|classified|labell?ed|"
    r"mapped|ran\s+the\s+(?:composition|class\s+map|tile\s+map|classifier|count|detector)|"
    r"asked\s+about|described|did\s+the\s+(?:count|segmentation|mask|composition|classification))"
    r"\b(?:\s+(?:the|its|all\s+the)\s+[\w-]+(?:\s+[\w-]+)?)?"
    r"(?:\s+(?:before|earlier|previously|already|last\s+time|first))?"
)
"""A region told by what the case did there ("the field where you outlined the nuclei")."""
_DONE_TOOL = (
    ("count", "detect"),
    ("detect", "detect"),
    ("enumerat", "detect"),
    ("outlin", "segment"),
    ("segment", "segment"),
    ("mask", "segment"),
    ("classif", "classify"),
    ("label", "classify"),
    ("composition", "composition"),
    ("map", "composition"),
    ("asked", "vqa"),
    ("described", "vqa"),
)


def _place_by_what_was_done(request: str, archive: list[dict[str, Any]]) -> str:
    """``request`` with a region told by what was done there said as "region N".

    "Take me back to the field where you outlined the nuclei": the region of the case's latest
    segmentation. Unchanged when the case has no such analysis with a region.
    """
    found = _DONE_THERE_RE.search(request.lower())
    if found is None:
        return request
    verb = found.group("verb")
    tool = next((t for stem, t in _DONE_TOOL if stem in verb), None)
    for ev in reversed(archive):
        number = (ev.get("output") or {}).get("roi_number")
        if ev.get("ok") and ev.get("tool") == tool and isinstance(number, int):
            return request[: found.start()] + f"region {number}" + request[found.end() :]
    return request


def _same_spelled_out(request: str, archive: list[dict[str, Any]]) -> str:
    """``request`` with "the same" replaced by the case's latest analysis, said as an order.

    Only where the request names no analysis of its own; unchanged without an earlier one.
    A place alone right after an analysis ("and the bottom right one?") asks for it there.
    """
    bare = _BARE_PLACE_RE.fullmatch(request)
    if bare is not None:
        said = _latest_turn_analysis(archive)
        place = bare.group("place")
        if re.fullmatch(r"(?:the\s+)?(?:centre|center|middle)", place, re.IGNORECASE):
            place = "the centre of the slide"  # beside a quadrant or a half: the slide's
        return request if said is None else f"{said}in {place}"
    found = _SAME_FOR_RE.search(request) or _DO_THE_SAME_RE.search(request)
    if found is None:
        return request
    rest = request[found.end() :]
    names_compartment = COMPARTMENT_WORD_RE.search(rest.lower()) is not None
    for ev in reversed(archive):
        said = _said(ev)
        if said is not None and ev.get("tool") == "segment" and names_compartment:
            said = "segment "  # "same for stroma in view 2": the compartment it names
        if said is not None:
            return request[: found.start()] + said + rest
    return request


_AT_EACH_PLACE_KEEPS = ("what", "density", "size_variation", "question")
"""What an analysis step was asked besides its region, kept at every further place."""


def _at_each_place(
    steps: list[PlanStep],
    places: tuple[RegionRequest, ...],
    here: list[Roi],
    current: int | None,
    notes: list[str],
    view: int | None,
    slide: dict[str, Any] | None,
) -> list[PlanStep]:
    """``steps`` with the one analysis step repeated at each further place, after it.

    "count nuclei in views 1 to 4": the count of view 1 is planned as any count is; views 2, 3
    and 4 get a count each, asked the same way.
    """
    analyses = [k for k, s in enumerate(steps) if s.tool in ANALYSIS_TOOLS]
    if not places or len(analyses) != 1 or steps[analyses[0]].error:
        return steps
    first = steps[analyses[0]]
    kept = {k: v for k, v in first.args.items() if k in _AT_EACH_PLACE_KEEPS}
    more = []
    for place in places:
        step = _region_step(first.tool, place, here, current, notes, view, slide)
        if not step.error:
            step = step.model_copy(update={"args": {**step.args, **kept}})
        more.append(step)
    at = analyses[0] + 1
    return [*steps[:at], *more, *steps[at:]]


def _tissue_region_said(index: int) -> str:
    """How a plan step names tissue region ``index`` (negative: counted from the smallest)."""
    if index >= 0:
        return f"tissue region {index}"
    if index == -1:
        return "the smallest tissue region"
    rank = -index
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    suffix = "th" if rank % 100 in (11, 12, 13) else suffix
    return f"the {rank}{suffix} smallest tissue region"


def _compares_after_move(parsed: ParsedRequest) -> bool:
    """The request moves the view, then compares "here" with earlier views.

    It orders no analysis of its own: the comparison's analysis of the new view is the one.
    """
    req = parsed.compare
    return (
        req is not None
        and req.after_move
        and parsed.zoom is not None
        and "current" in req.regions
        and req.last is None
        and not (req.parts or req.boxes)
        and parsed.detect is None
        and parsed.segment is None
        and parsed.classify is None
    )


def _compare_after_move(
    req: CompareRequest,
    rois: list[Roi],
    current: int | None,
    archive: list[dict[str, Any]],
    view: int | None,
) -> tuple[list[PlanStep], CaseLookup | None]:
    """The comparison of the view a move shows (numbered ``view``) with the regions named."""
    if view is None:  # the move failed: its error stands, nothing is compared
        return [], None
    slide_id = rois[0].slide_id if rois else ""
    steps, lookup = plan_compare_with_new(req, rois, current, archive, _placeholder(view, slide_id))
    if lookup is None or lookup.tool is None or any(s.error for s in steps):
        return steps, lookup
    args: dict[str, Any] = {"target": "box", "roi_number": view}
    if lookup.tool == "segment" and lookup.what:
        args["what"] = lookup.what
    own = PlanStep(tool=lookup.tool, args=args, why=f"region {view}, to compare")
    return [*steps, own], lookup


def _shown_again(zoom: PlanStep, rois: list[Roi]) -> int | None:
    """The number of the held region a zoom shows again at its scale ("back to view 3")."""
    args = zoom.args
    moved = {"factor", "pan", "part", "magnification", "level", "mpp", "size_px"} & {
        k for k, v in args.items() if v is not None
    }
    held = next((r for r in rois if r.number == args.get("roi_number")), None)
    if held is None or moved or args.get("target") != "box" or args.get("box") != held.box:
        return None
    scale = args.get("downsample")
    return held.number if scale is not None and abs(scale - held.downsample) <= 1e-6 else None


def _placeholder(number: int, slide_id: str, box: list[int] | None = None) -> Roi:
    """A region this plan will make, numbered as the executor will number it."""
    return Roi(
        number=number,
        slide_id=slide_id,
        box=box or [0, 0, 0, 0],
        downsample=1.0,
        magnification=None,
        mpp=None,
        level=0,
        output_size=[0, 0],
        artifact=None,
        evidence="",
        turn=0,
    )


def _new_place(steps: list[PlanStep], rois: list[Roi], slide_id: str) -> Roi | None:
    """The region the plan's first analysis of a place the case has not got will become.

    The executor numbers it next across the case, a zoom's view and an analysed field alike.
    """
    held = {r.number for r in rois}
    for step in steps:
        if step.error or step.tool not in ANALYSIS_TOOLS or step.args.get("target") != "box":
            continue
        number = step.args.get("roi_number")
        if number in held:
            continue
        box = step.args.get("box")
        return _placeholder(len(rois) + 1, slide_id, list(box) if box else None)
    return None


def _earlier_question(request: str, archive: list[dict[str, Any]]) -> str:
    """The case's latest visual question where ``request`` asks "the same question again".

    "Pan left and answer the same invasion question again" asks the expert what it was asked
    before, of the new view; ``request`` itself otherwise, or when none was asked.
    """
    if not SAME_QUESTION_RE.search(request.lower()):
        return request
    for ev in reversed(archive):
        question = (ev.get("inputs") or {}).get("question")
        if ev.get("tool") == "vqa" and isinstance(question, str) and question.strip():
            return question
    return request


def _with_question(step: PlanStep, request: str) -> PlanStep:
    """A tool whose input takes a ``question`` (VQA) is asked the user's request as said."""
    cls = tool_class(step.tool)
    if step.error or cls is None or "question" not in cls.Input.model_fields:
        return step
    return step.model_copy(update={"args": {**step.args, "question": request.strip()}})


def _only_review(parsed: ParsedRequest) -> bool:
    """The request only compares or recalls (nothing else to run beside it)."""
    rest = replace(parsed, recall=None, compare=None)
    return rest.empty and not rest.knowledge


def _zoom_step(
    z: ZoomRequest,
    rois: list[Roi],
    current: int | None,
    notes: list[str],
    slide: dict[str, Any] | None = None,
) -> PlanStep:
    """Resolve references to earlier regions into concrete zoom arguments."""
    if z.error:
        return PlanStep(tool="zoom", why="the requested view", error=z.error)
    args: dict[str, Any] = _scale_args(z)
    cur = next((r for r in rois if r.number == current), rois[-1] if rois else None)
    if z.same_scale and not args and cur is not None:
        # "now the largest core at the same magnification": the scale of the view on screen
        if cur.magnification is not None:
            args["magnification"] = cur.magnification
        elif cur.mpp is not None:
            args["mpp"] = cur.mpp
    if z.relative is not None:
        step = _relative_step(z, z.relative, rois, cur, args, slide or {}, notes)
        if step is not None:
            return step
    if z.target == "tissue_region":
        args.update(
            target="tissue_region", region_index=1 if z.region_index is None else z.region_index
        )
        if z.size_px:
            args["size_px"] = list(z.size_px)
        return PlanStep(tool="zoom", args=args, why=_tissue_region_said(args["region_index"]))
    if z.target == "cellular":
        args["target"] = "cellular"
        return PlanStep(tool="zoom", args=args, why="the slide's most cellular field")
    shown = FOR_ANALYSIS if z.for_analysis else None
    if z.target == "box" and z.box is not None:
        args.update(target="box", box=list(z.box))
        return PlanStep(tool="zoom", args=args, why=shown or "the requested box")
    if z.target == "slide" and z.roi_ref is None:
        args["target"] = "slide"
        return PlanStep(tool="zoom", args=args, why="the whole slide")
    if z.target == "point" and z.center is not None:
        args.update(target="point", center=list(z.center))
        if z.size_px:
            args["size_px"] = list(z.size_px)
        return PlanStep(tool="zoom", args=args, why=shown or "the requested point")
    roi, error = _find_roi(z.roi_ref, z.roi_number, rois, cur)
    index = _tissue_region_meant(error, rois, z.region_word, z.roi_number, notes)
    if index is not None:
        args.update(target="tissue_region", region_index=index)
        return PlanStep(tool="zoom", args=args, why=f"tissue region {index}")
    if error:
        return PlanStep(tool="zoom", args=args, why="an earlier region", error=error)
    if roi is None:
        if z.target == "roi" or z.direction:
            notes.append("the case has no earlier region on this slide; showing the whole slide")
        args["target"] = "slide"
        return PlanStep(tool="zoom", args=args, why="the whole slide")
    return _roi_step(z, roi, args)


def _relative_step(
    z: ZoomRequest,
    rel: Relative,
    rois: list[Roi],
    cur: Roi | None,
    args: dict[str, Any],
    slide: dict[str, Any],
    notes: list[str],
) -> PlanStep | None:
    """A pan, a relative zoom, a part of the slide or view, or the slide's centre; else None."""
    if (
        rel.slide_centre
        and z.target not in ("tissue_region", "box", "point")  # "the centre of fragment 2"
        and slide.get("width")
        and slide.get("height")
    ):
        centre = [slide["width"] / 2, slide["height"] / 2]
        args.update(target="point", center=centre)
        if z.size_px:
            args["size_px"] = list(z.size_px)
        return PlanStep(tool="zoom", args=args, why="the centre of the slide")
    if z.target in ("tissue_region", "box", "point"):
        return None  # an absolute target wins over a relative word
    if cur is not None and z.target == "roi" and z.roi_ref == "number":
        found, error = _find_roi(z.roi_ref, z.roi_number, rois, cur)
        if error:
            return PlanStep(tool="zoom", args=args, why="an earlier region", error=error)
        cur = found
    if rel.part is not None:
        closer = rel.factor is not None and rel.factor > 1
        if closer and (rel.part == "center" or rel.part in CORNERS or rel.part.endswith("_half")):
            args["factor"] = rel.factor  # "zoom in 4x on the centre": the central quarter
        if (rel.part_of == "view" or (closer and rel.part_of is None)) and cur is not None:
            # "zoom in 4x on the bottom right": closer than the view, so the view's corner
            args.update(
                target="roi",
                roi_number=cur.number,
                box=cur.box,
                view_px=cur.output_size,
                part=rel.part,
            )
            return PlanStep(
                tool="zoom", args=args, why=f"{_part_text(rel.part)} of region {cur.number}"
            )
        if rel.part_of == "view":
            notes.append("the case has no current view; the part is of the whole slide")
        args.update(target="slide", part=rel.part)
        return PlanStep(tool="zoom", args=args, why=f"{_part_text(rel.part)} of the slide")
    if rel.pan is None and rel.factor is None:
        return None
    if cur is None:
        move = f"pan {rel.pan}" if rel.pan else f"zoom {rel.factor:g}x relative to the view"
        error = f"there is no current view to {move}; zoom to a region first"
        return PlanStep(tool="zoom", args=args, why="a move from the current view", error=error)
    args.update(target="roi", roi_number=cur.number, box=cur.box, view_px=cur.output_size)
    if not any(k in args for k in ("magnification", "mpp", "level")):
        args["downsample"] = cur.downsample
        if rel.factor is not None:
            args["factor"] = rel.factor
        elif z.direction is not None:  # "move left a bit and zoom in": the move, then closer
            args["factor"] = 2.0 if z.direction == "in" else 0.5
    if rel.pan is not None:
        args.update(pan=rel.pan, pan_fraction=rel.pan_fraction)
        closer = f", then {args['factor']:g}x relative to it" if "factor" in args else ""
        why = f"pan {rel.pan} from region {cur.number}{closer}"
        return PlanStep(tool="zoom", args=args, why=why)
    return PlanStep(tool="zoom", args=args, why=f"{rel.factor:g}x relative to region {cur.number}")


def part_box(part: str, width: int, height: int) -> list[int]:
    """The level-0 box of a quadrant or half of a ``width`` × ``height`` slide."""
    fx0, fy0, fx1, fy1 = PARTS[part]
    return [round(fx0 * width), round(fy0 * height), round(fx1 * width), round(fy1 * height)]


def _part_text(part: str) -> str:
    return "the centre" if part == "center" else "the " + part.replace("_", " ")


def _scale_args(z: ZoomRequest) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if z.magnification is not None:
        args["magnification"] = z.magnification
    if z.mpp is not None:
        args["mpp"] = z.mpp
    if z.level is not None:
        args["level"] = z.level
    return args


def _tissue_region_meant(
    error: str | None,
    rois: list[Roi],
    region_word: bool,
    number: int | None,
    notes: list[str],
) -> int | None:
    """The tissue region "region N" names when the case has no view N and no views at all.

    Before any view, "region 3" can only mean the tissue tool's region 3; the plan says so.
    """
    if not error or rois or not region_word or number is None or number <= 0:
        return None
    notes.append(
        f"the case has no views on this slide yet; region {number} is read as tissue region "
        f"{number}"
    )
    return number


def _find_roi(
    ref: str | None, number: int | None, rois: list[Roi], cur: Roi | None
) -> tuple[Roi | None, str | None]:
    """Return the earlier region a request refers to, or an error line."""
    if ref == "number" and number is not None:
        numbers = [r.number for r in rois]
        wanted = numbers[-1] if number == -1 and numbers else number
        found = next((r for r in rois if r.number == wanted), None)
        if found is None:
            have = ", ".join(map(str, numbers)) or "none yet"
            return None, f"region {number} does not exist; regions visited on this slide: {have}"
        return found, None
    if ref == "previous":
        if cur is None:
            return None, None
        earlier = [r for r in rois if r.number < cur.number]
        return (earlier[-1] if earlier else cur), None
    return cur, None


def _roi_step(z: ZoomRequest, roi: Roi, args: dict[str, Any]) -> PlanStep:
    """Zoom on an earlier region: same view, or same centre at a new scale."""
    args["roi_number"] = roi.number
    has_scale = any(k in args for k in ("magnification", "mpp", "level"))
    if z.size_px:  # "set the field to 2048 by 2048 pixels": that size around the view's centre
        x0, y0, x1, y1 = roi.box
        args.update(target="point", center=[(x0 + x1) / 2, (y0 + y1) / 2], size_px=list(z.size_px))
        return PlanStep(tool="zoom", args=args, why=f"a field around region {roi.number}'s centre")
    if not has_scale and z.direction is None:
        args.update(target="box", box=roi.box, downsample=roi.downsample)
        return PlanStep(tool="zoom", args=args, why=f"region {roi.number} again")
    if not has_scale:
        factor = 2.0 if z.direction == "out" else 0.5
        args["downsample"] = max(roi.downsample * factor, 1.0)
    args.update(target="roi", box=roi.box, view_px=roi.output_size)
    return PlanStep(tool="zoom", args=args, why=f"around region {roi.number}")


def _region_step(
    tool: str,
    d: RegionRequest,
    rois: list[Roi],
    current: int | None,
    notes: list[str],
    view: int | None = None,
    slide: dict[str, Any] | None = None,
) -> PlanStep:
    """Analyse a tissue region, an earlier region (the current one by default) or the slide.

    ``view``: the number the region shown by this plan's zoom will get; a request that names
    no other region analyses that view (the executor fills in its box once it is shown).
    """
    if d.error:
        return PlanStep(tool=tool, why="the requested region", error=d.error)
    if view is not None and d.target == "default":
        args = {"target": "box", "roi_number": view}
        return PlanStep(tool=tool, args=args, why=f"the view shown first (region {view})")
    if d.box is not None:
        args = _box_args(list(d.box), rois)
        return PlanStep(tool=tool, args=args, why="the given box")
    if d.part is not None and slide and slide.get("width") and slide.get("height"):
        box = part_box(d.part, slide["width"], slide["height"])
        return PlanStep(tool=tool, args=_box_args(box, rois), why=_part_text(d.part))
    if d.centre_size is not None and slide and slide.get("width") and slide.get("height"):
        w, h = d.centre_size
        x0 = max(0, round(slide["width"] / 2 - w / 2))
        y0 = max(0, round(slide["height"] / 2 - h / 2))
        box = [x0, y0, min(slide["width"], x0 + w), min(slide["height"], y0 + h)]
        return PlanStep(tool=tool, args=_box_args(box, rois), why="the slide's centre")
    if d.target == "tissue_region":
        args = {
            "target": "tissue_region",
            "region_index": 1 if d.region_index is None else d.region_index,
        }
        return PlanStep(tool=tool, args=args, why=_tissue_region_said(args["region_index"]))
    if d.target == "slide":
        return PlanStep(tool=tool, args={"target": "slide"}, why="the whole slide")
    cur = next((r for r in rois if r.number == current), rois[-1] if rois else None)
    roi, error = _find_roi(d.roi_ref, d.roi_number, rois, cur)
    index = _tissue_region_meant(error, rois, d.region_word, d.roi_number, notes)
    if index is not None:
        args = {"target": "tissue_region", "region_index": index}
        return PlanStep(tool=tool, args=args, why=f"tissue region {index}")
    if error:
        return PlanStep(tool=tool, args={"target": "box"}, why="an earlier region", error=error)
    if roi is None:
        if d.target == "roi":
            notes.append("the case has no earlier region on this slide")
        return PlanStep(tool=tool, args={"target": "auto"}, why="the image")
    args = {"target": "box", "box": roi.box, "roi_number": roi.number}
    return PlanStep(tool=tool, args=args, why=f"region {roi.number}")


def _plan_parts(
    req: CompareRequest,
    here: list[Roi],
    n_rois: int,
    current: int | None,
    slide: dict[str, Any],
) -> tuple[list[PlanStep], CaseLookup | None]:
    """One analysis per part of the slide or of the current view, and their comparison.

    "Which quadrant has the most nuclei?": each part becomes a numbered region as it is
    analysed (the executor numbers new fields after the case's ``n_rois``), one held already
    is that region.
    """
    tool = req.tool or "detect"
    if req.boxes:
        return _plan_places(req, [list(b) for b in req.boxes], here, n_rois, slide)
    cur = next((r for r in here if r.number == current), None)
    if cur is not None and req.part_of is None and _part_of_slide(cur.box, slide) is not None:
        cur = None  # on a quadrant of the slide, "which half?" / "all 4 quadrants" are the slide's
    whose = req.part_of or ("view" if cur is not None else "slide")
    if req.within is not None:  # "halves of the view you just counted (x555–1665, y1112–2596)"
        x0, y0, x1, y1 = req.within
        whose = "box"
    elif whose == "view" and cur is not None:
        x0, y0, x1, y1 = cur.box
    elif slide.get("width") and slide.get("height"):
        x0, y0, x1, y1 = 0, 0, int(slide["width"]), int(slide["height"])
    else:
        error = "the slide's size is not known, so its parts cannot be placed"
        return [PlanStep(tool=tool, args={"target": "box"}, why="parts", error=error)], None
    w, h = x1 - x0, y1 - y0
    boxes = [
        [x0 + round(fx0 * w), y0 + round(fy0 * h), x0 + round(fx1 * w), y0 + round(fy1 * h)]
        for fx0, fy0, fx1, fy1 in (PARTS[part] for part in req.parts)
    ]
    of = {"view": " of the view", "box": " of the box asked"}.get(whose, "")
    if whose == "view" and cur is None:
        of = ""
    names = [_place_name(p) + of for p in req.parts]
    return _plan_places(req, boxes, here, n_rois, slide, names)


def _plan_places(
    req: CompareRequest,
    boxes: list[list[int]],
    here: list[Roi],
    n_rois: int,
    slide: dict[str, Any],
    names: list[str] | None = None,
) -> tuple[list[PlanStep], CaseLookup | None]:
    """One analysis per box (level-0 px) and their comparison; unnamed boxes go by their box."""
    tool = req.tool or "detect"
    width, height = slide.get("width"), slide.get("height")
    steps: list[PlanStep] = []
    numbers: list[int] = []
    new = 0
    for i, box in enumerate(boxes):
        place = names[i] if names else f"box {box}"
        if width and height and (box[0] >= int(width) or box[1] >= int(height)):
            error = (
                f"{place} is not on the slide, which spans 0-{width} × 0-{height} level-0 pixels"
            )
            return [PlanStep(tool=tool, args={"target": "box"}, why=place, error=error)], None
        args = _box_args(box, here)
        if tool == "segment":
            args["what"] = req.what or "nuclei"
        held = args.get("roi_number")
        if held is None:
            new += 1
        numbers.append(int(held) if held is not None else n_rois + new)
        steps.append(PlanStep(tool=tool, args=args, why=f"{place}, to compare"))
    lookup = CaseLookup(
        kind="compare",
        rois=numbers,
        tool=tool,
        what=req.what if tool == "segment" else None,
        places=names or [f"box {b}" for b in boxes],
        rank_by=req.rank_by if tool == "detect" else None,
    )
    return steps, lookup


def _part_of_slide(box: list[int], slide: dict[str, Any]) -> str | None:
    """The half or quadrant of the slide ``box`` is (within 1 px), or None."""
    width, height = slide.get("width"), slide.get("height")
    if not width or not height:
        return None
    for part, (fx0, fy0, fx1, fy1) in PARTS.items():
        corners = (fx0 * width, fy0 * height, fx1 * width, fy1 * height)
        if part != "center" and all(abs(a - b) <= 1 for a, b in zip(box, corners, strict=True)):
            return part
    return None


_OTHER_PART_RE = re.compile(r"\b(?:the\s+)?other\s+(?:half|side)\b", re.IGNORECASE)
_OTHER_HALF = {
    "left_half": "right_half",
    "right_half": "left_half",
    "top_half": "bottom_half",
    "bottom_half": "top_half",
}


def _other_half(request: str, archive: list[dict[str, Any]], slide: dict[str, Any]) -> str:
    """After an analysis of a half of the slide, "the other half" is the opposite half."""
    found = _OTHER_PART_RE.search(request)
    if found is None:
        return request
    for ev in reversed(archive):
        box = (ev.get("output") or {}).get("region_box")
        if ev.get("tool") in ANALYSIS_TOOLS and ev.get("ok") and isinstance(box, list):
            other = _OTHER_HALF.get(_part_of_slide(box, slide) or "")
            if other is None:
                return request
            said = "the " + other.replace("_", " ")
            return request[: found.start()] + said + request[found.end() :]
    return request


def _place_name(part: str) -> str:
    """'the top left quadrant', 'the left half'."""
    if part.endswith("_half"):
        return f"the {part.replace('_', ' ')}"
    return f"the {part.replace('_', ' ')} quadrant"


def _box_args(box: list[int], rois: list[Roi]) -> dict[str, Any]:
    """An analysis of ``box``: the region the case already holds with that box, if any.

    "count the nuclei in the upper left quadrant" after a zoom to that quadrant is region N.
    """
    held = next((r for r in reversed(rois) if r.box == box), None)
    if held is None:
        return {"target": "box", "box": box}
    return {"target": "box", "box": box, "roi_number": held.number}


def _labels(tool: str) -> bool:
    """The tool is a classifier (its output names a class)."""
    cls = tool_class(tool)
    return cls is not None and cls.label_field is not None
