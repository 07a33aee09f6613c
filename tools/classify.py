"""ClassifyTool: the tissue class of a region from the ROI-classification experts, combined."""

from __future__ import annotations

import logging
import time

from pydantic import BaseModel, Field

from core.errors import ModelOutputError, ToolError, ToolServerError, excerpt
from core.narration import Outcome, Section, StepKind, Writer
from tools.base import Tool, ToolContext, ToolResult
from tools.capricorn import LABELS, CapricornClassifier, region_tiles
from tools.cpu_experts import CAPRICORN_IMPLEMENTATION
from tools.expert_pool import ExpertPool
from tools.experts import DeclaredDomain, ExpertSpec, declared_domains
from tools.nuclei import DEFAULT_MPP
from tools.parsers import parse_choice
from tools.phrasing import experts_word, where
from tools.regions import RegionInput, read_analysis_region
from tools.router import Contribution, combine_labels
from tools.types import RegionRead

__all__ = [
    "TOP_FLOOR",
    "ClassProbability",
    "ClassifyInput",
    "ClassifyOutput",
    "ClassifyTool",
    "ExpertAnswer",
    "top_classes",
]

logger = logging.getLogger(__name__)

TOP_FLOOR = 0.10
"""Every class with at least this combined probability is reported, not only the top one."""
DEFAULT_PROMPT = "Classify the tissue in this image. Answer with exactly one of: {labels}."


class ClassifyInput(RegionInput):
    """Where to classify; every coordinate in level-0 pixels."""

    expert: str | None = Field(default=None, description="use only this expert")


class ExpertAnswer(BaseModel):
    """What one expert answered."""

    expert: str
    backend: str
    model: str | None
    label: str | None
    probabilities: dict[str, float] | None = Field(
        default=None, description="class probabilities of an in-process classifier"
    )
    answer: str = Field(description="the reply, cut to 200 characters")
    error: str | None
    seconds: float


class ClassProbability(BaseModel):
    """One class and its combined probability."""

    label: str
    p: float = Field(description="combined probability, 0..1")


class ClassifyOutput(BaseModel):
    """The combined class, its probabilities and who contributed."""

    label: str = Field(description="the top class")
    probabilities: dict[str, float]
    top: list[ClassProbability] = Field(
        default_factory=list,
        description="every class with probability >= top_floor, most probable first",
    )
    top_floor: float = Field(default=TOP_FLOOR, description="the probability floor of ``top``")
    contributions: list[Contribution]
    answers: list[ExpertAnswer]
    region_box: list[int] = Field(description="[x0, y0, x1, y1], level-0 pixels")
    roi_number: int | None
    region_index: int | None
    mpp: float | None = Field(description="µm per pixel of the image sent; None when unknown")
    notes: list[str]
    domains: list[DeclaredDomain] = Field(
        default_factory=list, description="what each contributing expert was trained on"
    )


