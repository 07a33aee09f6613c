"""SlideInfoTool: the slide's size, pyramid, resolution, magnification and vendor."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.base import Tool, ToolContext, ToolResult
from tools.types import LevelInfo

__all__ = ["SlideInfoInput", "SlideInfoOutput", "SlideInfoTool"]


class SlideInfoInput(BaseModel):
    """No arguments: the tool describes the case's open slide."""


class SlideInfoOutput(BaseModel):
    """Slide metadata; sizes in level-0 pixels, resolution in µm/px (None when not recorded)."""

    name: str
    slide_id: str
    vendor: str | None
    backend: str
    width_px: int
    height_px: int
    level_count: int
    levels: list[LevelInfo]
    mpp_x: float | None
    mpp_y: float | None
    objective_power: float | None
    associated_images_withheld: list[str] = Field(
        description="label/macro images present in the file and never shown"
    )


class SlideInfoTool(Tool):
    """Report the open slide's metadata."""

    name = "slide_info"
    description = (
        "Report the open slide's size in pixels, pyramid levels, resolution in µm/px, scan "
        "magnification and vendor. Missing metadata is reported as unknown."
    )
    examples = (
        "what is the size of this slide",
        "how big is the image in pixels",
        "what magnification was this scanned at",
        "what is the resolution in microns per pixel",
        "what is the mpp of the scan",
        "how many pyramid levels does the file have",
        "which scanner made this slide",
        "what vendor and file format is this",
        "show me the slide metadata and properties",
        "what objective power was used",
        "slide dimensions please",
        "width and height of the whole slide image",
        "what is the pixel size in µm",
        "tell me about this slide file",
        "what is the base magnification",
        "scan resolution?",
        "what file format is the slide",
        "is it an svs file",
    )
    Input = SlideInfoInput
    Output = SlideInfoOutput

    def run(self, inp: BaseModel, ctx: ToolContext) -> ToolResult:
        """Describe ``ctx.slide``."""
        assert ctx.slide is not None
        meta = ctx.slide.metadata
        out = SlideInfoOutput(
            name=meta.name,
            slide_id=meta.slide_id,
            vendor=meta.vendor,
            backend=meta.backend,
            width_px=meta.width,
            height_px=meta.height,
            level_count=meta.level_count,
            levels=meta.levels,
            mpp_x=meta.mpp_x,
            mpp_y=meta.mpp_y,
            objective_power=meta.objective_power,
            associated_images_withheld=list(meta.associated_images),
        )
        mpp = f"{meta.mpp_x:g} µm/px" if meta.mpp_x else "µm/px unknown"
        power = f"{meta.objective_power:g}x" if meta.objective_power else "magnification unknown"
        summary = f"{meta.width} × {meta.height} px, {meta.level_count} level(s), {mpp}, {power}"
        return ToolResult(output=out, summary=summary)
