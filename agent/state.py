"""Graph state and the typed records it holds: plan, evidence, ROIs, chain, verification.

The checkpointed state holds plain JSON (``model_dump(mode="json")``) so that a case can be
reopened by any later process; nodes validate what they read back with these models.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from pydantic import BaseModel, ConfigDict, Field

from core.narration import Claim, StepKind

__all__ = [
    "CaseLookup",
    "CaseState",
    "Node",
    "PlannerName",
    "ChainStep",
    "Check",
    "Claim",
    "Evidence",
    "Plan",
    "PlanStep",
    "ReasoningChain",
    "RecalledFact",
    "Roi",
    "SlideRef",
    "StepKind",
    "Verification",
    "VerificationStatus",
]

PlannerName = Literal["llm", "semantic", "rules"]
VerificationStatus = Literal["verified", "partial", "rejected"]
ErrorKind = Literal["input", "backend", "output", "internal"]
"""input: the user's; backend: a server down or slow; output: a model answered unusably."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SlideRef(_Model):
    """The slide a case has open (no pixels, no label images)."""

    path: str
    slide_id: str = Field(description="sha256 of the file: stable id")
    name: str
    width: int = Field(description="level-0 width in pixels")
    height: int = Field(description="level-0 height in pixels")


class PlanStep(_Model):
    """One tool call the planner asks for."""

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    why: str = Field(default="", description="what part of the request this step answers")
    error: str | None = Field(
        default=None, description="an input error found while planning; the step is not run"
    )


class CaseLookup(_Model):
    """A turn answered (partly) from the case's memory: compare regions or recall findings."""

    kind: Literal["compare", "recall"]
    rois: list[int] = Field(
        default_factory=list, description="ROI numbers in the order the answer names them"
    )
    earlier: list[str] = Field(
        default_factory=list, description="earlier evidence ids the answer cites, in that order"
    )
    tool: str | None = Field(default=None, description="the analysis a comparison runs")
    what: str | None = Field(default=None, description="what that analysis looks at")
    missing: list[str] = Field(
        default_factory=list, description="plain lines: regions with nothing to recall"
    )
    kinds: list[str] = Field(
        default_factory=list, description="the tools whose results a recall was asked for"
    )
    none_held: bool = Field(
        default=False, description="a recall found no result of the kinds asked in the case"
    )
    views: bool = Field(default=False, description="a recall lists the regions the case visited")
    provenance: bool = Field(
        default=False,
        description="a recall says where its results came from ('is that number real or made up?')",
    )
    places: list[str] = Field(
        default_factory=list,
        description="the parts compared ('the top left quadrant'), in the order of ``rois``",
    )
    rank_by: Literal["density", "mean_area"] | None = Field(
        default=None,
        description="what parts are ranked by when asked ('the density', 'the mean nuclear "
        "area'); None: the tool's own ranking field (the count, the covered share)",
    )


class Plan(_Model):
    """The tool steps for one request, in order; ``notes`` say what was resolved or ignored."""

    request: str
    steps: list[PlanStep] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    knowledge: bool = Field(
        default=False, description="the request asks about medical knowledge (recall answers it)"
    )
    lookup: CaseLookup | None = Field(
        default=None, description="earlier evidence of the case this turn compares or recalls"
    )
    also: CaseLookup | None = Field(
        default=None,
        description="a recall asked beside a comparison ('compare views 1 and 2, and remind "
        "me what the slide was classified as')",
    )
    planner: PlannerName = Field(default="rules", description="the planner that wrote this plan")
    planner_reason: str = Field(default="", description="why that planner was chosen")
    clarify: str | None = Field(
        default=None,
        description="a clarifying question, asked instead of guessing when no capability fits",
    )
    routing: list[dict[str, Any]] = Field(
        default_factory=list,
        description="the meaning-based planner's choice: capability, score, clause",
    )
    calls: int = Field(default=0, description="tool calls the LLM planner has made this turn")
    trace: list[dict[str, Any]] = Field(
        default_factory=list,
        description="the LLM planner's calls in order: name, arguments, the step it added "
        "(index into steps) or its result",
    )
    refused: list[str] = Field(
        default_factory=list,
        description="the LLM planner's calls refused this turn and why (each got a repair round)",
    )
    answer_text: str | None = Field(
        default=None, description="the LLM planner's closing text (the chain is the answer)"
    )
    done: bool = Field(
        default=True, description="False while the LLM planner's loop wants another step"
    )


