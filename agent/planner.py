"""Plan node: turn the request and the case's regions into validated tool steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agent.intents import ParsedRequest, RegionRequest, ZoomRequest, parse_request
from agent.review_planner import plan_compare, plan_recall
from agent.state import CaseState, Node, Plan, PlanStep, Roi

if TYPE_CHECKING:
    from tools.registry import ToolRegistry


__all__ = ["HELP_TEXT", "make_planner", "plan_request"]

HELP_TEXT = (
    "I can report the slide's size, pyramid levels, resolution and magnification; measure the "
    "tissue fraction and tissue regions; and zoom to a tissue region, an earlier region, a point "
    "or a box at a magnification, µm/px or level."
)


def make_planner(registry: ToolRegistry) -> Node:
    """Return the ``plan`` node bound to the tool registry."""

    def plan(state: CaseState) -> dict[str, Any]:
        request = state.get("request", "")
        rois = [Roi.model_validate(r) for r in state.get("rois", [])]
        slide = state.get("slide") or {}
        result = plan_request(
            request,
            rois,
            state.get("current_roi"),
            slide.get("slide_id", ""),
            archive=state.get("archive", []),
        )
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


def plan_request(
    request: str,
    rois: list[Roi],
    current: int | None,
    slide_id: str,
    *,
    archive: list[dict[str, Any]] | None = None,
) -> Plan:
    """Build the plan for ``request`` given the ROIs the case has visited on this slide.

    ``rois`` are all the case's ROIs (numbered across slides); ``archive`` is the case's
    archived evidence, which comparisons and recalls of earlier regions use.
    """
    parsed: ParsedRequest = parse_request(request)
    steps: list[PlanStep] = []
    notes: list[str] = []
    here = [r for r in rois if r.slide_id == slide_id]
    if parsed.recall is not None:
        lookup = plan_recall(parsed.recall, here, current, archive or [])
        return Plan(request=request, lookup=lookup)
    if parsed.compare is not None:
        steps, found = plan_compare(parsed.compare, here, current, archive or [])
        return Plan(request=request, steps=steps, lookup=found)
    if parsed.info:
        steps.append(PlanStep(tool="slide_info", why="slide size, levels, resolution"))
    if parsed.tissue:
        steps.append(PlanStep(tool="tissue", why="tissue fraction and regions"))
    view: int | None = None
    if parsed.zoom is not None:
        zoom = _zoom_step(parsed.zoom, here, current, notes)
        steps.append(zoom)
        if not zoom.error:
            view = len(rois) + 1  # the executor numbers ROIs across the case
    if parsed.detect is not None:
        steps.append(_region_step("detect", parsed.detect, here, current, notes, view))
    if parsed.classify is not None:
        steps.append(_region_step("classify", parsed.classify, here, current, notes, view))
    if parsed.segment is not None:
        step = _region_step("segment", parsed.segment, here, current, notes, view)
        if not step.error:
            step = step.model_copy(update={"args": {**step.args, "what": parsed.segment.what}})
        steps.append(step)
    if parsed.classify_slide:
        steps.append(PlanStep(tool="wsi_classify", why="the slide's diagnosis class"))
    if not steps and not parsed.knowledge:
        notes.append("no tool matched the request")
    return Plan(request=request, steps=steps, notes=notes, knowledge=parsed.knowledge)


def _zoom_step(z: ZoomRequest, rois: list[Roi], current: int | None, notes: list[str]) -> PlanStep:
    """Resolve references to earlier regions into concrete zoom arguments."""
    args: dict[str, Any] = _scale_args(z)
    cur = next((r for r in rois if r.number == current), rois[-1] if rois else None)
    if z.target == "tissue_region":
        args.update(target="tissue_region", region_index=z.region_index or 1)
        return PlanStep(tool="zoom", args=args, why=f"tissue region {z.region_index or 1}")
    if z.target == "box" and z.box is not None:
        args.update(target="box", box=list(z.box))
        return PlanStep(tool="zoom", args=args, why="the requested box")
    if z.target == "point" and z.center is not None:
        args.update(target="point", center=list(z.center))
        if z.size_px:
            args["size_px"] = list(z.size_px)
        return PlanStep(tool="zoom", args=args, why="the requested point")
    roi, error = _find_roi(z.roi_ref, z.roi_number, rois, cur)
    if error:
        return PlanStep(tool="zoom", args=args, why="an earlier region", error=error)
    if roi is None:
        if z.target == "roi" or z.direction:
            notes.append("the case has no earlier region on this slide; showing the whole slide")
        args["target"] = "slide"
        return PlanStep(tool="zoom", args=args, why="the whole slide")
    return _roi_step(z, roi, args)


def _scale_args(z: ZoomRequest) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if z.magnification is not None:
        args["magnification"] = z.magnification
    if z.mpp is not None:
        args["mpp"] = z.mpp
    if z.level is not None:
        args["level"] = z.level
    return args


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
) -> PlanStep:
    """Analyse a tissue region, an earlier region (the current one by default) or the slide.

    ``view``: the number the region shown by this plan's zoom will get; a request that names
    no other region analyses that view (the executor fills in its box once it is shown).
    """
    if view is not None and d.target == "default":
        args = {"target": "box", "roi_number": view}
        return PlanStep(tool=tool, args=args, why=f"the view shown first (region {view})")
    if d.target == "tissue_region":
        args = {"target": "tissue_region", "region_index": d.region_index or 1}
        return PlanStep(tool=tool, args=args, why=f"tissue region {d.region_index or 1}")
    if d.target == "slide":
        return PlanStep(tool=tool, args={"target": "slide"}, why="the whole slide")
    cur = next((r for r in rois if r.number == current), rois[-1] if rois else None)
    roi, error = _find_roi(d.roi_ref, d.roi_number, rois, cur)
    if error:
        return PlanStep(tool=tool, args={"target": "box"}, why="an earlier region", error=error)
    if roi is None:
        if d.target == "roi":
            notes.append("the case has no earlier region on this slide")
        return PlanStep(tool=tool, args={"target": "auto"}, why="the image")
    args = {"target": "box", "box": roi.box, "roi_number": roi.number}
    return PlanStep(tool=tool, args=args, why=f"region {roi.number}")
