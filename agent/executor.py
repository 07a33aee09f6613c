"""Act node: run the plan's steps through the registry; a failure becomes failed evidence."""

from __future__ import annotations

import logging
import time
from typing import Any

from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ValidationError

from agent.case_memory import records
from agent.deps import GraphDeps
from agent.state import CaseState, Evidence, Node, Plan, PlanStep, Roi
from core.errors import ToolError, ToolInputError, error_kind
from core.progress import Progress, stream_writer
from memory.audit import output_hash
from tools.base import Tool, ToolContext, ToolResult
from tools.regions import ranked_from_largest

__all__ = ["case_id_of", "make_executor", "route_after_act"]

logger = logging.getLogger(__name__)


def case_id_of(config: RunnableConfig) -> str:
    """Return the case id (LangGraph thread id) of a run."""
    return str(config.get("configurable", {}).get("thread_id", "default"))


def make_executor(deps: GraphDeps) -> Node:
    """Return the ``act`` node."""

    def act(state: CaseState, config: RunnableConfig) -> dict[str, Any]:
        case_id = case_id_of(config)
        plan = Plan.model_validate(state["plan"])
        evidence = list(state.get("evidence", []))
        turn = state.get("turn", 1)
        new_rois: list[dict[str, Any]] = []
        # the number a zoom was planned as (or a held region's own number): its region
        shown: dict[int, dict[str, Any]] = {r["number"]: r for r in state.get("rois", [])}
        zooms = 0
        current = state.get("current_roi")
        n_rois = len(state.get("rois", []))
        start = state.get("acted", 0) if plan.planner == "llm" else 0
        for planned in plan.steps[start:]:
            step = _on_new_view(planned, shown)
            ev = _run_step(deps, state, step, case_id, f"E{turn}.{len(evidence) + 1}")
            number = n_rois + len(new_rois) + 1
            field = _field_of(ev, state, deps, number, turn, new_rois)
            if field is not None:
                # the analysed field becomes the view: "pan left", "zoom out 2x", "there"
                ev = _numbered(ev, number)
                new_rois.append(field.model_dump(mode="json"))
                if not (plan.lookup is not None and plan.lookup.places):
                    current = number  # parts set side by side leave the view where it was
            elif ev.ok and plan.lookup is None and ev.inputs.get("roi_number") is not None:
                current = int(ev.inputs["roi_number"])  # "count in region 1", then "here"
            evidence.append(ev.model_dump(mode="json"))
            deps.audit.append(case_id, "tool_call", {"turn": turn, **ev.model_dump(mode="json")})
            if ev.ok and ev.tool == "zoom":
                roi = _roi_from(ev, state, number, turn)
                held = [*state.get("rois", []), *new_rois]
                again = next((r for r in held if _same_view(r, roi)), None)
                if again is None:
                    again = roi.model_dump(mode="json")
                    new_rois.append(again)
                # "go back to the first view": the same box at the same scale is that region;
                # the planner numbers this plan's k-th view as the case's regions + k
                zooms += 1
                shown[n_rois + zooms] = again
                current = int(again["number"])
        wanted = [
            *(plan.lookup.earlier if plan.lookup else []),
            *(plan.also.earlier if plan.also else []),
        ]
        earlier = records(state.get("archive", []), list(dict.fromkeys(wanted)))
        return {
            "evidence": evidence,
            "rois": new_rois,
            "current_roi": current,
            "earlier": [e.model_dump(mode="json") for e in earlier],
            "acted": len(plan.steps),
        }

    return act


def route_after_act(state: CaseState) -> str:
    """Back to the LLM planner while its loop wants another step; else on to recall."""
    plan = state.get("plan") or {}
    if plan.get("planner") == "llm" and not plan.get("done", True):
        return "plan"
    return "recall"


