"""ZoomTool: read a region at a magnification, µm/px or level and save it as a PNG artifact."""

from __future__ import annotations

from typing import Literal

from PIL import Image
from pydantic import BaseModel, Field

from core.errors import RegionError, ToolInputError
from core.narration import Outcome, Section, Writer
from tools.base import Tool, ToolContext, ToolResult
from tools.hotspot import densest_window
from tools.phrasing import decimals_for, with_notes
from tools.regions import (
    TISSUE_RANK_HELP,
    box_from_list,
    clipped,
    fit_view,
    on_slide,
    tissue_box,
)
from tools.scale import downsample_for
from tools.types import Box, Coordinate, PointCoordinate, SidePx, SlideMetadata

__all__ = ["CORNERS", "PARTS", "ZoomInput", "ZoomOutput", "ZoomTool"]

ZoomTarget = Literal["slide", "tissue_region", "box", "point", "roi", "cellular"]
PanDirection = Literal["left", "right", "up", "down"]
Part = Literal[
    "top_left",
    "top_right",
    "bottom_left",
    "bottom_right",
    "left_half",
    "right_half",
    "top_half",
    "bottom_half",
    "center",
]
_DEFAULT_VIEW_PX = 1024
# (x0, y0, x1, y1) of each part as fractions of the box it is a part of
PARTS: dict[str, tuple[float, float, float, float]] = {
    "top_left": (0.0, 0.0, 0.5, 0.5),
    "top_right": (0.5, 0.0, 1.0, 0.5),
    "bottom_left": (0.0, 0.5, 0.5, 1.0),
    "bottom_right": (0.5, 0.5, 1.0, 1.0),
    "left_half": (0.0, 0.0, 0.5, 1.0),
    "right_half": (0.5, 0.0, 1.0, 1.0),
    "top_half": (0.0, 0.0, 1.0, 0.5),
    "bottom_half": (0.0, 0.5, 1.0, 1.0),
    "center": (0.25, 0.25, 0.75, 0.75),
}
_PAN: dict[str, tuple[int, int]] = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


class ZoomInput(BaseModel):
    """Where to look and at what scale; every coordinate in level-0 pixels."""

    target: ZoomTarget = "slide"
    region_index: int | None = Field(
        default=None, ge=-10_000, le=10_000, description=TISSUE_RANK_HELP
    )
    roi_number: int | None = Field(
        default=None, ge=1, le=1_000_000, description="earlier ROI of the case"
    )
    box: list[Coordinate] | None = Field(default=None, description="[x0, y0, x1, y1], level-0 px")
    center: list[PointCoordinate] | None = Field(default=None, description="[x, y], level-0 px")
    size_px: list[SidePx] | None = Field(
        default=None,
        description="[w, h] of a point view or of a field at a tissue region's centre, level-0 px",
    )
    view_px: list[SidePx] | None = Field(default=None, description="[w, h] of the view, output px")
    magnification: float | None = Field(default=None, gt=0, le=1000, allow_inf_nan=False)
    mpp: float | None = Field(
        default=None, gt=0, le=1000, allow_inf_nan=False, description="µm per output pixel"
    )
    level: int | None = Field(default=None, ge=0, le=64)
    downsample: float | None = Field(
        default=None,
        gt=0,
        le=1e6,
        allow_inf_nan=False,
        description="level-0 px per output px",
    )
    pan: PanDirection | None = Field(
        default=None, description="move an earlier region's view (target roi) this way"
    )
    pan_fraction: float = Field(
        default=0.5, gt=0, le=1, description="how far to pan, as a share of the view's side"
    )
    factor: float | None = Field(
        default=None,
        gt=0,
        le=64,
        description="relative zoom of an earlier region's view: 2 = twice as close, 0.5 = out; "
        "with part center, a corner or a half, 1/factor of each side of the view, centred, "
        "in that corner or centred on that half",
    )
    part: Part | None = Field(
        default=None,
        description="show only this part of the slide (target slide) or of an earlier region "
        "(target roi)",
    )


