"""SegmentTool: outlines of nuclei, cellular regions, epithelium or stroma as level-0 polygons."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, Field

from core.errors import ToolServerError
from core.lazy_import import lazy_module
from core.narration import CompareMetric, Outcome, Section, Writer
from tools.base import Tool, ToolContext, ToolResult
from tools.cpu_experts import (
    CPU_SEGMENTERS,
    SAM_IMPLEMENTATION,
    SHELL_IMPLEMENTATION,
    cpu_problem,
    segment_targets,
)
from tools.expert_pool import ExpertPool
from tools.experts import DeclaredDomain, ExpertSpec, declared_domains
from tools.nuclei import DEFAULT_MPP
from tools.phrasing import where, with_notes
from tools.regions import RegionInput, read_analysis_region
from tools.sam import SamSegmenter, load_sam
from tools.segmentation import (
    Segment,
    label_masks,
    label_regions,
    segment_image,
    segments_from_labels,
)
from tools.shell_epithelium import ShellSegmenter
from tools.tissue import ALL_TISSUE, tissue_fraction_of
from tools.types import Box, RegionRead

_skmeasure = lazy_module("skimage.measure")

__all__ = ["MaskOut", "SegmentInput", "SegmentOutput", "SegmentTool"]

_NOUNS = {
    "nuclei": "nuclei",
    "cellular": "cellular region(s)",
    "epithelium": "epithelium region(s)",
    "stroma": "stroma region(s)",
}
"""What the chain calls the outlined regions of each kind."""

MASK_LABELS = {
    "nuclei": "nucleus",
    "cellular": "cellular region",
    "epithelium": "epithelium",
    "stroma": "stroma",
}
"""The label each mask of a segmentation target carries."""
MIN_TISSUE_REGION_UM2 = 100.0
"""Smallest epithelium or stroma region kept, µm² (a few cells)."""


class SegmentInput(RegionInput):
    """What to segment and where; every coordinate in level-0 pixels."""

    what: Literal["nuclei", "cellular", "epithelium", "stroma"] = "nuclei"


class MaskOut(BaseModel):
    """One mask as a polygon in level-0 pixels."""

    polygon: list[list[float]] = Field(description="[[x, y], ...] in level-0 pixels")
    area_um2: float | None
    area_px: float = Field(description="area in level-0 pixels²")
    label: str


class SegmentOutput(BaseModel):
    """The masks of one region and their totals."""

    what: str
    count: int
    masks: list[MaskOut]
    total_area_um2: float | None
    area_fraction: float = Field(description="share of the analysed region covered, 0..1")
    tissue_fraction: float | None = Field(
        default=None,
        description="share of the analysed region that is tissue (not glass), 0..1; "
        "epithelium and stroma only",
    )
    tissue_share: float | None = Field(
        default=None,
        description="share of the region's tissue the masks cover, 0..1 (area_fraction over "
        "tissue_fraction, at most 1); epithelium and stroma only",
    )
    region_box: list[int] = Field(description="[x0, y0, x1, y1] analysed, level-0 pixels")
    roi_number: int | None
    region_index: int | None
    mpp: float | None
    notes: list[str]
    domains: list[DeclaredDomain] = Field(
        default_factory=list, description="what each contributing expert was trained on"
    )


class SegmentTool(Tool):
    """Segment nuclei, cellular regions, epithelium or stroma with the segmentation experts."""

    name = "segment"
    findings_terms = (
        r"\bsegment(?:ation|ed)?\b|\bepitheli\w*|\bstrom\w*|\bcompartments?\b|\bmasks?\b|"
        r"\bcellular\s+area\b"
    )
    description = (
        "Segment the nuclei, the cellular (haematoxylin-dense) regions, the epithelium or the "
        "stroma in a region of the open slide; returns outlines as polygons in level-0 pixels "
        "with their areas."
    )
    examples = (
        "segment the nuclei",
        "outline the nuclei in this region",
        "draw masks around the nuclei",
        "segment the epithelium",
        "delineate the stroma",
        "how much of this region is epithelium",
        "what proportion is stroma",
        "segment the cellular areas",
        "mask the hematoxylin dense regions",
        "outline the tumour epithelium versus stroma",
        "give me a nuclear segmentation mask",
        "what area do the nuclei cover",
        "segment the epithelial compartment",
        "highlight the cell-rich regions",
        "segment the stromal tissue in this box",
        "colour the stroma",
        "paint the nuclei",
        "mark the epithelium in a different colour",
        "nuclear masks",
    )
    Input = SegmentInput
    Output = SegmentOutput
    compare_metrics = (
        CompareMetric("count"),
        CompareMetric(
            "area_fraction", "covered area", "%", 1, "higher", "lower", " percentage points"
        ),
    )
    compare_fairly_by = "the covered share"
    claimable = {
        "count": "count",
        "total_area_um2": "µm²",
        "area_fraction": "fraction",
        "tissue_fraction": "fraction",
        "tissue_share": "fraction",
        "region_box.*": "px",
        "roi_number": "index",
        "region_index": "index",
        "mpp": "µm/px",
        "domains.*.mpp_min": "µm/px",
        "domains.*.mpp_max": "µm/px",
    }
    """Summary numbers only: no single mask's outline or area."""

    @classmethod
    def narrate(cls, out: Outcome) -> Section:
        """How many regions were outlined where, and the share (and area) they cover."""
        o, e = out.output, out.evidence_id
        w = Writer().text("The ").quote(out.expert or out.tool, e).text(" expert outlined ")
        w.num(o["count"], e, "count").text(" " + _NOUNS.get(o["what"], "region(s)"))
        w.text(" in ").extend(where(o, e)).text("; they cover ")
        w.num(100 * o["area_fraction"], e, "area_fraction", unit="%", decimals=1)
        w.text("% of it")
        if o.get("total_area_um2") is not None:
            w.text(" (").num(o["total_area_um2"], e, "total_area_um2", decimals=0).text(" µm²)")
        if o.get("tissue_share") is not None and (o.get("tissue_fraction") or 1.0) < ALL_TISSUE:
            # glass in the region: the share of the tissue is what "how much of the tissue" asks
            w.text("; tissue covers ")
            w.num(100 * o["tissue_fraction"], e, "tissue_fraction", unit="%", decimals=1)
            w.text("% of the region, so they are ")
            w.num(100 * o["tissue_share"], e, "tissue_share", unit="%", decimals=1)
            w.text("% of the tissue")
        w.text(".")
        return with_notes([("measure", w)], Writer().extend(w), o, e)

    @classmethod
    def object_noun(cls, output: dict[str, Any]) -> str:
        """What was outlined, in words ("epithelium regions")."""
        what = str(output.get("what"))
        return "nuclei" if what == "nuclei" else f"{what} regions"

    def __init__(self, pool: ExpertPool) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._sam: dict[str, SamSegmenter] = {}

    def _refine(
        self, expert: ExpertSpec, image: np.ndarray, labels: np.ndarray, notes: list[str]
    ) -> tuple[np.ndarray, list[Segment]]:
        """Prompt SAM with the box of every classical instance; its masks replace them."""
        boxes = [
            [c0, r0, c1, r1] for r0, c0, r1, c1 in (r.bbox for r in _skmeasure.regionprops(labels))
        ]
        masks = self._sam_for(expert).masks(image, boxes)
        notes.append(f"segment-anything refined the {len(boxes)} classical outline(s) box by box")
        refined = label_masks(masks)
        return refined, segments_from_labels(refined)

    def _tissue_compartment(
        self, expert: ExpertSpec, read: RegionRead, what: str, notes: list[str]
    ) -> tuple[np.ndarray, list[Segment]]:
        """Epithelium or stroma regions from lavlab-shell's model, at least 100 µm² each."""
        model = self._pool.cpu_model(expert)
        assert isinstance(model, ShellSegmenter)
        mpp = read.mpp
        if mpp is None:
            mpp = DEFAULT_MPP
            notes.append(f"the model's input scale assumes {DEFAULT_MPP} µm/px")
        result = model.segment(
            read.image, mpp=mpp, tile_px=expert.tile_px, tile_mpp=expert.tile_mpp
        )
        notes.extend(result.notes)
        run = f"lavlab-shell's model at {expert.tile_mpp:g} µm/px, {result.tiles} tile(s)"
        notes.append(
            f"the masks are epithelium as {run} predicts it"
            if what == "epithelium"
            else f"the masks are stroma: tissue that {run} calls neither epithelium nor lumen"
        )
        mask = result.epithelium if what == "epithelium" else result.stroma
        labels = label_regions(mask, MIN_TISSUE_REGION_UM2 / (mpp * mpp))
        return labels, segments_from_labels(labels)

    def _sam_for(self, expert: ExpertSpec) -> SamSegmenter:
        with self._lock:
            if expert.name not in self._sam:
                problem = cpu_problem(expert)
                if problem:
                    raise ToolServerError(problem)
                assert expert.sam_checkpoint is not None
                variant = expert.sam_encoder or expert.sam_variant or ""
                try:
                    self._sam[expert.name] = load_sam(variant, Path(expert.sam_checkpoint))
                except (OSError, ValueError, RuntimeError, KeyError) as exc:
                    msg = f"expert {expert.name}: cannot load SAM: {type(exc).__name__}: {exc}"
                    raise ToolServerError(msg[:300]) from None
            return self._sam[expert.name]

    def run(self, inp: BaseModel, ctx: ToolContext) -> ToolResult:
        """Read the region, segment, convert outlines to level-0 pixels."""
        assert isinstance(inp, SegmentInput)
        assert ctx.slide is not None
        expert = self._pool.router().select(
            "segment",
            "roi",
            limit=1,
            accept=lambda e: inp.what in segment_targets(e),
            purpose=inp.what,
        )[0]
        if expert.implementation not in (*CPU_SEGMENTERS, SAM_IMPLEMENTATION, SHELL_IMPLEMENTATION):
            msg = f"expert {expert.name}: no segmentation implementation {expert.implementation!r}"
            raise ToolServerError(msg)
        notes: list[str] = []
        region, read = read_analysis_region(inp, ctx, notes)
        if expert.implementation == SHELL_IMPLEMENTATION:
            labels, segments = self._tissue_compartment(expert, read, inp.what, notes)
        else:
            labels, segments = segment_image(read.image, inp.what, mpp=read.mpp)
        if expert.implementation == SAM_IMPLEMENTATION:
            labels, segments = self._refine(expert, read.image, labels, notes)
        out = _output(inp, segments, read.image.shape, region, read.mpp, notes)
        if inp.what in ("epithelium", "stroma"):
            out.tissue_fraction = tissue_fraction_of(read.image)
            if out.tissue_fraction > 0:
                out.tissue_share = round(min(1.0, out.area_fraction / out.tissue_fraction), 4)
        out.domains = declared_domains([expert])
        artifact = ctx.artifact_dir / f"{ctx.evidence_id}-segments.png"
        _overlay(read.image, labels).save(artifact, compress_level=3)
        summary = f"{out.count} {inp.what} mask(s), {100 * out.area_fraction:.1f}% of the region"
        return ToolResult(
            output=out,
            summary=summary,
            artifacts=[str(artifact)],
            expert=expert.name,
            backend=expert.backend,
        )