class Evidence(_Model):
    """The result of one tool call: the only thing a chain step may cite besides KG facts."""

    id: str = Field(description="E<turn>.<n>, unique within a case")
    tool: str
    ok: bool
    summary: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    output: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    error_kind: ErrorKind | None = None
    artifacts: list[str] = Field(default_factory=list)
    expert: str | None = None
    backend: str | None = None
    seconds: float = 0.0
    output_sha256: str | None = None
    trimmed: list[str] = Field(
        default_factory=list,
        description="output keys whose long lists were left out when the case archived it",
    )


class Roi(_Model):
    """A region of interest the case has visited; numbered from 1 across the case."""

    number: int
    slide_id: str
    box: list[int] = Field(description="[x0, y0, x1, y1] in level-0 pixels")
    downsample: float = Field(description="level-0 pixels per output pixel")
    magnification: float | None
    mpp: float | None = Field(description="µm per output pixel")
    level: int
    output_size: list[int] = Field(description="[width, height] of the view in output pixels")
    artifact: str | None
    evidence: str
    turn: int


class RecalledFact(_Model):
    """A knowledge-graph fact recalled for a turn, and what led to it."""

    id: str
    subject: str
    predicate: str
    object: str | None = None
    text: str
    source: str
    score: float = Field(description="1.0 for facts of a linked entity, else the similarity")
    via: str = Field(description="the label, mention or request text that was linked")
    via_evidence: str | None = Field(default=None, description="evidence id of that label")
    entity: str = Field(description="the entity id the text was linked to")
    entity_name: str = Field(default="", description="that entity's primary name")
    link_score: float
    link_method: str
    borrowed: Literal["broader", "narrower", "cousin"] | None = Field(
        default=None,
        description="the fact is a relative's, taken for a relation the entity lacks: a broader "
        "entity's, a narrower one's (it may not hold for the whole entity) or a cousin's of the "
        "same organ",
    )


class ChainStep(_Model):
    """One step of the reasoning chain."""

    id: str
    kind: StepKind
    text: str
    claims: list[Claim] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list, description="evidence and fact ids cited")


class ReasoningChain(_Model):
    """Ordered steps ending in one ``conclude`` step whose text is the answer."""

    steps: list[ChainStep]

    @property
    def conclusion(self) -> ChainStep | None:
        """Return the last ``conclude`` step, if any."""
        found = [s for s in self.steps if s.kind == "conclude"]
        return found[-1] if found else None


class Check(_Model):
    """The outcome of one verifier check on one step (or on the whole answer)."""

    step: str | None
    name: str
    ok: bool
    detail: str = ""


class Verification(_Model):
    """The verifier's report on a chain."""

    status: VerificationStatus
    checks: list[Check]
    steps_verified: float = Field(description="share of chain steps whose checks all passed")
    step_status: dict[str, bool] = Field(description="step id -> verified")
    citation_precision: float = Field(description="share of cited ids that exist")
    citation_recall: float = Field(
        default=0.0, description="share of the turn's successful evidence and facts the chain cites"
    )
    entity_dice: float | None = Field(
        default=None,
        description="Dice of the chain's entities and the entities of its cited facts; "
        "None when neither has any",
    )
    reasons: list[str] = Field(default_factory=list, description="why steps failed, for re-plans")


class CaseState(TypedDict, total=False):
    """State of one case (a LangGraph thread); per-turn fields are reset by ``intake``."""

    messages: Annotated[list[AnyMessage], add_messages]
    slide: dict[str, Any] | None
    slide_path: str | None
    rois: Annotated[list[dict[str, Any]], operator.add]
    current_roi: int | None
    turn: int
    request: str
    plan: dict[str, Any] | None
    evidence: list[dict[str, Any]]
    facts: list[dict[str, Any]]
    chain: dict[str, Any] | None
    verification: dict[str, Any] | None
    answer: str
    reasoner_error: dict[str, str] | None
    """Why the LLM reasoner wrote no chain this turn: ``kind`` (as ``core.errors.error_kind``) and
    ``message`` (reset by ``intake``)."""
    attempts: int
    acted: int
    """How many of the plan's steps the ``act`` node has run (the LLM planner adds steps one by
    one; the other planners write a whole new plan, run from its first step)."""
    feedback: list[str]
    findings: Annotated[list[dict[str, Any]], operator.add]
    archive: Annotated[list[dict[str, Any]], operator.add]
    """Every turn's evidence, compacted (long lists left out): the case's memory of results."""
    earlier: list[dict[str, Any]]
    """Archived evidence this turn compares or recalls (reset by ``intake``)."""
    timings: dict[str, float]
    scales: dict[str, dict[str, float | None]]
    """µm/px the user stated for slides whose files record none: slide id -> ``mpp`` (and the
    ``magnification`` it was given as, if so); kept for the rest of the case."""


Node = Callable[..., dict[str, Any]]
"""A LangGraph node: ``(state[, config]) -> partial state update``."""
