"""Meaning-based planner for CPU deployments: embed the request, match it to capabilities.

Each capability (a tool, or the agent's knowledge recall, case memory and comparison) declares
example requests in users' words. A request is split into clauses; each clause is embedded with
the packaged all-MiniLM-L6-v2 (the knowledge graph's model) and scored against every
capability by its best-matching examples. The arguments (regions, points, boxes, scales,
relative moves, references to earlier regions) come from the argument grammar that every
planner shares (``agent.intents``), so "zoom in 2x there" means the same whichever planner ran.
Below the confidence threshold the planner asks one clarifying question naming the nearest
capabilities instead of guessing.
"""

from __future__ import annotations

import difflib
import re
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from agent.capabilities import BUILT_IN, Capability
from agent.intents import (
    ParsedRequest,
    RegionRequest,
    parse_relative,
    region_request,
    segment_targets,
    zoom_request,
)
from agent.references import CURRENT_RE, DEICTIC_RE
from agent.review_intents import (
    CompareRequest,
    RecallRequest,
    compare_of,
    findings_asked,
    parse_compare,
    parse_recall,
    region_refs,
)
from agent.visual_question import visual_question

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "Routing",
    "SemanticRouter",
    "clarifying_question",
    "mask_arguments",
    "normalise",
    "semantic_parse",
    "split_clauses",
]

DEFAULT_THRESHOLD = 0.5
"""Lowest clause-to-example similarity at which a capability is taken."""


class Encoder(Protocol):
    """What the router needs of a sentence embedder (``memory.kg.embed.Embedder``)."""

    name: str

    def encode(self, texts: list[str]) -> list[list[float]]: ...


@dataclass(frozen=True)
class Scored:
    """One capability's score for one clause."""

    capability: str
    score: float
    clause: str


@dataclass(frozen=True)
class Routing:
    """What the router took, in request order, and the nearest capabilities overall."""

    selected: list[Scored]
    nearest: list[Scored]

    def as_json(self) -> list[dict[str, Any]]:
        """The routing decision as recorded with the plan."""
        return [
            {"capability": s.capability, "score": round(s.score, 3), "clause": s.clause}
            for s in self.selected
        ]


_SPLIT_RE = re.compile(
    r"\s*(?:[;!?]+|\.(?:\s+|$)|,?\s+and\s+then\s+|,?\s+then\s+|,\s*(?:and|also|plus)\s+|"
    r"\s+and\s+(?:also\s+)?(?=(?:zoom|count|detect|segment|classify|show|measure|tell|what|how|"
    r"give|report|outline|identify|find|list|go|pan|move|compare|summari[sz]e|estimate|"
    r"quantify|delineate|mask|enumerate|label|navigate|open|look|take|describe|explain|"
    r"define|is|are|which|where|highlight|draw|colou?r|mark|run|check|calculate|assess|get|"
    r"remind|recall|did|have|was|were|"
    r"segment|do|can|could|please)\b)|,\s+(?=(?:zoom|count|detect|segment|classify|show|"
    r"measure|tell|what|how|give|report|outline|identify|find|go|pan|move|compare|"
    r"estimate|quantify|enumerate|then|highlight|draw|run|check|calculate|assess|get|jump|"
    r"head|navigate|open|take|bring|switch|return|pull|locate|map)\b)|"
    r"\s+\+\s+|\s+&\s+|\s+[-–—]+\s+(?=(?:is|are|any|do|does|can|could|what|how|which|"
    r"where|then|and|now|also|count|zoom|segment|classify|show|tell|give)\b))\s*"
)
_RUN_ON_RE = re.compile(
    r"\b(view|field|region|area|here|there|slide|piece|fragment|\d+x)\s+"
    r"(?=(?:count|segment|classify|outline|detect|measure|zoom)\s)"
)
"""A dictated run-on ("zoom to the centre of this view count the cells"): a new order starts
at an analysis verb right after a place."""
_WORD_RE = re.compile(r"[a-zA-Zµ]+")
_NUM = r"-?\d+(?:\.\d+)?"
# Argument phrases that name *where*, not *what*: masked before a clause is embedded, so that
# "classify the largest fragment" is near "classify this region", not near the tissue tool.
_MASKS = (
    re.compile(rf"\[\s*{_NUM}\s*(?:,\s*{_NUM}\s*){{3}}\]"),
    re.compile(rf"\(\s*{_NUM}\s*,\s*{_NUM}\s*\)"),
    re.compile(r"\b\d{3,7}(?:\s*,?\s+\d{3,7}){1,3}\b(?!\s*(?:x|px|pixels?)\b)"),
    re.compile(rf"\bx\s*[=:]\s*{_NUM}\s*,?\s*(?:and\s+)?y\s*[=:]\s*{_NUM}"),
    re.compile(r"\b\d+\s*x\s*\d+\s*(?:px|pixels?)?\b"),
    re.compile(
        r"\b(?:the\s+)?(?:(?:\w+\s+)?(?:largest|biggest|main|smallest)\s+)(?:piece\s+of\s+)?"
        r"(?:tissue\s+)?(?:region|area|piece|fragment|section|core|bit|tissue)s?\b"
    ),
    re.compile(
        r"\b(?:at|in|on|of|around)\s+the\s+(?:(?:very\s+)?(?:cent(?:er|re)|middle)|"
        r"(?:top|upper|bottom|lower)[\s-]*(?:left|right)(?:\s+(?:corner|quadrant))?|"
        r"(?:left|right|top|bottom|upper|lower)\s+half)\s+of\s+(?:the\s+)?"
        r"(?:slide|image|section|view|field|region)\b"
    ),
    re.compile(
        r"\b(?:the\s+)?(?:tissue\s+)?(?:piece|fragment|core|island|chip)s?\s*(?:#\s*)?\d+\b"
        r"|\btissue\s+(?:region|area|piece)\s*#?\s*\d+\b|\btissue\s*#?\s*\d+\b(?!\s*x)"
    ),
)
_COMPARE_CUE_RE = re.compile(
    r"\bcompar(?:e|es|ed|ing|isons?|ative|atively)\b|\bversus\b|\bvs\b|\bdiffer|\bcontrast|"
    r"\bboth\b|\bbetween\b|"
    r"\bsame\s+(?:as|type|tissue|class)|\bmore\s+\w+\s+than\b|\bagainst\b|\bside\s+by\s+side\b"
)
# Words the typo fixer never changes: short or common words and units.
_KEEP = frozenset(
    [
        "there",
        "their",
        "these",
        "those",
        "where",
        "which",
        "while",
        "about",
        "above",
        "below",
        "after",
        "again",
        "other",
        "under",
        "please",
        "thanks",
        "could",
        "would",
        "should",
        "right",
        "left",
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "whole",
        "slide",
        "image",
        "level",
        "tissue",
        "region",
        "regions",
    ]
)


