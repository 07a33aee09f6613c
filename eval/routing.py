"""Routing accuracy of the planners on the paraphrase suite (eval/routing/paraphrases.yaml).

Each entry is a request, the number of regions the case has visited before it, the capabilities
a correct plan runs and a subset of their arguments. The suite was written without reading the
rules; it is split into a dev half (for tuning) and a test half (for reporting) by a stable hash
of the request text. Planning only: no tool runs, so a plan is scored on what it would do. A
request that goes on the conversation of the one before it in its batch is planned with that
one's analyses as the case's previous turn (from the suite's labels, not from a plan).

The LLM planner plans one call per pass and reads each result before the next, so without running
tools only its first call can be scored (``score_first_call``): on a request that asks for one
capability, whether that call is it (a ``clarify`` request: whether it answers or asks in text);
on a request that asks for several, whether the call is one of them. Neither is the full-plan
routing accuracy of ``score_planner``.
"""

from __future__ import annotations

import hashlib
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from agent.planner import FOR_ANALYSIS
from agent.state import Plan, Roi

__all__ = [
    "PARAPHRASES",
    "Paraphrase",
    "NO_VALID_CALL",
    "FirstCall",
    "FirstCallScore",
    "RoutingScore",
    "capabilities_in",
    "PriorAnalysis",
    "SuiteTurn",
    "case_archive",
    "case_context",
    "first_call_in",
    "load_paraphrases",
    "score_first_call",
    "score_planner",
    "split_of",
    "suite_turn",
]

PARAPHRASES = Path(__file__).parent / "routing"
"""The suite's folder: every ``*.yaml`` in it is one batch of requests, each written blind."""
SLIDE_ID = "routing-suite-slide"
SLIDE = {"slide_id": SLIDE_ID, "name": "suite.svs", "width": 100_000, "height": 80_000}
"""The slide the suite's requests are planned on (level-0 px); no pixels are read."""


@dataclass(frozen=True)
class SuiteTurn:
    """What a planner is given for one request of the suite: the request and its case."""

    request: str
    rois: list[Roi]
    current: int | None
    archive: list[dict[str, Any]]
    """The case's archived evidence (the previous turn's analyses)."""
    slide_id: str = SLIDE_ID
    slide: dict[str, Any] = field(default_factory=lambda: dict(SLIDE))


Planner = Callable[[SuiteTurn], Plan]
"""A request and its case -> plan."""
FirstCall = Callable[[SuiteTurn], Plan]
"""A request and its case -> the LLM planner's plan after one pass."""
ANALYSES = ("detect", "segment", "classify", "composition")
"""The analyses a previous turn may have run that a follow-up ("same here") repeats."""

NO_VALID_CALL = "no valid call"
"""What a first pass ends with when the model's call was refused again after the repair round,
or its reply was empty: neither a capability nor an answer, so wrong for every request."""


class PriorAnalysis(BaseModel):
    """An analysis the case's previous turn ran, on the current region."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tool: str
    what: str | None = Field(default=None, description="what a segmentation outlined")


class Paraphrase(BaseModel):
    """One request of the suite."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request: str
    context: int = Field(default=0, ge=0, description="regions visited before the request")
    expect: list[str]
    args: dict[str, dict[str, Any]] = Field(default_factory=dict)
    after: list[PriorAnalysis] = Field(
        default_factory=list,
        description="what the case's previous turn ran; by default, when the request goes on "
        "a conversation (it follows a request of its batch with no more regions visited "
        "before it), the analyses that request expects",
    )

    @property
    def split(self) -> str:
        """``dev`` or ``test``, from a stable hash of the request."""
        return split_of(self.request)


def split_of(request: str) -> str:
    """The half a request belongs to: the first byte of its sha256, even → dev, odd → test."""
    return "dev" if hashlib.sha256(request.encode("utf-8")).digest()[0] % 2 == 0 else "test"


def load_paraphrases(path: Path = PARAPHRASES, batch: str | None = None) -> list[Paraphrase]:
    """Every entry of the suite (a folder of batches, or one file), validated.

    ``batch`` keeps the batch of that file stem only (``paraphrases``, ``round2``). A request
    written twice, in one batch or in two, is kept once: its half is fixed by its text anyway.
    """
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    items: dict[str, Paraphrase] = {}
    for file in files:
        if batch is not None and file.stem != batch:
            continue
        previous: Paraphrase | None = None
        for raw in yaml.safe_load(file.read_text(encoding="utf-8")) or []:
            item = _after(Paraphrase.model_validate(raw), previous)
            items.setdefault(item.request, item)
            previous = item
    return list(items.values())


def _after(item: Paraphrase, previous: Paraphrase | None) -> Paraphrase:
    """``item`` with the request before it as its previous turn, where it goes on that request.

    The batches are written as conversations, in order: a request goes on the one before it
    when no fewer regions were visited before it. Its previous turn ran that request's analyses.
    """
    goes_on = previous is not None and previous.context <= item.context and item.context >= 1
    if item.after or previous is None or not goes_on:
        return item
    what = (previous.args.get("segment") or {}).get("what")
    after = [
        PriorAnalysis(tool=cap, what=what if cap == "segment" else None)
        for cap in previous.expect
        if cap in ANALYSES
    ]
    return item.model_copy(update={"after": after})