def _output(
    inp: SegmentInput,
    segments: list[Segment],
    shape: tuple[int, ...],
    region: Box,
    mpp: float | None,
    notes: list[str],
) -> SegmentOutput:
    height, width = shape[:2]
    sx, sy = region.width / width, region.height / height
    label = MASK_LABELS[inp.what]
    masks = [
        MaskOut(
            polygon=[
                [round(region.x0 + (x + 0.5) * sx, 1), round(region.y0 + (y + 0.5) * sy, 1)]
                for x, y in seg.polygon
            ],
            area_um2=None if mpp is None else round(seg.area_px * mpp * mpp, 2),
            area_px=round(seg.area_px * sx * sy, 1),
            label=label,
        )
        for seg in segments
    ]
    covered = sum(seg.area_px for seg in segments)
    if not masks:
        notes.append(f"no {inp.what} were found in this region")
    return SegmentOutput(
        what=inp.what,
        count=len(masks),
        masks=masks,
        total_area_um2=None if mpp is None else round(covered * mpp * mpp, 1),
        area_fraction=round(covered / (width * height), 4),
        region_box=region.as_list(),
        roi_number=inp.roi_number,
        region_index=inp.region_index,
        mpp=None if mpp is None else round(mpp, 4),
        notes=notes,
    )


def _overlay(image: np.ndarray, labels: np.ndarray) -> Image.Image:
    from skimage.segmentation import find_boundaries

    rgb = image.copy()
    rgb[find_boundaries(labels, mode="inner")] = (255, 200, 0)
    return Image.fromarray(rgb)