class ZoomOutput(BaseModel):
    """The view that was read; ``magnification`` and ``mpp`` are None when unknown."""

    target: ZoomTarget
    region_index: int | None
    roi_number: int | None
    requested_magnification: float | None
    box: list[int] = Field(description="[x0, y0, x1, y1] in level-0 pixels")
    width_px: int = Field(description="box width in level-0 pixels")
    height_px: int = Field(description="box height in level-0 pixels")
    level: int
    downsample: float = Field(description="level-0 pixels per output pixel")
    magnification: float | None
    mpp: float | None = Field(description="µm per output pixel")
    output_width: int
    output_height: int
    transparent_fraction: float
    all_transparent: bool
    notes: list[str]


class ZoomTool(Tool):
    """Show a region of the slide at a chosen scale."""

    name = "zoom"
    description = (
        "Show a region of the open slide (a tissue region, an earlier region, a point or a box "
        "in level-0 pixels) at a magnification, µm/px or pyramid level, saved as an image."
    )
    examples = (
        "zoom to the largest tissue region at 20x",
        "zoom in on the biggest piece of tissue",
        "show me the tissue at 40x",
        "go to (12000, 8000) at 10x",
        "navigate to x=500 y=900",
        "take me to region 2",
        "go back to the previous region",
        "zoom out to 5x",
        "zoom in 2x here",
        "pan to the right",
        "move a bit to the left",
        "scroll up a little",
        "show the top left corner of the slide",
        "show me the lower right quadrant",
        "view the whole slide",
        "show the box [100, 200, 1100, 1200]",
        "open the view at 0.5 µm/px",
        "show level 2 of the pyramid",
        "look at the second tissue fragment at high power",
        "centre on the middle of the slide",
        "give me a low power overview",
        "magnify this area",
        "get closer",
        "back out a bit",
        "go back to the overview",
        "navigate there at level 1",
        "return to the low power view",
        "jump to this point at high magnification",
        "show me that at 20x",
    )
    Input = ZoomInput
    Output = ZoomOutput
    claimable = {
        "region_index": "index",
        "roi_number": "index",
        "requested_magnification": "x",
        "box.*": "px",
        "width_px": "px",
        "height_px": "px",
        "level": "level",
        "downsample": "ratio",
        "magnification": "x",
        "mpp": "µm/px",
        "output_width": "px",
        "output_height": "px",
        "transparent_fraction": "fraction",
    }

    @classmethod
    def narrate(cls, out: Outcome) -> Section:
        """What is shown, at what magnification, its level-0 box, level and view size."""
        o, e = out.output, out.evidence_id
        w = Writer().text("Showing ")
        target = o["target"]
        if target == "tissue_region":
            w.text("tissue region #").num(o["region_index"], e, "region_index")
        elif o.get("roi_number") is not None:
            w.text("the view around region #" if target == "roi" else "region #")
            w.num(o["roi_number"], e, "roi_number")
        else:
            w.text(
                {
                    "box": "the requested box",
                    "point": "the requested point",
                    "cellular": "the most cellular field",
                }.get(target, "the slide")
            )
        if o.get("magnification") is not None:
            mag = o["magnification"]
            w.text(" at ").num(mag, e, "magnification", decimals=decimals_for(mag)).text("x")
        else:
            w.absent(" at an unknown magnification", e, "magnification")
        if o.get("mpp") is not None:
            w.text(" (").num(o["mpp"], e, "mpp", decimals=decimals_for(o["mpp"])).text(" µm/px)")
        w.text(": box ").box(o["box"], e, "box").text(" in level-0 pixels, read from level ")
        w.num(o["level"], e, "level").text(" and shown at ")
        w.num(o["output_width"], e, "output_width").text(" × ")
        w.num(o["output_height"], e, "output_height").text(" pixels.")
        return with_notes([("observe", w)], Writer().extend(w), o, e)

    def run(self, inp: BaseModel, ctx: ToolContext) -> ToolResult:
        """Resolve the scale and the box, read the pixels, write the PNG."""
        assert isinstance(inp, ZoomInput)
        assert ctx.slide is not None
        meta = ctx.slide.metadata
        notes: list[str] = []
        downsample = _resolve_downsample(inp, meta, notes)
        if inp.part is not None:
            box = _part_box(inp, meta, notes)
            if not _has_scale(inp):
                downsample = max(1.0, max(box.width, box.height) / ctx.settings.max_view_px)
        elif inp.target == "slide" and not _has_scale(inp) and inp.downsample is None:
            # "show me the whole thing": all of it in one view, at the scale that fits
            box = Box(x0=0, y0=0, x1=meta.width, y1=meta.height)
            downsample = max(1.0, max(box.width, box.height) / ctx.settings.max_view_px)
        else:
            box = _resolve_box(inp, ctx, meta, downsample, notes)
        read = ctx.slide.read_region(
            box, downsample=downsample, max_pixels=ctx.settings.max_region_pixels
        )
        if read.all_transparent:
            notes.append("the region holds no scanned pixels (OpenSlide returned it transparent)")
        artifact = ctx.artifact_dir / f"{ctx.evidence_id}-zoom.png"
        Image.fromarray(read.image).save(artifact, compress_level=3)
        out = ZoomOutput(
            target=inp.target,
            region_index=inp.region_index,
            roi_number=inp.roi_number,
            requested_magnification=inp.magnification,
            box=read.box.as_list(),
            width_px=read.box.width,
            height_px=read.box.height,
            level=read.level,
            downsample=round(read.downsample, 4),
            magnification=_magnification(meta, read.downsample),
            mpp=None if read.mpp is None else round(read.mpp, 4),
            output_width=int(read.image.shape[1]),
            output_height=int(read.image.shape[0]),
            transparent_fraction=round(float(read.transparent_fraction), 4),
            all_transparent=read.all_transparent,
            notes=notes,
        )
        mag = f"{out.magnification:g}x" if out.magnification else "magnification unknown"
        summary = f"view of box {out.box} at {mag}, {out.output_width} × {out.output_height} px"
        return ToolResult(output=out, summary=summary, artifacts=[str(artifact)])


