"""Read an LLM's reasoning text as chain steps, and claim what each step's text states.

Two formats are read:

* one step per line, ``KIND: text [ID, ID]`` with KIND in observe|measure|recall|infer|conclude
  (list markers, bold markers and a few spelled-out kinds such as ``Conclusion:`` are accepted);
* tags, ``<observe>…</observe><think>…</think><answer>…</answer>``: observe lines become observe
  steps, think lines infer steps (or the kind they name), the answer the conclude step.

Lines that are neither are dropped (they are not shown, so nothing unchecked reaches the user).
Citations are bracket groups of ids (``[E1.1, HIST:crc-glands]``) anywhere in a step; they are
taken out of the text. Claims are built from the text alone: text in double quotes becomes a
``quote`` claim against the cited id that contains it (a ``name`` claim when it is the label of
the file name a cited tool output reports, so nothing inside it is read); each number outside
quotes becomes a ``number`` claim at the first output path of the step's cited tool evidence
whose value it shows (after the verifier's unit conversions, within half a unit of its last
shown digit). A number that matches nothing gets no claim, so the verifier's
``numbers_claimed`` check fails it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.state import ChainStep, Claim, Evidence, ReasoningChain, RecalledFact, StepKind
from agent.verifier import _UNIT_FACTORS, strings_in
from core.errors import ModelOutputError
from core.labels import file_label
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
_GROUP_RE = re.compile(r"\s*[\[(](?P<body>[^\[\]()\n]{1,200})[\])]")
_ID_RE = re.compile(r"^[A-Za-z][\w.:#/\-]*$")
_QUOTE_RE = re.compile(r"\"([^\"\n]{1,300})\"|“([^”\n]{1,300})”")
# The verifier's number pattern (agent/verifier.py): what it counts as a number, we claim.
_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*\d)")
_EXEMPT_RE = re.compile(r"level-0")
_UNIT_AFTER = (("%", "%"), ("µm²", "µm²"), ("um²", "µm²"), ("um2", "µm²"), ("mm²", "mm²"))


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


def numbers_in(text: str) -> list[tuple[str, float, int]]:
    """Numbers the verifier counts in ``text``: (as written, value, end offset)."""
    cleaned = _EXEMPT_RE.sub(lambda m: " " * len(m.group(0)), text)
    return [(m.group(0), float(m.group(0)), m.end()) for m in _NUMBER_RE.finditer(cleaned)]


def claims_for(
    text: str,
    cites: list[str],
    evidence: dict[str, Evidence],
    facts: dict[str, RecalledFact],
) -> list[Claim]:
    """Quote claims for quoted text, number claims for numbers found in the cited outputs."""
    claims: list[Claim] = []
    for m in _QUOTE_RE.finditer(text):
        quote = m.group(1) or m.group(2)
        if not quote.strip() or not cites:
            continue
        named = next((c for c in cites if _names_file(c, quote, evidence)), None)
        if named is not None:
            claims.append(Claim(kind="name", evidence=named, text=quote))
            continue
        home = next((c for c in cites if _contains(c, quote, evidence, facts)), cites[0])
        claims.append(Claim(kind="quote", evidence=home, text=quote))
    unquoted = text
    for claim in claims:
        unquoted = unquoted.replace(claim.text or "", " " * len(claim.text or ""))
    leaves = [
        (ref, path, value)
        for ref in cites
        if ref in evidence
        for path, value in claimable_leaves(evidence[ref].output)
    ]
    for shown, value, end in numbers_in(unquoted):
        digits = len(shown.split(".")[1]) if "." in shown else 0
        tolerance = 0.5 * 10 ** (-digits)
        context = number_context(unquoted, end - len(shown), end)
        fitting = [leaf for leaf in leaves if fits(context, leaf[1])]
        match = _match(value, tolerance, _unit_after(unquoted[end:]), fitting)
        if match is not None:
            ref, path, unit = match
            claims.append(
                Claim(
                    kind="number",
                    evidence=ref,
                    path=path,
                    value=value,
                    unit=unit,
                    tolerance=tolerance,
                )
            )
    return claims


def _names_file(ref: str, quote: str, evidence: dict[str, Evidence]) -> bool:
    """``quote`` is the label of the file name (``name``) that the cited tool output reports."""
    name = evidence[ref].output.get("name") if ref in evidence else None
    return isinstance(name, str) and file_label(name) == quote


def _contains(
    ref: str, quote: str, evidence: dict[str, Evidence], facts: dict[str, RecalledFact]
) -> bool:
    """The verifier's haystack for a quote: a fact's texts, or a tool's error/summary/strings."""
    fact = facts.get(ref)
    if fact is not None:
        hay = [fact.text, fact.source, fact.subject, fact.object or "", fact.id]
    elif ref in evidence:
        ev = evidence[ref]
        hay = [ev.error or "", ev.summary, ev.tool, ev.expert or "", *strings_in(ev.output)]
    else:
        return False
    return any(quote in h for h in hay)


