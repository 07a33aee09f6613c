"""Mutations of one true chain step, each marked when the changed statement is still true.

A step's written numbers are paired, in order, with the claims the co-pilot's writer made for
them (``core.narration.Writer``: the evidence id, the output path, the unit), so the true value
behind every position is known without the chain parser. A mutation is **still true** (and
left out of the benchmark's counts) when what it now says is still what the cited evidence
says: a number that still shows the field's value within the precision written (``20`` →
``20.0``, ``36.2%`` → ``36%``), a correct unit conversion (``36.2%`` → ``0.362``, µm² → mm²),
the same class, the same region, or citations that carry the same values and quotes.

Kinds: numbers (±small: the last digit ±1; ±large: doubled, tenfold; swapped with another
number of the step; another claimable field's value; two digits transposed; rounded the wrong
way past the written precision), units (% ↔ fraction, µm² ↔ mm², px ↔ µm, µm/px and
magnification mixed up), classifier labels (another class of the classifier), entities (a
disease or an organ replaced by another, a disease added), region numbers (#2 → #3) and
evidence ids (another id of the turn, or an unknown one).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from agent.claim_binding import quote_found
from agent.state import ChainStep, Claim, Evidence, RecalledFact
from core.claimable import UNIT_FACTORS, claimable_numbers, stored_unit
from tools.registry import tool_class

__all__ = ["DISEASES", "ORGANS", "Mutation", "step_mutations"]

_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*\d)")  # the verifier's
_EXEMPT_RE = re.compile(r"level-0")

DISEASES = (
    "lung adenocarcinoma",
    "lung squamous cell carcinoma",
    "breast cancer",
    "colorectal adenocarcinoma",
    "hepatocellular carcinoma",
    "melanoma",
    "glioblastoma",
    "cholangiocarcinoma",
    "prostate adenocarcinoma",
    "clear cell renal cell carcinoma",
)
"""Diseases put into a step in place of another, or added to it (none is a synonym of another)."""
ORGANS = ("lung", "breast", "colon", "liver", "kidney", "skin", "brain", "prostate", "stomach")
"""Organs put in place of another one a step names."""
_INDEX_NAMES = ("roi_number", "region_index", "index")


@dataclass(frozen=True)
class Mutation:
    """One changed step: the table row it counts under, its new text and citations."""

    kind: str
    text: str
    cites: list[str]
    still_true: str | None = None
    """Why the changed step still says what the evidence says (then it is not counted)."""


@dataclass(frozen=True)
class _Written:
    """A number written in the step: where, as shown, and the claim behind it."""

    start: int
    end: int
    shown: str
    claim: Claim


def step_mutations(
    step: ChainStep,
    evidence: dict[str, Evidence],
    facts: dict[str, RecalledFact],
    rng: random.Random,
) -> Iterator[Mutation]:
    """Every mutation of ``step`` (its text as the co-pilot wrote it, its citations)."""
    written = _written_numbers(step)
    ctx = _Step(step, evidence, facts, rng, written)
    yield from ctx.numbers()
    yield from ctx.units()
    yield from ctx.regions()
    yield from ctx.labels()
    yield from ctx.entities()
    yield from ctx.citations()


class _Step:
    def __init__(
        self,
        step: ChainStep,
        evidence: dict[str, Evidence],
        facts: dict[str, RecalledFact],
        rng: random.Random,
        written: list[_Written],
    ) -> None:
        self.step = step
        self.text = step.text
        self.cites = list(step.evidence)
        self.evidence = evidence
        self.facts = facts
        self.rng = rng
        self.written = written

    def _at(self, kind: str, w: _Written, new: str, unit: str | None = "same") -> Mutation:
        """The step with ``w`` written as ``new`` (and in ``unit`` when it changed)."""
        text = self.text[: w.start] + new + self.text[w.end :]
        claim_unit = w.claim.unit if unit == "same" else unit
        truth = _value_in(w.claim, claim_unit, self.evidence)
        why = None
        if truth is not None and _shows(new, truth, w):
            why = f"{new} still shows {truth:g}"
        return Mutation(kind, text, self.cites, why)

    # numbers --------------------------------------------------------------------------------

    def numbers(self) -> Iterator[Mutation]:
        plain = [w for w in self.written if not _is_index(w.claim)]
        for w in plain:
            value = float(w.shown)
            decimals = _decimals(w.shown)
            yield self._at("number: ±small", w, _last_digit(w.shown, +1))
            if value >= 1 or decimals:
                yield self._at("number: ±small", w, _last_digit(w.shown, -1))
            yield self._at("number: ±large", w, _fmt(2 * value if value else 1, decimals))
            yield self._at("number: ±large", w, _fmt(10 * value if value else 10, decimals))
            transposed = _transpose(w.shown)
            if transposed is not None:
                yield self._at("number: digits transposed", w, transposed)
            for rounded in _roundings(w.shown):
                yield self._at("number: rounding", w, rounded)
            other = self._other_field(w)
            if other is not None:
                yield self._at("number: another field", w, other)
        for a, b in _pairs(plain, self.rng):
            if a.shown == b.shown:
                continue
            first, second = sorted((a, b), key=lambda w: w.start)
            text = (
                self.text[: first.start]
                + second.shown
                + self.text[first.end : second.start]
                + first.shown
                + self.text[second.end :]
            )
            true_a = _value_in(first.claim, first.claim.unit, self.evidence)
            true_b = _value_in(second.claim, second.claim.unit, self.evidence)
            both = (
                true_a is not None
                and true_b is not None
                and _shows(second.shown, true_a, first)
                and _shows(first.shown, true_b, second)
            )
            yield Mutation("number: swapped", text, self.cites, "equal values" if both else None)

    def _other_field(self, w: _Written) -> str | None:
        """Another claimable number of the cited output, written like ``w``."""
        ev = self.evidence.get(w.claim.evidence)
        cls = tool_class(ev.tool) if ev is not None else None
        if ev is None or cls is None or cls.claimable is None:
            return None
        values = claimable_numbers(ev.output, cls.claimable)
        decimals = _decimals(w.shown)
        shown = {
            _fmt(v * _factor(ev, path, w.claim.unit), decimals)
            for path, v in values
            if path != w.claim.path
        }
        shown.discard(w.shown)
        return self.rng.choice(sorted(shown)) if shown else None

    # units ----------------------------------------------------------------------------------

    def units(self) -> Iterator[Mutation]:
        for w in self.written:
            rest = self.text[w.end :]
            value = float(w.shown)
            decimals = _decimals(w.shown)
            if rest.startswith("%"):
                yield self._unit(w, f"{_sig(value / 100)}", 1, None)  # 36.2% → 0.362 (true)
                yield self._unit(w, f"{_sig(value / 100)}%", 1, "%")  # 36.2% → 0.362%
                yield self._unit(w, f"{w.shown} µm²", 1, "µm²")
            for mark, _unit, other, factor in (
                (" µm²", "µm²", "mm²", 1e-6),
                (" mm²", "mm²", "µm²", 1e6),
            ):
                if rest.startswith(mark):
                    yield self._unit(w, f"{w.shown} {other}", len(mark), other)
                    yield self._unit(w, f"{_sig(value * factor)} {other}", len(mark), other)
                    yield self._unit(w, f"{w.shown}%", len(mark), "%")
            if rest.startswith(" µm/px"):
                yield self._unit(w, f"{w.shown} µm", len(" µm/px"), "µm")
                yield self._unit(w, f"{w.shown} px/µm", len(" µm/px"), "px/µm")
                yield self._unit(w, f"{w.shown}x", len(" µm/px"), "x")
            if re.match(r"x(?![a-z])", rest):
                yield self._unit(w, f"{w.shown} µm/px", 1, "µm/px")
            m = re.match(r" (pixels|px)\b", rest)
            if m:
                yield self._unit(w, f"{w.shown} µm", m.end(), "µm")
            m = re.match(r" × (\d+) (pixels|px)\b", rest)
            if m:  # "2220 × 2967 pixels" → "2220 × 2967 µm"
                end = w.end + m.end()
                text = self.text[: w.end + m.start(2)] + "µm" + self.text[end:]
                yield Mutation("unit", text, self.cites)
            del decimals

    def _unit(self, w: _Written, new: str, eaten: int, unit: str | None) -> Mutation:
        text = self.text[: w.start] + new + self.text[w.end + eaten :]
        truth = _value_in(w.claim, unit, self.evidence)
        number = _NUMBER_RE.search(new)
        why = None
        if truth is not None and number is not None and _shows(number.group(0), truth, w):
            why = f"{new} is {truth:g} {unit or ''}".strip()
        return Mutation("unit", text, self.cites, why)

    # regions --------------------------------------------------------------------------------

    def regions(self) -> Iterator[Mutation]:
        for w in self.written:
            if not _is_index(w.claim):
                continue
            value = int(float(w.shown))
            for new in sorted({value + 1, value - 1, value + 2} - {value, 0, -1}):
                yield self._at("region number", w, str(new))

    # labels ---------------------------------------------------------------------------------

    def labels(self) -> Iterator[Mutation]:
        for ref in self.cites:
            ev = self.evidence.get(ref)
            cls = tool_class(ev.tool) if ev is not None else None
            if ev is None or cls is None or cls.label_field is None or not ev.ok:
                continue
            label = str(ev.output.get(cls.label_field, ""))
            pattern = re.compile(rf"\b{re.escape(label)}\b", re.IGNORECASE)
            if not label or not pattern.search(self.text):
                continue
            others = [c for c in ev.output.get("probabilities", {}) if c != label]
            for other in self.rng.sample(others, min(4, len(others))):
                text = pattern.sub(other, self.text)
                yield Mutation(
                    "label", text, self.cites, "the same class" if other == label else None
                )

    # entities -------------------------------------------------------------------------------

    def entities(self) -> Iterator[Mutation]:
        lower = self.text.lower()
        named = [d for d in DISEASES if d in lower]
        for disease in named:
            for other in self.rng.sample([d for d in DISEASES if d not in named], 2):
                text = _replace(self.text, disease, other)
                yield Mutation("entity: disease replaced", text, self.cites)
        for organ in ORGANS:
            if re.search(rf"\b{organ}\b", lower) and not any(organ in d for d in named):
                other = self.rng.choice([o for o in ORGANS if o != organ])
                yield Mutation(
                    "entity: organ replaced", _replace(self.text, organ, other), self.cites
                )
        backed = self._backed_text()
        if not named:
            choices = [d for d in DISEASES if d not in backed]
            disease = self.rng.choice(choices)
            text = self.text.rstrip(".") + f", consistent with {disease}."
            yield Mutation("entity: disease added", text, self.cites)

    def _backed_text(self) -> str:
        """The cited facts' and classifier labels' words (a disease they name is backed)."""
        words = []
        for ref in self.cites:
            fact = self.facts.get(ref)
            if fact is not None:
                words += [fact.text, fact.subject, fact.object or ""]
            ev = self.evidence.get(ref)
            if ev is not None and isinstance(ev.output.get("label"), str):
                words.append(ev.output["label"])
        return " ".join(words).lower()

    # citations ------------------------------------------------------------------------------

    def citations(self) -> Iterator[Mutation]:
        pool = [i for i in [*self.evidence, *self.facts] if i not in self.cites]
        for k, old in enumerate(self.cites):
            if pool:
                new = self.rng.choice(pool)
                cites = [*self.cites[:k], new, *self.cites[k + 1 :]]
                why = self._still_cited(old, new)
                text = _replace_id(self.text, old, new)
                yield Mutation("evidence id: another of the turn", text, cites, why)
            unknown = _unknown_id(old, set(self.evidence) | set(self.facts))
            cites = [*self.cites[:k], unknown, *self.cites[k + 1 :]]
            text = _replace_id(self.text, old, unknown)
            yield Mutation("evidence id: unknown", text, cites)

    def _still_cited(self, old: str, new: str) -> str | None:
        """Why citing ``new`` for ``old`` changes nothing the step claims, or None."""
        claims = [c for c in self.step.claims if old in (c.evidence, c.other_evidence)]
        if not claims:
            return f"the step claims nothing of {old}"
        for claim in claims:
            if not _holds_at(claim, old, new, self.evidence, self.facts):
                return None
        return f"{new} holds every claim of {old}"


# helpers -------------------------------------------------------------------------------------


def _written_numbers(step: ChainStep) -> list[_Written]:
    """The step's numbers outside quotes and names, each with the writer's claim behind it."""
    text = step.text
    for claim in step.claims:
        if claim.kind in ("quote", "name") and claim.text:
            text = text.replace(claim.text, " " * len(claim.text))
    text = _EXEMPT_RE.sub(lambda m: " " * len(m.group(0)), text)
    claims = [c for c in step.claims if c.kind in ("number", "compare") and c.value is not None]
    found = []
    for m in _NUMBER_RE.finditer(text):
        k = next(
            (i for i, c in enumerate(claims) if math.isclose(float(m.group(0)), c.value)), None
        )
        if k is not None:
            found.append(_Written(m.start(), m.end(), m.group(0), claims.pop(k)))
    return found


def _is_index(claim: Claim) -> bool:
    return claim.kind == "number" and (claim.path or "").rsplit(".", 1)[-1] in _INDEX_NAMES


def _value_in(claim: Claim, unit: str | None, evidence: dict[str, Evidence]) -> float | None:
    """The true value behind ``claim`` written in ``unit``; None when no value is (µm for µm/px)."""
    ev = evidence.get(claim.evidence)
    if ev is None:
        return None
    value = _resolve(ev.output, claim.path or "")
    if claim.kind == "compare":
        other = evidence.get(claim.other_evidence or "")
        b = _resolve(other.output, claim.other_path or "") if other is not None else None
        if claim.op != "difference" or not _number(value) or not _number(b):
            return None
        return (value - b) * _factor(ev, claim.path or "", claim.unit)
    if not _number(value):
        return None
    if unit == claim.unit:
        return value * _factor(ev, claim.path or "", unit)
    cls = tool_class(ev.tool)
    declared = cls.claimable_kind(claim.path or "") if cls is not None else None
    stored = stored_unit(claim.path or "", declared) or declared
    if stored == "px" and unit == "µm":
        mpp = ev.output.get("mpp") or ev.output.get("mpp_x")
        return value * mpp if _number(mpp) else None
    if stored == "fraction" and unit is None:
        return value
    if stored == "%" and unit is None:
        return value / 100
    factor = UNIT_FACTORS.get((stored or "", unit or ""))
    return None if factor is None else value * factor


def _factor(ev: Evidence, path: str, unit: str | None) -> float:
    if unit is None:
        return 1.0
    cls = tool_class(ev.tool)
    stored = stored_unit(path, cls.claimable_kind(path) if cls is not None else None)
    return UNIT_FACTORS.get((stored or "", unit), 1.0)


def _shows(shown: str, truth: float, w: _Written) -> bool:
    """``shown`` states ``truth`` within half a unit of its last digit (or the claim's slack)."""
    tolerance = 0.5 * 10 ** (-_decimals(shown))
    if w.claim.kind == "compare":
        # a difference of two counts is exact; of two rounded values, one unit of its last digit
        exact = float(truth).is_integer()
        return math.isclose(float(shown), truth, abs_tol=(1 if exact else 2) * tolerance + 1e-9)
    if _decimals(shown) == _decimals(w.shown) and w.claim.tolerance is not None:
        tolerance = max(tolerance, w.claim.tolerance)
    return math.isclose(float(shown), truth, abs_tol=tolerance + 1e-9)


def _holds_at(
    claim: Claim, old: str, new: str, evidence: dict[str, Evidence], facts: dict[str, RecalledFact]
) -> bool:
    """``claim``, made of ``old``, holds just as well of ``new``."""
    if claim.kind in ("quote", "name"):
        return bool(claim.text) and quote_found(new, claim.text, evidence, facts)
    a, b = evidence.get(old), evidence.get(new)
    if a is None or b is None:
        return False
    paths = [claim.path, claim.other_path] if claim.kind == "compare" else [claim.path]
    return all(_resolve(a.output, p or "") == _resolve(b.output, p or "") for p in paths)


def _resolve(output: dict[str, Any], path: str) -> Any:
    node: Any = output
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _decimals(shown: str) -> int:
    return len(shown.split(".")[1]) if "." in shown else 0


def _fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _sig(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits, in plain notation."""
    if value == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f"{value:.{decimals}f}"


def _last_digit(shown: str, step: int) -> str:
    """``shown`` with one more (or less) in its last digit, at the same precision."""
    decimals = _decimals(shown)
    return _fmt(float(shown) + step * 10 ** (-decimals), decimals)


def _transpose(shown: str) -> str | None:
    """Two adjacent different digits swapped (the last such pair), or None."""
    digits = [i for i, c in enumerate(shown) if c.isdigit()]
    for a, b in reversed(list(zip(digits, digits[1:], strict=False))):
        if shown[a] != shown[b]:
            chars = list(shown)
            chars[a], chars[b] = chars[b], chars[a]
            out = "".join(chars)
            if out.startswith("0") and len(out) > 1 and out[1] != ".":
                continue  # "07" is not how a number is written
            return out
    return None


def _roundings(shown: str) -> list[str]:
    """``shown`` rounded to one digit less: the right way (still true) and the wrong way."""
    decimals = _decimals(shown)
    value = float(shown)
    step = 10 ** (1 - decimals) if decimals else 10.0
    if not decimals and abs(value) < 10:
        return []
    near = round(value / step) * step
    far = near + step if near <= value else near - step
    d = max(decimals - 1, 0)
    return [_fmt(near, d), _fmt(far, d)] if far >= 0 else [_fmt(near, d)]


def _pairs(written: list[_Written], rng: random.Random) -> list[tuple[_Written, _Written]]:
    pairs = [(a, b) for i, a in enumerate(written) for b in written[i + 1 :]]
    return rng.sample(pairs, min(3, len(pairs)))


def _replace(text: str, old: str, new: str) -> str:
    """``text`` with every ``old`` (any case, whole words) as ``new``, capitalised where it was."""

    def swap(m: re.Match[str]) -> str:
        return new[:1].upper() + new[1:] if m.group(0)[:1].isupper() else new

    return re.sub(rf"\b{re.escape(old)}\b", swap, text, flags=re.IGNORECASE)


def _replace_id(text: str, old: str, new: str) -> str:
    """``text`` citing ``new`` wherever it cites ``old`` ("Earlier in this case (E8.1): …")."""
    return re.sub(rf"(?<![\w.:#]){re.escape(old)}(?![\w.:#])", new, text)


def _unknown_id(old: str, known: set[str]) -> str:
    """An id written like ``old`` that names nothing of the turn."""
    m = re.fullmatch(r"E(\d+)\.(\d+)", old)
    if m:
        n = int(m.group(2)) + 1
        while f"E{m.group(1)}.{n}" in known:
            n += 1
        return f"E{m.group(1)}.{n}"
    return old + "x" if ":" in old else "E99.1"
