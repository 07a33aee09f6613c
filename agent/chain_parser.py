"""Read an LLM's reasoning text as chain steps, and claim what each step's text states.

Two formats are read:

* one step per line, ``KIND: text [ID, ID]`` with KIND in observe|measure|recall|infer|conclude
  (list markers, bold markers and a few spelled-out kinds such as ``Conclusion:`` are accepted);
* tags, ``<observe>…</observe><think>…</think><answer>…</answer>``: observe lines become observe
  steps, think lines infer steps (or the kind they name), the answer the conclude step.

Lines that are neither are dropped (they are not shown, so nothing unchecked reaches the user).
Citations are bracket groups of ids (``[E1.1, HIST:crc-glands]``) anywhere in a step; they are
taken out of the text. Claims are built from the text alone: quotes become ``quote`` claims
(``name`` claims when a quote is the label of the file name a cited output reports, so nothing
inside it is read), numbers ``number`` claims at claimable fields of the cited tool outputs; a
number that matches nothing gets no claim, so the verifier's ``numbers_claimed`` check fails it.

The claims are built by ``agent.claim_binding`` (re-exported here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from agent.claim_binding import (
    claimable_leaves,
    claims_for,
    field_kind,
    fits,
    number_context,
    numbers_in,
)
from agent.state import ChainStep, Evidence, ReasoningChain, RecalledFact, StepKind
from core.errors import ModelOutputError
from tools.parsers import parse_answer_tags

__all__ = [
    "MAX_STEPS",
    "ParsedOutput",
    "ParsedStep",
    "claimable_leaves",
    "claims_for",
    "field_kind",
    "fits",
    "number_context",
    "failure_chain",
    "numbers_in",
    "parse_steps",
    "to_chain",
]

MAX_STEPS = 24
"""Steps kept from one output; more are dropped."""
MAX_STEP_CHARS = 800
"""Longest step text kept, in characters."""

_KINDS: dict[str, StepKind] = {
    "observe": "observe",
    "observation": "observe",
    "measure": "measure",
    "measurement": "measure",
    "recall": "recall",
    "infer": "infer",
    "inference": "infer",
    "conclude": "conclude",
    "conclusion": "conclude",
}
_KIND_ALT = "|".join(sorted(_KINDS, key=len, reverse=True))
# "observe: …", "1. **Observe**: …", "- measure - …", and "S2 [infer] …" (agent.chain_format)
_LINE_RE = re.compile(
    r"^\s*(?:[-*•]\s+|\d{1,2}[.)]\s*|step\s*\d{1,2}\s*[:.)-]?\s*|S\d{1,2}\s+)?"
    r"(?:\[(?P<bkind>" + _KIND_ALT + r")\]\s*[:\-–]?"
    r"|[*_]{0,2}(?P<kind>" + _KIND_ALT + r")[*_]{0,2}\s*[:\-–])"
    r"\s*[*_]{0,2}\s*(?P<text>.*?)\s*$",
    re.IGNORECASE,
)
_TAG_RE = re.compile(r"</?(?:observe|think|answer)>", re.IGNORECASE)
# a bracket of ids may be long: a conclusion cites every fact it rests on
_GROUP_RE = re.compile(r"\s*[\[(](?P<body>[^\[\]()\n]{1,2000})[\])]")
_ID_RE = re.compile(r"^[A-Za-z][\w.:#/\-]*$")


@dataclass(frozen=True)
class ParsedStep:
    """One step as written: its kind, its text without citations, the ids it cites."""

    kind: StepKind
    text: str
    cites: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ParsedOutput:
    """The steps read from a model's text, which format they were in, and what was dropped."""

    steps: list[ParsedStep]
    format: Literal["lines", "tags", "none"]
    dropped: list[str] = field(default_factory=list)


def parse_steps(text: str) -> ParsedOutput:
    """Read ``text`` as steps (tags when it has any, else ``KIND: text`` lines)."""
    text = (text or "").strip()
    if not text:
        return ParsedOutput(steps=[], format="none")
    if _TAG_RE.search(text):
        tagged = _parse_tags(text)
        if tagged is not None:
            return tagged
    steps, dropped = _parse_lines(text.splitlines(), None)
    return ParsedOutput(
        steps=steps[:MAX_STEPS], format="lines" if steps else "none", dropped=dropped
    )