_INDEX_BEFORE_RE = re.compile(r"#\s*$")
_CONTEXT_UNITS = (
    ("µm/px", "µm/px"),
    ("um/px", "µm/px"),
    ("%", "%"),
    ("µm²", "µm²"),
    ("um²", "µm²"),
    ("um2", "µm²"),
    ("mm²", "mm²"),
    ("×", "px"),
    ("px", "px"),
    ("pixel", "px"),
)
_MAGNIFICATION_RE = re.compile(r"^x(?![a-z])", re.IGNORECASE)
_NOUN_RE = re.compile(r"^[A-Za-z]")


_LEVEL_BEFORE_RE = re.compile(r"\blevels?\s*$", re.IGNORECASE)
_PER_RE = re.compile(r"^\s*[A-Za-z]+\s+per\s+(\S+)")
_BRACKET_RE = re.compile(r"\[([^\[\]]*)$")


def number_context(text: str, start: int, end: int) -> str:
    """What the words around a written number say it is.

    ``index`` (after "#" or "level"), ``unit:<u>`` (followed by a unit), ``noun`` (followed by a
    word: "60 nuclei", "3 levels"), or ``bare`` (inside a box, a parenthesis, a list).
    """
    before = text[:start]
    if _LEVEL_BEFORE_RE.search(before):
        return "level"
    if _INDEX_BEFORE_RE.search(before):
        return "index"
    bracket = _BRACKET_RE.search(before)
    if bracket is not None and "]" in text[end:]:
        return f"item:{bracket.group(1).count(',')}"  # the k-th number of a written list
    rest = text[end:]
    per = _PER_RE.match(rest)
    if per is not None:
        return "density" if per.group(1).startswith("mm") else "per:other"
    if _MAGNIFICATION_RE.match(rest):
        return "unit:x"
    stripped = rest.lstrip()
    for mark, unit in _CONTEXT_UNITS:
        if stripped.startswith(mark):
            return f"unit:{unit}"
    if _NOUN_RE.match(stripped) and rest[:1] == " ":
        return "noun"
    return "bare"


def field_kind(path: str) -> str:
    """What a claimable field holds, from its name.

    An index, a count, a quantity in a unit, or another quantity (which only a bare number, as
    in a box or a parenthesis, may stand for).
    """
    name = path.split(".")[0] if path.split(".")[-1].isdigit() else path.rsplit(".", 1)[-1]
    if name.endswith(("number", "index")):
        return "index"
    if name == "count" or name.endswith("_count") or "density" in name or "per_mm2" in name:
        return "count"  # "60 nuclei", "1 level(s)", "1439 nuclei per mm²"
    if name.endswith("fraction"):
        return "unit:%"
    if name.endswith("um2"):
        return "unit:µm²"
    if name.endswith("mm2"):
        return "unit:mm²"
    if "mpp" in name:
        return "unit:µm/px"
    if "magnification" in name or "objective" in name:
        return "unit:x"
    if any(w in name for w in ("width", "height", "box", "_px", "size", "output")):
        return "unit:px"
    return "quantity"


