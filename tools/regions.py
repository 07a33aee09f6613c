"""Target regions shared by the region tools: tissue regions, fitted views, slide bounds."""

from __future__ import annotations

from agent.errors import RegionError, ToolInputError
from tools.base import ToolContext
from tools.types import Box, SlideMetadata

__all__ = ["box_from_list", "clipped", "fit_view", "on_slide", "tissue_box"]


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


def tissue_box(index: int, ctx: ToolContext) -> Box:
    """Level-0 box of tissue region ``index`` (1 = largest) of the open slide."""
    assert ctx.slide is not None
    tissue = ctx.slides.tissue(ctx.slide, ctx.settings.thumbnail_px)
    if not tissue.regions:
        msg = "no tissue was found on this slide, so there is no tissue region to use"
        raise ToolInputError(msg)
    if index > len(tissue.regions):
        msg = f"tissue region {index} does not exist: the slide has {len(tissue.regions)}"
        raise ToolInputError(msg)
    return tissue.regions[index - 1].box


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


def on_slide(box: Box, meta: SlideMetadata) -> Box:
    """Return ``box`` if it lies entirely on the slide, else raise RegionError."""
    if box.clip(meta.width, meta.height) != box:
        msg = (
            f"box {box.as_list()} is not on the slide, which spans 0-{meta.width} × "
            f"0-{meta.height} level-0 pixels"
        )
        raise RegionError(msg)
    return box