def _parse_lines(lines: list[str], default: StepKind | None) -> tuple[list[ParsedStep], list[str]]:
    steps: list[ParsedStep] = []
    dropped: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        m = _LINE_RE.match(line)
        if m:
            kind, body = _kind_of(m), m.group("text")
        elif default is not None:
            kind, body = default, line
        else:
            dropped.append(line.strip())
            continue
        step = _step(kind, body)
        if step is not None:
            steps.append(step)
    return steps, dropped


def _parse_tags(text: str) -> ParsedOutput | None:
    try:
        parts = parse_answer_tags(text)
    except ModelOutputError:
        return None
    if not parts.tagged:
        return None
    steps: list[ParsedStep] = []
    dropped: list[str] = []
    for block, kind in ((parts.observe, "observe"), (parts.think, "infer")):
        if block:
            found, lost = _parse_lines(block.splitlines(), kind)  # type: ignore[arg-type]
            steps.extend(found)
            dropped.extend(lost)
    m = _LINE_RE.match(parts.answer.strip())
    answer = m.group("text") if m and _kind_of(m) == "conclude" else parts.answer
    final = _step("conclude", " ".join(answer.split()))
    if final is not None:
        steps.append(final)
    return ParsedOutput(steps=steps[:MAX_STEPS], format="tags", dropped=dropped)


def _kind_of(m: re.Match[str]) -> StepKind:
    return _KINDS[(m.group("kind") or m.group("bkind")).lower()]


def _step(kind: StepKind, body: str) -> ParsedStep | None:
    text, cites = _take_citations(body)
    text = text.strip().strip("*_").strip()
    if not text and not cites:
        return None
    if len(text) > MAX_STEP_CHARS:
        text = text[: MAX_STEP_CHARS - 1] + "…"
    return ParsedStep(kind=kind, text=text, cites=cites)


def _take_citations(body: str) -> tuple[str, list[str]]:
    """Remove bracket groups made only of ids; return the text and the ids, in order."""
    cites: list[str] = []

    def take(m: re.Match[str]) -> str:
        tokens = [t.strip().strip("'\"`") for t in re.split(r"[,;]", m.group("body"))]
        tokens = [t.removeprefix("evidence ").removeprefix("fact ").strip() for t in tokens if t]
        bracket = m.group(0).lstrip()[0] == "["
        looks = all(_ID_RE.match(t) and (any(c.isdigit() for c in t) or ":" in t) for t in tokens)
        # parentheses only around evidence-style ids: "(E1.1)", never "(downsample 4)"
        strict = all(re.fullmatch(r"E\d+\.\d+|[A-Z]+:[\w.#:\-]+", t) for t in tokens)
        if tokens and looks and (bracket or strict):
            cites.extend(t for t in tokens if t not in cites)
            return ""
        return m.group(0)

    text = _GROUP_RE.sub(take, body)
    text = re.sub(r"\s+([.,;:])", r"\1", " ".join(text.split()))
    return text, cites


def to_chain(
    parsed: ParsedOutput, evidence: list[Evidence], facts: list[RecalledFact]
) -> ReasoningChain:
    """The chain of the parsed steps with their claims; a missing conclusion is said so."""
    by_id = {e.id: e for e in evidence}
    fact_by_id = {f.id: f for f in facts}
    steps = [
        ChainStep(
            id=f"S{i}",
            kind=s.kind,
            text=s.text,
            claims=claims_for(s.text, s.cites, by_id, fact_by_id),
            evidence=s.cites,
        )
        for i, s in enumerate(parsed.steps, start=1)
    ]
    if not any(s.kind == "conclude" for s in steps):
        steps.append(
            ChainStep(
                id=f"S{len(steps) + 1}",
                kind="conclude",
                text="The reasoner wrote no conclusion, so there is no verified answer.",
            )
        )
    return ReasoningChain(steps=steps)


def failure_chain(reason: str) -> ReasoningChain:
    """A one-step chain saying the reasoner failed; it cites nothing, so it is never verified."""
    text = f"The LLM reasoner failed: {reason}. There is no verified answer for this turn."
    return ReasoningChain(steps=[ChainStep(id="S1", kind="conclude", text=text)])
