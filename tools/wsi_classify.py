"""WsiClassifyTool: slide-level class from tissue tiles, an encoder and an attention-MIL head."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PIL import Image
from pydantic import BaseModel, Field

from core.errors import ToolInputError, ToolServerError
from core.narration import Outcome, Section, StepKind, Writer
from tools.base import Tool, ToolContext, ToolResult
from tools.cpu_experts import MIL_IMPLEMENTATION, cpu_problem
from tools.expert_pool import ExpertPool
from tools.experts import DeclaredDomain, ExpertSpec, declared_domains
from tools.mil import MilModel, load_mil
from tools.phrasing import decimals_for, experts_word, with_notes
from tools.router import Contribution, combine_labels
from tools.tile_reader import TileReader
from tools.tiling import Tile, tile_grid

__all__ = ["AttendedTile", "WsiClassifyInput", "WsiClassifyOutput", "WsiClassifyTool"]


class WsiClassifyInput(BaseModel):
    """No region: the whole slide's tissue is tiled."""

    expert: str | None = Field(default=None, description="use only this expert")


class AttendedTile(BaseModel):
    """A tile and the attention the head gave it."""

    box: list[int] = Field(description="[x0, y0, x1, y1] in level-0 pixels")
    attention: float


class WsiClassifyOutput(BaseModel):
    """The slide's class, its probabilities, and where the model looked."""

    label: str
    probabilities: dict[str, float]
    contributions: list[Contribution]
    tiles_used: int
    tiles_total: int
    tile_px: int
    tile_mpp: float | None = Field(description="µm/px of the tiles; None without slide mpp")
    top_tiles: list[AttendedTile]
    notes: list[str]
    domains: list[DeclaredDomain] = Field(
        default_factory=list, description="what each contributing expert was trained on"
    )


