"""DetectTool: nuclei in a region with per-nucleus measurements, in level-0 pixels and µm²."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, Field

from core.errors import ModelOutputError, ToolError, ToolInputError, ToolServerError
from core.narration import CompareMetric, Outcome, Section, StepKind, Writer
from tools.base import Tool, ToolContext, ToolResult
from tools.cpu_experts import CPU_DETECTORS
from tools.expert_pool import ExpertPool
from tools.experts import DeclaredDomain, ExpertSpec, declared_domains
from tools.geometry import model_box_to_level0
from tools.nuclei import NucleiResult
from tools.phrasing import decimals_for, experts_word, where, with_notes
from tools.regions import RegionInput, read_analysis_region
from tools.router import Contribution, Router, ScoredBox, combine_boxes
from tools.served_detect import served_boxes
from tools.tissue import ALL_TISSUE, tissue_fraction_of
from tools.types import Box, RegionRead

__all__ = ["NMS_IOU", "DetectInput", "DetectOutput", "DetectTool", "DetectedObject"]

NMS_IOU = 0.5
"""Boxes of one label from several experts overlapping at this IoU or more are one object."""


COARSEST_MPP = 4.0
"""The coarsest scale nuclei are counted at: a 5-10 µm nucleus is 1-2.5 px at 4 µm/px."""


class DetectInput(RegionInput):
    """Where to detect; every coordinate in level-0 pixels."""

    object: Literal["nuclei"] = "nuclei"
    size_variation: bool = Field(
        default=False,
        description="report how much the nuclear areas vary (asked: 'how variable are they?')",
    )
    density: bool = Field(
        default=False,
        description="the density was asked for ('per mm² of tissue'): the answer leads with it",
    )


class DetectedObject(BaseModel):
    """One detected object; positions in level-0 pixels."""

    box: list[int] = Field(description="[x0, y0, x1, y1] in level-0 pixels")
    centroid: list[float] = Field(description="[x, y] in level-0 pixels")
    area_um2: float | None = Field(description="area in µm²; None without µm/px or outline")
    area_px: float | None = Field(description="area in level-0 pixels²; None for box-only")
    label: str
    score: float | None = Field(description="the expert's confidence; None when it gives none")
    eccentricity: float | None
    hematoxylin: float | None = Field(description="mean haematoxylin optical density")
    expert: str | None = Field(
        default=None, description="the expert that found it, when several were combined"
    )


class DetectOutput(BaseModel):
    """Detections in one region and their summary statistics."""

    object: str
    count: int
    objects: list[DetectedObject]
    region_box: list[int] = Field(description="[x0, y0, x1, y1] analysed, level-0 pixels")
    roi_number: int | None
    region_index: int | None
    downsample: float = Field(description="level-0 pixels per analysed pixel")
    mpp: float | None = Field(description="µm per analysed pixel; None when unknown")
    mean_area_um2: float | None
    median_area_um2: float | None
    mean_area_px: float | None = Field(description="mean area in level-0 pixels²")
    median_area_px: float | None = Field(description="median area in level-0 pixels²")
    density_per_mm2: float | None = Field(description="nuclei per mm² of the region (glass too)")
    tissue_fraction: float | None = Field(
        default=None, description="share of the region that is tissue (not glass), 0..1"
    )
    density_per_tissue_mm2: float | None = Field(
        default=None, description="nuclei per mm² of the region's tissue; None without µm/px"
    )
    per_tissue_10k_px: float | None = Field(
        default=None,
        description="nuclei per 10,000 level-0 pixels² of the region's tissue (without µm/px too)",
    )
    mean_eccentricity: float | None
    area_cv: float | None = Field(
        default=None,
        description="coefficient of variation of the nuclear areas (standard deviation / mean)",
    )
    size_variation: bool = Field(default=False, description="the spread of areas was asked for")
    density_asked: bool = Field(default=False, description="the density was asked for")
    contributions: list[Contribution] = Field(
        default_factory=list, description="the experts whose boxes were combined, and weights"
    )
    notes: list[str]
    domains: list[DeclaredDomain] = Field(
        default_factory=list, description="what each contributing expert was trained on"
    )


class DetectTool(Tool):
    """Detect nuclei with every available detection expert; several are combined.

    Several experts' boxes are combined by union, then greedy non-maximum suppression within
    each label (ranked by expert weight × score; a box without a score counts 1).
    """

    name = "detect"
    findings_terms = r"\bnucle(?:us|i|ar)\b|\bcounts?\b|\bcells?\b|\bdensity\b"
    description = (
        "Detect the nuclei in a region of the open slide (an earlier region, a tissue region, "
        "a box in level-0 pixels, or the whole image) and measure each one: count, area, shape."
    )
    examples = (
        "count the nuclei",
        "how many nuclei are in this region",
        "detect the cells here",
        "enumerate the nuclei in this view",
        "find all nuclei and measure their area",
        "how many cells are there",
        "nuclear count in region 1",
        "what is the mean nuclear area",
        "cell density of this field",
        "detect nuclei in the largest tissue region",
        "identify the nuclei and their sizes",
        "give me nuclear morphometry",
        "how cellular is this area, count the nuclei",
        "locate every nucleus",
        "number of cells in the box",
        "count them",
        "nuclear density per mm²",
        "tally the tumour nuclei",
    )
    Input = DetectInput
    Output = DetectOutput
    compare_metrics = (
        CompareMetric("count"),
        CompareMetric("density_per_mm2", "density", None, 0, "higher", "lower", " per mm²"),
        CompareMetric(
            "density_per_tissue_mm2",
            "density of the tissue",
            None,
            0,
            "higher",
            "lower",
            " per mm²",
        ),
        CompareMetric("mean_area_um2", "mean nuclear area", None, 1, "larger", "smaller", " µm²"),
    )
    compare_fairly_by = "the density"
    claimable = {
        "count": "count",
        "region_box.*": "px",
        "roi_number": "index",
        "region_index": "index",
        "downsample": "ratio",
        "mpp": "µm/px",
        "mean_area_um2": "µm²",
        "median_area_um2": "µm²",
        "mean_area_px": "px²",
        "median_area_px": "px²",
        "density_per_mm2": "per mm²",
        "tissue_fraction": "fraction",
        "density_per_tissue_mm2": "per mm²",
        "per_tissue_10k_px": "quantity",
        "mean_eccentricity": "quantity",
        "area_cv": "ratio",
        "domains.*.mpp_min": "µm/px",
        "domains.*.mpp_max": "µm/px",
    }
    """Summary numbers only: no single object's box, centroid or area."""

    def __init__(self, pool: ExpertPool) -> None:
        self._pool = pool

    @classmethod
    def narrate(cls, out: Outcome) -> Section:
        """The count where it was found, the analysis scale, and the nuclear sizes."""
        o, e = out.output, out.evidence_id
        here = where(o, e)
        found = Writer().text("The ").quote(out.expert or out.tool, e)
        found.text(f" {experts_word(out.expert)} found ")
        found.num(o["count"], e, "count").text(f" {o['object']} in ").extend(here)
        found.text(" (box ").box(o["region_box"], e, "region_box").text(" in level-0 pixels")
        if o.get("mpp") is not None:
            found.text(", analysed at ").num(o["mpp"], e, "mpp", decimals=decimals_for(o["mpp"]))
            found.text(" µm/px).")
        else:
            found.absent(", at native resolution with unknown µm/px).", e, "mpp")
        parts: list[tuple[StepKind, Writer]] = [("measure", found)]
        short = Writer().num(o["count"], e, "count").text(f" {o['object']} detected in ")
        short.extend(here)
        sizes = _sizes(o, e, "The mean nuclear area is ")
        lead = _density_lead(o, e) if o.get("density_asked") else None
        if lead is not None:  # "what is the density per mm² of tissue?": that number first
            short = lead
        if sizes is not None:
            parts.append(("measure", sizes))
            if lead is None:
                short.text("; ").extend(_sizes(o, e, "mean nuclear area ") or Writer())
        elif lead is None:
            short.text(".")
        if o.get("size_variation") and o.get("area_cv") is not None:
            spread = Writer().text("The nuclear areas vary with a coefficient of variation of ")
            spread.num(o["area_cv"], e, "area_cv", decimals=2)
            spread.text(
                " (standard deviation over mean): size variation only; pleomorphism also "
                "involves shape and chromatin, which no tool here grades."
            )
            parts.append(("measure", spread))
            short.text(" ").extend(spread)
        return with_notes(parts, short, o, e)

    def run(self, inp: BaseModel, ctx: ToolContext) -> ToolResult:
        """Read the region at the analysis scale, detect, convert to level-0 pixels."""
        assert isinstance(inp, DetectInput)
        assert ctx.slide is not None
        notes: list[str] = []
        region, read = read_analysis_region(inp, ctx, notes)
        if read.mpp is not None and read.mpp > COARSEST_MPP:
            msg = (
                f"nuclei cannot be counted at {read.mpp:g} µm/px: a nucleus (about 5-10 µm) is "
                f"{5 / read.mpp:.1f}-{10 / read.mpp:.1f} px across at this scale; counting needs "
                f"{COARSEST_MPP:g} µm/px or finer (a scan at 20x or 40x)"
            )
            raise ToolInputError(msg)
        if read.all_transparent:
            notes.append("the region holds no scanned pixels (OpenSlide returned it transparent)")
        experts = self._pool.router().select("detect", "roi")
        found: list[tuple[ExpertSpec, list[DetectedObject], Image.Image]] = []
        failed: list[tuple[ExpertSpec, ToolError]] = []
        for expert in experts:
            try:
                found.append((expert, *self._detect(expert, region, read, notes)))
            except (ToolServerError, ModelOutputError) as exc:
                if len(experts) == 1:
                    raise
                failed.append((expert, exc))
        if not found:
            server = [exc for _, exc in failed if isinstance(exc, ToolServerError)]
            raise (server or [exc for _, exc in failed])[0]
        notes.extend(f"expert {e.name} gave no boxes: {exc}" for e, exc in failed)
        used = [expert for expert, _, _ in found]
        if len(found) == 1:
            objects, overlay = found[0][1], found[0][2]
        else:
            objects = _combine(found, notes)
            boxes = [Box(x0=o.box[0], y0=o.box[1], x1=o.box[2], y1=o.box[3]) for o in objects]
            overlay = _box_overlay(read.image, region, boxes)
        if not objects:
            notes.append("no nuclei were found in this region (it may be background)")
        out = _output(inp, objects, region, read.downsample, read.mpp, notes)
        _per_tissue(out, tissue_fraction_of(read.image), region, read)
        if len(used) > 1:
            out.contributions = Router.contributions(used)
        out.domains = declared_domains(used)
        artifact = ctx.artifact_dir / f"{ctx.evidence_id}-nuclei.png"
        overlay.save(artifact, compress_level=3)
        area = f", mean area {out.mean_area_um2:.1f} µm²" if out.mean_area_um2 else ""
        names = ", ".join(e.name for e in used)
        summary = f"{out.count} nuclei in box {out.region_box}{area} from {names}"
        return ToolResult(
            output=out,
            summary=summary,
            artifacts=[str(artifact)],
            expert=names,
            backend=used[0].backend,
        )

    def _detect(
        self, expert: ExpertSpec, region: Box, read: RegionRead, notes: list[str]
    ) -> tuple[list[DetectedObject], Image.Image]:
        """One expert's objects in level-0 pixels, and its overlay on the image read."""
        if expert.backend == "cpu":
            return _cpu(expert, read.image, region, read.downsample, read.mpp, notes)
        return _served(expert, self._pool, read.image, region, notes)