def _on_new_view(step: PlanStep, shown: dict[int, dict[str, Any]]) -> PlanStep:
    """Give an analysis of the view this plan's zoom showed that view's level-0 box.

    ``shown``: each zoom of this plan by the number it was planned as, to the region it showed
    (a new one, or one the case held: "go back to view 1 and count the nuclei").
    """
    args = step.args
    if args.get("target") != "box" or args.get("box") or args.get("roi_number") is None:
        return step
    view = shown.get(args["roi_number"])
    if view is None:
        error = step.error or "the view to analyse could not be shown (see the zoom step)"
        return step.model_copy(update={"error": error})
    update = {**args, "box": view["box"], "roi_number": view["number"]}
    return step.model_copy(update={"args": update})


def _run_step(
    deps: GraphDeps, state: CaseState, step: PlanStep, case_id: str, ev_id: str
) -> Evidence:
    tool = deps.tools.get(step.tool)
    base = {
        "id": ev_id,
        "tool": step.tool,
        "inputs": step.args,
        "backend": tool.backend,
        "expert": tool.expert,
    }
    started = time.perf_counter()
    try:
        if step.error:
            raise ToolInputError(step.error)
        inp = _validate(tool.Input, step.args)
        slide = None
        if tool.needs_slide:
            path = state.get("slide_path")
            if not path:
                msg = "no slide is open in this case"
                raise ToolInputError(msg)
            slide = deps.slides.open(path)
            stated = state.get("scales", {}).get(slide.metadata.slide_id)
            if stated:  # a scale the user gave, for a file that records none
                slide = slide.with_stated_mpp(stated["mpp"] or 0.0, stated.get("magnification"))
        ctx = ToolContext(
            settings=deps.settings,
            case_id=case_id,
            evidence_id=ev_id,
            slides=deps.slides,
            slide=slide,
        )
        inp = ranked_from_largest(inp, ctx)  # "the smallest fragment": its rank on this slide
        result: ToolResult = _run_reporting(tool, inp, ctx)
    except ToolError as exc:
        kind = error_kind(exc)
        return _failed(base, str(exc), kind, started)
    except Exception as exc:  # a bug in a tool must not end the case
        logger.exception("tool %s failed unexpectedly", step.tool)
        return _failed(
            base, f"internal error in {step.tool}: {type(exc).__name__}", "internal", started
        )
    output = result.output.model_dump(mode="json")
    base.update(expert=result.expert or tool.expert, backend=result.backend or tool.backend)
    return Evidence(
        **base,
        ok=True,
        summary=result.summary,
        output=output,
        artifacts=result.artifacts,
        seconds=round(time.perf_counter() - started, 4),
        output_sha256=output_hash(output),
    )


def _run_reporting(tool: Tool, inp: BaseModel, ctx: ToolContext) -> ToolResult:
    """Run the tool, streaming a start and a done (or failed) event to whoever watches."""
    write = stream_writer()
    text = f"running {tool.name}{_where(inp)} ({tool.backend})…"
    write(Progress(kind="tool_start", node="act", text=text))
    started = time.perf_counter()
    call = {
        "id": ctx.evidence_id,
        "tool": tool.name,
        "inputs": inp.model_dump(mode="json", exclude_none=True),
    }
    try:
        result = tool.run(inp, ctx)
    except Exception as exc:
        error = " ".join((str(exc) or type(exc).__name__).split())
        seconds = round(time.perf_counter() - started, 4)
        done = {**call, "expert": tool.expert, "backend": tool.backend, "ok": False}
        evidence = {**done, "error": error, "seconds": seconds}
        write(Progress(kind="tool_done", node="act", text=f"{tool.name} failed", evidence=evidence))
        raise
    seconds = round(time.perf_counter() - started, 4)
    evidence = {
        **call,
        "expert": result.expert or tool.expert,
        "backend": result.backend or tool.backend,
        "ok": True,
        "summary": result.summary,
        "seconds": seconds,
    }
    text = f"{tool.name} done in {seconds:.2f} s"
    write(Progress(kind="tool_done", node="act", text=text, evidence=evidence))
    return result


