"""TissueTool: tissue fraction and tissue regions of the open slide, with an outline image."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw
from pydantic import BaseModel, Field

from core.narration import Outcome, Section, StepKind, Writer
from tools.base import Tool, ToolContext, ToolResult

if TYPE_CHECKING:
    from tools.tissue import TissueMap

__all__ = ["TissueInput", "TissueOutput", "TissueRegionOut", "TissueTool"]

_MAX_REGIONS = 10


class TissueInput(BaseModel):
    """No arguments: the tool analyses the whole open slide."""


class TissueRegionOut(BaseModel):
    """One connected tissue region; numbered from 1 by decreasing area."""

    index: int
    box: list[int] = Field(description="[x0, y0, x1, y1] in level-0 pixels")
    area_px: int = Field(description="tissue area in level-0 pixels²")
    area_mm2: float | None = Field(description="tissue area in mm²; None without µm/px")
    fraction: float = Field(description="share of the slide area")


class TissueOutput(BaseModel):
    """Tissue share of the slide and its largest regions."""

    tissue_fraction: float = Field(description="share of the slide area covered by tissue, 0..1")
    region_count: int
    regions: list[TissueRegionOut] = Field(description=f"the {_MAX_REGIONS} largest regions")
    mask_downsample: float = Field(description="level-0 pixels per mask pixel")


class TissueTool(Tool):
    """Detect tissue on the thumbnail and report fraction and regions."""

    name = "tissue"
    findings_terms = (
        r"\btissue\s+(?:fraction|percent\w*|area|pieces?|regions?|fragments?)\b|"
        r"\bhow\s+much\s+tissue\b|\bpieces?\b|\bfragments?\b"
    )
    description = (
        "Detect tissue on the open slide: the share of the slide covered by tissue and the "
        "tissue regions as level-0 boxes, largest first, with an outline image."
    )
    examples = (
        "how much of the slide is tissue",
        "what fraction of the slide is covered by tissue",
        "what percentage of the glass is tissue",
        "measure the tissue area in mm²",
        "how many pieces of tissue are on the slide",
        "how many tissue fragments are there",
        "where is the tissue on the slide",
        "detect the tissue",
        "outline the tissue on the slide",
        "find the tissue regions",
        "tissue coverage",
        "how large is the tissue section",
        "is there much background or is it mostly tissue",
        "list the tissue regions, largest first",
        "total tissue surface area",
        "tissue fraction",
        "tissue percentage of the slide",
        "is the biopsy fragmented",
        "how much tissue is there",
    )
    Input = TissueInput
    Output = TissueOutput
    claimable = {
        "tissue_fraction": "fraction",
        "region_count": "count",
        "regions.0.index": "index",
        "regions.0.box.*": "px",
        "regions.0.area_px": "px²",
        "regions.0.area_mm2": "mm²",
        "regions.0.fraction": "fraction",
        "mask_downsample": "ratio",
    }

    @classmethod
    def narrate(cls, out: Outcome) -> Section:
        """The tissue share and region count, and the largest region's box and area."""
        o, e = out.output, out.evidence_id
        frac = Writer().text("Tissue covers ")
        frac.num(100 * o["tissue_fraction"], e, "tissue_fraction", unit="%", decimals=1)
        frac.text("% of the slide in ").num(o["region_count"], e, "region_count")
        frac.text(" region(s).")
        parts: list[tuple[StepKind, Writer]] = [("measure", frac)]
        if o["regions"]:
            r0 = o["regions"][0]
            big = Writer().text("The largest, tissue region #")
            big.num(r0["index"], e, "regions.0.index").text(", spans ")
            big.box(r0["box"], e, "regions.0.box").text(" in level-0 pixels")
            if r0.get("area_mm2") is not None:
                big.text(" and holds ").num(r0["area_mm2"], e, "regions.0.area_mm2", decimals=3)
                big.text(" mm² of tissue")
            big.text(".")
            parts.append(("observe", big))
        short = Writer().extend(frac)
        if o["regions"] and o["regions"][0].get("area_mm2") is not None:
            r0 = o["regions"][0]
            short.text(" The largest holds ")
            short.num(r0["area_mm2"], e, "regions.0.area_mm2", decimals=3).text(" mm² of tissue.")
        return Section(parts, short)

    def run(self, inp: BaseModel, ctx: ToolContext) -> ToolResult:
        """Analyse ``ctx.slide`` (cached per slide)."""
        assert ctx.slide is not None
        tissue = ctx.slides.tissue(ctx.slide, ctx.settings.thumbnail_px)
        regions = [
            TissueRegionOut(
                index=r.index,
                box=r.box.as_list(),
                area_px=int(r.area_px),
                area_mm2=None if r.area_mm2 is None else float(r.area_mm2),
                fraction=float(r.fraction),
            )
            for r in tissue.regions[:_MAX_REGIONS]
        ]
        out = TissueOutput(
            tissue_fraction=float(tissue.tissue_fraction),
            region_count=len(tissue.regions),
            regions=regions,
            mask_downsample=float(tissue.downsample),
        )
        artifact = ctx.artifact_dir / f"{ctx.evidence_id}-tissue.png"
        _outline_image(ctx, tissue).save(artifact, compress_level=3)
        summary = (
            f"tissue covers {100 * out.tissue_fraction:.1f}% of the slide "
            f"in {out.region_count} region(s)"
        )
        return ToolResult(output=out, summary=summary, artifacts=[str(artifact)])


def _outline_image(ctx: ToolContext, tissue: TissueMap) -> Image.Image:
    """Draw the tissue outline and numbered region boxes on a thumbnail."""
    from skimage.segmentation import find_boundaries

    assert ctx.slide is not None
    thumb, thumb_downsample = ctx.slide.thumbnail(ctx.settings.thumbnail_px)
    mask = tissue.mask
    if mask.shape != thumb.shape[:2]:
        mask = (
            np.asarray(
                Image.fromarray(mask.astype(np.uint8) * 255).resize(
                    (thumb.shape[1], thumb.shape[0]), Image.Resampling.NEAREST
                )
            )
            > 0
        )
    rgb = thumb.copy()
    rgb[find_boundaries(mask, mode="outer")] = (0, 160, 0)
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    for region in tissue.regions[:_MAX_REGIONS]:
        b = [v / thumb_downsample for v in region.box.as_list()]
        draw.rectangle(b, outline=(0, 90, 200), width=2)
        draw.text((b[0] + 3, b[1] + 2), str(region.index), fill=(0, 90, 200))
    return image