def _cpu(
    expert: ExpertSpec,
    image: np.ndarray,
    region: Box,
    downsample: float,
    mpp: float | None,
    notes: list[str],
) -> tuple[list[DetectedObject], Image.Image]:
    detector = CPU_DETECTORS.get(expert.implementation or "")
    if detector is None:
        msg = f"expert {expert.name}: no CPU implementation {expert.implementation!r}"
        raise ToolServerError(msg)
    result = detector(image, mpp=mpp)
    if getattr(result, "mpp_estimated", False):
        notes.append(
            f"the nuclei's size filter used about {result.mpp_used:.2g} µm/px, estimated from "
            "the nuclei themselves (good to a factor of ~1.5); areas stay in pixels"
        )
    return _objects(result, image.shape, region, downsample, mpp), _overlay(image, result)


def _served(
    expert: ExpertSpec, pool: ExpertPool, image: np.ndarray, region: Box, notes: list[str]
) -> tuple[list[DetectedObject], Image.Image]:
    boxes, more = served_boxes(expert, pool, image, region)
    notes.extend(more)
    objects = [
        DetectedObject(
            box=b.as_list(),
            centroid=[round(c, 1) for c in b.center],
            area_um2=None,
            area_px=None,
            label=label,
            score=None,
            eccentricity=None,
            hematoxylin=None,
        )
        for b, label in boxes
    ]
    return objects, _box_overlay(image, region, [b for b, _ in boxes])