def _where(inp: BaseModel) -> str:
    roi = getattr(inp, "roi_number", None)
    if roi:
        return f" on region #{roi}"
    region = getattr(inp, "region_index", None)
    if region:
        return f" on tissue region {region}"
    if getattr(inp, "target", None) in {"slide", "wsi"}:
        return " on the whole slide"
    return ""


def _validate(model: type[BaseModel], args: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(args)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "input"
        msg = f"invalid argument {where}: {first['msg']}"
        raise ToolInputError(msg) from None


def _failed(base: dict[str, Any], message: str, kind: str, started: float) -> Evidence:
    return Evidence(
        **base,
        ok=False,
        summary=f"failed: {message}",
        error=message,
        error_kind=kind,  # type: ignore[arg-type]
        seconds=round(time.perf_counter() - started, 4),
    )


def _field_of(
    ev: Evidence,
    state: CaseState,
    deps: GraphDeps,
    number: int,
    turn: int,
    new_rois: list[dict[str, Any]],
) -> Roi | None:
    """The field an analysis read as the case's next region, or None.

    Only a field that is no region yet: an analysis of a numbered region, of the whole slide or
    of a box the case already holds adds none.
    """
    o = ev.output
    if not ev.ok or ev.tool == "zoom" or "region_box" not in o or o.get("roi_number") is not None:
        return None
    if ev.inputs.get("roi_number") is not None or ev.inputs.get("target") == "slide":
        return None
    slide = state.get("slide") or {}
    box = [int(v) for v in o["region_box"]]
    if box == [0, 0, slide.get("width"), slide.get("height")]:
        return None
    held = (*state.get("rois", []), *new_rois)
    if any(r["box"] == box and r["slide_id"] == slide.get("slide_id") for r in held):
        return None
    meta = deps.slides.open(state["slide_path"]).metadata if state.get("slide_path") else None
    downsample = float(o.get("downsample") or 0.0)
    if not downsample and o.get("mpp") and meta is not None and meta.mpp_x:
        downsample = float(o["mpp"]) / meta.mpp_x
    downsample = downsample or 1.0
    power = meta.objective_power if meta is not None else None
    levels = meta.levels if meta is not None else []
    level = max((k for k, lv in enumerate(levels) if lv.downsample <= downsample * 1.05), default=0)
    images = [a for a in ev.artifacts if a.lower().endswith(".png")]
    return Roi(
        number=number,
        slide_id=slide.get("slide_id", ""),
        box=box,
        downsample=downsample,
        magnification=round(power / downsample, 3) if power else None,
        mpp=o.get("mpp"),
        level=level,
        output_size=[
            max(1, round((box[2] - box[0]) / downsample)),
            max(1, round((box[3] - box[1]) / downsample)),
        ],
        artifact=images[0] if images else None,
        evidence=ev.id,
        turn=turn,
    )


def _same_view(held: dict[str, Any], roi: Roi) -> bool:
    """``held`` shows ``roi``'s box of the same slide at the same scale."""
    same_scale = abs(float(held["downsample"]) - roi.downsample) <= 1e-6 * roi.downsample
    return held["slide_id"] == roi.slide_id and held["box"] == roi.box and same_scale


def _numbered(ev: Evidence, number: int) -> Evidence:
    """``ev`` with its output naming the region its field became (hash recomputed)."""
    output = {**ev.output, "roi_number": number}
    return ev.model_copy(update={"output": output, "output_sha256": output_hash(output)})


def _roi_from(ev: Evidence, state: CaseState, number: int, turn: int) -> Roi:
    o = ev.output
    slide = state.get("slide") or {}
    return Roi(
        number=number,
        slide_id=slide.get("slide_id", ""),
        box=o["box"],
        downsample=o["downsample"],
        magnification=o["magnification"],
        mpp=o["mpp"],
        level=o["level"],
        output_size=[o["output_width"], o["output_height"]],
        artifact=ev.artifacts[0] if ev.artifacts else None,
        evidence=ev.id,
        turn=turn,
    )
