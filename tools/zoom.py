"""ZoomTool: read a region at a magnification, µm/px or level and save it as a PNG artifact."""

from __future__ import annotations

from typing import Literal

from PIL import Image
from pydantic import BaseModel, Field

from agent.errors import RegionError, ToolInputError
from tools.base import Tool, ToolContext, ToolResult
from tools.regions import box_from_list, clipped, fit_view, on_slide, tissue_box
from tools.scale import downsample_for
from tools.types import Box, SlideMetadata

__all__ = ["ZoomInput", "ZoomOutput", "ZoomTool"]

ZoomTarget = Literal["slide", "tissue_region", "box", "point", "roi"]
_DEFAULT_VIEW_PX = 1024


class ZoomInput(BaseModel):
    """Where to look and at what scale; every coordinate in level-0 pixels."""

    target: ZoomTarget = "slide"
    region_index: int | None = Field(default=None, ge=1, description="tissue region number")
    roi_number: int | None = Field(default=None, ge=1, description="earlier ROI of the case")
    box: list[int] | None = Field(default=None, description="[x0, y0, x1, y1], level-0 px")
    center: list[float] | None = Field(default=None, description="[x, y], level-0 px")
    size_px: list[int] | None = Field(
        default=None, description="[w, h] of a point view, level-0 px"
    )
    view_px: list[int] | None = Field(default=None, description="[w, h] of the view, output px")
    magnification: float | None = Field(default=None, gt=0)
    mpp: float | None = Field(default=None, gt=0, description="µm per output pixel")
    level: int | None = Field(default=None, ge=0)
    downsample: float | None = Field(default=None, gt=0, description="level-0 px per output px")


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
    Input = ZoomInput
    Output = ZoomOutput

    def run(self, inp: BaseModel, ctx: ToolContext) -> ToolResult:
        """Resolve the scale and the box, read the pixels, write the PNG."""
        assert isinstance(inp, ZoomInput)
        assert ctx.slide is not None
        meta = ctx.slide.metadata
        notes: list[str] = []
        downsample = _resolve_downsample(inp, meta, notes)
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
        return on_slide(box_from_list(inp.box, "a box target"), meta)
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
        return clipped(Box.around(*old.center, w, h), meta, notes)
    if inp.target == "tissue_region":
        target = tissue_box(inp.region_index or 1, ctx)
    else:
        target = Box(x0=0, y0=0, x1=meta.width, y1=meta.height)
    return fit_view(target, downsample, ctx.settings.max_view_px, meta, notes)