def _combine(
    found: list[tuple[ExpertSpec, list[DetectedObject], Image.Image]], notes: list[str]
) -> list[DetectedObject]:
    """Union of the experts' objects, then NMS within each label; each kept one names its expert."""
    candidates: list[tuple[ScoredBox, DetectedObject]] = []
    for expert, objects, _ in found:
        for obj in objects:
            x0, y0, x1, y1 = (float(v) for v in obj.box)
            score = 1.0 if obj.score is None else obj.score
            candidates.append((ScoredBox((x0, y0, x1, y1), score, obj.label, expert.name), obj))
    weights = {expert.name: expert.weight for expert, _, _ in found}
    kept = {id(b) for b in combine_boxes([b for b, _ in candidates], weights, iou=NMS_IOU)}
    objects = [
        obj.model_copy(update={"expert": b.expert}) for b, obj in candidates if id(b) in kept
    ]
    names = ", ".join(expert.name for expert, _, _ in found)
    notes.append(
        f"{len(candidates)} objects from the experts {names} were combined by union and "
        f"non-maximum suppression (same label, IoU at least {NMS_IOU}; ranked by expert weight "
        f"times score): {len(objects)} kept"
    )
    return objects


def _objects(
    result: NucleiResult,
    shape: tuple[int, ...],
    region: Box,
    downsample: float,
    mpp: float | None,
) -> list[DetectedObject]:
    height, width = shape[:2]
    sx, sy = region.width / width, region.height / height
    objects = []
    for n in result.nuclei:
        box = model_box_to_level0(n.box, model_size=(width, height), region=region)
        objects.append(
            DetectedObject(
                box=box.as_list(),
                centroid=[
                    round(region.x0 + n.centroid[0] * sx, 1),
                    round(region.y0 + n.centroid[1] * sy, 1),
                ],
                area_um2=None if mpp is None else round(n.area_px * mpp * mpp, 2),
                area_px=round(n.area_px * downsample * downsample, 1),
                label="nucleus",
                score=round(n.score, 4),
                eccentricity=round(n.eccentricity, 4),
                hematoxylin=round(n.hematoxylin, 4),
            )
        )
    return objects