def case_context(visited: int) -> tuple[list[Roi], int | None]:
    """``visited`` regions on the suite's slide, the last one current."""
    rois = [
        Roi(
            number=n,
            slide_id=SLIDE_ID,
            box=[10_000 * n, 8_000 * n, 10_000 * n + 2048, 8_000 * n + 2048],
            downsample=2.0,
            magnification=20.0,
            mpp=0.5,
            level=1,
            output_size=[1024, 1024],
            artifact=None,
            evidence=f"E{n}.1",
            turn=n,
        )
        for n in range(1, visited + 1)
    ]
    return rois, (visited or None)


def suite_turn(item: Paraphrase) -> SuiteTurn:
    """The case ``item`` is planned in: its visited regions and its previous turn."""
    rois, current = case_context(item.context)
    return SuiteTurn(item.request, rois, current, case_archive(item))


def case_archive(item: Paraphrase) -> list[dict[str, Any]]:
    """The case's archived evidence of ``item``'s previous turn.

    Its analyses of the current region, as the executor archives them; their measurements are
    left out, since planning reads none.
    """
    turn = item.context + 1
    return [
        {
            "id": f"E{turn}.{k}",
            "tool": prior.tool,
            "ok": True,
            "summary": f"{prior.tool} of region {item.context}",
            "inputs": {"what": prior.what} if prior.what else {},
            "output": {"roi_number": item.context},
        }
        for k, prior in enumerate(item.after, 1)
    ]


def capabilities_in(plan: Plan) -> list[str]:
    """The capabilities a plan runs, in order: tools, then knowledge; a lookup or a question."""
    if plan.clarify:
        return ["clarify"]
    # a zoom that only shows the box or point an analysis names is part of that analysis, and
    # the analyses a comparison runs on its regions are part of the comparison
    steps = [
        s
        for s in plan.steps
        if not (s.tool == "zoom" and s.why == FOR_ANALYSIS) and not s.why.endswith("to compare")
    ]
    found = [x.kind for x in (plan.lookup, plan.also) if x is not None]
    found += list(dict.fromkeys(step.tool for step in steps))
    if plan.knowledge:
        found.append("knowledge")
    return found or ["clarify"]


def first_call_in(plan: Plan) -> str:
    """The capability of the LLM planner's first call, as ``capabilities_in`` names capabilities.

    A tool call is that tool; ``recall_knowledge`` is ``knowledge``; ``answer_from_case`` is
    ``compare`` when its ``kind`` is compare and ``recall`` otherwise (as the planner reads it:
    the analyses a comparison runs are part of the comparison, as for the other planners). A
    reply in text without a call is ``clarify``; a refused or empty reply is ``NO_VALID_CALL``.
    """
    if plan.trace:
        first = plan.trace[0]
        name = str(first.get("name"))
        if name == "recall_knowledge":
            return "knowledge"
        if name == "answer_from_case":
            kind = (first.get("arguments") or {}).get("kind")
            return "compare" if kind == "compare" else "recall"
        return name
    if plan.answer_text and plan.answer_text.strip():
        return "clarify"
    return NO_VALID_CALL


def args_hold(plan: Plan, expected: dict[str, dict[str, Any]]) -> list[str]:
    """The expected arguments the plan lacks, as ``capability.key`` lines (empty: all hold)."""
    wrong: list[str] = []
    for capability, wanted in expected.items():
        if capability == "compare":
            wrong.extend(_compare_args(plan, wanted))
            continue
        step = next((s for s in plan.steps if s.tool == capability), None)
        shown = next((s for s in plan.steps if s.tool == "zoom" and s.why == FOR_ANALYSIS), None)
        for key, value in wanted.items():
            have = None if step is None else step.args.get(key)
            if key == "box" and have is None and shown is not None and step is not None:
                have = shown.args.get("box")  # the analysis reads the view of that box
            if key == "target" and step is not None and have is None:
                have = "auto"
            if key == "target" and value == "roi" and step is not None:
                # an earlier region shown again (its own box) or around its centre
                have = "roi" if step.args.get("roi_number") is not None else have
            if not _same(have, value):
                wrong.append(f"{capability}.{key}: want {value!r}, plan has {have!r}")
    return wrong


def _compare_args(plan: Plan, wanted: dict[str, Any]) -> list[str]:
    lookup = plan.lookup
    wrong = []
    if "regions" in wanted:
        have = lookup.rois if lookup is not None else None
        if have is None or sorted(have) != sorted(wanted["regions"]):
            wrong.append(f"compare.regions: want {wanted['regions']!r}, plan has {have!r}")
    if "tool" in wanted:
        have_tool = lookup.tool if lookup is not None else None
        if have_tool != wanted["tool"]:
            wrong.append(f"compare.tool: want {wanted['tool']!r}, plan has {have_tool!r}")
    return wrong


