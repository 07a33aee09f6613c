"""What a request asks for (its "asked slot"), and whether a chain's conclusion answers it.

``asked_slot`` reads a request into a small typed model: the relation(s) a knowledge question
asks about (definition, site, cell of origin, parent class, features, grading, differential,
markers, test method, staging), the entity phrase(s) it asks about (two for a comparison),
whether it asks for the slide's diagnosis, and the quantity (unit), tissue compartments and
regions it asks to be measured. ``check_answer`` compares the slot with the conclusion's
citations and claims: the asked relation must be a cited fact's predicate about the asked
entity (not a nearby one), a slide diagnosis must rest on a classifier's output (a
knowledge-graph fact is background, never the slide's diagnosis), an asked unit, compartment
or region must be stated. The verifier downgrades a chain that does not answer to ``partial``.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.knowledge import Knowledge
from agent.state import ChainStep, Check, Evidence, ReasoningChain, RecalledFact, Verification
from tools.registry import tool_class

__all__ = [
    "PREDICATES",
    "AskedSlot",
    "Relation",
    "add_asked_check",
    "answers",
    "asked_slot",
    "check_answer",
    "relation_words",
    "resolve_subjects",
]

Relation = Literal[
    "definition",
    "site",
    "cell_of_origin",
    "parent",
    "features",
    "grading",
    "differential",
    "markers",
    "test_method",
    "staging",
]

PREDICATES: dict[str, tuple[str, ...]] = {
    "definition": ("definition", "is_a"),
    "site": ("located_in",),
    "cell_of_origin": ("derives_from",),
    "parent": ("is_a",),
    "features": ("feature",),
    "grading": ("grading",),
    "differential": ("differential",),
    "markers": ("markers",),
    "test_method": ("testing",),
    "staging": (),
}
"""Knowledge-graph predicates that answer each relation; none holds stages."""

_IN_DEFINITION = {"site": "located_in", "cell_of_origin": "derives_from"}
"""Relations a Disease Ontology definition states in its text ('… that is located_in the liver')."""


def answers(relation: str, predicate: str, text: str) -> bool:
    """Whether a fact (its predicate and sentence) answers ``relation``."""
    if predicate in PREDICATES.get(relation, ()):
        return True
    keyword = _IN_DEFINITION.get(relation)
    return predicate == "definition" and keyword is not None and keyword in text


_WORDS = {
    "definition": "definition",
    "site": "site",
    "cell_of_origin": "cell of origin",
    "parent": "parent class",
    "features": "histological features",
    "grading": "grading",
    "differential": "differential diagnosis",
    "markers": "markers (immunohistochemistry)",
    "test_method": "test method",
    "staging": "staging",
}

_NOT_GRADE = r"(?<!high )(?<!high-)(?<!low )(?<!low-)(?<!intermediate )(?<!intermediate-)"
_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "markers",
        re.compile(r"\b(markers?|ihc|immuno\w*|stains?|staining|antibod\w*|immunoprofile|panel)\b"),
    ),
    (
        "test_method",
        re.compile(
            r"\bhow (?:do|can|would|should|is|are|does) (?:we |you |i |one |it |they )?"
            r"(?:test|tested|detect|detected|assess|assessed|measure|check)\w*"
            r"|\bhow (?:is|are) [\w-]+(?: [\w-]+)? (?:tested|assessed|measured|scored|detected)\b"
            r"|\btest(?:ed|ing)? for\b|\bassays?\b"
            # "how is MMR testing done", "how is HER2 scoring performed"
            r"|\bhow (?:is|are) (?:[\w-]+ ){1,2}(?:testing|scoring|assessment) "
            r"(?:done|performed|carried out|read|interpreted)\b"
        ),
    ),
    ("staging", re.compile(r"\b(stag(?:e|es|ed|ing)|tnm)\b")),
    (
        "grading",
        re.compile(_NOT_GRADE + r"\b(grad(?:e|es|ed|ing)|gleason|isup|nottingham)\b"),
    ),
    (
        "differential",
        re.compile(r"\b(differential|ddx|mimics?|mimickers?|rule out|distinguish\w*)\b"),
    ),
    (
        "features",
        re.compile(
            r"\b(features?|look(?:s)? for|look(?:s)? like|histolog\w*|morpholog\w*|"
            r"appearance|microscop\w*|patterns?|characteristics?)\b"
        ),
    ),
    (
        "cell_of_origin",
        re.compile(r"\bcells? of origin\b|\b(?:which|what) cells?\b|\bderive[sd]?\b|\boriginat\w*"),
    ),
    (
        "site",
        re.compile(r"\b(where|sites?|located|locations?|arises?|arising|organs?|occur)\b"),
    ),
    (
        "parent",
        re.compile(r"\b(kind of|type of|subtype of|parent|class of|classified|belongs?)\b"),
    ),
    (
        "definition",
        re.compile(
            r"^\s*(?:so |and |ok,? )?(?:what|who)(?:'s| is| are)\b(?! the (?:cells?|sites?|"
            r"origin|grad\w*|differential|stag\w*|markers?|features?|histolog\w*|parent|"
            r"locations?|differences?|diagnosis|tests?|ihc|typical))|\bdefin\w*|\bmeaning\b"
            r"|\bexplain\b|\btell me about\b|\bwhat does .+ (?:mean|stand for)\b"
        ),
    ),
)

_COMPARE = (
    r"\bdifferences? between (?P<a>.+?) and (?P<b>.+?)(?:[?.!]|$)",
    r"\bcompare (?P<a>.+?) (?:and|with|to) (?P<b>.+?)(?:[?.!]|$)",
    r"\bhow (?:does|do|is|are) (?P<a>.+?) differ\w* from (?P<b>.+?)(?:[?.!]|$)",
    r"\bdistinguish (?P<a>.+?) from (?P<b>.+?)(?:[?.!]|$)",
    r"(?P<a>[\w -]+?)\s+(?:vs\.?|versus)\s+(?P<b>[\w -]+?)(?:[?.!]|$)",
)
_CUE_PHRASES = re.compile(
    r"\b(?:what|which|where|how|when|why|who|does|do|did|is|are|was|were|can|could|would|"
    r"should|will|the|a|an|of|for|in|on|to|with|and|or|me|us|tell|about|please|explain|"
    r"define|definition|meaning|mean|means|stand|i|we|you|one|it|its|they|there|help|helps|"
    r"confirm|confirming|support|diagnose|diagnosing|useful|used|use|markers?|ihc|"
    r"immuno\w*|stains?|staining|antibod\w*|panel|test|tests|testing|tested|detect\w*|assess\w*|"
    r"measure|check|assays?|stag(?:e|es|ed|ing)|tnm|graded|grading|gleason|isup|differential|"
    r"diagnosis|diagnoses|ddx|mimics?|distinguish\w*|rule|out|features?|look|looks|like|"
    r"histolog\w*|morpholog\w*|appearance|microscop\w*|patterns?|characteristics?|sites?|"
    r"located|locations?|arises?|arising|from|origin|originat\w*|derive[sd]?|organs?|occur|"
    r"kind|type|subtype|parent|class|classified|belongs?|differences?|between|compare|versus|"
    r"vs|differ\w*|should|typical|typically|usually|common|main|key|know|need|find|see|"
    r"show|shows|s|my|our|some|any|have|has|get|give|list|name|there|these|those|that|this|"
    r"whats|current|currently|thinking|now|nowadays|expected|exactly|u|pls|plz)\b"
)
_CONNECTORS = frozenset({"in", "of", "the"})
_NOT_SUBJECT = re.compile(
    r"\b(?:cells? of origin|(?:which|what) cells?|cell types?)\b", re.IGNORECASE
)
_GENERIC_SUBJECTS = frozenset(
    {"tumour", "tumor", "lesion", "cancer", "neoplasm", "mass", "growth", "disease", "carcinoma"}
)
_DEICTIC = re.compile(r"\b(this|that|these|those|it)\b")
_SLIDE_WORDS = re.compile(
    r"\b(slide|biopsy|biopsies|specimen|section|case|sample|image|resection|tissue|"
    r"this (?:\w+ )?(?:tumou?r|lesion|cancer|neoplasm|mass|growth))\b"
)
_DIAGNOSIS = re.compile(r"\bdiagnos(?:is|e|ed|ing)\b")
_NOT_DIAGNOSIS = re.compile(r"\bdifferential\b")
_UNITS = (
    ("mm²", re.compile(r"mm(?:²|2|\^2)|square milli\w*|sq\.? ?mm")),
    ("µm²", re.compile(r"(?:µm|um|μm)(?:²|2|\^2)|square micro\w*")),
    ("%", re.compile(r"%|\bpercent\w*|\bproportions?\b|\bfractions?\b|\bshare\b")),
)
_COMPARTMENTS = (
    "epithelium",
    "stroma",
    "tumour",
    "necrosis",
    "lymphocytes",
    "mucus",
    "muscle",
    "fat",
    "background",
    "debris",
)
_COMPARTMENT_RE = {
    "epithelium": r"epitheli\w*",
    "stroma": r"strom\w*",
    "tumour": r"tumou?rs?\b(?! area)",
    "necrosis": r"necro\w*",
    "lymphocytes": r"lympho\w*",
    "mucus": r"muc(?:us|in)\w*",
    "muscle": r"muscle\w*",
    "fat": r"(?:fat|adipose)\w*",
    "background": r"background",
    "debris": r"debris",
}
_REGION = re.compile(r"\b(?:roi|region)\s*#?\s*(\d{1,3})\b")


class AskedSlot(BaseModel):
    """What one request asks for; empty fields ask nothing of that kind."""

    model_config = ConfigDict(frozen=True)

    relations: list[Relation] = Field(
        default_factory=list, description="relations asked about; empty: an overview"
    )
    subjects: list[str] = Field(
        default_factory=list,
        description="entity phrases as written (two for a comparison); empty: 'this', 'it'",
    )
    comparison: bool = False
    slide_diagnosis: bool = Field(default=False, description="asks for this slide's diagnosis")
    units: list[str] = Field(default_factory=list, description="units the answer must state")
    compartments: list[str] = Field(
        default_factory=list, description="tissue compartments each to be stated (two or more)"
    )
    regions: list[int] = Field(default_factory=list, description="ROI numbers asked about")


_FIRST_QUESTION = re.compile(
    r"\s*(?:so\s+|ok\s+)?(?:what\s+(?:is|are)|what'?s|define)\s+(?P<x>[^?;,]+?)\s*"
    r"(?:\?|,|;|\band\s+)\s*(?:and\s+)?(?=(?:why|how|what|when|which|where|does|do|is|are|can)\b)",
    re.IGNORECASE,
)
"""A definition asked first, then another question about it."""


def asked_slot(request: str) -> AskedSlot:
    """Read what ``request`` asks for."""
    text = " ".join(request.split())
    low = text.lower()
    relations = [name for name, cue in _CUES if cue.search(low)]
    subjects: list[str] = []
    comparison = False
    for pattern in _COMPARE:
        m = re.search(pattern, text, re.IGNORECASE)
        if m:
            a, b = _subject(m.group("a")), _subject(m.group("b"))
            if a and b:
                subjects, comparison = _complete(a, b), True
                break
    if not comparison:
        first = _FIRST_QUESTION.match(text)
        # "What is MSI-H and why does it matter in colon cancer?": the first question's subject
        one = (_subject(first.group("x")) if first else "") or _subject(text)
        subjects = [one] if one else []
    units = [u for u, cue in _UNITS if cue.search(low)]
    if "mm²" in units or "µm²" in units:
        units = [u for u in units if u != "%" or re.search(r"%|percent", low)]
    compartments = [c for c in _COMPARTMENTS if re.search(r"\b" + _COMPARTMENT_RE[c], low)]
    diagnosis = bool(
        _DIAGNOSIS.search(low) and _SLIDE_WORDS.search(low) and not _NOT_DIAGNOSIS.search(low)
    )
    return AskedSlot(
        relations=[] if diagnosis else relations,
        subjects=[] if diagnosis else subjects,
        comparison=comparison,
        slide_diagnosis=diagnosis,
        units=units,
        compartments=compartments if len(compartments) >= 2 else [],
        regions=sorted({int(n) for n in _REGION.findall(low)}),
    )


_SUBJECT_LIKE = re.compile(
    r"(?i:\w*(?:oma|omas|cancer|neoplasm|tumou?rs?|leuka?emia|dysplasia|lesions?|disease|"
    r"syndrome|itis|osis)\b)|\b(?![A-Z]{2,5}\d{1,3}\b)[A-Za-z]*[A-Z][A-Za-z]*[A-Z][A-Za-z0-9-]*\b"
)
"""A phrase that names a disease-like term or an abbreviation ("HGSC", "MSI-H", "ccRCC")."""


def relation_words(relation: str) -> str:
    """The relation in words ('markers (immunohistochemistry)', 'cell of origin')."""
    return _WORDS.get(relation, relation)


def _subject(text: str) -> str:
    """The longest run of words left when question and relation words are taken out.

    'in', 'of' and 'the' inside a run are kept ('ductal carcinoma in situ', 'spindle cell
    lesion in the dermis'); a run never starts or ends with them.
    """
    text = _NOT_SUBJECT.sub(" ", text)
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9'-]*", text)
    best: list[str] = []
    run: list[str] = []
    pending: list[str] = []

    def rank(ws: list[str]) -> tuple[bool, int]:
        # a run that names a disease or an abbreviation beats a longer one that names
        # neither ("hgsc = ? and whats the current thinking on cell of origin": hgsc)
        return bool(_SUBJECT_LIKE.search(" ".join(ws))), len(" ".join(ws))

    for w in [*words, "what"]:
        lw = w.lower().strip("'")
        keep = not _CUE_PHRASES.fullmatch(lw)
        if keep and lw == "grade" and not run:
            keep = False  # 'grade' opens no subject ('grade 3'); 'high grade serous' keeps it
        if keep:
            run.extend([*pending, w])
            pending = []
        elif run and lw in _CONNECTORS:
            pending.append(w)
        else:
            if rank(run) > rank(best):
                best = run
            run, pending = [], []
    phrase = " ".join(best).strip("'- ")
    if _DEICTIC.fullmatch(phrase.lower() or "it") or phrase.lower() in _GENERIC_SUBJECTS:
        return ""
    return phrase


def _complete(a: str, b: str) -> list[str]:
    """Fill an elided head: 'low-grade' and 'high-grade serous' -> 'low-grade serous'.

    A phrase that names its own disease or abbreviation ('mesothelioma', 'ccRCC') is kept.
    """
    ta, tb = a.replace("-", " ").split(), b.replace("-", " ").split()
    if _SUBJECT_LIKE.search(a):  # "mesothelioma vs lung adenocarcinoma": a's own head
        return [a, b]
    if len(ta) < len(tb) and len(ta) <= 2:
        a = a + " " + " ".join(tb[len(ta) :])
    return [a, b]


def resolve_subjects(slot: AskedSlot, knowledge: Knowledge) -> list[set[str]]:
    """Disease entity ids each subject phrase names (by name, synonym or abbreviation).

    An empty set: the phrase names no entity of the knowledge graph.
    """
    out: list[set[str]] = []
    for phrase in slot.subjects:
        found = knowledge.mentions(phrase)
        out.append({x.entity for x in found.links if x.kind == "disease"})
    return out


def add_asked_check(
    report: Verification,
    request: str,
    chain: ReasoningChain,
    evidence: list[Evidence],
    facts: list[RecalledFact],
    *,
    knowledge_turn: bool,
    knowledge: Knowledge | None,
) -> Verification:
    """The report with the ``asked`` check added; not answered: ``partial`` at best, a reason."""
    slot = asked_slot(request)
    kb = knowledge if knowledge is not None and knowledge.problem() is None else None
    subjects = resolve_subjects(slot, kb) if kb is not None and knowledge_turn else None
    check = check_answer(
        slot,
        chain.conclusion,
        evidence,
        facts,
        knowledge=knowledge_turn,
        subjects=subjects,
    )
    if check is None:
        return report
    update: dict[str, object] = {"checks": [*report.checks, check]}
    if not check.ok:
        update["status"] = "partial" if report.status == "verified" else report.status
        update["reasons"] = [*report.reasons, check.detail]
    return report.model_copy(update=update)


def check_answer(
    slot: AskedSlot,
    conclusion: ChainStep | None,
    evidence: list[Evidence],
    facts: list[RecalledFact],
    *,
    knowledge: bool,
    subjects: list[set[str]] | None,
) -> Check | None:
    """Whether the conclusion answers the slot; None when the slot asks nothing checkable.

    ``knowledge``: the turn asks about medical knowledge (relations and entities apply);
    ``subjects``: the entity ids each subject phrase resolves to (None: no knowledge graph).
    """
    if conclusion is None:
        return None
    cited = set(conclusion.evidence)
    by_id = {e.id: e for e in evidence}
    cited_facts = [f for f in facts if f.id in cited]
    missing: list[str] = []
    if slot.slide_diagnosis:
        if not any(_is_label(by_id[ref]) for ref in cited if ref in by_id):
            missing.append(
                "the slide's diagnosis: no classifier's output is cited (knowledge-graph "
                "facts are background, not a diagnosis of this slide)"
            )
    elif knowledge and (slot.relations or slot.subjects):
        missing += _knowledge_gaps(slot, cited_facts, subjects)
    if slot.units:
        units = {c.unit for c in conclusion.claims if c.kind in ("number", "compare")}
        lacking = [u for u in slot.units if u not in units and u not in conclusion.text]
        if lacking and len(lacking) == len(slot.units):
            missing.append(f"a quantity in {' or '.join(slot.units)}")
    if slot.compartments:
        low = conclusion.text.lower()
        absent = [c for c in slot.compartments if not re.search(r"\b" + _COMPARTMENT_RE[c], low)]
        if absent:
            missing.append("each compartment asked for: " + ", ".join(absent) + " not stated")
    if slot.regions:
        done = _regions_of(conclusion, by_id)
        if done and not set(slot.regions) <= done:
            absent_r = sorted(set(slot.regions) - done)
            missing.append("region(s) " + ", ".join(f"#{n}" for n in absent_r))
    if not (slot.slide_diagnosis or slot.units or slot.compartments or slot.regions) and not (
        knowledge and (slot.relations or slot.subjects)
    ):
        return None
    return Check(
        step=conclusion.id,
        name="asked",
        ok=not missing,
        detail=("does not answer: asked for " + "; ".join(missing))
        if missing
        else "the conclusion answers what was asked",
    )


def _knowledge_gaps(
    slot: AskedSlot, cited: list[RecalledFact], subjects: list[set[str]] | None
) -> list[str]:
    gaps: list[str] = []
    targets: list[tuple[str, set[str] | None]]
    if slot.subjects and subjects is not None:
        targets = list(zip(slot.subjects, subjects, strict=True))
    elif slot.subjects:  # no knowledge graph to resolve the phrases: relations only
        targets = [(phrase, None) for phrase in slot.subjects]
    else:  # 'this tumour', 'it': the entity a label or an earlier finding gave
        targets = [("the entity asked about", None)]
    for phrase, ids in targets:
        if ids is not None and not ids:
            gaps.append(f"“{phrase}”, which names no knowledge-graph entity")
            continue
        about = [
            f
            for f in cited
            if ids is None or f.subject in ids or (f.entity in ids and f.borrowed != "narrower")
        ]
        if not about:
            gaps.append(f"“{phrase}”: the cited facts are about another entity")
            continue
        for rel in slot.relations:
            if not any(answers(rel, f.predicate, f.text) for f in about):
                gaps.append(f"the {relation_words(rel)} of “{phrase}”")
    return gaps


def _is_label(ev: Evidence) -> bool:
    cls = tool_class(ev.tool)
    return ev.ok and cls is not None and cls.label_field is not None


def _regions_of(conclusion: ChainStep, by_id: dict[str, Evidence]) -> set[int]:
    """ROI numbers the conclusion's evidence was computed on (empty: none say)."""
    out: set[int] = set()
    for ref in conclusion.evidence:
        ev = by_id.get(ref)
        if ev is not None and isinstance(ev.output.get("roi_number"), int):
            out.add(int(ev.output["roi_number"]))
    return out
