"""ClassifyTool: the tissue class of a region from the ROI-classification experts, combined."""

from __future__ import annotations

import logging

import numpy as np
from pydantic import BaseModel, Field

from agent.errors import ToolError, ToolServerError
from tools.base import Tool, ToolContext, ToolResult
from tools.expert_pool import ExpertPool
from tools.experts import ExpertSpec
from tools.parsers import ModelOutputError, excerpt, parse_choice
from tools.regions import RegionInput, read_analysis_region
from tools.router import Contribution, combine_labels

__all__ = ["ClassifyInput", "ClassifyOutput", "ClassifyTool", "ExpertAnswer"]

logger = logging.getLogger(__name__)

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
    answer: str = Field(description="the reply, cut to 200 characters")
    error: str | None
    seconds: float


class ClassifyOutput(BaseModel):
    """The combined class, its probabilities and who contributed."""

    label: str
    probabilities: dict[str, float]
    contributions: list[Contribution]
    answers: list[ExpertAnswer]
    region_box: list[int] = Field(description="[x0, y0, x1, y1], level-0 pixels")
    roi_number: int | None
    region_index: int | None
    mpp: float | None = Field(description="µm per pixel of the image sent; None when unknown")
    notes: list[str]


class ClassifyTool(Tool):
    """Ask the ROI-classification experts for the tissue class of a region."""

    name = "classify"
    description = (
        "Classify the tissue in a region of the open slide (an earlier region, a tissue region "
        "or a box in level-0 pixels) with the ROI-classification experts; returns the class "
        "and its probabilities."
    )
    Input = ClassifyInput
    Output = ClassifyOutput

    def __init__(self, pool: ExpertPool) -> None:
        self._pool = pool

    def run(self, inp: BaseModel, ctx: ToolContext) -> ToolResult:
        """Read the region once, ask every selected expert, combine the labels."""
        assert isinstance(inp, ClassifyInput)
        assert ctx.slide is not None
        experts = self._pool.router().select("roi_classify", "roi", prefer=inp.expert)
        notes: list[str] = []
        region, read = read_analysis_region(inp, ctx, notes)
        answers = [self._ask(e, read.image) for e in experts]
        good = [(a, e) for a, e in zip(answers, experts, strict=True) if a.label]
        if not good:
            raise _first_error(answers)
        label, probs = combine_labels([a.label or "" for a, _ in good], [e.weight for _, e in good])
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
        )
        names = ", ".join(e.name for _, e in good)
        summary = f"{label} (p={probs[label]:.2f}) from {names}"
        lead = good[0][1]
        return ToolResult(output=out, summary=summary, expert=names, backend=lead.backend)

    def _ask(self, expert: ExpertSpec, image: np.ndarray) -> ExpertAnswer:
        base = {"expert": expert.name, "backend": expert.backend, "model": expert.model}
        if expert.backend == "cpu":
            msg = f"expert {expert.name}: no CPU classifier exists yet"
            return ExpertAnswer(**base, label=None, answer="", error=msg, seconds=0.0)
        prompt = (expert.prompt or DEFAULT_PROMPT).format(labels=", ".join(expert.labels))
        try:
            reply = self._pool.ask(expert, prompt, [image], max_tokens=64)
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


def _first_error(answers: list[ExpertAnswer]) -> ToolError:
    """The error to raise when no expert gave a label: a server fault wins over bad output."""
    server = [a.error for a in answers if a.error and "answered unusably" not in a.error]
    if server:
        return ToolServerError(server[0])
    return ModelOutputError(answers[0].error or "no expert gave a label")