def _has_scale(inp: ZoomInput) -> bool:
    return any(v is not None for v in (inp.magnification, inp.mpp, inp.level))


CORNERS = frozenset({"top_left", "top_right", "bottom_left", "bottom_right"})
"""The parts that a zoom factor shrinks toward their corner ("zoom in 4x on the bottom right")."""


def _part_box(inp: ZoomInput, meta: SlideMetadata, notes: list[str]) -> Box:
    """The level-0 box of a part (a quadrant, a half, the centre) of the slide or a region."""
    if inp.target == "roi":
        whole = box_from_list(inp.box, "an earlier-region target")
    elif inp.target == "slide":
        whole = Box(x0=0, y0=0, x1=meta.width, y1=meta.height)
    else:
        msg = "a part (quadrant, half, centre) is of the slide or of an earlier region"
        raise ToolInputError(msg)
    assert inp.part is not None
    fx0, fy0, fx1, fy1 = PARTS[inp.part]
    if inp.part == "center" and inp.factor is not None and inp.factor > 1:
        half = 0.5 / inp.factor  # "zoom in 4x on the centre": the central 1/4 of each side
        fx0, fy0, fx1, fy1 = 0.5 - half, 0.5 - half, 0.5 + half, 0.5 + half
    elif inp.part in CORNERS and inp.factor is not None and inp.factor > 1:
        side = 1.0 / inp.factor  # "zoom in 4x on the bottom right": 1/4 of each side, in its corner
        fx0 = 0.0 if fx0 == 0.0 else 1.0 - side
        fy0 = 0.0 if fy0 == 0.0 else 1.0 - side
        fx1, fy1 = fx0 + side, fy0 + side
    elif inp.part.endswith("_half") and inp.factor is not None and inp.factor > 1:
        # "zoom in 2x on the bottom half": 1/2 of each side, centred on that half (inside it)
        side = 1.0 / inp.factor
        fx0 = min(max((fx0 + fx1 - side) / 2, 0.0), 1.0 - side)
        fy0 = min(max((fy0 + fy1 - side) / 2, 0.0), 1.0 - side)
        fx1, fy1 = fx0 + side, fy0 + side
    part = Box(
        x0=whole.x0 + round(fx0 * whole.width),
        y0=whole.y0 + round(fy0 * whole.height),
        x1=max(whole.x0 + round(fx1 * whole.width), whole.x0 + round(fx0 * whole.width) + 1),
        y1=max(whole.y0 + round(fy1 * whole.height), whole.y0 + round(fy0 * whole.height) + 1),
    )
    return clipped(part, meta, notes)


def _magnification(meta: SlideMetadata, downsample: float) -> float | None:
    if not meta.objective_power:
        return None
    return round(meta.objective_power / downsample, 3)