def _output(
    inp: DetectInput,
    objects: list[DetectedObject],
    region: Box,
    downsample: float,
    mpp: float | None,
    notes: list[str],
) -> DetectOutput:
    px = np.array([o.area_px for o in objects if o.area_px is not None], dtype=float)
    um2 = np.array([o.area_um2 for o in objects if o.area_um2 is not None], dtype=float)
    region_mm2 = (
        None if mpp is None else region.width * region.height * (mpp / downsample) ** 2 / 1e6
    )
    return DetectOutput(
        object=inp.object,
        count=len(objects),
        objects=objects,
        region_box=region.as_list(),
        roi_number=inp.roi_number,
        region_index=inp.region_index,
        downsample=round(downsample, 4),
        mpp=None if mpp is None else round(mpp, 4),
        mean_area_um2=_stat(np.mean, um2),
        median_area_um2=_stat(np.median, um2),
        mean_area_px=_stat(np.mean, px),
        median_area_px=_stat(np.median, px),
        density_per_mm2=None if not region_mm2 else round(len(objects) / region_mm2, 1),
        mean_eccentricity=_stat(
            np.mean, np.array([o.eccentricity for o in objects if o.eccentricity is not None])
        ),
        area_cv=_cv(px),
        size_variation=inp.size_variation,
        density_asked=inp.density,
        notes=notes,
    )


def _per_tissue(out: DetectOutput, fraction: float, region: Box, read: RegionRead) -> None:
    """The count over the region's tissue (glass left out): per mm², and per 10,000 px²."""
    out.tissue_fraction = fraction
    tissue_px = fraction * region.width * region.height  # level-0 pixels²
    if tissue_px < 1:
        return
    out.per_tissue_10k_px = round(out.count / tissue_px * 1e4, 3)
    if read.mpp is not None:
        mpp0 = read.mpp / read.downsample  # µm per level-0 pixel
        out.density_per_tissue_mm2 = round(out.count / (tissue_px * mpp0 * mpp0 / 1e6), 1)


def _cv(values: np.ndarray) -> float | None:
    """Standard deviation over mean (None for fewer than two values or a zero mean)."""
    if values.size < 2 or float(np.mean(values)) <= 0:
        return None
    return round(float(np.std(values) / np.mean(values)), 3)


def _stat(fn: object, values: np.ndarray) -> float | None:
    return None if values.size == 0 else round(float(fn(values)), 2)  # type: ignore[operator]