def fits(context: str, path: str) -> bool:
    """A number in ``context`` may stand for the field at ``path``."""
    kind = field_kind(path)
    name = path.rsplit(".", 1)[-1]
    if context == "level":
        return name in ("level", "level_count")
    if context.startswith("item:"):
        return name == context.split(":")[1]  # "[x0, y0, x1, y1]": the k-th of a short list
    if context == "density":
        return "density" in path or "per_mm2" in path
    if context == "per:other":
        return False
    if context == "index" or kind == "index":
        return context == kind
    if context.startswith("unit:"):
        if context in ("unit:µm²", "unit:mm²") and kind in ("unit:µm²", "unit:mm²"):
            return True  # converted between the two
        return kind == context or (context == "unit:%" and kind == "unit:%")
    if context == "noun":
        return kind in ("count", "unit:px")  # "60 nuclei", "2220 × 2967 pixels"
    return True  # bare: a box's coordinates, a probability in parentheses


def _unit_after(rest: str) -> str | None:
    rest = rest.lstrip()
    return next((unit for mark, unit in _UNIT_AFTER if rest.startswith(mark)), None)


def _match(
    value: float,
    tolerance: float,
    unit_hint: str | None,
    leaves: list[tuple[str, str, float]],
) -> tuple[str, str, str | None] | None:
    """The best (evidence, path, unit) whose value, converted, shows as ``value``."""
    best: tuple[tuple[int, int, float, int], tuple[str, str, str | None]] | None = None
    for order, (ref, path, raw) in enumerate(leaves):
        for unit, converted in _conversions(path, raw):
            gap = abs(converted - value)
            if not math.isclose(converted, value, abs_tol=tolerance + 1e-9):
                continue
            if unit_hint is not None and unit != unit_hint:
                continue  # "45 µm²" binds to an area in µm², never to a count of 45
            rank = 0 if unit == unit_hint else 1 if unit is None else 2
            key = (rank, path.count("."), gap, order)  # top-level fields before nested ones
            if best is None or key < best[0]:
                best = (key, (ref, path, unit))
    return best[1] if best else None


def _conversions(path: str, raw: float) -> Iterator[tuple[str | None, float]]:
    """The value as stored, then in every unit the verifier converts its field to."""
    yield None, raw
    name = path.rsplit(".", 1)[-1]
    source = next((u for u in ("fraction", "mm2", "um2") if name.endswith(u)), None)
    if source is not None:
        for (src, unit), factor in _UNIT_FACTORS.items():
            if src == source:
                yield unit, raw * factor


def claimable_leaves(output: dict[str, Any]) -> list[tuple[str, float]]:
    """The numbers of a tool output that a written number may stand for, as (path, value).

    Claimable: the output's own numeric fields (a count, a share, an area, µm/px, a
    magnification), the class probabilities of a mapping of names to numbers, a short list of
    numbers such as the view's box, and the scalar numbers of the first entry of a ranked list
    (the largest tissue region). Not claimable: the rest of a per-object list (any nucleus's box
    or area, any tile's attention), which a chain would otherwise match by chance among
    thousands of values.
    """
    out: list[tuple[str, float]] = []
    for key, value in output.items():
        if not isinstance(key, str) or "." in key or isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            if math.isfinite(value):
                out.append((key, float(value)))
        elif isinstance(value, dict) and all(_is_number(v) for v in value.values()):
            out.extend(
                (f"{key}.{name}", float(v))
                for name, v in value.items()
                if isinstance(name, str) and "." not in name and math.isfinite(v)
            )
        elif _short_numbers(value):
            out.extend((f"{key}.{i}", float(v)) for i, v in enumerate(value))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            # the first of a ranked list ("the largest tissue region"): its own numbers only
            out.extend(
                (f"{key}.0.{name}", float(v))
                for name, v in value[0].items()
                if isinstance(name, str) and "." not in name and _is_number(v) and math.isfinite(v)
            )
    return out


_SHORT_LIST = 4
"""A list of at most this many numbers is one value (a box, a size), not a list of objects."""


def _short_numbers(value: Any) -> bool:
    return (
        isinstance(value, list)
        and 0 < len(value) <= _SHORT_LIST
        and all(_is_number(v) for v in value)
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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
