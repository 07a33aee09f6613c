"""SlideInfoTool: the slide's size, pyramid, resolution, magnification and vendor."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.narration import Outcome, Section, Writer
from tools.base import Tool, ToolContext, ToolResult
from tools.phrasing import decimals_for
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
    mpp_stated: bool = Field(
        default=False, description="the µm/px is the one stated in the case; the file has none"
    )
    width_mm: float | None = Field(default=None, description="level-0 width × µm/px, in mm")
    height_mm: float | None = Field(default=None, description="level-0 height × µm/px, in mm")
    associated_images_withheld: list[str] = Field(
        description="label/macro images present in the file and never shown"
    )


class SlideInfoTool(Tool):
    """Report the open slide's metadata."""

    name = "slide_info"
    findings_terms = (
        r"\bmagnification\b|\bmpp\b|\bµm/px\b|\bmicrons?\s+per\s+pixel\b|\bresolution\b|"
        r"\bdimensions?\b|\bscanner\b"
    )
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
        "what are the physical dimensions of the image in mm",
        "what is the pixel size in µm",
        "tell me about this slide file",
        "what is the base magnification",
        "scan resolution?",
        "what file format is the slide",
        "is it an svs file",
    )
    Input = SlideInfoInput
    Output = SlideInfoOutput
    claimable = {
        "width_px": "px",
        "height_px": "px",
        "level_count": "count",
        "levels.*.level": "level",
        "levels.*.width": "px",
        "levels.*.height": "px",
        "levels.*.downsample": "ratio",
        "mpp_x": "µm/px",
        "width_mm": "mm",
        "height_mm": "mm",
        "mpp_y": "µm/px",
        "objective_power": "x",
    }

    @classmethod
    def narrate(cls, out: Outcome) -> Section:
        """Size, pyramid levels, resolution and magnification; missing metadata said unknown."""
        o, e = out.output, out.evidence_id
        obs = Writer().text("The slide ").label(o["name"], e).text(" is ")
        obs.num(o["width_px"], e, "width_px")
        obs.text(" × ").num(o["height_px"], e, "height_px").text(" pixels at level ")
        obs.num(0, e, "levels.0.level").text(" and has ")
        obs.num(o["level_count"], e, "level_count").text(" pyramid level(s)")
        if o.get("vendor"):
            obs.text(" (format: ").quote(o["vendor"], e).text(")")
        obs.text(".")
        for lv in o["levels"][1:4]:
            i = lv["level"]
            obs.text(" Level ").num(i, e, f"levels.{i}.level").text(" is ")
            obs.num(lv["width"], e, f"levels.{i}.width").text(" × ")
            obs.num(lv["height"], e, f"levels.{i}.height").text(" pixels (downsample ")
            obs.num(lv["downsample"], e, f"levels.{i}.downsample", decimals=2).text(").")
        res, short = Writer(), Writer()
        short.text("The slide ").label(o["name"], e).text(": ")
        short.num(o["width_px"], e, "width_px").text(" × ")
        short.num(o["height_px"], e, "height_px").text(" pixels, ")
        short.num(o["level_count"], e, "level_count").text(" level(s), ")
        if o.get("mpp_x") is not None:
            mpp = Writer().num(o["mpp_x"], e, "mpp_x", decimals=decimals_for(o["mpp_x"]))
            res.text("Its resolution is ").extend(mpp).text(" µm/px at full resolution")
            if o.get("mpp_stated"):
                res.text(" (the scale stated in this case: the file records none)")
            if o.get("width_mm") is not None and o.get("height_mm") is not None:
                size = Writer().num(o["width_mm"], e, "width_mm", decimals=2).text(" × ")
                size.num(o["height_mm"], e, "height_mm", decimals=2).text(" mm")
                res.text(", so the image spans ").extend(size)
            res.text(". ")
            short.extend(mpp).text(" µm/px")
            if o.get("mpp_stated"):
                short.text(" as stated in this case (the file records none)")
            if o.get("width_mm") is not None and o.get("height_mm") is not None:
                short.text(" (").extend(size).text(")")
            short.text(", ")
        else:
            res.absent(
                "It records no µm/px, so its physical resolution is unknown and sizes can be "
                "given in pixels only. ",
                e,
                "mpp_x",
            )
            short.absent("resolution unknown (no µm/px recorded), ", e, "mpp_x")
        if o.get("objective_power") is not None:
            power = Writer().num(o["objective_power"], e, "objective_power")
            said = " (as stated)" if o.get("mpp_stated") else ""
            res.text("It was scanned at ").extend(power).text(f"x{said}.")
            short.text("scanned at ").extend(power).text(f"x{said}.")
        else:
            res.absent(
                "It records no objective power, so its scan magnification is unknown.",
                e,
                "objective_power",
            )
            short.absent(
                "magnification unknown (no objective power recorded).", e, "objective_power"
            )
        return Section([("observe", obs), ("measure", res)], short)

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
            mpp_stated=meta.mpp_stated,
            width_mm=_mm(meta.width, meta.mpp_x),
            height_mm=_mm(meta.height, meta.mpp_y or meta.mpp_x),
            associated_images_withheld=list(meta.associated_images),
        )
        mpp = f"{meta.mpp_x:g} µm/px" if meta.mpp_x else "µm/px unknown"
        power = f"{meta.objective_power:g}x" if meta.objective_power else "magnification unknown"
        summary = f"{meta.width} × {meta.height} px, {meta.level_count} level(s), {mpp}, {power}"
        return ToolResult(output=out, summary=summary)


def _mm(pixels: int, mpp: float | None) -> float | None:
    """A level-0 length in mm, None without µm/px."""
    return None if not mpp else round(pixels * mpp / 1000.0, 4)