def _overlay(image: np.ndarray, result: NucleiResult) -> Image.Image:
    from skimage.segmentation import find_boundaries

    rgb = image.copy()
    rgb[find_boundaries(result.labels, mode="inner")] = (0, 200, 0)
    return Image.fromarray(rgb)


def _box_overlay(image: np.ndarray, region: Box, boxes: list[Box]) -> Image.Image:
    from PIL import ImageDraw

    picture = Image.fromarray(image)
    draw = ImageDraw.Draw(picture)
    sx, sy = image.shape[1] / region.width, image.shape[0] / region.height
    for b in boxes:
        draw.rectangle(
            [
                (b.x0 - region.x0) * sx,
                (b.y0 - region.y0) * sy,
                (b.x1 - region.x0) * sx,
                (b.y1 - region.y0) * sy,
            ],
            outline=(0, 200, 0),
        )
    return picture


def _sizes(o: dict[str, Any], e: str, lead: str) -> Writer | None:
    """Mean and median areas (µm² when known, else level-0 px²) and density."""
    if o.get("mean_area_um2") is not None:
        w = Writer().text(lead).num(o["mean_area_um2"], e, "mean_area_um2", decimals=1)
        w.text(" µm² (median ").num(o["median_area_um2"], e, "median_area_um2", decimals=1)
        w.text(" µm²)")
        if o.get("density_per_mm2") is not None:
            w.text(", ").num(o["density_per_mm2"], e, "density_per_mm2", decimals=0)
            w.text(" nuclei per mm²")
            if _glass(o) and o.get("density_per_tissue_mm2") is not None:
                w.text(" of the region; tissue covers ")
                w.num(100 * o["tissue_fraction"], e, "tissue_fraction", unit="%", decimals=1)
                w.text("% of it, so ")
                w.num(o["density_per_tissue_mm2"], e, "density_per_tissue_mm2", decimals=0)
                w.text(" per mm² of tissue")
        return w.text(".")
    if o.get("mean_area_px") is not None:
        w = Writer().text(lead).num(o["mean_area_px"], e, "mean_area_px", decimals=0)
        w.text(" pixels² (median ").num(o["median_area_px"], e, "median_area_px", decimals=0)
        w.text(" pixels²; no µm/px is recorded, so no physical size)")
        if o.get("per_tissue_10k_px") is not None:
            w.text("; ").num(o["per_tissue_10k_px"], e, "per_tissue_10k_px", decimals=2)
            w.text(" nuclei per ten thousand pixels² of tissue")
            if _glass(o):
                w.text(" (tissue covers ")
                w.num(100 * o["tissue_fraction"], e, "tissue_fraction", unit="%", decimals=1)
                w.text("% of the region)")
        return w.text(".")
    return None


def _density_lead(o: dict[str, Any], e: str) -> Writer | None:
    """The density asked for, per mm² of tissue where glass is left out; None without one.

    "3114 nuclei per mm² of tissue in region #1 (686 nuclei; tissue covers 53.8% of the region,
    1674 per mm² of the whole region)."
    """
    count = Writer().num(o["count"], e, "count").text(f" {o['object']}")
    tissue = o.get("density_per_tissue_mm2")
    if _glass(o) and tissue is not None and o.get("density_per_mm2") is not None:
        w = Writer().num(tissue, e, "density_per_tissue_mm2", decimals=0)
        w.text(" nuclei per mm² of tissue in ").extend(where(o, e)).text(" (").extend(count)
        w.text("; tissue covers ")
        w.num(100 * o["tissue_fraction"], e, "tissue_fraction", unit="%", decimals=1)
        w.text("% of the region, ").num(o["density_per_mm2"], e, "density_per_mm2", decimals=0)
        return w.text(" per mm² of the whole region).")
    if o.get("density_per_mm2") is not None:
        w = Writer().num(o["density_per_mm2"], e, "density_per_mm2", decimals=0)
        w.text(" nuclei per mm² in ").extend(where(o, e)).text(" (").extend(count)
        return w.text(").")
    if o.get("per_tissue_10k_px") is not None:
        w = Writer().num(o["per_tissue_10k_px"], e, "per_tissue_10k_px", decimals=2)
        w.text(" nuclei per ten thousand pixels² of tissue in ").extend(where(o, e))
        w.text(" (").extend(count)
        return w.text("; no µm/px is recorded, so no density per mm²).")
    return None


def _glass(o: dict[str, Any]) -> bool:
    """The region holds glass enough that per region and per tissue differ (over 5%)."""
    fraction = o.get("tissue_fraction")
    return fraction is not None and fraction < ALL_TISSUE