class WsiClassifyTool(Tool):
    """Classify the whole slide with the configured attention-MIL experts."""

    name = "wsi_classify"
    findings_terms = (
        r"\b(?:whole|entire)\s+slide\b|\bslide(?:-level)?\s+(?:class|label|diagnosis|"
        r"call)\b|\bdiagnos[ie]s\b"
        r"|\bconfiden\w*|\bprobabilit\w*"
    )
    description = (
        "Classify the whole slide: tissue tiles are encoded and pooled by an attention-MIL "
        "head; returns the class, its probabilities and an attention heatmap."
    )
    examples = (
        "classify the whole slide",
        "what is the diagnosis of this slide",
        "slide-level classification",
        "what does the whole slide show overall",
        "give me a diagnosis for the entire slide",
        "classify the WSI",
        "what class is this slide",
        "run the whole slide classifier",
        "is this slide benign or malignant overall",
        "predict the slide label",
        "what cancer type is this slide",
        "where did the slide classifier look, attention heatmap",
    )
    Input = WsiClassifyInput
    Output = WsiClassifyOutput
    label_field = "label"
    claimable = {
        "probabilities.*": "probability",
        "contributions.*.weight": "probability",
        "tiles_used": "count",
        "tiles_total": "count",
        "tile_px": "px",
        "tile_mpp": "µm/px",
        "top_tiles.0.box.*": "px",
        "top_tiles.0.attention": "probability",
        "domains.*.mpp_min": "µm/px",
        "domains.*.mpp_max": "µm/px",
    }
    """The most attended tile is claimable; the other tiles' boxes and attention are not."""

    @classmethod
    def narrate(cls, out: Outcome) -> Section:
        """The slide's class and its probability, the tiles used, the most attended tile."""
        o, e = out.output, out.evidence_id
        label = o["label"]
        w = Writer().text("The ").quote(out.expert or out.tool, e)
        w.text(f" {experts_word(out.expert)} classified the slide as ").quote(label, e)
        w.text(" (probability ")
        w.num(o["probabilities"][label], e, f"probabilities.{label}", decimals=2).text(") from ")
        w.num(o["tiles_used"], e, "tiles_used").text(" tissue tiles")
        if o.get("tile_mpp") is not None:
            mpp = o["tile_mpp"]
            w.text(" at ").num(mpp, e, "tile_mpp", decimals=decimals_for(mpp)).text(" µm/px")
        w.text(".")
        parts: list[tuple[StepKind, Writer]] = [("infer", w)]
        if o.get("top_tiles"):
            top = Writer().text("The tile it attended to most spans ")
            top.box(o["top_tiles"][0]["box"], e, "top_tiles.0.box").text(" in level-0 pixels.")
            parts.append(("observe", top))
        return with_notes(parts, Writer().extend(w), o, e, in_answer=False)

    def __init__(self, pool: ExpertPool) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._models: dict[str, MilModel] = {}

    def run(self, inp: BaseModel, ctx: ToolContext) -> ToolResult:
        """Tile the tissue, run every selected expert, combine, draw the heatmap."""
        assert isinstance(inp, WsiClassifyInput)
        assert ctx.slide is not None
        experts = self._pool.router().select("wsi_classify", "wsi", prefer=inp.expert)
        lead = experts[0]
        notes: list[str] = []
        tiles, total = self._tiles(lead, ctx, notes)
        pixels: list[np.ndarray] = []
        every = max(1, len(tiles) // 10)
        with TileReader(
            ctx.slide.path, workers=ctx.settings.tile_workers, budget=ctx.slide.budget
        ) as reader:
            for n, (_, rgb) in enumerate(reader.read(tiles), 1):
                pixels.append(_fit(rgb, lead.tile_px))
                if n % every == 0 or n == len(tiles):
                    ctx.progress(f"read {n}/{len(tiles)} tissue tiles")
        ctx.progress(f"encoding {len(pixels)} tiles with {', '.join(e.name for e in experts)}")
        results = [self._model(e).predict(pixels) for e in experts]
        per_expert = [
            dict(zip(self._model(e).labels, map(float, p), strict=True))
            for e, (p, _) in zip(experts, results, strict=True)
        ]
        label, probs = combine_labels(per_expert, [e.weight for e in experts])
        attention = np.mean([a for _, a in results], axis=0)
        order = np.argsort(-attention)[:5]
        out = WsiClassifyOutput(
            label=label,
            probabilities={k: round(v, 4) for k, v in probs.items()},
            contributions=self._pool.router().contributions(experts),
            tiles_used=len(tiles),
            tiles_total=total,
            tile_px=lead.tile_px,
            tile_mpp=tiles[0].mpp and round(tiles[0].mpp, 4),
            top_tiles=[
                AttendedTile(box=tiles[i].box.as_list(), attention=round(float(attention[i]), 4))
                for i in order
            ],
            notes=notes,
            domains=declared_domains(experts),
        )
        artifact = ctx.artifact_dir / f"{ctx.evidence_id}-attention.png"
        _heatmap(ctx, tiles, attention).save(artifact, compress_level=3)
        names = ", ".join(e.name for e in experts)
        return ToolResult(
            output=out,
            summary=f"{label} (p={probs[label]:.2f}) from {names}",
            artifacts=[str(artifact)],
            expert=names,
            backend=lead.backend,
        )

    def _tiles(self, e: ExpertSpec, ctx: ToolContext, notes: list[str]) -> tuple[list[Tile], int]:
        assert ctx.slide is not None
        meta = ctx.slide.metadata
        tissue = ctx.slides.tissue(ctx.slide, ctx.settings.thumbnail_px)
        if meta.mpp_x:
            tiles = tile_grid(meta, tissue, tile_px=e.tile_px, mpp=max(e.tile_mpp, meta.mpp_x))
        else:
            notes.append("the slide records no µm/px: tiles are read at level 0")
            tiles = tile_grid(meta, tissue, tile_px=e.tile_px, level=0)
        if not tiles:
            msg = "no tissue tile was found on this slide, so it cannot be classified"
            raise ToolInputError(msg)
        total = len(tiles)
        if total > e.max_tiles:
            keep = np.linspace(0, total - 1, e.max_tiles).round().astype(int)
            tiles = [tiles[i] for i in keep]
            notes.append(f"{e.max_tiles} of {total} tissue tiles were used, evenly spread")
        return tiles, total

    def _model(self, e: ExpertSpec) -> MilModel:
        with self._lock:
            if e.name not in self._models:
                problem = cpu_problem(e)
                if problem or e.implementation != MIL_IMPLEMENTATION:
                    raise ToolServerError(problem or f"expert {e.name} is not an MIL classifier")
                assert e.encoder
                assert e.encoder_checkpoint
                assert e.head_checkpoint
                try:
                    self._models[e.name] = load_mil(
                        e.encoder, Path(e.encoder_checkpoint), Path(e.head_checkpoint)
                    )
                except (OSError, ValueError, RuntimeError) as exc:
                    msg = f"expert {e.name}: cannot load its checkpoints: {exc}"
                    raise ToolServerError(msg) from None
            return self._models[e.name]


def _fit(rgb: np.ndarray, side: int) -> np.ndarray:
    if rgb.shape[0] == side and rgb.shape[1] == side:
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((side, side), Image.Resampling.BILINEAR))


def _heatmap(ctx: ToolContext, tiles: list[Tile], attention: np.ndarray) -> Image.Image:
    """Thumbnail with each tile tinted red by the percentile rank of its attention."""
    assert ctx.slide is not None
    thumb, downsample = ctx.slide.thumbnail(ctx.settings.thumbnail_px)
    heat = np.zeros(thumb.shape[:2], dtype=float)
    ranks = np.argsort(np.argsort(attention)) / max(len(attention) - 1, 1)
    for tile, rank in zip(tiles, ranks, strict=True):
        b = tile.box
        rows = slice(int(b.y0 / downsample), int(np.ceil(b.y1 / downsample)))
        cols = slice(int(b.x0 / downsample), int(np.ceil(b.x1 / downsample)))
        heat[rows, cols] = rank
    tint = np.zeros_like(thumb, dtype=float)
    tint[..., 0] = 255
    alpha = 0.6 * heat[..., None]
    return Image.fromarray((thumb * (1 - alpha) + tint * alpha).astype(np.uint8))