_SHORTHAND = {
    "nuc": "nuclei",
    "nucs": "nuclei",
    "nucl": "nuclei",
    "dx": "diagnosis",
    "ddx": "differential diagnosis",
    "seg": "segment",
    "frag": "fragment",
    "pni": "perineural invasion",
    "lvi": "lymphovascular invasion",
    "frags": "fragments",
    "@": "at",
    "mag": "magnification",
    "hpf": "high power field",
    "wsi": "whole slide",
    "cmpare": "compare",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "w/": "with",
    "tx": "treatment",
}
_SHORTHAND_RE = re.compile(r"(?<![\w/])(" + "|".join(map(re.escape, _SHORTHAND)) + r")(?![\w/])")
_CONTRACTIONS = {"'s": " is", "'re": " are", "'m": " am", "'ve": " have", "'ll": " will"}
_CONTRACTION_RE = re.compile(
    r"\b(what|where|how|who|which|it|that|there|here|we|you|i|they)('s|'re|'m|'ve|'ll)\b"
)
_STARTED_RE = re.compile(
    r"\b(?:where\s+|the\s+(?:place|view|spot)\s+(?:where\s+)?)we\s+"
    r"(?:started|began|first\s+looked)\b|"
    r"\bthe\s+(?:very\s+)?(?:start|beginning|starting\s+(?:point|view))\b"
)
""""Where we started": the case's first view."""
_R_NUMBER_RE = re.compile(r"\b(?:r|roi|v|view)(\d{1,3})\b")


def normalise(text: str) -> str:
    """Lower case, single spaces, plain quotes and ×, pathologists' shorthand spelled out."""
    low = " ".join(text.lower().split())
    low = low.replace("’", "'").replace("“", '"').replace("”", '"').replace("×", "x")
    low = _SHORTHAND_RE.sub(lambda m: _SHORTHAND[m.group(1)], low)
    low = _CONTRACTION_RE.sub(lambda m: m.group(1) + _CONTRACTIONS[m.group(2)], low)
    low = _STARTED_RE.sub("the first view", low)
    return _R_NUMBER_RE.sub(r"region \1", low)


def _inflection(word: str, known: str) -> bool:
    """``word`` and ``known`` differ in an ending only ("piece"/"pieces", "predict"/"predicted")."""
    if word.startswith(known):
        return True
    stem = min(len(word), len(known)) - 1
    return word[:stem] == known[:stem] and abs(len(word) - len(known)) <= 2


def _edits(a: str, b: str) -> int:
    """Edits between two words, a swap of neighbouring letters counting as one ("nuceli")."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def mask_arguments(low: str) -> str:
    """``low`` with its where-phrases (boxes, points, tissue pieces) replaced by "there"."""
    for pattern in _MASKS:
        low = pattern.sub("there", low)
    return low


def split_clauses(low: str) -> list[str]:
    """The request's clauses (each with at least one word); the whole when it has one."""
    low = _RUN_ON_RE.sub(r"\1; ", low)
    parts = [p.strip(" ,.") for p in _SPLIT_RE.split(low)]
    clauses = [p for p in parts if _WORD_RE.search(p or "")]
    return clauses or [low]


