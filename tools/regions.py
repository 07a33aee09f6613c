"""Target regions shared by the region tools: tissue regions, fitted views, slide bounds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from core.errors import RegionError, ToolInputError
from tools.base import ToolContext
from tools.scale import downsample_for
from tools.types import Box, Coordinate, RegionRead, SlideMetadata

__all__ = [
    "TISSUE_RANK_HELP",
    "AnalysisTarget",
    "RegionInput",
    "analysis_downsample",
    "analysis_region",
    "box_from_list",
    "clipped",
    "fit_view",
    "on_slide",
    "ranked_from_largest",
    "read_analysis_region",
    "tissue_box",
    "tissue_rank",
]


def box_from_list(values: list[int] | None, what: str) -> Box:
    """Build a level-0 box from ``[x0, y0, x1, y1]``; raise ToolInputError naming ``what``."""
    if not values or len(values) != 4:
        msg = f"{what} needs [x0, y0, x1, y1] in level-0 pixels"
        raise ToolInputError(msg)
    try:
        return Box(x0=values[0], y0=values[1], x1=values[2], y1=values[3])
    except ValueError as exc:
        msg = f"{what}: {exc.errors()[0]['msg'] if hasattr(exc, 'errors') else exc}"
        raise ToolInputError(msg) from None


def tissue_rank(index: int, ctx: ToolContext) -> int:
    """The size rank (1 = largest) of tissue region ``index`` of the open slide.

    A negative ``index`` counts from the smallest: -1 is the smallest, -2 the second smallest.
    """
    assert ctx.slide is not None
    tissue = ctx.slides.tissue(ctx.slide, ctx.settings.thumbnail_px)
    count = len(tissue.regions)
    if not count:
        msg = "no tissue was found on this slide, so there is no tissue region to use"
        raise ToolInputError(msg)
    if index == 0:
        msg = "tissue region 0 does not exist: tissue regions are numbered from 1, the largest"
        raise ToolInputError(msg)
    rank = index if index > 0 else count + 1 + index
    if not 1 <= rank <= count:
        msg = f"tissue region {index} does not exist: the slide has {count}"
        if index < 0 and count > 1:
            msg += f" (-1 is the smallest, -{count} the largest)"
        raise ToolInputError(msg)
    return rank


def tissue_box(index: int, ctx: ToolContext) -> Box:
    """Level-0 box of tissue region ``index`` (1 = largest, -1 = smallest) of the open slide."""
    assert ctx.slide is not None
    tissue = ctx.slides.tissue(ctx.slide, ctx.settings.thumbnail_px)
    return tissue.regions[tissue_rank(index, ctx) - 1].box


def ranked_from_largest(inp: BaseModel, ctx: ToolContext) -> BaseModel:
    """``inp`` with a tissue region counted from the smallest given by its rank from the largest.

    What the tool reports then names the region as the slide's tissue regions are numbered.
    """
    index = getattr(inp, "region_index", None)
    if index is None or index >= 0 or ctx.slide is None:
        return inp
    return inp.model_copy(update={"region_index": tissue_rank(index, ctx)})


TISSUE_RANK_HELP = "tissue region by size: 1 = largest, 2 = second largest; -1 = smallest"
"""How an input's ``region_index`` counts."""


def fit_view(
    box: Box, downsample: float, max_view: int, meta: SlideMetadata, notes: list[str]
) -> Box:
    """Shrink a named target to one view of at most ``max_view`` output pixels a side."""
    side = round(max_view * downsample)
    if box.width <= side and box.height <= side:
        return box
    notes.append(
        f"the target is larger than one view ({max_view} px a side at this scale); "
        "only its centre is used"
    )
    fitted = Box.around(*box.center, min(box.width, side), min(box.height, side))
    return clipped(fitted, meta, notes)


def clipped(box: Box, meta: SlideMetadata, notes: list[str]) -> Box:
    """Intersect ``box`` with the slide, noting a clip; RegionError when nothing is left."""
    inside = box.clip(meta.width, meta.height)
    if inside is None:
        msg = f"box {box.as_list()} is off the slide ({meta.width} × {meta.height} level-0 px)"
        raise RegionError(msg)
    if inside != box:
        notes.append("the view was clipped to the slide's edges")
    return inside