def _same(have: Any, want: Any) -> bool:
    if isinstance(want, list):
        return (
            isinstance(have, list)
            and len(have) == len(want)
            and all(_same(h, w) for h, w in zip(have, want, strict=True))
        )
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        return isinstance(have, (int, float)) and math.isclose(have, want, rel_tol=1e-3)
    return bool(have == want)


@dataclass
class RoutingScore:
    """One planner on one half of the suite."""

    planner: str
    split: str
    n: int = 0
    routed: int = 0
    args_checked: int = 0
    args_right: int = 0
    per_capability: dict[str, list[int]] = field(default_factory=dict)
    """capability -> [right, total] over entries expecting it."""
    millis: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Share of requests whose plan runs exactly the expected capabilities."""
        return self.routed / self.n if self.n else 0.0

    @property
    def args_accuracy(self) -> float:
        """Among correctly routed requests with expected arguments, share whose arguments hold."""
        return self.args_right / self.args_checked if self.args_checked else 0.0

    @property
    def p50_ms(self) -> float:
        """Median planning time in milliseconds."""
        return statistics.median(self.millis) if self.millis else 0.0


def score_planner(
    name: str, planner: Planner, items: Sequence[Paraphrase], split: str
) -> RoutingScore:
    """Plan every item of ``split`` (``all`` for both halves) and score the plans."""
    score = RoutingScore(planner=name, split=split)
    for item in items:
        if split != "all" and item.split != split:
            continue
        turn = suite_turn(item)
        started = time.perf_counter()
        plan = planner(turn)
        score.millis.append((time.perf_counter() - started) * 1000)
        got = capabilities_in(plan)
        ok = set(got) == set(item.expect)
        score.n += 1
        score.routed += ok
        for cap in item.expect:
            tally = score.per_capability.setdefault(cap, [0, 0])
            tally[0] += cap in got and ok
            tally[1] += 1
        if not ok:
            score.misses.append(f"{item.request!r}: want {item.expect}, got {got}")
            continue
        if item.args:
            score.args_checked += 1
            wrong = args_hold(plan, item.args)
            score.args_right += not wrong
            if wrong:
                score.misses.append(f"{item.request!r}: args {'; '.join(wrong)}")
    return score


@dataclass
class FirstCallScore:
    """The LLM planner's first call on one half of the suite (not full-plan routing accuracy)."""

    planner: str
    split: str
    single: int = 0
    """Requests expecting one capability."""
    single_right: int = 0
    """Of those, requests whose first call is that capability."""
    multi: int = 0
    """Requests expecting several capabilities."""
    multi_right: int = 0
    """Of those, requests whose first call is one of them."""
    no_valid_call: int = 0
    """Requests whose first pass ended without a valid call or a text answer."""
    per_capability: dict[str, list[int]] = field(default_factory=dict)
    """capability -> [right, total] over the single-capability requests expecting it."""
    first_calls: dict[str, int] = field(default_factory=dict)
    """How often each capability (or ``NO_VALID_CALL``) was the first call."""
    millis: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        """Requests scored."""
        return self.single + self.multi

    @property
    def single_accuracy(self) -> float:
        """Share of single-capability requests whose first call is the expected capability."""
        return self.single_right / self.single if self.single else 0.0

    @property
    def multi_share(self) -> float:
        """Share of multi-capability requests whose first call is one of the expected ones."""
        return self.multi_right / self.multi if self.multi else 0.0

    @property
    def p50_ms(self) -> float:
        """Median time of one first pass (with its repair round) in milliseconds."""
        return statistics.median(self.millis) if self.millis else 0.0


def score_first_call(
    name: str,
    planner: FirstCall,
    items: Sequence[Paraphrase],
    split: str,
    progress: Callable[[int, int, str, str], None] | None = None,
) -> FirstCallScore:
    """Run the LLM planner's first pass on every item of ``split``; score its first call.

    ``progress`` (done, total, request, first call) is called after each request.
    """
    chosen = [item for item in items if split == "all" or item.split == split]
    score = FirstCallScore(planner=name, split=split)
    for k, item in enumerate(chosen, 1):
        turn = suite_turn(item)
        started = time.perf_counter()
        plan = planner(turn)
        score.millis.append((time.perf_counter() - started) * 1000)
        got = first_call_in(plan)
        score.first_calls[got] = score.first_calls.get(got, 0) + 1
        score.no_valid_call += got == NO_VALID_CALL
        ok = got in item.expect
        if len(item.expect) == 1:
            score.single += 1
            score.single_right += ok
            tally = score.per_capability.setdefault(item.expect[0], [0, 0])
            tally[0] += ok
            tally[1] += 1
        else:
            score.multi += 1
            score.multi_right += ok
        if not ok:
            why = f" ({plan.refused[-1]})" if got == NO_VALID_CALL and plan.refused else ""
            score.misses.append(f"{item.request!r}: want {item.expect}, first call {got}{why}")
        if progress is not None:
            progress(k, len(chosen), item.request, got)
    return score