def _resolve_downsample(inp: ZoomInput, meta: SlideMetadata, notes: list[str]) -> float:
    """Level-0 pixels per output pixel for the requested scale.

    Where the slide lacks the metadata a scale needs, or the scale is finer than the scan, the
    view falls back to native resolution and a note says why (never an invented scale).
    """
    if inp.magnification is not None and not meta.objective_power:
        notes.append(
            f"{inp.magnification:g}x cannot be resolved: the slide records no objective "
            "power, so the view is at native resolution (level 0) and its magnification "
            "is unknown"
        )
        return 1.0
    if inp.mpp is not None and not meta.mpp_x:
        notes.append(
            f"{inp.mpp:g} µm/px cannot be resolved: the slide records no µm/px, so the view "
            "is at native resolution (level 0)"
        )
        return 1.0
    scale = {"level": inp.level, "mpp": inp.mpp, "magnification": inp.magnification}
    if not any(v is not None for v in scale.values()):
        scale["downsample"] = inp.downsample
        if inp.factor is not None and inp.downsample is not None:
            relative = inp.downsample / inp.factor
            if relative < 1.0:
                notes.append(
                    f"zooming {inp.factor:g}x closer would pass the scan's native resolution; "
                    "shown at native resolution"
                )
            scale["downsample"] = max(relative, 1.0)
    try:
        return downsample_for(meta, **scale)
    except RegionError:
        if inp.level is not None:
            raise
        notes.append(f"{_scale_text(inp)} is finer than the scan; shown at native resolution")
        return 1.0


def _scale_text(inp: ZoomInput) -> str:
    if inp.magnification is not None:
        return f"{inp.magnification:g}x"
    if inp.mpp is not None:
        return f"{inp.mpp:g} µm/px"
    return f"downsample {inp.downsample:g}"


def _resolve_box(
    inp: ZoomInput, ctx: ToolContext, meta: SlideMetadata, downsample: float, notes: list[str]
) -> Box:
    """The level-0 box to read for the target."""
    if inp.target == "box":
        return on_slide(box_from_list(inp.box, "a box target"), meta, notes)
    if inp.target == "point":
        if not inp.center or len(inp.center) != 2:
            msg = "a point target needs [x, y] in level-0 pixels"
            raise ToolInputError(msg)
        cx, cy = inp.center
        if not (0 <= cx < meta.width and 0 <= cy < meta.height):
            msg = (
                f"point ({cx:g}, {cy:g}) is off the slide, which spans 0-{meta.width - 1} × "
                f"0-{meta.height - 1} level-0 pixels"
            )
            raise RegionError(msg)
        w, h = inp.size_px or [round(_DEFAULT_VIEW_PX * downsample)] * 2
        return clipped(Box.around(cx, cy, w, h), meta, notes)
    if inp.target == "roi":
        old = box_from_list(inp.box, "an earlier-region target")
        if not inp.view_px:
            msg = "an earlier-region target needs its view size"
            raise ToolInputError(msg)
        w, h = (round(v * downsample) for v in inp.view_px)
        cx, cy = old.center
        if inp.pan is not None:
            dx, dy = _PAN[inp.pan]
            cx += dx * inp.pan_fraction * old.width
            cy += dy * inp.pan_fraction * old.height
            if not (0 <= cx < meta.width and 0 <= cy < meta.height):
                msg = f"panning {inp.pan} would leave the slide ({meta.width} × {meta.height} px)"
                raise RegionError(msg)
        return clipped(Box.around(cx, cy, w, h), meta, notes)
    if inp.target == "cellular":
        w, h = inp.size_px or [round(_DEFAULT_VIEW_PX * downsample)] * 2
        notes.append(
            "the most cellular field is the tissue window darkest in haematoxylin on the "
            "slide's thumbnail (a proxy for cellularity, not a count)"
        )
        return densest_window(ctx, w, h)
    if inp.target == "tissue_region":
        target = tissue_box(1 if inp.region_index is None else inp.region_index, ctx)
        if inp.size_px:  # "a 1024 x 1024 px field at the centre of fragment 2"
            w, h = inp.size_px
            return clipped(Box.around(*target.center, w, h), meta, notes)
    else:
        target = Box(x0=0, y0=0, x1=meta.width, y1=meta.height)
    return fit_view(target, downsample, ctx.settings.max_view_px, meta, notes)