def on_slide(box: Box, meta: SlideMetadata, notes: list[str] | None = None) -> Box:
    """``box`` where it lies on the slide; RegionError when none of it is.

    A box that runs past the slide's edges is clipped to them, said in ``notes``.
    """
    inside = box.clip(meta.width, meta.height)
    if inside is None:
        msg = (
            f"box {box.as_list()} is not on the slide, which spans 0-{meta.width} × "
            f"0-{meta.height} level-0 pixels"
        )
        raise RegionError(msg)
    if inside != box and notes is not None:
        notes.append(
            f"box {box.as_list()} runs past the slide's edges (0-{meta.width} × "
            f"0-{meta.height} px): the part on the slide, {inside.as_list()}, was used"
        )
    elif inside != box:
        msg = (
            f"box {box.as_list()} runs past the slide, which spans 0-{meta.width} × "
            f"0-{meta.height} level-0 pixels"
        )
        raise RegionError(msg)
    return inside


def analysis_downsample(meta: SlideMetadata, mpp: float, notes: list[str]) -> float:
    """Downsample that analyses at ``mpp`` µm/px (a pyramid level within 5% is used as is)."""
    if not meta.mpp_x:
        notes.append(
            "the slide records no µm/px: analysed at native resolution, areas in pixels (state "
            "the scale, e.g. 'the image is 0.5 µm/px', for µm² and per-mm² values)"
        )
        return 1.0
    if meta.mpp_stated:
        notes.append(
            f"the scale is the {meta.mpp_x:g} µm/px stated in this case; the file records none"
        )
    try:
        wanted = downsample_for(meta, mpp=mpp)
    except RegionError:
        return 1.0  # the scan is coarser than the analysis scale: use it as it is
    for level in meta.levels:  # a pyramid level within 5% is read as it is, not resampled
        if abs(level.downsample / wanted - 1) < 0.05:
            return level.downsample
    return wanted


def analysis_region(
    target: str,
    box: list[int] | None,
    region_index: int | None,
    ctx: ToolContext,
    downsample: float,
    notes: list[str],
) -> Box:
    """Level-0 box an analysis tool reads for ``target``.

    ``box``, ``tissue_region`` and ``slide`` are what they say; ``auto`` is the whole slide when
    it fits one view, else the largest tissue region (with a note).
    """
    assert ctx.slide is not None
    meta = ctx.slide.metadata
    max_view = ctx.settings.max_view_px
    whole = Box(x0=0, y0=0, x1=meta.width, y1=meta.height)
    if target == "box":
        return on_slide(box_from_list(box, "an analysis box"), meta, notes)
    if target == "tissue_region":
        return fit_view(
            tissue_box(1 if region_index is None else region_index, ctx),
            downsample,
            max_view,
            meta,
            notes,
        )
    side = max_view * downsample
    if target == "slide" and (whole.width / downsample) * (whole.height / downsample) <= (
        ctx.settings.max_region_pixels
    ):
        return whole  # "segment the epithelium on the whole slide": all of it, when it fits
    if target == "slide" or (whole.width <= side and whole.height <= side):
        return fit_view(whole, downsample, max_view, meta, notes)
    notes.append("no region was given: analysed the largest tissue region")
    return fit_view(tissue_box(1, ctx), downsample, max_view, meta, notes)


AnalysisTarget = Literal["auto", "box", "tissue_region", "slide"]


class RegionInput(BaseModel):
    """Where an analysis tool looks; every coordinate in level-0 pixels."""

    target: AnalysisTarget = "auto"
    box: list[Coordinate] | None = Field(default=None, description="[x0, y0, x1, y1], level-0 px")
    roi_number: int | None = Field(
        default=None, ge=1, le=1_000_000, description="earlier ROI of the case"
    )
    region_index: int | None = Field(
        default=None, ge=-10_000, le=10_000, description=TISSUE_RANK_HELP
    )
    analysis_mpp: float = Field(
        default=0.5, gt=0, le=1000, allow_inf_nan=False, description="µm/px of the analysed image"
    )


def read_analysis_region(
    inp: RegionInput, ctx: ToolContext, notes: list[str]
) -> tuple[Box, RegionRead]:
    """Resolve the analysis scale and region of ``inp`` and read its pixels."""
    assert ctx.slide is not None
    downsample = analysis_downsample(ctx.slide.metadata, inp.analysis_mpp, notes)
    region = analysis_region(inp.target, inp.box, inp.region_index, ctx, downsample, notes)
    read = ctx.slide.read_region(
        region, downsample=downsample, max_pixels=ctx.settings.max_region_pixels
    )
    return region, read