class ClassifyTool(Tool):
    """Ask the ROI-classification experts for the tissue class of a region."""

    name = "classify"
    findings_terms = (
        r"\bclass(?:es|ified|ification)?\b|\blabel(?:led|ed|s)?\b|\btissue\s+types?\b|"
        r"\bkind\s+of\s+tissue\b|\bwhat\s+tissue\b"
        r"|\bconfiden\w*|\bprobabilit\w*|\bcertain\w*"
    )
    description = (
        "Classify the tissue in a region of the open slide (an earlier region, a tissue region "
        "or a box in level-0 pixels) with the ROI-classification experts; returns the class "
        "and its probabilities."
    )
    examples = (
        "classify this region",
        "what kind of tissue is this",
        "what tissue type is in this view",
        "which tissue is this",
        "is this tumour or stroma",
        "label the tissue in region 2",
        "what is this area made of",
        "classify the tissue at this spot",
        "tissue class of the current field",
        "is this normal mucosa or adenocarcinoma",
        "what does this region look like, classify it",
        "categorise the tissue here",
        "is this fat, muscle or debris",
        "classify the box",
        "what tissue is in it",
        "is it tumour",
    )
    Input = ClassifyInput
    Output = ClassifyOutput
    label_field = "label"
    claimable = {
        "probabilities.*": "probability",
        "top.*.p": "probability",
        "top_floor": "probability",
        "domains.*.mpp_min": "µm/px",
        "domains.*.mpp_max": "µm/px",
        "contributions.*.weight": "probability",
        "region_box.*": "px",
        "roi_number": "index",
        "region_index": "index",
        "mpp": "µm/px",
    }

    @classmethod
    def narrate(cls, out: Outcome) -> Section:
        """The class the expert(s) gave the region, its probability, experts that gave none."""
        o, e = out.output, out.evidence_id
        label = o["label"]
        w = Writer().text("The ").quote(out.expert or out.tool, e)
        w.text(f" {experts_word(out.expert)} classified ").extend(where(o, e))
        w.text(" as ").quote(label, e).text(" (probability ")
        w.num(o["probabilities"][label], e, f"probabilities.{label}", decimals=2).text(")")
        others = [(i, t) for i, t in enumerate(o.get("top", [])) if t["label"] != label]
        if others:
            w.text("; other classes at or above ")
            w.num(o["top_floor"], e, "top_floor", decimals=2).text(": ")
            for n, (i, t) in enumerate(others):
                w.text(", " if n else "").quote(t["label"], e).text(" (")
                w.num(t["p"], e, f"top.{i}.p", decimals=2).text(")")
        w.text(".")
        parts: list[tuple[StepKind, Writer]] = [("infer", w)]
        for a in o.get("answers", []):
            if a.get("error"):
                note = Writer().text("Expert ").quote(a["expert"], e).text(" gave no label: ")
                parts.append(("observe", note.quote(a["error"], e)))
        answer = Writer().extend(w)
        for said in o.get("notes", []):
            if "unreliable" in said:  # a region far smaller than the classifier's tile
                note = Writer().text("Note: ").quote(said, e).text(".")
                parts.append(("observe", note))
                answer.text(" ").extend(note)
        return Section(parts, answer)

    def __init__(self, pool: ExpertPool) -> None:
        self._pool = pool

    def run(self, inp: BaseModel, ctx: ToolContext) -> ToolResult:
        """Read the region once, ask every selected expert, combine the labels."""
        assert isinstance(inp, ClassifyInput)
        assert ctx.slide is not None
        experts = self._pool.router().select("roi_classify", "roi", prefer=inp.expert)
        notes: list[str] = []
        region, read = read_analysis_region(inp, ctx, notes)
        answers = [self._ask(e, read, notes) for e in experts]
        good = [(a, e) for a, e in zip(answers, experts, strict=True) if a.label]
        if not good:
            raise _first_error(answers)
        label, probs = combine_labels(
            [a.probabilities or a.label or "" for a, _ in good], [e.weight for _, e in good]
        )
        out = ClassifyOutput(
            label=label,
            probabilities=probs,
            contributions=self._pool.router().contributions([e for _, e in good]),
            answers=answers,
            region_box=region.as_list(),
            roi_number=inp.roi_number,
            region_index=inp.region_index,
            mpp=None if read.mpp is None else round(read.mpp, 4),
            notes=notes,
            top=top_classes(probs, label),
            domains=declared_domains([e for _, e in good]),
        )
        names = ", ".join(e.name for _, e in good)
        summary = f"{label} (p={probs[label]:.2f}) from {names}"
        lead = good[0][1]
        return ToolResult(output=out, summary=summary, expert=names, backend=lead.backend)

    def _ask(self, expert: ExpertSpec, read: RegionRead, notes: list[str]) -> ExpertAnswer:
        base = {"expert": expert.name, "backend": expert.backend, "model": expert.model}
        if expert.backend == "cpu":
            try:
                return self._classify_cpu(expert, read, notes)
            except ToolError as exc:
                return ExpertAnswer(**base, label=None, answer="", error=str(exc), seconds=0.0)
        prompt = (expert.prompt or DEFAULT_PROMPT).format(labels=", ".join(expert.labels))
        try:
            reply = self._pool.ask(expert, prompt, [read.image], max_tokens=64)
        except ToolError as exc:
            return ExpertAnswer(**base, label=None, answer="", error=str(exc), seconds=0.0)
        try:
            label = parse_choice(reply.text, expert.labels).label
            error = None
        except ModelOutputError as exc:
            label, error = None, f"expert {expert.name} answered unusably: {exc}"
        logger.info(
            "expert %s answered %s in %.2f s", expert.name, excerpt(reply.text), reply.seconds
        )
        return ExpertAnswer(
            **base, label=label, answer=reply.text[:200], error=error, seconds=reply.seconds
        )

    def _classify_cpu(self, expert: ExpertSpec, read: RegionRead, notes: list[str]) -> ExpertAnswer:
        """Mean softmax of the region's tissue tiles, restricted to the expert's labels."""
        if expert.implementation != CAPRICORN_IMPLEMENTATION:
            msg = f"expert {expert.name}: no CPU classifier {expert.implementation!r}"
            raise ToolServerError(msg)
        started = time.perf_counter()
        model = self._pool.cpu_model(expert)
        assert isinstance(model, CapricornClassifier)
        mpp = read.mpp
        if mpp is None:
            mpp = DEFAULT_MPP
            notes.append(f"{expert.name} assumes {DEFAULT_MPP} µm/px")
        tiles, tile_notes = region_tiles(
            read.image,
            mpp=mpp,
            tile_px=expert.tile_px,
            tile_mpp=expert.tile_mpp,
            max_tiles=expert.max_tiles,
        )
        notes.extend(f"{expert.name}: {n}" for n in tile_notes)
        mean = model.predict(tiles).mean(axis=0)
        everything = dict(zip(LABELS, map(float, mean), strict=True))
        labels = expert.labels or list(LABELS)
        kept = sum(everything[k] for k in labels) or 1.0
        probs = {k: round(everything[k] / kept, 6) for k in labels}
        label = max(labels, key=lambda k: probs[k])
        top = sorted(everything.items(), key=lambda kv: -kv[1])[:3]
        answer = ", ".join(f"{k} {v:.3f}" for k, v in top)
        if kept < 0.999:
            answer += f"; {1 - kept:.3f} of the 24-class softmax fell outside its labels"
        return ExpertAnswer(
            expert=expert.name,
            backend=expert.backend,
            model=expert.model,
            label=label,
            probabilities=probs,
            answer=answer[:200],
            error=None,
            seconds=round(time.perf_counter() - started, 3),
        )


def top_classes(
    probs: dict[str, float], label: str, floor: float = TOP_FLOOR
) -> list[ClassProbability]:
    """``label`` first, then every other class at or above ``floor``, most probable first."""
    ranked = sorted(probs.items(), key=lambda kv: (kv[0] != label, -kv[1]))
    return [ClassProbability(label=k, p=v) for k, v in ranked if k == label or v >= floor]


def _first_error(answers: list[ExpertAnswer]) -> ToolError:
    """The error to raise when no expert gave a label: a server fault wins over bad output."""
    server = [a.error for a in answers if a.error and "answered unusably" not in a.error]
    if server:
        return ToolServerError(server[0])
    return ModelOutputError(answers[0].error or "no expert gave a label")
