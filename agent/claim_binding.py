"""Bind the numbers and quotes a model wrote in a chain step to claims on the cited outputs.

Text in double quotes becomes a ``quote`` claim against the cited id that contains it; each
number outside quotes becomes a ``number`` claim at the first claimable output path of the
step's cited tool evidence whose value it shows (after the verifier's unit conversions, within
half a unit of its last shown digit), where the words around it fit what the field holds. A
number that matches nothing gets no claim, so the verifier's ``numbers_claimed`` check fails it.

Which output paths a number may bind to, and what each holds, is the cited tool's own
declaration (``Tool.claimable``, found by ``tools.registry.tool_class``). Only for a tool that
declares nothing (one this process does not know, or an extra tool without ``claimable``) are
both inferred: the paths by the output's shape (``claimable_leaves``), the kinds by the field
names (``field_kind``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from agent.state import Claim, Evidence, RecalledFact
from agent.verifier import strings_in
from core.claimable import UNIT_FACTORS, claimable_numbers, stored_unit
from core.labels import file_label
from tools.base import Tool
from tools.registry import tool_class

__all__ = [
    "claimable_leaves",
    "claims_for",
    "field_kind",
    "fits",
    "number_context",
    "numbers_in",
    "quote_found",
]

_QUOTE_RE = re.compile(r"\"([^\"\n]{1,300})\"|“([^”\n]{1,300})”")
# The verifier's number pattern (agent/verifier.py): what it counts as a number, we claim.
_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*\d)")
_EXEMPT_RE = re.compile(r"level-0")
_UNIT_AFTER = (("%", "%"), ("µm²", "µm²"), ("um²", "µm²"), ("um2", "µm²"), ("mm²", "mm²"))


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
    """Quote claims for quoted text, number claims for numbers found in the cited outputs.

    Text in quotation marks, and a cited fact's sentence, source or id (or a cited tool's
    error message) copied verbatim, become quotes; nothing inside them is read as a number.
    Each other number binds to one claimable field (``_bind``); a width × height pair to the
    width and height of one object; a difference between two cited regions ("80 more nuclei
    than region #1") to a ``compare`` claim.
    """
    claims: list[Claim] = []
    for m in _QUOTE_RE.finditer(text):
        quote = m.group(1) or m.group(2)
        if not quote.strip() or not cites:
            continue
        named = next((c for c in cites if _names_file(c, quote, evidence)), None)
        if named is not None:
            claims.append(Claim(kind="name", evidence=named, text=quote))
            continue
        home = next((c for c in cites if quote_found(c, quote, evidence, facts)), cites[0])
        kind = "opinion" if _in_opinion(home, quote, evidence) else "quote"
        claims.append(Claim(kind=kind, evidence=home, text=quote))
    unquoted = text
    for claim in claims:
        unquoted = unquoted.replace(claim.text or "", " " * len(claim.text or ""))
    for ref, span in _verbatim(unquoted, cites, evidence, facts):
        kind = "opinion" if _in_opinion(ref, span, evidence) else "quote"
        claims.append(Claim(kind=kind, evidence=ref, text=span))
        unquoted = unquoted.replace(span, " " * len(span))
    leaves = [leaf for ref in cites if ref in evidence for leaf in _leaves(evidence[ref])]
    written = numbers_in(unquoted)
    joint = _dimension_pairs(unquoted, written, leaves)
    for index, claim in _versus_pairs(unquoted, written, leaves, cites, evidence).items():
        joint.setdefault(index, claim)
    candidates: dict[int, list[tuple[str, str, str | None]]] = {}
    differences: dict[int, Claim] = {}
    for index, (shown, value, end) in enumerate(written):
        if index in joint:
            continue
        start = end - len(shown)
        context = number_context(unquoted, start, end)
        fitting = [leaf for leaf in leaves if _fits(context, leaf.path, leaf.kind)]
        hinted = _hinted(unquoted, start, fitting, text)
        fitting = _at_level(unquoted, start, hinted, leaves)
        found = _matches(value, _half_unit(shown), _unit_after(unquoted[end:]), fitting)
        if found:
            candidates[index] = found
            continue
        difference = _difference(unquoted, start, end, value, shown, cites, evidence)
        if difference is not None:
            differences[index] = difference
    _one_output_per_sentence(unquoted, written, candidates, set(joint) | set(differences), evidence)
    for index, (shown, value, _end) in enumerate(written):
        if index in joint:
            if joint[index] is not None:
                claims.append(joint[index])  # type: ignore[arg-type]
        elif candidates.get(index):
            ref, path, unit = candidates[index][0]
            claims.append(
                Claim(
                    kind="number",
                    evidence=ref,
                    path=path,
                    value=value,
                    unit=unit,
                    tolerance=_half_unit(shown),
                )
            )
        elif index in differences:
            claims.append(differences[index])
    return claims


def _half_unit(shown: str) -> float:
    digits = len(shown.split(".")[1]) if "." in shown else 0
    return 0.5 * 10 ** (-digits)


_MIN_VERBATIM = 6
"""Shortest copied string taken as a quote (a fact id such as ``DOID:684`` is longer)."""


def _verbatim(
    text: str, cites: list[str], evidence: dict[str, Evidence], facts: dict[str, RecalledFact]
) -> list[tuple[str, str]]:
    """Strings of the turn's facts and tool outputs that the step copies verbatim.

    A fact's text, source or id; a tool's error message, expert name or class label, or a
    model's statement (``Tool.opinions``: a quote of it is an ``opinion`` claim). Each is a
    quote of the cited id that holds it, else of the first cited id (where the verifier does
    not find it: a fact's sentence cited to another fact, an expert's name to another output).
    Returned as (id, string), longest first.
    """
    found: list[tuple[str, str]] = []
    for ref, fact in facts.items():
        strings = [fact.text, fact.source, fact.id, fact.subject, fact.object or ""]
        found += [(ref, s) for s in strings if len(s) >= _MIN_VERBATIM and s in text]
    for ref, ev in evidence.items():
        cls = tool_class(ev.tool) if ev.tool else None
        label = ev.output.get(cls.label_field) if cls is not None and cls.label_field else None
        strings = [ev.error or "", ev.expert or "", label if isinstance(label, str) else ""]
        if cls is not None and ev.ok:
            strings += cls.opinion_texts(ev.output)
        found += [(ref, s) for s in strings if len(s) >= _MIN_VERBATIM and s in text]
    found.sort(key=lambda item: (-len(item[1]), item[0] not in cites))
    kept: list[tuple[str, str]] = []
    for ref, span in found:
        if any(span in other for _, other in kept):
            continue
        home = next((c for c in cites if quote_found(c, span, evidence, facts)), None)
        kept.append((home or (cites[0] if cites else ref), span))
    return kept


def _in_opinion(ref: str, quote: str, evidence: dict[str, Evidence]) -> bool:
    """``quote`` is taken from a model's free-text statement in the cited tool output."""
    ev = evidence.get(ref)
    cls = tool_class(ev.tool) if ev is not None and ev.ok else None
    return cls is not None and any(quote in t for t in cls.opinion_texts(ev.output))


def _names_file(ref: str, quote: str, evidence: dict[str, Evidence]) -> bool:
    """``quote`` is the label of the file name (``name``) that the cited tool output reports."""
    name = evidence[ref].output.get("name") if ref in evidence else None
    return isinstance(name, str) and file_label(name) == quote


def quote_found(
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
_TIMES_RE = re.compile(r"^\s*[×]\s*(\d+(?:\.\d+)?)(?![\w.]*\d)")
_OTHER_UNIT_RE = re.compile(
    r"^(?:[µu]m|mm|nm|cm|m|microns?|micrometres?|micrometers?|millimet(?:re|er)s?|"
    r"px/[µu]m|mm/px|nm/px|pixels?/[µu]m|mm²/px)(?![\w²/])",
    re.IGNORECASE,
)
_NOUN_RE = re.compile(r"^[A-Za-z]")
_MM_RE = re.compile(r"mm(?![\w²/^])")


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
    pair = _TIMES_RE.match(rest)
    if pair is not None:  # "2220 × 2967 pixels": the unit written after the second number
        after = number_context(text, end + pair.start(1), end + pair.end(1))
        return after if after.startswith("unit:") else "unit:px"
    stripped = rest.lstrip()
    for mark, unit in _CONTEXT_UNITS:
        if stripped.startswith(mark):
            return f"unit:{unit}"
    if _MM_RE.match(stripped):
        return "unit:mm"  # "1.11 × 1.48 mm": a length in millimetres
    if _OTHER_UNIT_RE.match(stripped):
        return "unit:other"  # a length or another unit no claimable field is stored in
    if _NOUN_RE.match(stripped) and rest[:1] == " ":
        return "noun"
    return "bare"


class _Leaf(NamedTuple):
    """A claimable number of a cited output: where it is, what it holds, how it is stored."""

    ref: str
    path: str
    value: float
    kind: str
    stored: str | None


def _leaves(ev: Evidence) -> list[_Leaf]:
    cls = _declaring(ev.tool)
    found = []
    for path, value in claimable_leaves(ev.output, ev.tool):
        declared = cls.claimable_kind(path) if cls is not None else None
        kind = _kind(path, declared)
        found.append(_Leaf(ev.id, path, value, kind, stored_unit(path, declared)))
    return found


def _declaring(tool: str | None) -> type[Tool] | None:
    """The tool's class when it declares its claimable fields, else None."""
    cls = tool_class(tool) if tool else None
    return cls if cls is not None and cls.claimable is not None else None


_DECLARED_KINDS = {
    "count": "count",
    "index": "index",
    "level": "level",
    "px": "unit:px",
    "px²": "unit:px",
    "µm/px": "unit:µm/px",
    "x": "unit:x",
    "fraction": "unit:%",
    "%": "unit:%",
    "µm²": "unit:µm²",
    "mm²": "unit:mm²",
    "mm": "unit:mm",
    "per mm²": "density",
}
"""A declared field kind (``core.claimable.FieldKind``) → what a written number must look like;
a ratio, a probability or another quantity: ``quantity`` (a bare number only)."""


def field_kind(path: str, tool: str | None = None) -> str:
    """What a claimable field holds: as ``tool`` declares it, else guessed from its name.

    An index, a pyramid level, a count, a density, a quantity in a unit, or another quantity
    (which only a bare number, as in a box or a parenthesis, may stand for).
    """
    cls = _declaring(tool)
    return _kind(path, cls.claimable_kind(path) if cls is not None else None)


def _kind(path: str, declared: str | None) -> str:
    if declared is not None:
        return _DECLARED_KINDS.get(declared, "quantity")
    name = path.split(".")[0] if path.split(".")[-1].isdigit() else path.rsplit(".", 1)[-1]
    if name.endswith(("number", "index")):
        return "index"
    if name == "level":
        return "level"
    if "density" in name or "per_mm2" in name:
        return "density"  # "1439 nuclei per mm²"
    if name == "count" or name.endswith("_count"):
        return "count"  # "60 nuclei", "1 level(s)"
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


def fits(context: str, path: str, tool: str | None = None) -> bool:
    """A number in ``context`` may stand for the field at ``path`` of ``tool``'s output."""
    return _fits(context, path, field_kind(path, tool))


def _fits(context: str, path: str, kind: str) -> bool:
    name = path.rsplit(".", 1)[-1]
    if context == "level":
        return kind == "level"  # "at level 1": a pyramid level, never the count of levels
    if context.startswith("item:"):
        return name == context.split(":")[1]  # "[x0, y0, x1, y1]": the k-th of a short list
    if context == "density":
        return kind == "density"
    if context == "per:other":
        return False
    if context == "index" or kind == "index":
        return context == kind
    if context.startswith("unit:"):
        if context in ("unit:µm²", "unit:mm²") and kind in ("unit:µm²", "unit:mm²"):
            return True  # converted between the two
        return kind == context
    if context == "noun":
        return kind == "count"  # "60 nuclei"; "1433 nuclei per mm²" is a density
    return True  # bare: a box's coordinates, a probability in parentheses


_PAIR_RE = re.compile(r"\s*×\s*$")


def _dimension_pairs(
    text: str, written: list[tuple[str, float, int]], leaves: list[_Leaf]
) -> dict[int, Claim | None]:
    """Claims for the numbers of each ``W × H`` written, by their index among ``written``.

    The two bind together to one object's width and height (``…width…`` and the same path
    with ``height``): "2967 × 2967 pixels" is not a slide of 2220 × 2967 whose height is 2967,
    and "512 × 600" not a view's output width and its box's first corner. A pair that binds to
    no such object gets None for both numbers (unclaimed).
    """
    pairs: dict[int, Claim | None] = {}
    for i in range(len(written) - 1):
        (sa, va, ea), (sb, vb, eb) = written[i], written[i + 1]
        if i in pairs or not _PAIR_RE.search(text[ea : eb - len(sb)]):
            continue
        pairs[i] = pairs[i + 1] = None
        unit = number_context(text, eb - len(sb), eb)
        if unit.startswith("unit:") and unit != "unit:px":
            continue  # "2220 × 2967 µm": widths and heights are in pixels
        ta, tb = _half_unit(sa), _half_unit(sb)
        by_path = {(leaf.ref, leaf.path): leaf for leaf in leaves}
        for leaf in _at_level(text, ea - len(sa), leaves, leaves):
            head, _, name = leaf.path.rpartition(".")
            if "width" not in name or not math.isclose(leaf.value, va, abs_tol=ta + 1e-9):
                continue
            twin = by_path.get((leaf.ref, f"{head}.{name}".lstrip(".").replace("width", "height")))
            if twin is None or not math.isclose(twin.value, vb, abs_tol=tb + 1e-9):
                continue
            pairs[i] = Claim(
                kind="number", evidence=leaf.ref, path=leaf.path, value=va, tolerance=ta
            )
            pairs[i + 1] = Claim(
                kind="number", evidence=twin.ref, path=twin.path, value=vb, tolerance=tb
            )
            break
    return pairs


_CLAUSE_RE = re.compile(r"[^,;:()\[\]]*$")
_WORD_RE = re.compile(r"[A-Za-z]+")
_HINT_WORDS = 4
"""Words before a number (in its clause) read for the name of the field it stands for."""


def _hinted(text: str, start: int, fitting: list[_Leaf], written: str) -> list[_Leaf]:
    """The fitting fields whose names the words just before the number name most.

    "The mean nuclear area is 21.9 µm²" binds to the mean area, not the median; "(median
    20.4 µm²)" to the median; "downsample 2.00" to a downsample; "probability 0.62" to a class
    probability, and then to the probability of the class the sentence names before it. Words
    that name no field leave the choice as it is. ``text`` is the step without its quotes,
    ``written`` the step as written (the class named may be a quote of the label).
    """
    clause = _CLAUSE_RE.search(text[:start])
    before = clause.group(0) if clause else ""
    words = [_singular(w.lower()) for w in _WORD_RE.findall(before)][-_HINT_WORDS:]
    if words and fitting:
        scores = [sum(w in _tokens(leaf.path) for w in set(words)) for leaf in fitting]
        best = max(scores)
        if best:
            fitting = [leaf for leaf, score in zip(fitting, scores, strict=True) if score == best]
    classes = [leaf for leaf in fitting if leaf.path.startswith("probabilities.")]
    if classes and len(classes) == len(fitting):
        sentence = re.split(r"[.!?]\s", written[:start])[-1].lower()  # quotes included
        named = [
            (sentence.rfind(leaf.path.split(".", 1)[1].lower()), leaf)
            for leaf in classes
            if re.search(rf"\b{re.escape(leaf.path.split('.', 1)[1].lower())}\b", sentence)
        ]
        if named:
            return [max(named, key=lambda item: item[0])[1]]  # the class named last before it
    return fitting


def _tokens(path: str) -> set[str]:
    return {_singular(t.lower()) for t in re.split(r"[._\s]", path) if t.isalpha()}


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


_MORE_RE = re.compile(
    r"^\s*(?:percentage points?\s+|[A-Za-z]+\s+)?(more|fewer|less|higher|lower|larger|smaller)\b",
    re.IGNORECASE,
)
_REGION_RE = re.compile(r"#\s*(\d+)")


def _difference(
    text: str,
    start: int,
    end: int,
    value: float,
    shown: str,
    cites: list[str],
    evidence: dict[str, Evidence],
) -> Claim | None:
    """A ``compare`` claim for a difference between two cited regions, or None.

    "Region #2 has 80 more nuclei than region #1", "The covered area is 8.7 percentage points
    higher in region #2 than in region #1": the sentence names two regions (by ``#``) that
    cited outputs of one tool analysed, and the number is the first's field minus the second's
    (the second's minus the first's for fewer, lower…), of the field's kind: exactly for two
    counts, else within one unit of its last digit (a difference of two rounded values).
    """
    rest = text[end:]
    word = _MORE_RE.match(rest)
    if word is None:
        return None
    sentence_start = max(text.rfind(". ", 0, start) + 1, 0)
    stop = text.find(". ", end)
    sentence = text[sentence_start : stop if stop >= 0 else len(text)]
    regions = [int(m.group(1)) for m in _REGION_RE.finditer(sentence)]
    if len(regions) != 2 or regions[0] == regions[1]:
        return None
    first, second = (_region_evidence(n, cites, evidence) for n in regions)
    if first is None or second is None or first.tool != second.tool:
        return None
    if word.group(1).lower() in ("fewer", "less", "lower", "smaller"):
        first, second = second, first
    percent = rest.lstrip().lower().startswith("percentage point")
    context = "unit:%" if percent else number_context(text, start, end)
    tolerance = 2 * _half_unit(shown)
    others = {leaf.path: leaf for leaf in _leaves(second)}
    for leaf in _leaves(first):
        other = others.get(leaf.path)
        if other is None or not _fits(context, leaf.path, leaf.kind):
            continue
        unit = "%" if percent else None
        factor = 100.0 if percent and leaf.stored == "fraction" else 1.0
        if percent and leaf.stored not in ("fraction", "%"):
            continue
        gap = factor * (leaf.value - other.value)
        exact = leaf.value.is_integer() and other.value.is_integer()  # two counts
        slack = _half_unit(shown) if exact else tolerance
        if math.isclose(gap, value, abs_tol=slack + 1e-9):
            return Claim(
                kind="compare",
                op="difference",
                evidence=first.id,
                path=leaf.path,
                other_evidence=second.id,
                other_path=leaf.path,
                value=value,
                unit=unit,
                tolerance=slack,
            )
    return None


def _region_evidence(
    number: int, cites: list[str], evidence: dict[str, Evidence]
) -> Evidence | None:
    """The one cited tool output of region ``number`` (its ``roi_number``), or None."""
    found = [
        evidence[ref]
        for ref in cites
        if ref in evidence and evidence[ref].ok and evidence[ref].output.get("roi_number") == number
    ]
    return found[0] if len(found) == 1 else None


_SENTENCE_END_RE = re.compile(r"[.!?]\s")


def _sentence(text: str, start: int) -> tuple[int, int]:
    """The bounds of the sentence of ``text`` that holds offset ``start``."""
    before = [m.end() for m in _SENTENCE_END_RE.finditer(text, 0, start)]
    after = _SENTENCE_END_RE.search(text, start)
    return (before[-1] if before else 0), (after.start() + 1 if after else len(text))


_LEVEL_NAMED_RE = re.compile(r"\blevel\s+(\d+)\b", re.IGNORECASE)
_ENTRY_RE = re.compile(r"^([^.]+)\.(\d+)\.")


def _at_level(text: str, start: int, fitting: list[_Leaf], leaves: list[_Leaf]) -> list[_Leaf]:
    """In a sentence that names "level k", sizes are of pyramid level k.

    Where a cited output lists its levels (entries with a ``level`` field), a number of such a
    sentence binds to a field of level k's entry, or to a field outside the list that is not
    a size in pixels ("4443 × 3567 pixels at level 1" is not the level-0 size; "Level 2 is
    150 × 125 pixels" not level 1's).
    """
    lo, hi = _sentence(text, start)
    named = _LEVEL_NAMED_RE.search(text[lo:hi])
    if named is None:
        return fitting
    level = float(named.group(1))
    entries: dict[tuple[str, str], float] = {}
    for leaf in leaves:
        m = _ENTRY_RE.match(leaf.path)
        if m is not None and leaf.path == f"{m.group(1)}.{m.group(2)}.level":
            entries[(leaf.ref, f"{m.group(1)}.{m.group(2)}")] = leaf.value
    listed = {ref for ref, _ in entries}
    kept = []
    for leaf in fitting:
        m = _ENTRY_RE.match(leaf.path)
        entry = (leaf.ref, f"{m.group(1)}.{m.group(2)}") if m is not None else None
        if entry is not None and entry in entries:
            if entries[entry] == level:
                kept.append(leaf)
        elif not (leaf.ref in listed and leaf.kind == "unit:px" and "." not in leaf.path):
            kept.append(leaf)
    return kept


def _one_output_per_sentence(
    text: str,
    written: list[tuple[str, float, int]],
    candidates: dict[int, list[tuple[str, str, str | None]]],
    comparing: set[int],
    evidence: dict[str, Evidence],
) -> None:
    """In one sentence, numbers that bind to outputs of one tool bind to one of those outputs.

    "The expert outlined 1956 nuclei in region #2; they cover 5.8% of it" citing region 1's and
    region 2's segmentations: 1956 and 5.8% are region 1's, so "#2" is left unclaimed. The
    output that most of the sentence's numbers bind to wins (the first cited on a tie).
    Sentences that compare two outputs ("157 vs 77", "80 more nuclei than") are left alone.
    """
    sentences: dict[tuple[int, int], list[int]] = {}
    for index, (shown, _value, end) in enumerate(written):
        sentences.setdefault(_sentence(text, end - len(shown)), []).append(index)
    for indices in sentences.values():
        if comparing & set(indices):
            continue
        by_tool: dict[str, list[str]] = {}
        for index in indices:
            for ref, _path, _unit in candidates.get(index, []):
                refs = by_tool.setdefault(evidence[ref].tool, [])
                if ref not in refs:
                    refs.append(ref)
        for refs in by_tool.values():
            if len(refs) < 2:
                continue
            votes = [
                sum(any(c[0] == ref for c in candidates.get(i, [])) for i in indices)
                for ref in refs
            ]
            winner = refs[votes.index(max(votes))]
            losers = set(refs) - {winner}
            for index in indices:
                if index in candidates:
                    candidates[index] = [c for c in candidates[index] if c[0] not in losers]


_VERSUS_RE = re.compile(r"^\s*(?:%|[µu]m²|mm²|px|pixels)?\s*(?:vs\.?|versus)\s*$")


def _versus_pairs(
    text: str,
    written: list[tuple[str, float, int]],
    leaves: list[_Leaf],
    cites: list[str],
    evidence: dict[str, Evidence],
) -> dict[int, Claim | None]:
    """Claims for the numbers of each ``A vs B`` written, by their index among ``written``.

    The two are one field of two cited outputs: "(157 vs 77)" after "Region #2 has 80 more
    nuclei than region #1" is region 2's count and region 1's, in that order when the sentence
    names two regions. A pair that binds to no such field gets None for both numbers.
    """
    pairs: dict[int, Claim | None] = {}
    for i in range(len(written) - 1):
        (sa, va, ea), (sb, vb, eb) = written[i], written[i + 1]
        if i in pairs or not _VERSUS_RE.match(text[ea : eb - len(sb)]):
            continue
        pairs[i] = pairs[i + 1] = None
        lo, hi = _sentence(text, ea - len(sa))
        regions = [int(m.group(1)) for m in _REGION_RE.finditer(text[lo:hi])]
        order: tuple[str, str] | None = None
        if len(regions) == 2 and regions[0] != regions[1]:
            first, second = (_region_evidence(n, cites, evidence) for n in regions)
            if first is None or second is None:
                continue
            order = (first.id, second.id)
        ctx_a = number_context(text, ea - len(sa), ea)
        ctx_b = number_context(text, eb - len(sb), eb)
        fit_a = [leaf for leaf in leaves if _fits(ctx_a, leaf.path, leaf.kind)]
        fit_b = [leaf for leaf in leaves if _fits(ctx_b, leaf.path, leaf.kind)]
        for ref_a, path, unit_a in _matches(va, _half_unit(sa), _unit_after(text[ea:]), fit_a):
            same = [leaf for leaf in fit_b if leaf.path == path and leaf.ref != ref_a]
            for ref_b, _, unit_b in _matches(vb, _half_unit(sb), _unit_after(text[eb:]), same):
                if order is not None and (ref_a, ref_b) != order:
                    continue
                pairs[i] = Claim(
                    kind="number",
                    evidence=ref_a,
                    path=path,
                    value=va,
                    unit=unit_a,
                    tolerance=_half_unit(sa),
                )
                pairs[i + 1] = Claim(
                    kind="number",
                    evidence=ref_b,
                    path=path,
                    value=vb,
                    unit=unit_b,
                    tolerance=_half_unit(sb),
                )
                break
            if pairs[i] is not None:
                break
    return pairs


def _unit_after(rest: str) -> str | None:
    rest = rest.lstrip()
    return next((unit for mark, unit in _UNIT_AFTER if rest.startswith(mark)), None)


def _matches(
    value: float,
    tolerance: float,
    unit_hint: str | None,
    leaves: list[_Leaf],
) -> list[tuple[str, str, str | None]]:
    """Every (evidence, path, unit) whose value, converted, shows as ``value``; best first."""
    found: list[tuple[tuple[int, int, float, int], tuple[str, str, str | None]]] = []
    for order, leaf in enumerate(leaves):
        for unit, converted in _conversions(leaf):
            gap = abs(converted - value)
            if not math.isclose(converted, value, abs_tol=tolerance + 1e-9):
                continue
            if unit_hint is not None and unit != unit_hint:
                continue  # "45 µm²" binds to an area in µm², never to a count of 45
            rank = 0 if unit == unit_hint else 1 if unit is None else 2
            key = (rank, leaf.path.count("."), gap, order)  # top-level fields before nested
            found.append((key, (leaf.ref, leaf.path, unit)))
    found.sort(key=lambda item: item[0])
    return [match for _, match in found]


def _conversions(leaf: _Leaf) -> Iterator[tuple[str | None, float]]:
    """The value as stored, then in every unit the verifier converts its field to."""
    yield None, leaf.value
    for (src, unit), factor in UNIT_FACTORS.items():
        if src == leaf.stored:
            yield unit, leaf.value * factor


def claimable_leaves(output: dict[str, Any], tool: str | None = None) -> list[tuple[str, float]]:
    """The numbers of ``tool``'s output that a written number may stand for, as (path, value).

    Those at the paths the tool declares (``Tool.claimable``). For a tool that declares
    nothing, inferred from the output's shape: the output's own numeric fields (a count, a
    share, an area, µm/px, a magnification), the class probabilities of a mapping of names to
    numbers, a short list of numbers such as the view's box, and the scalar numbers of the
    first entry of a ranked list (the largest tissue region). Not claimable: the rest of a
    per-object list (any nucleus's box or area, any tile's attention), which a chain would
    otherwise match by chance among thousands of values.
    """
    cls = _declaring(tool)
    if cls is not None and cls.claimable is not None:
        return claimable_numbers(output, cls.claimable)
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