class SemanticRouter:
    """Scores clauses against the capabilities' examples; example vectors cached per process."""

    _cache: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
    _cache_lock = threading.Lock()

    def __init__(
        self,
        capabilities: Sequence[Capability],
        encoder: Encoder,
        *,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        self.capabilities = list(capabilities)
        self._by_name = {c.name: c for c in self.capabilities}
        self.threshold = threshold
        self._encoder = encoder
        self._owner: list[int] = []
        texts: list[str] = []
        authored: set[str] = set()
        for k, cap in enumerate(self.capabilities):
            for example in (*cap.examples, *cap.user_examples):
                texts.append(mask_arguments(normalise(example)))
                self._owner.append(k)
            for example in cap.examples:
                authored.update(_WORD_RE.findall(normalise(example)))
        self._texts = tuple(texts)
        known = getattr(encoder, "known_words", None)
        self._words: frozenset[str] = known() if callable(known) else frozenset()
        # a typo is fixed towards the tools' own words or a real word users wrote, never
        # towards another user's typo ("nuceli")
        users = {w for t in texts for w in _WORD_RE.findall(t)} & self._words
        self._vocab = sorted(w for w in authored | users if len(w) >= 5)

    def _examples(self) -> np.ndarray:
        key = (self._encoder.name, self._texts)
        with self._cache_lock:
            found = self._cache.get(key)
        if found is None:
            found = np.asarray(self._encoder.encode(list(self._texts)), dtype=np.float32)
            with self._cache_lock:
                self._cache[key] = found
        return found

    def fix_typos(self, low: str) -> str:
        """Replace words close to a word of the examples ("segmnet" → "segment")."""

        def fix(m: re.Match[str]) -> str:
            word = m.group()
            if len(word) < 5 or word in _KEEP or word in self._vocab or word in self._words:
                return word
            near = difflib.get_close_matches(word, self._vocab, n=3, cutoff=0.8)
            near.sort(key=lambda known: _edits(word, known))  # "nuceli": nuclei, not nucleoli
            if not near or _edits(word, near[0]) > (1 if len(word) <= 6 else 2):
                return word  # "solid" is not a typo of "slide"
            if _inflection(word, near[0]) or word.endswith(near[0]):
                # an inflection of a known word ("centred", "piece") or a prefixed one
                # ("acellular", "hypocellular"), not a typo
                return word
            return near[0]

        return _WORD_RE.sub(fix, low)

    def score(self, clauses: list[str]) -> np.ndarray:
        """``[len(clauses), len(capabilities)]``: each capability's best example similarity."""
        examples = self._examples()
        vectors = np.asarray(self._encoder.encode(clauses), dtype=np.float32)
        sims = vectors @ examples.T
        owner = np.asarray(self._owner)
        out = np.full((len(clauses), len(self.capabilities)), -1.0, dtype=np.float32)
        for k in range(len(self.capabilities)):
            cols = sims[:, owner == k]
            if cols.shape[1] == 0:
                continue
            top = np.sort(cols, axis=1)[:, ::-1][:, :2]
            # the best example, nudged by the second best: one stray match weighs less
            out[:, k] = 0.75 * top[:, 0] + 0.25 * top[:, -1]
            stems = self.capabilities[k].vocabulary
            for i, clause in enumerate(clauses):
                if stems and not _names_any(clause, stems):
                    out[i, k] = -1.0  # "is there necrosis?" names what it asks about
        return out

    def _split_further(
        self, clauses: list[str], table: np.ndarray, texts: list[str]
    ) -> tuple[list[str], np.ndarray]:
        """Split a clause at "and" / "," when each side names another capability clearly.

        "slide metadata and tissue area please" names two; "find the nuclei and measure their
        area" names one (its second half alone is no clearer than the whole).
        """
        out_clauses: list[str] = []
        rows: list[np.ndarray] = []
        for i, clause in enumerate(clauses):
            parts = [p.strip(" ,") for p in re.split(r"\s+and\s+|,\s*", clause) if p.strip(" ,")]
            if (
                len(parts) != 2
                or min(len(p.split()) for p in parts) < 2
                or _JOINED_REFS_RE.search(clause)  # "are views 1 and 4 the same type?"
            ):
                out_clauses.append(clause)
                rows.append(table[i])
                continue
            sub = self.score([mask_arguments(p) for p in parts])
            best = [int(np.argmax(r)) for r in sub]
            strong = all(
                float(r[k]) >= self.threshold + _SPLIT_MARGIN
                for r, k in zip(sub, best, strict=True)
            )
            if strong and best[0] != best[1]:
                out_clauses.extend(parts)
                rows.extend([sub[0], sub[1]])
            else:
                out_clauses.append(clause)
                rows.append(table[i])
        rows.append(table[-1])
        return out_clauses, np.vstack(rows)

    def _visual_cue(self, clause: str) -> str | None:
        """``vqa`` for a question about what the image shows that no measuring tool answers.

        Presence of a class the tile classifier knows ("is there necrosis?") is composition's;
        how a region looks in terms of those classes ("does it look like tumour or stroma?")
        is classification's; anything else ("any goblet cells?", "are the nuclei high
        grade?", "describe the growth pattern") is a free visual question.
        """
        by_name = self._by_name
        if "vqa" not in by_name:
            return None
        asked = visual_question(clause)
        if asked is None:
            return None
        if asked.form in ("describe", "state") or _names_any(
            asked.thing, by_name["vqa"].vocabulary
        ):
            return "vqa"
        composition = by_name.get("composition")
        if composition is not None and _names_any(asked.thing, _class_stems(composition)):
            return "composition" if asked.form == "presence" else "classify"
        return "vqa"

    def _bare_feature(self, clause: str) -> str | None:
        """``vqa`` (or composition, for a tissue class) for a bare feature asked about.

        "crescents in these glomeruli?", "psammoma bodies?", "pagetoid spread in the epidermis
        or not": a noun phrase with no verb, naming a feature in a place, several of something
        or asking "or not". Only when nothing else was chosen.
        """
        if not _BARE_FEATURE_RE.fullmatch(clause) or _NOT_A_FEATURE_RE.match(clause):
            return None
        words = clause.split()
        if not (
            re.search(r"\b(?:in|within|around|of)\s+(?:the|these|this|those)\b", clause)
            or clause.endswith(" or not")
            or (len(words) >= 2 and re.search(r"[a-z]{3}(?:s|ies|ae|i)$", words[-1]))
        ):
            return None
        composition = self._by_name.get("composition")
        if composition is not None and _names_any(clause, _class_stems(composition)):
            return "composition"
        return "vqa"

    def route(self, low: str, exclude: frozenset[str] = frozenset()) -> Routing:
        """Capabilities the request asks for, in the order its clauses name them."""
        clauses = split_clauses(low)
        texts = [*clauses, low] if len(clauses) > 1 else clauses
        table = self.score([mask_arguments(t) for t in texts])
        for k, cap in enumerate(self.capabilities):
            if cap.name in exclude:
                table[:, k] = -1.0

        names = [c.name for c in self.capabilities]
        clauses, table = self._split_further(clauses, table, texts)
        for i, text in enumerate([*clauses, low]):
            if _DIAGNOSIS_RE.search(text):  # no measuring tool answers "what is the diagnosis"
                for k, name in enumerate(names):
                    if name in _NO_DIAGNOSIS:
                        table[i, k] = -1.0
        selected: list[Scored] = []
        for i, clause in enumerate(clauses):
            if len(clauses) > 1 and _ASIDE_RE.match(clause):
                continue  # "..., my attending asked and I have no idea where to look"
            order = np.argsort(-table[i])
            best = float(table[i, order[0]])
            name = names[order[0]] if best >= self.threshold else None
            cue = grammar_cue(clause)
            if cue is None or cue == "classify":  # "does this look tubular or villous?"
                cue = self._visual_cue(clause) or cue
            takes_over = (cue in ("vqa", "composition") and name not in ("compare", "recall")) or (
                cue in ("recall", "compare", "knowledge")
                or name is None
                or (cue == "zoom" and name in _YIELDS_TO_ZOOM)
                or (cue == "classify" and name in _YIELDS_TO_CLASSIFY)
                or (cue in ("segment", "detect") and name in ("tissue", "slide_info", "zoom"))
                or (cue == "segment" and name == "detect" and not _COUNT_VERB_RE.search(clause))
                # an order by its verb ("classify this region of the ovarian tumour") is no
                # textbook question, however close the disease's examples read
                or (name == "knowledge" and cue is not None and _analysis_verb(clause) == cue)
                or (cue == "wsi_classify" and name in ("classify", "slide_info", "tissue"))
                or (cue == "tissue" and name in ("classify", "zoom", "slide_info"))
                or (cue == "slide_info" and name in ("wsi_classify", "classify", "zoom", "tissue"))
            )
            if (
                i > 0
                and cue is None
                and _ANAPHOR_RE.search(clause)
                and len(clause.split()) <= _ANAPHOR_WORDS
                and best < self.threshold + _SPLIT_MARGIN
            ):
                continue  # "..., and how big is it?": a weak echo of the clause before
            if cue is not None and cue not in exclude and cue in names and takes_over:
                name, best = cue, max(best, self.threshold)
            elif (
                name in (None, "segment", "classify", "tissue")
                and "composition" in names
                and "composition" not in exclude
                and _PROPORTION_RE.search(clause)
                and not _SEGMENT_VERB_RE.search(clause)
                and _names_any(clause, _class_stems(self.capabilities[names.index("composition")]))
            ):  # "what fraction of this field is stroma?", "is it mostly tumour or stroma?"
                name, best = "composition", max(best, self.threshold)
            if name is not None:
                selected.append(Scored(name, best, clause))
        if len(selected) > 1:  # "looks mostly muscle to me, how much muscle is there?"
            selected = [s for s in selected if not _IMPRESSION_RE.match(s.clause)] or selected
        whole = table[-1]
        pointed = bool(re.search(r"\b(?:this|these|here)\b", clauses[0]))
        if (
            len(clauses) == 1
            and "vqa" in names
            and "vqa" not in exclude
            and (not selected or (pointed and [s.capability for s in selected] == ["knowledge"]))
        ):  # "crescents in these glomeruli?" points at the image, not at a textbook
            bare = self._bare_feature(clauses[0])
            if bare is not None:
                selected = [Scored(bare, self.threshold, clauses[0])]
        if not selected:
            k = int(np.argmax(whole))
            if float(whole[k]) >= self.threshold:
                selected.append(Scored(names[k], float(whole[k]), low))
        nearest_order = np.argsort(-table.max(axis=0))
        nearest = [Scored(names[k], float(table.max(axis=0)[k]), low) for k in nearest_order[:3]]
        unique: dict[str, Scored] = {}
        for s in selected:
            unique.setdefault(s.capability, s)
        return Routing(selected=list(unique.values()), nearest=nearest)


def semantic_parse(
    request: str, router: SemanticRouter, *, has_view: bool, has_class: bool = False
) -> tuple[ParsedRequest, Routing, str]:
    """The intents of ``request`` chosen by meaning, with the shared grammar's arguments.

    ``has_class``: the case has classified a region or the slide ("what is this tumour?" then
    asks about that class, not for a new classification).

    Returns the parsed request, the routing, and the text the grammar read (typos fixed).
    """
    low = router.fix_typos(normalise(request))
    routing = router.route(low)
    chosen = {s.capability for s in routing.selected}
    if not chosen and _names_disease(request):
        best = routing.nearest[0].score if routing.nearest else 0.0
        routing = Routing([Scored("knowledge", best, low)], routing.nearest)
        chosen = {"knowledge"}
    wsi_clause = next((x.clause for x in routing.selected if x.capability == "wsi_classify"), "")
    if (
        "wsi_classify" in chosen
        and "classify" not in chosen
        and _names_a_place(wsi_clause)
        and not _SLIDE_WIDE_RE.search(wsi_clause)
    ):
        chosen = (chosen - {"wsi_classify"}) | {"classify"}  # "classify the centre of the slide"
        routing = Routing(
            [
                Scored("classify", s.score, s.clause) if s.capability == "wsi_classify" else s
                for s in routing.selected
            ],
            routing.nearest,
        )
    if has_class and _THIS_DISEASE_RE.search(low) and chosen <= {"classify", "knowledge"}:
        # "what is this tumour?" after a classification: the class the case has is the topic
        chosen = {"knowledge"}
        routing = Routing([Scored("knowledge", routing.nearest[0].score, low)], routing.nearest)
    if "compare" in chosen and not _can_compare(low):
        recalls = parse_recall(low) is not None or _PAST_RESULT_RE.search(low)
        routing = router.route(
            low, exclude=frozenset({"compare"} if recalls else {"compare", "recall"})
        )
        chosen = {s.capability for s in routing.selected}
    chosen |= _grammar_cues(low, chosen, has_view)
    if not chosen and has_view and _WHAT_IS_THIS_RE.fullmatch(low):
        chosen = {"classify"}
        routing = Routing([Scored("classify", router.threshold, low)], routing.nearest)
    if not chosen:
        return ParsedRequest(), routing, low
    recall = None
    compare = None
    clause_of = {s.capability: s.clause for s in routing.selected}
    if "compare" in chosen:
        said = clause_of.get("compare", low)
        whole = parse_compare(low) if parse_recall(low) is None else None  # as the rules read it
        compare = parse_compare(said) or whole or _compare_from_refs(said)
        chosen.discard("compare")
    elif "recall" in chosen:
        said = clause_of.get("recall", low)
        recall = parse_recall(said) or RecallRequest(
            regions=tuple(dict.fromkeys(region_refs(said))), kinds=findings_asked(said)
        )
        if not recall.kinds and not recall.views and len(routing.selected) == 1:
            # "remind me, what was the count"
            recall = RecallRequest(regions=recall.regions, kinds=findings_asked(low))
        chosen.discard("recall")
    zoom = None
    if "zoom" not in chosen and chosen & {"detect", "classify", "segment"}:
        named = zoom_request(low)
        if named.target in ("box", "point"):  # the place becomes a numbered region first
            zoom = replace(named, for_analysis=True)
    if "zoom" in chosen:
        zoom = zoom_request(clause_of.get("zoom", low))
        whole = zoom_request(low)
        if zoom.target == "default" and whole.target != "default":
            zoom = whole
    analyses: dict[str, RegionRequest | None] = {}
    for name in ("detect", "classify", "segment"):
        if name in chosen:
            analyses[name] = _analysis_region(clause_of.get(name, low), low, zoom is not None)
        else:
            analyses[name] = None
    segment = analyses["segment"]
    parts: tuple[str, ...] = ()
    if segment is not None:
        parts = segment_targets(clause_of.get("segment", low))
        segment = replace(segment, what=parts[0])
    if compare is not None:
        compare = _compare_with_analysis(compare, analyses, segment)
    by_name = {c.name: c for c in router.capabilities}
    other = tuple(
        (
            name,
            _analysis_region(clause_of.get(name, low), low, zoom is not None)
            if by_name[name].takes_region
            else None,
        )
        for name in sorted(chosen - BUILT_IN)
        if name in by_name
    )
    parsed = ParsedRequest(
        recall=recall,
        compare=compare,
        segment_also=parts[1:],
        other=other,
        info="slide_info" in chosen,
        tissue="tissue" in chosen,
        zoom=zoom,
        detect=analyses["detect"],
        classify=analyses["classify"],
        classify_slide="wsi_classify" in chosen,
        segment=segment,
        knowledge="knowledge" in chosen or bool(_THIS_DISEASE_RE.search(low)),
    )
    return parsed, routing, low


_PAST_RESULT_RE = re.compile(
    r"\b(?:what|which|how\s+many|how\s+much)\b[^?.;]*?\b(?:was|were|did|had)\b[^?.;]*?"
    r"\b(?:earlier|before|previously|already|so\s+far|last\s+time|again|"
    r"you\s+(?:gave|got|found|said|say|reported|report|called|measured))\b|"
    r"\b(?:did|have)\s+(?:we|you)\s+already\b|\bhave\s+we\s+(?:looked|seen|visited|been)\b|"
    r"\b(?:did|have)\s+you\s+(?:say|said|report|reported|call|called|tell|told|give|gave)\b|"
    r"\b(?:earlier|before|previously)\s*,?\s+(?:you|we)\s+\w+ed\b|"
    r"\bsummari[sz]e\s+(?:what|everything|all|our|the\s+findings)|"
    r"\bwhich\s+(?:view|region|field|area|roi|one|piece|fragment)\s+(?:had|showed|gave|was)\b|"
    r"\b(?:we|you)\s+(?:have\s+)?already\s+(?:checked|looked\s+at|analy[sz]ed|visited|counted|"
    r"classified|segmented|seen)\b|"
    r"\bdid\s+(?:we|you)\s+(?:\w+\s+)?(?:check|look|test|run|count|classify|segment|measure|"
    r"assess|analy[sz]e|evaluate|come\s+across|see|find|encounter|note|notice|get)\b|"
    r"\b(?:did|has|have)\s+(?:the\s+)?[\w-]+(?:\s+[\w-]+){0,2}\s+(?:run|been\s+run|finished|"
    r"completed)\b|\b(?:earlier|before|previously)\s*,?\s+(?:you|we)\s+(?:told|said|gave|found|"
    r"got|saw|had|ran)\b|\bdid\s+(?:anything|any\s+(?:of\s+)?(?:the\s+)?\w+)\s+(?:we|you)\s+\w+|"
    r"\bwhich\s+(?:views?|regions?|fields?|areas?)\s+have\s+we\b"
)
"""A question about a result the case already has ("what was the count earlier?")."""
_KNOWLEDGE_ASK_RE = re.compile(
    r"\bremind\s+me\s+(?:of\s+)?the\s+(?:\w+\s+)?(?:features?|definition|criteria|grading|"
    r"markers?|differentials?|sites?)\s+(?:of|for)\b|"
    r"\bremind\s+me\s+(?:of\s+)?(?:what|how|which)\b(?![^?]*\b(?:we|you|i)\b)[^?]*\b(?:defines?|"
    r"definition|features?|criteria|grad(?:e|ed|ing)|markers?|differentials?)\b"
)
"""A request to be reminded of textbook knowledge, not of the case's findings."""
_WHAT_WAS_RE = re.compile(
    r"^\s*(?:and\s+|so\s+)?(?:what|which|how\s+many)\s+(?:\w+\s+)?(?:was|were)\b"
)
"""A question in the past tense: about a result the case already holds."""
_TEXTBOOK_RE = re.compile(
    r"^\s*(?:so\s+|ok\s+|and\s+|quick\s+q\s*[-:,]?\s*)?(?:(?:can|could|would)\s+you\s+"
    r"(?:please\s+)?(?:explain|tell\s+me)\s+)?(?:what\s+(?:is|are)|what'?s|whats|define|"
    r"explain|tell\s+me\s+about)\s+(?!(?:this|that|these|those|it|here|there|we|you|i)\b)|"
    r"\bwhere\s+(?:does|do|is|are)\b[^?]*\b(?:arise|arises|origin\w*|occur|occurs|"
    r"come\s+from|found)\b|\bwhich\s+(?:organs?|sites?|stains?|markers?)\b|"
    r"\b(?:key\s+)?(?:histolog\w*\s+)?(?:features?|criteria|differentials?|markers?)\s+"
    r"(?:of|for)\s+(?!(?:this|that|these|those|it|here)\b)|"
    r"\bwhat\s+(?:type|kind|sort)\s+of\s+(?:tumou?r|cancer|disease|lesion|neoplasm|entity)\s+"
    r"(?:is|are)\s+(?!(?:this|that|these|those|it|here)\b)|"
    r"\b(?:which|what)\s+cells?\b[^?]*\b(?:origin|aris|deriv|come\s+from)"
)
"""A textbook question ("what is necrosis?", "where does X arise?"): knowledge, unless it
names the slide, a place on it or something the tools measure."""
_NOT_A_TERM = (
    r"(?!(?:this|that|these|those|it|here|there|we|you|i|"
    r"the\s+(?:view|field|region|slide|image))\b)"
)
_MEANS_RE = re.compile(
    rf"^\s*(?:so\s+|ok\s+|and\s+)?what\s+(?:does|do)\s+{_NOT_A_TERM}[\w\s/+-]+\b(?:mean|stand\s+for)\b|"
    rf"^\s*(?:(?:can|could|would)\s+you\s+(?:please\s+)?)?explain\s+what\s+"
    rf"{_NOT_A_TERM}[\w\s/+-]+\s+(?:is|are|means?)\s*$"
)
"""A term's meaning asked outright ("what does pN1a mean", "explain what desmoplasia is")."""
_CASE_NOUN_RE = re.compile(
    r"\b(?:mpp|microns?|µm|um/px|magnification|mag|objective|resolution|size|dimensions?|"
    r"pixels?|px|levels?|scanner|vendor|format|file|fraction|percent\w*|proportion|share|"
    r"counts?|number|density|class|label|(?<!differential\s)diagnosis|dx|prediction|results?|"
    r"findings?|slide|"
    r"wsi|image|scan|specimen|case|section|view|region|field|roi|fragments?|pieces?|cores?|"
    r"tissue\s+(?:area|type)|hpf)\b|%|\d+(?:\.\d+)?\s*(?:x|×|px|mm|µm|um)\b|\d+\s*,\s*\d+"
)
"""Words of the case and its measurements (a scale, a size, a point): a question naming one is
not a textbook question; a number alone ("Gleason pattern 5", "pN1a") is no such word."""
_VERSUS_RE = re.compile(r"\bversus\b|\bvs\b\.?")
_COMPARATIVE_RE = re.compile(
    r"\b(?:more|fewer|less|higher|lower|larger|bigger|smaller|denser|most|least|same\s+as|"
    r"\w+est\b|most\s+\w+|"
    r"different\s+from|as\s+many|the\s+same)\b"
)
_SLIDE_FACT_RE = re.compile(
    r"\s*(?:and\s+|so\s+)?(?:what\s+is\s+|what\s+are\s+)?(?:the\s+)?(?:scan\s+|base\s+)?"
    r"(?:mpp|µm/px|um/px|microns?\s+per\s+pixel|magnification|objective(?:\s+power)?|"
    r"resolution|scanner|vendor|file\s+format|format|dimensions|pixel\s+size)"
    r"(?:\s+(?:please|again))?\s*[?.!]*\s*"
)
"""A bare question for one of the slide's facts ("mpp?", "magnification please")."""
_WHICH_SLIDE_RE = re.compile(
    r"\bwhat\s+(?:slide|file|image|scan)\s+is\s+(?:this|that|it|open)\b|"
    r"\bwhich\s+(?:slide|file|image)\s+(?:is\s+(?:this|open)|are\s+we\s+(?:on|looking\s+at))\b"
)
""""What slide is this?": the open slide's name and facts."""
_WHAT_CASE_RE = re.compile(
    r"\s*(?:overall\s*,?\s*|so\s+|ok\s+)?what\s+is\s+(?:this|the)\s+(?:case|slide|specimen)"
    r"(?:\s+overall)?\s*[?.!]*\s*"
)
_WHAT_CASE_IS_RE = re.compile(
    r"\bwhat\s+(?:this|the)\s+(?:whole\s+)?(?:case|slide|specimen)\s+(?:is|shows)\b|"
    r"\b(?:whole[\s-]+slide|slide[\s-]+level|overall)\s+(?:prediction|call|label|class|verdict|"
    r"diagnosis|classification|answer)\b"
)
"""The slide's class asked in passing ("tell me what this case is", "a slide-level call")."""
""""Overall, what is this case?": the slide's class."""
_PROPORTION_RE = re.compile(
    r"\b(?:fraction|percent(?:age)?|proportions?|share|mostly|majority|predominantly|"
    r"how\s+much\s+of)\b|%"
)
"""How much of a region a class takes: the composition's question, when it names a class."""
_CLASSIFY_VERB_RE = re.compile(r"\bclassif(?:y|ier|ication)\b|\bpatch\s+classifier\b")
_SEGMENT_VERB_RE = re.compile(
    r"\b(?:segment(?:ed|ing)?|segmentation|outlin(?:e|ed|ing)|delineat(?:e|ed|ing)|contour(?:ed)?)\b"
)
_COUNT_VERB_RE = re.compile(
    r"\b(?:count|enumerate|detect|tally)\b[^?.;]*\b(?:nucle(?:i|us)|cells?)\b|"
    r"\b(?:nucle(?:ar|i)|cell)\s+count\b"
)
_ANAPHOR_RE = re.compile(r"\b(?:it|they|them|those|these|that\s+one)\b")
_WHAT_IS_THIS_RE = re.compile(
    r"\s*(?:so\s+|ok\s+|and\s+)?(?:what\s+is\s+(?:this|that|here)|what\s+am\s+i\s+looking\s+at"
    r"(?:\s+here)?|what\s+are\s+we\s+looking\s+at(?:\s+here)?)\s*[?.!]*\s*"
)
"""A bare "what is this?" about the view on screen: its tissue class."""
_ASIDE_RE = re.compile(
    r"\s*(?:asking|because|bc|cos|cuz|since|like|sorry|thanks|thank\s+you|cheers|no\s+rush|"
    r"not\s+sure|just\s+(?:curious|checking|wondering)|looking\s+for|trying\s+to|"
    r"my\s+(?:\w+\s+)?(?:attending|boss|consultant|registrar|supervisor|pi|clinician|surgeon|"
    r"oncologist)s?\b|there\s+(?:is|are|was|were)\s+(?:some|a|an|what|also)\b|honestly\b|"
    r"our\s+(?:old\s+|new\s+)?(?:viewer|scanner|lab|system|software|pipeline|team)\b|"
    r"an?\s+(?:medical\s+)?(?:student|resident|colleague|clinician|trainee)\s+(?:asked|wants)\b|"
    r"i\s+(?:have|had|was|am|don't|do\s+not|didn't|can't|cannot|think|guess|"
    r"suspect|just|need\s+(?:it|this|that|these)\b)|i\s+am\b|i\s+have\b|we\s+are\b|"
    r"for\s+(?:my|the|a|our)\s+(?:report|molecular|mdt|tumou?r\s+board|records?|notes?|paper|"
    r"study|dataset)|need(?:ed)?\s+(?:it|this|that|these|an?\s+[\w-]+(?:\s+[\w-]+)?)\s+for\b)"
)
"""A later sentence that gives the reason or the setting of the request, not an order:
"asking bc the nuclei look soft", "my attending wants a number", "need a cellularity for
molecular"."""
_DIAGNOSIS_RE = re.compile(r"\bdiagnos[ie]s\b|\bdx\b")
_NO_DIAGNOSIS = frozenset({"tissue", "slide_info", "zoom", "detect", "segment", "composition"})
"""Capabilities that never answer a question for a diagnosis, however close its wording."""
_JOINED_REFS_RE = re.compile(r"\d+\s*(?:,|and|&)\s*(?:(?:view|region|roi|field)s?\s*)?#?\d+\b")
"""Two numbered regions joined by "and": one reference, not two clauses."""
_IMPRESSION_RE = re.compile(
    r"\s*(?:(?:it|this|that|the)(?:\s+[\w-]+){0,2}\s+)?(?:looks|seems|appears)\s+(?!like\s+"
    r"(?:what|which))"
)
"""The user's own impression ("this node looks packed with lymphocytes"), said beside a
question: the question is what to answer."""
_BARE_FEATURE_RE = re.compile(r"[a-z][a-z-]*(?:\s+[a-z-]+){1,7}")
_NOT_A_FEATURE_RE = re.compile(
    r"(?:what|how|why|who|where|which|when|is|are|was|were|do|does|did|can|could|would|should|"
    r"will|please|pls|the|this|that|these|those|it|its|i|we|you|my|our|and|so|ok|okay|hmm|same|"
    r"next|again|more|less|back|go|run|fix|redo|undo|analy[sz]e|continue|show|give|tell|let|"
    r"make|check|help|thanks|thank|yes|no|not|just|also|then|now|compare|zoom|count|segment|"
    r"classify|outline|measure|detect|find|get|open|view|look|any|some)\b"
)
"""A clause starting with one of these is not a bare noun phrase."""
_ANAPHOR_WORDS = 5
"""A later clause this short that only points back ("how big is it") adds no capability of its
own unless it scores clearly."""
_SPLIT_MARGIN = 0.15
"""How far above the threshold both halves of an "and" must score to be taken apart."""
_DISEASE_RE = re.compile(
    r"\w+(?:oma|omas)\b|\bcarcinoma|\bcancer|\bneoplasm|\bsyndrome|"
    r"\bdisease|\b(?:[A-Z]{2,6}|[A-Z]{2,5}-[A-Z0-9]{1,3})s?\b"
)
_NOT_DISEASE = frozenset({"ROI", "ROIS", "WSI", "HPF", "ICD", "OK", "MM", "PX", "UM", "ID", "PDF"})
"""A request that names a disease (or an acronym of one) and matches no tool asks about it."""
_ANALYSIS_RE = re.compile(
    r"\b(?:classif\w*|count\w*|composition|breakdown|detect\w*|segment\w*|outline\w*|enumerat\w*|measure\w*|"
    r"quantif\w*|how\s+many|what\s+(?:kind|type)\s+of\s+tissue|tissue\s+type)\b"
)
_PLACE_RE = re.compile(
    r"\b(?:cent(?:er|re)|middle|corner|quadrant|half|region|area|field|view|spot|box|here|"
    r"there|point)\b|\[|\("
)
_THIS_DISEASE_RE = re.compile(
    r"\bwhat\s+(?:is|are)\s+(?:this|these|that|those)\s+(?:tumou?r|lesion|cancer|neoplasm|"
    r"disease|diagnosis)s?\b|\b(?:differentials?|features|markers|grading|staging|prognosis)\s+"
    r"(?:of|for)\s+(?:this|that|the)\s+(?:entity|diagnosis|tumou?r|lesion|class|label)\b|"
    r"\bwhat\s+(?:this|that)\s+(?:tumou?r|lesion|cancer|neoplasm|"
    r"disease|diagnosis|label|class|entity)\s+(?:means|is)\b|\bwhat\s+(?:should|do)\s+i\s+look\s+for\b"
)
"""A question about the disease the image shows: its facts are recalled beside the analysis."""
_TISSUE_TYPE_RE = re.compile(
    r"\b(?:tissue\s+(?:type|class|classification)|(?:type|kind|sort)\s+of\s+tissue)\b"
)
_EITHER_CLASS_RE = re.compile(
    r"^\s*(?:so\s+|and\s+|ok\s+)?(?:is|does)\s+(?:this|that|it|the\s+(?:view|field|region|area))\s+"
    r"(?:look\s+like\s+|more\s+)?(?:[\w-]+\s+){1,3}or\s+[\w-]+"
)
""""Is this mucus or debris?": which of two classes the region is, a classification."""
_WHERE_TISSUE_RE = re.compile(
    r"\bwhere\s+(?:is|are)\s+(?:the\s+|all\s+the\s+)?tissues?\b(?!\s+(?:type|class))|"
    r"^\s*(?:(?:please|now|first)\s+)?(?:find|detect|locate|map|identify)\s+(?:me\s+)?(?:all\s+)?"
    r"(?:the\s+)?tissue(?:\s+(?:pieces|regions|fragments|areas|bits|cores))?\s*(?:first|please)?\s*$"
)
"""Where the tissue lies on the slide: the tissue tool's regions, not a classification."""
_COMPOSITION_RE = re.compile(
    r"\b(?:tissue\s+|class\s+)?composition\b|\bbreak\s*down\s+(?:of\s+)?(?:the\s+)?"
    r"(?:tissue|class)|\b(?:tissue|class)(?:[\s-]+type)?\s+breakdown\b"
)
"""The share of each tissue class in a region: the composition tool's question."""
_HOW_MANY_PIECES_RE = re.compile(
    r"\b(?:how\s+many|number\s+of)\s+(?:separate\s+|distinct\s+)?(?:tissue\s+)?"
    r"(?:regions|pieces|fragments|cores|bits)\b"
)
"""How many pieces of tissue the slide holds: the tissue tool's regions."""
_SLIDE_WIDE_RE = re.compile(r"\b(?:whole|entire)[\s-]+slide\b|\bslide[- ]level\b|\boverall\b")
_A_SLIDE_RE = re.compile(
    r"\b(?:this|the|that)\s+(?:[a-z-]+\s+){0,2}(?:slide|case|wsi)\b|\bwhole\s+slide\b"
)
_YIELDS_TO_CLASSIFY = frozenset({"tissue", "slide_info", "wsi_classify", "zoom", "composition"})
"""Capabilities a clause that asks for a region's class ("is this mucus or debris?") overrides."""
_YIELDS_TO_ZOOM = frozenset({"slide_info", "tissue", "wsi_classify"})
"""Capabilities that a clause's explicit navigation (a verb with a target or a scale) overrides:
"show me tissue 1 at 0.25 microns per pixel" is a view, not the slide's resolution."""
_NAV_VERB_RE = re.compile(
    r"\b(?:zoom|magnify|go|navigate|move|pan|cent(?:er|re)\s+on|view|look\s+(?:at|around|over)|"
    r"(?:^|please\s+|you\s+)show\b|\bshow\s+(?:me|us)\b|"
    r"(?:have|take)\s+a\s+look|return|take|"
    r"open|jump|head|bring\s+up|display|visit|switch|overview)\b|"
    r"^\s*(?:\d+(?:\.\d+)?\s*x|at\s+\d|level\s+\d)"
)


def grammar_cue(clause: str) -> str | None:
    """A capability the shared grammar makes certain for one clause, or None.

    Recalling the case's findings and comparing named regions have unambiguous wording; a
    navigation verb with an explicit target or scale, or a relative move, is a view.
    """
    if (
        _COMPARE_WORD_RE.search(clause)
        and _can_compare(clause)
        and (parse_compare(clause) is not None or _compare_from_refs(clause) is not None)
    ):
        return "compare"
    if _KNOWLEDGE_ASK_RE.search(clause):
        return "knowledge"
    if _SLIDE_FACT_RE.fullmatch(clause) or _WHICH_SLIDE_RE.search(clause):
        return "slide_info"
    if _WHAT_CASE_RE.fullmatch(clause) or _WHAT_CASE_IS_RE.search(clause):
        return "wsi_classify"
    if parse_recall(clause) is not None or _PAST_RESULT_RE.search(clause):
        return "recall"
    if _WHAT_WAS_RE.search(clause) and set(findings_asked(clause)) - {"slide_info"}:
        return "recall"  # "what was the segmentation of region 2?"
    if _MEANS_RE.search(clause):
        return "knowledge"
    if (
        _TEXTBOOK_RE.search(clause)
        and not CURRENT_RE.search(clause)
        and not _CASE_NOUN_RE.search(clause)
        and not _analysis_verb(clause)
    ):
        return "knowledge"
    two = len(set(region_refs(clause))) >= 2 or _TWO_RE.search(clause)
    if two and (_COMPARATIVE_RE.search(clause) or _COMPARE_CUE_RE.search(clause)):
        compare = _compare_from_refs(clause)
        if compare is not None:
            return "compare"
    if (
        (_TISSUE_TYPE_RE.search(clause) or _EITHER_CLASS_RE.search(clause))
        and not _SLIDE_WIDE_RE.search(clause)
        and not _PROPORTION_RE.search(clause)  # "is it mostly tumour or stroma?": how much
    ):
        return "classify"
    if _WHERE_TISSUE_RE.search(clause) or _HOW_MANY_PIECES_RE.search(clause):
        return "tissue"
    if _COMPOSITION_RE.search(clause) and not _SLIDE_WIDE_RE.search(clause):
        return "composition"
    if parse_compare(clause) is not None:
        return "compare"
    rel = parse_relative(clause)
    analysis = _ANALYSIS_RE.search(clause)
    if rel is not None and (rel.pan or rel.factor is not None):
        return "zoom"
    if rel is not None and (rel.part or rel.slide_centre) and not analysis:
        return "zoom"
    zoom = zoom_request(clause)
    if zoom.target in ("point", "box") and not analysis:
        return "zoom"  # "what's at 1200, 800": show the place
    verb = _analysis_verb(clause)
    if verb is not None:
        return verb
    if _NAV_VERB_RE.search(clause) and not analysis:
        explicit = zoom.target != "default" or any(
            v is not None for v in (zoom.magnification, zoom.mpp, zoom.level)
        )
        if explicit:
            return "zoom"
    return None


def _analysis_verb(clause: str) -> str | None:
    """The analysis a clause orders by its verb ("classify ROI 1", "segment the stroma")."""
    if _CLASSIFY_VERB_RE.search(clause):
        whole = _SLIDE_WIDE_RE.search(clause) or (
            _A_SLIDE_RE.search(clause) and not _names_a_place(clause)
        )
        return "wsi_classify" if whole else "classify"
    if _SEGMENT_VERB_RE.search(clause):
        return "segment"
    if _COUNT_VERB_RE.search(clause):
        return "detect"
    return None


def _grammar_cues(low: str, chosen: set[str], has_view: bool) -> set[str]:
    """Capabilities the argument grammar alone makes certain: a pan, a part of the view."""
    rel = parse_relative(low)
    if rel is None or chosen & {"zoom", "detect", "segment", "classify", "compare"}:
        return set()
    if _ANALYSIS_RE.search(low) and not (rel.pan or rel.factor is not None):
        return set()  # a place named for an analysis ("classify the centre of the slide")
    if rel.pan or rel.part or rel.slide_centre or (rel.factor is not None and has_view):
        return {"zoom"}
    return set()


def _analysis_region(clause: str, low: str, after_zoom: bool) -> RegionRequest:
    """The region an analysis clause names; "there" after a zoom is the new view.

    A pronoun ("what tissue it is") points at the region the request named elsewhere.
    """
    found = region_request(clause)
    pointing = found.roi_ref == "current" and not DEICTIC_RE.search(clause)
    if pointing or (found.target == "default" and found.box is None and found.centre_size is None):
        whole = region_request(low)
        if not (after_zoom and whole.target == "roi"):
            found = whole
    if after_zoom and found.target == "roi" and found.roi_ref == "current":
        return RegionRequest()
    return found


def _compare_with_analysis(
    compare: CompareRequest,
    analyses: dict[str, RegionRequest | None],
    segment: RegionRequest | None,
) -> CompareRequest:
    """A comparison beside an analysis compares by that analysis, from the region it names.

    "segment the epithelium here and compare it with view 1" compares segmentations;
    "count nuclei in view 2 and compare with view 1" compares view 2, not the current view.
    """
    name = next((n for n in ("segment", "detect", "classify") if analyses.get(n)), None)
    if name is None:
        return compare
    region = analyses[name]
    assert region is not None
    if compare.tool is None:
        what = segment.what if name == "segment" and segment is not None else None
        compare = replace(compare, tool=name, what=what)  # type: ignore[arg-type]
    if region.roi_number is not None and region.roi_number not in compare.regions:
        regions = tuple(region.roi_number if r == "current" else r for r in compare.regions)
        compare = replace(compare, regions=regions)
    return compare


def _names_any(text: str, stems: Sequence[str]) -> bool:
    """A word of ``text`` starts with one of ``stems``."""
    prefixes = tuple(stems)
    return any(word.startswith(prefixes) for word in _WORD_RE.findall(text))


def _names_a_place(low: str) -> bool:
    """The request names a place on the slide (a region, a point, the centre, a corner)."""
    without = re.sub(r"\b(?:whole|entire|full)\s+slide\b|\bslide[- ]level\b|\boverall\b", "", low)
    return bool(_PLACE_RE.search(without))


def _class_stems(cap: Capability) -> tuple[str, ...]:
    """The stems of a capability's vocabulary that name a tissue class (not "proportion")."""
    return tuple(v for v in cap.vocabulary if v not in _GENERIC_STEMS)


_GENERIC_STEMS = frozenset({"composition", "proportion", "percentage", "classes", "background"})


def _names_disease(request: str) -> bool:
    return any(m.group().upper() not in _NOT_DISEASE for m in _DISEASE_RE.finditer(request))


def _can_compare(low: str) -> bool:
    """A comparison names two regions, or says compare / differ / both.

    A "versus" between two things that are not regions ("the cellular vs acellular areas") is
    no comparison.
    """
    refs = len(set(region_refs(low)))
    cue = _COMPARE_CUE_RE.search(_VERSUS_RE.sub(" ", low))
    two = bool(_TWO_RE.search(low) and _COMPARATIVE_RE.search(low))
    return bool(cue) or refs >= 2 or two


_TWO_RE = re.compile(
    r"\b(?:the|these|those)\s+(?:two|three|four)\b|\b(?:all|each)\s+(?:of\s+)?(?:the\s+|our\s+)?"
    r"(?:regions|views|fields|areas|rois)\b|\bboth\b|\beach\s+other\b|\bwhere\s+we\s+were\b|"
    r"\b(?:the\s+)?(?:one|view|place|area)\s+before\b|\bthe\s+other\s+(?:one|region|view)\b"
)
_COMPARE_WORD_RE = re.compile(
    r"\bcompar(?:e|es|ed|ing|isons?|ative|atively)\b|\bversus\b|\bvs\b|\bcontrast\w*|"
    r"\bdiffer\w*|\bside\s+by\s+side\b|\bhead\s+to\s+head\b|\bstack(?:s|ed)?\s+(?:up\b|"
    r"(?:\w+\s+){1,4}(?:up\s+)?against\b)|\bagainst\s+(?:each\s+other|one\s+another)\b"
)


_COMPARE_ORDER_RE = re.compile(r"\s*(?:now\s+|ok\s+|please\s+)?(?:compare|contrast)\b")
""""Compare the counts": with no region named, the last two regions the case looked at."""


def _compare_from_refs(low: str) -> CompareRequest | None:
    refs = list(dict.fromkeys(region_refs(low)))
    if not refs and (_TWO_RE.search(low) or _COMPARE_ORDER_RE.match(low)):
        refs = ["previous", "current"]  # "the two regions": the last two the case looked at
    if not refs:
        return None
    if len(refs) == 1:
        refs = ["current", *refs] if refs[0] != "current" else ["current", "previous"]
    return compare_of(low, tuple(refs))


def clarifying_question(routing: Routing, capabilities: Sequence[Capability]) -> str:
    """One question naming the two or three nearest capabilities, never a guess."""
    by_name = {c.name: c for c in capabilities}
    options = [by_name[s.capability].summary for s in routing.nearest if s.capability in by_name]
    short = [_short(text) for text in options[:3]]
    listed = "; ".join(f"({k}) {text}" for k, text in enumerate(short, start=1))
    return (
        "I am not sure which analysis you mean, and I answer only what a tool or the "
        f"knowledge graph can back. The nearest things I can do: {listed}. Which of these "
        "would you like, and on which region?"
    )


def _short(summary: str) -> str:
    """The first clause of a capability's summary, without its trailing details."""
    first = re.split(r": |; | \(|, with |, returns |, saved ", summary)[0]
    first = first.rstrip(".")
    return first[0].lower() + first[1:] if first else first
