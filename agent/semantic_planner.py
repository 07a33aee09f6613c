"""Meaning-based planner for CPU deployments: embed the request, match it to capabilities.

Each capability (a tool, or the agent's knowledge recall, case memory and comparison) declares
example requests in users' words. A request is split into clauses; each clause is embedded with
the packaged all-MiniLM-L6-v2 (the knowledge graph's model) and scored against every
capability by its best-matching examples. The arguments (regions, points, boxes, scales,
relative moves, references to earlier regions) come from the argument grammar that every
planner shares (``agent.intents``), so "zoom in 2x there" means the same whichever planner ran.
Below the confidence threshold the planner asks one clarifying question naming the nearest
capabilities instead of guessing.

The request's text is prepared by ``agent.request_text`` (shorthand, typos, clauses, masked
arguments); wordings whose capability is certain without embedding ("what was the count
earlier?", "what is necrosis?") are ``agent.request_cues``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from agent.capabilities import BUILT_IN, Capability
from agent.errands import ERRAND_RE, OTHER_MODEL_RE, RERUN_RE
from agent.intents import (
    COMPARTMENT_WORD_RE,
    HOTSPOT_RE,
    ParsedRequest,
    RegionRequest,
    box_named,
    boxes_compared,
    parts_compared,
    region_request,
    segment_targets,
    zoom_request,
)
from agent.places import places_listed
from agent.references import DEICTIC_RE
from agent.request_cues import (
    ANAPHOR_RE,
    ASIDE_RE,
    BARE_FEATURE_RE,
    BARE_REF_RE,
    BARE_REMIND_RE,
    BEFORE_LEAD_RE,
    CANCELLED_RE,
    CLASSIFIER_NAMED_RE,
    COMPARE_CUE_RE,
    CORRECTION_WORDS,
    COUNT_VERB_RE,
    DIAGNOSIS_RE,
    ECHO_RE,
    IMPRESSION_RE,
    JOINED_REFS_RE,
    LOOKING_AT_RE,
    MARGIN_ASKED_RE,
    NAV_VERB_RE,
    NEGATED_CAPABILITY,
    NEGATED_ORDER_RE,
    NO_DIAGNOSIS,
    NOT_A_FEATURE_RE,
    NOTHING_ASKED_RE,
    ORDER_RE,
    PAST_RESULT_RE,
    PROPORTION_RE,
    PURPOSE_RE,
    RANK_VIEWS,
    REDO_SHARES_RE,
    SEGMENT_VERB_RE,
    SIZE_VARIATION_RE,
    SLIDE_WIDE_RE,
    THIS_DISEASE_RE,
    WHAT_IS_THIS_RE,
    WHERE_QUESTION_RE,
    WHICH_MORE_RE,
    WHICH_VIEW_MOST_RE,
    YIELDS_TO_CLASSIFY,
    YIELDS_TO_ZOOM,
    analysis_verb,
    asks_nothing,
    can_compare,
    class_stems,
    compare_from_refs,
    either_choices,
    grammar_cue,
    grammar_cues,
    names_a_place,
    names_disease,
    names_tissue_outline,
)
from agent.request_text import (
    PLACE_LEAD_RE,
    WORD_RE,
    fix_typos,
    mask_arguments,
    names_any,
    normalise,
    split_clauses,
    topic_first,
    without_words_to_others,
)
from agent.review_intents import (
    CompareRequest,
    RecallRequest,
    RegionRef,
    compare_of,
    findings_asked,
    parse_compare,
    parse_recall,
    ranks_nuclei,
    region_refs,
)
from agent.visual_question import feature_alone, visual_question
from memory.vector_cache import VectorCache, cache_key

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["Routing", "SemanticRouter", "clarifying_question", "semantic_parse"]

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


_FEATURE_AMOUNT = (
    r"(?:fibros|sclero|elastos|hyalin|inflamm|o?edema|haemorrh|hemorrh|calcif|regress|granulation|"
    r"desmopla|steatos|cholestas|amyloid|haemosiderin|hemosiderin|keratin|dysplas|atypi)"
)
_HOW_MUCH_FEATURE_RE = re.compile(
    r"\b(?:how\s+much|what\s+(?:percent\w*|proportion|share|fraction|degree|extent))\b[^?.;]{0,40}?"
    r"\b" + _FEATURE_AMOUNT + r"|\b" + _FEATURE_AMOUNT + r"\w*\s+(?:\w+\s+){0,2}?(?:how\s+much|"
    r"(?:in\s+)?percent\w*|proportion|degree|extent)\b|\b" + _FEATURE_AMOUNT + r"\w*\s+\d*\s*%"
)
"""The amount of a feature no tile class stands for ("how much fibrosis", "how much of the
bed shows regressive fibrosis", "steatosis how much percent?"): the visual expert's estimate."""
_TEXTBOOK_HEAD_RE = re.compile(
    r"\b(?:markers?|immuno\w*|ihc|criteria|differentials?|ddx|staging|testing|mutations?|"
    r"genetics|translocations?|fusions?|prognosis|epidemiology)\s*\?*\s*$"
)
"""A noun phrase whose head is a textbook relation ("pheochromocytoma markers"): knowledge."""
_LOOKS_LIKE_IN_GENERAL_RE = re.compile(
    r"\s*(?:so\s+|and\s+|ok\s+)?(?:what|how)\s+(?:does|do|would|should)\s+(?:an?\s+|the\s+)?"
    r"(?!(?:this|that|these|those|it|they|here|there|you|we|i)\b)[\w-]+(?:\s+[\w-]+){0,4}?\s+"
    r"(?:look|appear)s?(?:\s+like\b)?\s*(?:under\s+the\s+microscope|histologically|on\s+h\s*&?\s*e)?\s*\??\s*$"
)
"""How a named disease looks in general ("what does a Wilms tumour look like?"): its features."""
_DISEASE_HERE_RE = re.compile(
    r"\s*(?:(?:and|so|ok|also)\s+)?(?:(?:is\s+there|are\s+there|any|is\s+it|is\s+this)\s+)?(?:an?\s+)?"
    r"[a-z][\w/-]*(?:\s+[\w/-]+){0,3}?\s+(?:here|there|in\s+(?:this|the)\s+(?:view|field|area|core|"
    r"node|piece|fragment|section|biopsy))\s*"
)
"""A lesion named with the place on screen ("DCIS here?", "any metastatic carcinoma in this
node?"): asked of the view."""
_NOT_A_LESION_RE = re.compile(
    r"\b(?:nucle\w*|cells?|counts?|mask\w*|areas?|segment\w*|class\w*|labels?|tissue|zoom\w*|"
    r"magnif\w*|mpp|pan|move|go|back|same|again|what|which|how|view|region|roi)\b|\d|"
    r"^\s*(?:(?:and|so|ok|okay|also|now|then|well|but|about|just|in)\s+)+(?:here|there)\b"
)
_SPECIMEN_LABEL_RE = re.compile(
    r"\s*(?:(?:ok|so|new|next|right)\s*,?\s+)?(?:an?\s+)?(?:(?!(?:how|many|much|what|which|where|"
    r"any|count|the|largest|biggest|smallest|first|second|third|next|last|other|this|that|each|"
    r"every|all|both)\b)[\w-]+\s+){0,2}?(?:core|cores|biopsy|bx|block|"
    r"fna|aspirate|resection|excision|wedge|frozen(?:\s+section)?|smear|cytology|curettings?|"
    r"polypectomy|specimen|lobectomy|node|shave|punch)\s*[.!:]*\s*"
)
"""A specimen's label said before the question ("lung core.", "cell block"): what it is."""
_HOW_MANY_RE = re.compile(r"\s*(?:and\s+|so\s+)?how\s+many\b(?![^?.;]*\b(?:nucle|cells?\b))")
_RELATION_RE = re.compile(
    r"\b(?!(?:some|any|no|every)thing\b|(?:lining|pooling|staining|lakes?)\b)[a-z]{3,}ing\b|"
    r"\b(?:around|surrounding|encircling|along|into|invading|between|beneath|beyond)\b|"
    r"\b(?:in|within|inside)\s+(?:the\s+|a\s+)?(?:lymphatics?|vessels?|vascular\s+spaces?|veins?|"
    r"capillar(?:y|ies)|nerves?|sinus(?:es|oids)?|lumens?|lumina|ducts?|margins?)\b"
)
"""A verb or a place relative to something else in the thing asked about ("cells wrapping
around a nerve", "a stromal reaction around these glands", "into the fat"): more than a class."""
_LEADING_NAV_RE = re.compile(
    r"\s*(?:(?:ok|so|now|then|and|please|pls)\s+)*(?:go|take\s+me|navigate|move|jump|head|"
    r"bring\s+up|open|show\s+me|zoom)\b"
)
_WHERE_DONE_RE = re.compile(
    r"\s+(?:where|in\s+which|on\s+which|that)\s+(?:you|we|i)\s+(?:\w+\s+){0,2}?"
    r"(?:\w+ed|did|ran|got|found|saw|made|drew|had|took|gave|asked)\b[^,;]*"
)
"""A place told by what was done there ("… where you outlined the nuclei")."""
_ANALYSIS_WORD_RE = re.compile(
    r"\b(?:classif\w*|count\w*|composition|breakdown|detect\w*|segment\w*|mask\w*|outline\w*|"
    r"enumerat\w*|measur\w*|quantif\w*|how\s+(?:many|much)|percent\w*|proportion|density|area)\b"
)
_SPREAD_RE = re.compile(
    r"\b(?:does|do|did|is|are|has|have)\s+(?:the\s+|this\s+|that\s+)?(?:tumou?r|carcinoma|"
    r"cancer|lesion|neoplasm|it|they|cells)\s+(?:\w+\s+)?(?:go(?:es|ing)?\s+(?:through|into|"
    r"beyond|past)|extend\w*|invad\w*|penetrat\w*|breach\w*|cross\w*|reach\w*|involv\w*|"
    r"infiltrat\w*|abut\w*|touch\w*|spread\w*|push\w*\s+(?:into|through|past)|grow\w*\s+into)|"
    r"\b(?:any|is\s+there\s+(?:any\s+)?|see\s+(?:any\s+)?|evidence\s+of)\s*(?:capsular|serosal|"
    r"margin|perineural|lymphovascular|vascular)\s+(?:breach|invasion|involvement|penetration|"
    r"rupture)\b"
)
"""Whether a tumour reaches or passes a structure ("does the tumour go through the capsule",
"is it involving the margin"): a visual question, whatever class it names."""
_IN_A_STRUCTURE_RE = re.compile(
    r"\s*(?:and\s+|so\s+)?(?:in|within|inside|around)\s+the\s+"
    r"(?!(?:[\w-]+\s+){0,3}?(?:classification|system|guidelines?|literature|grading|staging|"
    r"textbooks?|who|ajcc|cap|report|case|slide|patient)\b)"
    r"(?:[\w-]+\s+){1,4}?(?:are|is|do|does|any|can\s+you\s+see)\b"
)
"""A question that opens on a structure in the image ("in the lakes of mucin are tumour cells
floating?"): it points at the image as "here" does."""
_BARE_EITHER_RE = re.compile(
    r"\s*(?:(?:so|and|is\s+(?:it|this|that))\s+)*(?:[\w-]+\s+){0,2}?[\w-]+\s+(?:or|vs\.?|versus)\s+"
    r"(?:[\w-]+\s+){0,2}?[\w-]+\s*\??\s*"
)
"""Two names set side by side and nothing else ("HGSC or LGSC?")."""
_MEASURE_ONLY_RE = re.compile(
    r"\s*(?:and\s+)?(?:[\w-]+\s+){0,2}[\w-]+[\s-]wise\s*|"
    r"\s*(?:and\s+|so\s+)?what\s+is\s+(?:the\s+)?different(?:ce)?\b[^?.;]*"
)
""""…, cell-count wise", "what's different tissue-wise": the measure of a comparison."""
_UNITS = """
area areas fraction fractions percent percentage percentages proportion proportions share shares
coverage cover covers covered occupies occupy occupied take takes up size sizes mm mm2 mm² um2
µm² microns square units millimetres millimeters millimetre millimeter micrometres micrometers
compute calculate measure get total absolute relative number numbers
value values figure figures in of and i d like want need would for comparison comparing later
record note
or as per what how much is are it its they them their those these that this the a an me us give
tell report show please pls if so any also plus both too with view field region roi box here
there whole on all slide entire across
"""
_UNIT_WORDS = frozenset(_UNITS.split())
"""Words of a clause that asks only for the unit or the share of what the clause before measured:
"…, area in mm² please", "and tell me what area fraction it occupies"."""
_AREA_TOOLS = frozenset({"segment", "composition", "tissue"})
_LISTED_RE = re.compile(r"\b[\w-]+\s*,\s*[\w-]+(?:\s*,\s*[\w-]+)*\s*,?\s+or\s+[\w-]+")
_ONLY_A_REF_RE = re.compile(
    r"(?:(?:in|for|on|of|from)\s+)?(?:the\s+)?(?:view|region|roi|field|piece|fragment)\s*#?\s*\d+|"
    r"(?:(?:in|for|on|of|from|across|among)\s+)?(?:all\s+)?(?:the|these|those|our)\s+"
    r"(?:(?:two|three|four|five|six|\d)\s+)?(?:views|regions|rois|fields|areas)(?:\s+so\s+far)?"
)
_RECALL_BESIDE_RE = re.compile(
    r"\b(?:remind|recall|what\s+did\s+we|what\s+was|what\s+were|earlier|summari[sz]e|recap|"
    r"sum\s+up)\b|\bwhich\s+(?:\w+\s+){0,2}(?:was|were)\s+(?:view|region|roi|field)\s*\d+|"
    r"\bagain\s*\??$|\bso\s+far\s*\??$|"
    # "what class we got in the view 2? I forgot": a question in the past tense, said plainly
    r"\bwhat\s+(?:\w+\s+){0,2}(?:did\s+)?(?:we|you)\s+(?:got|get|found|find|saw|had)\b|\bi\s+forg[eo]t\b"
)
"""A recall clause beside a comparison that asks its own question ("…, and remind me what the
slide-level diagnosis was"), not the comparison's wording."""
_PLACE_ONLY_RE = re.compile(
    r"\s*(?:(?:and|ok|okay|so|now)\s+)?(?:what\s+about\s+|how\s+about\s+)?"
    r"(?:there|here|this\s+one|that\s+one)\s*|"
    r"\s*(?:(?:and|ok|okay|so|now)\s+)?(?:what\s+about\s+|how\s+about\s+)?(?:(?:across|over|on|"
    r"for|in)\s+)?(?:the\s+)?(?:whole|entire|full)\s+slide\s*"
)
"""A clause that only points at a place, beside one that says what to do there."""
_ONLY_WHOLE_SLIDE_RE = re.compile(
    r"[,;:-]\s*(?:(?:across|over|on|for|in)\s+)?(?:the\s+)?(?:whole|entire|full)\s+slide\s*[?.!]*\s*$|"
    r"^\s*(?:the\s+)?(?:whole|entire|full)\s+slide\s*[,:;-]"
)
"""The whole slide said as a clause of its own, before or after the question."""
_FEW_WORDS_RE = re.compile(r"[a-z][a-z-]*(?:\s+[a-z-]+){0,2}")
"""A clause of one to three words and nothing else."""
_ANY_THERE_RE = re.compile(
    r"\b(?:is|are)\s+there\s+(?:any|lots|many|much|a\s+lot|plenty)\b(?!\s+[a-z]{4,}(?<!here)(?<!this)(?<!view)(?<!field))|"
    r"\b(?:see|find|spot)\s+(?:any|it|them)\b(?!\s+[a-z]{4,}(?<!here))|\bany\s+(?:of\s+(?:it|them)\s+)?"
    r"(?:here|in\s+(?:this|the)\s+\w+)"
)
"""A presence question that points back at the thing named before ("is there any here?")."""
_RUN_ON_IT_RE = re.compile(
    r"^\s*(?:(?:and|then|so|just|please|now)\s+)*(?:run|use|apply|try|do)\s+(?:the\s+|a\s+)?[\w\s-]{0,30}?"
    r"\b(?:on|for|over)\s+(?:it|that|that\s+one|there|them)\b"
)
"""An order to run a tool on what the question before named ("run the classifier on it")."""
_PRONOUN_RE = re.compile(r"\b(?:it|that\s+one|that|them|there)\b")
_MEASURED_RE = re.compile(
    r"\b(?:mean|average|median|total|sizes?|areas?|counts?|number|density|densities|percent(?:age)?|"
    r"proportion|fraction|share|distribution|statistics|stats)\b"
)
"""Words of a measurement: a noun phrase with one asks for a number, not about a feature."""
_SHARE_ASKED_RE = re.compile(
    r"\d\s*%|\bpercent\w*|\bproportions?\b|\bfractions?\b|\bcontent\b|\bburden\b|\bhow\s+much\b"
)
"""A share asked for as a number ("above 20%", "what proportion", "tumour content")."""
_VIEWS_RANKED_RE = re.compile(
    RANK_VIEWS + r"|\bwhich\s+of\s+(?:all\s+)?(?:the\s+|our\s+|these\s+|those\s+)?(?:views|regions|"
    r"fields|rois|areas)\b[^?.;]*\b(?:most|least|highest|lowest|largest|smallest|biggest|densest|"
    r"more|fewer|less|higher|lower|\w+est)\b"
)
"""Every view the case looked at, ranked by a measure: a comparison of all of them."""
_BARE_VIEW_RE = re.compile(
    r"\s*(?:(?:and|ok|okay|now|so|then)\s+)*(?:the\s+)?(?:previous|last|prior|first|second|third|"
    r"earlier|original|next|other)\s+(?:view|region|field|roi)\s*(?:again|please|pls)?\s*[?.!]*\s*"
)
"""A view named alone ("the previous view please"): show it."""
_OPINION_RE = re.compile(
    r"\byour\s+(?:read|take|impression|opinion|thoughts|view)\s+(?:on|of|about)\b|"
    r"\b(?:would|do|don'?t)\s+you\s+agree\b|"
    r"\bhow\s+would\s+you\s+(?:grade|describe|assess|characteri[sz]e|rate|score)\b"
)
"""The expert's opinion asked for ("your read on the tumour cells here"): a visual question."""
_YOUR_GRADE_RE = re.compile(
    r"\bwhat\s+(?:[\w-]+\s+){0,2}(?:grade|score|pattern|category)\s+would\s+you\s+(?:give|assign)\s+"
    r"(?:it|this|these|those|them|that|the\s+(?![\w-]+\s+in\s+general))"
)
""""What Gleason pattern would you give it?": the expert's grade of what is shown."""
_LOOK_AGAIN_RE = re.compile(
    r"^\s*(?:(?:and|then|so|please|now)\s+)*(?:look\s+(?:again|once\s+more)|(?:have|take)\s+"
    r"(?:another|a\s+second|a\s+fresh)\s+look)\b"
)
"""'…, then look again', 'take another look': the image looked at again, a visual question."""
SAME_QUESTION_RE = re.compile(
    r"\b(?:answer|ask(?:\s+yourself)?|repeat)\s+(?:me\s+)?(?:the\s+|that\s+|my\s+)?same\s+"
    r"(?:[\w-]+\s+){0,2}?question\b|\b(?:the|that|my)\s+same\s+(?:[\w-]+\s+){0,2}?question\s+again\b"
)
"""'Pan left and answer the same invasion question again': the earlier visual question, here."""
_YOU_THINK_IT_IS_RE = re.compile(
    r"\byou\s+think\s+(?:it|this|that|these|they|the\s+lesion)\s+(?:is|are|looks?|might\s+be|"
    r"could\s+be)\b"
)
"""'whether you think it is a tubular adenoma': the co-pilot's read of the image asked for (with
a disease named), not the textbook's."""
_YOU_SAID_RE = re.compile(
    r"\s*(?:but\s+|and\s+)?you\s+(?:said|told\s+me|reported|gave\s+me|called\s+it)\b"
)
"""What the co-pilot said, told back beside an order, not asked."""
_COMPLAINT_RE = re.compile(
    r"\s*(?:but\s+|no,?\s+|nope,?\s+)?(?:you|it)\s+(?:only\s+|just\s+)?(?:looked|analy[sz]ed|"
    r"counted|used|did|zoomed|showed|gave|went|measured|segmented|classified|re-?ran|repeated|"
    r"ignored|skipped|missed|dropped)\b[^?]*|"
    r"\s*(?:no,?\s+)?(?:that'?s|that\s+is|this\s+is|it'?s)\b[^?]*\bnot\s+what\s+i\s+"
    r"(?:asked|wanted|meant)\b[^?]*|"
    r"\s*(?:no,?\s+|hmm+,?\s+)?(?:that|the|this|your)\s+(?:[\w-]+\s+){0,2}(?:is|was|looks|seems)\s+"
    r"(?:(?:way|a\s+bit|totally|completely|clearly)\s+)?(?:off|wrong|weird|bad|broken|incorrect|"
    r"not\s+right|rubbish|nonsense)\b[^?]*"
)
"""A complaint about the last answer ("you only looked at the bottom-left box", "that's the top
left, not what I asked"): its place words are what was done, not where to go."""


_CASE_SUMMARY_RE = re.compile(
    r"\b(?:sum\s+(?:it\s+|this\s+|everything\s+)?up|summ?ari[sz]\w*|summary|recap|wrap\s+up|"
    r"round\s+up|go\s+(?:back\s+)?over)\b"
)
"""A summary of the case asked for: what it lists is what the summary holds."""


_MACHINE_ASKED_RE = re.compile(
    r"\b(?:what|which)\s+(?:hardware|gpus?|cpus?|machine|server|device|graphics\s+card)\b|"
    r"\b(?:running|run|hosted|deployed)\s+on\s+(?:a\s+|the\s+)?(?:gpus?|cpus?|cuda|cloud|server)\b|"
    r"\bis\s+it\s+(?:on\s+)?(?:a\s+)?(?:gpu|cpu)\b|"
    r"\b(?:inference|model|tile|per[\s-]tile)\s+(?:latency|speed|time|throughput)\b|\bvram\b|"
    r"\bhow\s+(?:much|many)\s+(?:gpu|memory|ram|vram|flops)\b"
)
"""The machine the co-pilot runs on asked about: its deployment's, not a slide's."""


def without_complaints(request: str) -> str:
    """``request`` without its sentences that complain about the last answer (when more is said).

    "You only looked at the bottom-left box. Whole image please": the place named in the
    complaint is where the co-pilot went, not where to go now.
    """
    sentences = re.split(r"(?<=[.!?;])\s+|\s+-\s+", request.strip())
    kept = [x for x in sentences if not _COMPLAINT_RE.fullmatch(x.rstrip(".!;").lower())]
    return " ".join(kept) if kept and len(kept) < len(sentences) else request


_ANY_RE = re.compile(r"\b(?:any|anywhere)\b")
_MASK_WORD_RE = re.compile(r"\b(?:masks?|segment\w*|outlines?)\b")
_HAS_VERB_RE = re.compile(
    r"\b(?:is|are|was|were|be|do|does|did|has|have|had|can|could|would|will|should|count|show|"
    r"go|take|zoom|segment|classify|run|tell|give|find|pan|move|open|measure|mask|outline|detect|"
    r"compare|look|see|check|estimate|describe|bring|put|make|get|redo|repeat|calculate|"
    r"quantify|jump|head|return|step|navigate|centre|center|any|remind|explain|define|list|"
    r"summari[sz]e|recap|sum)\b"
)
"""A clause with a verb of its own (or "any …?"), not a fragment."""
_LEAD_FILLER_RE = re.compile(
    r"^\s*(?:(?:ok|okay|so|right|well|hmm+|um+|uh+|alright|now|and|but)\b\s*,?\s*|"
    r"(?:in\s+)?(?:here|there)\s*,\s*)+"
)
"""Words a question starts with that ask nothing ("ok so is this …", "and here, any …")."""
_TILE_CLASSIFIER_ASKED_RE = re.compile(
    r"^(?=.*\b(?:is|are|does|do|what|which|would|will)\b)(?!.*\b(?:slide|wsi|whole|overall|"
    r"heat\s*map|attention)\b).*(?:\b(?:(?:your|the|tile|patch|this)\s+)?classifier'?s?\b|"
    r"\b(?:tile|patch)\s+(?:model|classifier|network)'?s?\b)"
    r"(?:\s+(?:is\s+)?concerned|\s+(?:eyes|view|opinion|read|call|say|think|make))"
)
"""A question about the region put to the tile classifier by name ("as far as your classifier is
concerned", "in the classifier's eyes"): its class, whatever the classes asked about."""
_REMARK_RE = re.compile(
    r"\s*(?:(?:well|ok|okay|hmm+|so|oh|ah|ugh|right)\s*,?\s*)*(?:that|this|it)\s+(?:is|was)\s+"
    r"(?:mostly|all|just|only|pure(?:ly)?|largely|entirely|basically|pretty\s+much|nothing\s+but|"
    r"full\s+of)\s+[\w\s-]+|"
    r"\s*(?:which|that|this|it|(?!(?:which|what|how|where|who|why)\b)[\w-]+(?:\s+[\w-]+){0,2})\s+would\s+"
    r"(?:fit|go\s+with|support|favou?r|suggest|point\s+to|be\s+in\s+keeping\s+with)\b[\w\s-]*"
)
"""A remark on what is on screen ("well, that's mostly glass"), said before the order."""
_OBSERVATION_RE = re.compile(
    r"\s*(?:but\s+|and\s+|where\s+)?(?:the|these|those|this|that|it|they)\s+(?:[\w-]+\s+){0,3}"
    r"(?:look|looks|seem|seems|appear|appears)\b(?!\s+(?:to\s+you|to\s+be\s+\w+\s+to\s+you))|"
    # "epidermis looks gone on the left": a bare noun's look, told
    r"\s*(?:but\s+|and\s+)?(?!(?:what|how|why|where|which|who|whether|if|does|do|did|is|are|can|could|"
    r"would|will|should|describe|tell|show|see|check|please|pls|let|then|now|also|just|so|ok|okay|"
    r"you|i|we|to|and|take|have|had)\b)[a-z-]{3,}(?:\s+[a-z-]+)?\s+(?:looks|seems|appears)\b"
    r"(?!\s+(?:at|for|into|around|like\s+to\s+you))"
)
"""A statement of what the user sees ("the glands look crowded"), not a question."""
_STATED_RE = re.compile(
    r"\s*(?:but\s+|and\s+|as\s+|since\s+|because\s+)?(?:the|this|that|it|these|those)\b"
    r"(?:\s+[\w-]+){0,5}?\s+(?:is|are|was|were|isn't|aren't|wasn't|weren't)\s+(?!there\b)"
)
"""A statement of how things are ("the edge of the core is cut off"), said after a move: why."""
_WANTED_RE = re.compile(
    r"\b(?:want|wanted|need|needed|like|count|measure|segment|classify|outline|detect|describe)"
)
_CANNOT_SEE_RE = re.compile(
    r"\s*(?:but\s+|and\s+|as\s+|since\s+|because\s+)?(?:i\s+)?(?:can't|cannot|can\s+not|couldn't|"
    r"could\s+not)\s+(?:really\s+|quite\s+)?(?:make\s+out|see|tell|resolve|read)\b(?!\s+(?:if|whether))"
)
"""Why the user moves ("zoom in 2x, can't make out individual cells at this res"), not an order."""
_DECLARED_RE = re.compile(
    r"\s*(?!(?:what|which|how|where|why|who|when|is|are|do|does|can|could|would|will|please|"
    r"count|segment|classify|zoom|go|show|give|tell|measure|run|compare|describe|outline)\b)"
    r"(?:[\w-]+\s+){1,3}(?:is|are)\s+(?!there\b|(?:needed|required|wanted|what|the\s+one)\b)"
    r"(?:[\w-]+\s*){1,4},\s*so\s+(?:i|my)\b"
)
"""A fact stated and what the user makes of it ("sarcoid dermis is fibroblastic, so my money
is on stroma"): a remark beside the question, not another question."""
_STANCE_RE = re.compile(
    r"\s*(?:(?:but|and|though|although|ok|okay|so|well|honestly)\s*,?\s+)*(?:for\s+the\s+record\s*,?\s+)?"
    r"(?:i\s+(?:do\s+)?(?:expect|suspect|think|reckon|"
    r"guess|believe|bet|assume|doubt|favou?r|lean\s+towards|disagree|agree)\b|"
    r"i'?d\s+(?:bet|guess|say|wager|put\s+money\s+on)\b|my\s+money(?:'?s|\s+is|\s+would\s+be)\s+on\b|"
    r"i\s+(?:do\s+not|don'?t|dont)\s+(?:really\s+)?(?:buy|believe|trust|agree\s+with)\b|i'?m\s+(?:expecting|guessing|"
    r"thinking|leaning|fairly\s+sure|pretty\s+sure|sure|certain|convinced)\b|my\s+(?:own\s+)?"
    r"(?:impression|diagnosis|call|guess|read|bet|feeling|gut|working\s+diagnosis|differential)\b)"
)
"""What the user believes or expects ("I expect lots of lymphocytes", "my impression is serous
carcinoma"), said beside an order: context for the answer, not a further question."""
_STANCE_ASIDE_RE = re.compile(
    r",\s*(?:i'?d\s+(?:guess|say|think)|i\s+(?:guess|think|reckon|suspect|bet|imagine)|"
    r"i'?m\s+(?:guessing|thinking))\s*(?:,|$)"
)
"""The user's guess put inside a sentence ("dirty, I'd guess, if it's colorectal")."""
_CLASS_ASKED_RE = re.compile(
    r"(?:the\s+)?(?:tissue|tile)\s+(?:type|class|label|category)|(?:the\s+)?(?:class|label)\s+(?:of|for)\b"
)
"""A bare noun phrase asking for the tile class ("tissue type of the second fragment")."""
_ACCORDING_TO_RE = re.compile(
    r"\s*(?:according\s+to|as\s+per|per|in\s+the\s+eyes\s+of)\s+(?:the|your|its)\s+(?:own\s+)?"
    r"(?:tile\s+|patch\s+|slide[\s-]+level\s+|whole[\s-]+slide\s+)?(?:classifier|model|tool|ai|algorithm|"
    r"network|expert)s?\s*[?.!]*\s*"
)
_ACCORDING_INLINE_RE = re.compile(
    r",?\s*(?:according\s+to|as\s+per|per)\s+(?:the|your|its)\s+(?:own\s+)?(?:tile\s+|patch\s+)?"
    r"(?:classifier|model)\b"
)
"""The tile classifier named as whose answer, inside the question it answers."""
_CAN_IT_TELL_RE = re.compile(
    r"\s*(?:and\s+|but\s+|so\s+)?(?:can|could|does|would|will|is)\s+(?:the\s+)?(?:tile\s+|slide\s+)?"
    r"(?:classifier|model|tool|detector|ai|it|you|software)\s+(?:be\s+able\s+to\s+)?(?:tell|say|see|"
    r"know|distinguish|decide|separate|judge|call\s+it)(?:\s+(?:the\s+difference|them\s+apart|"
    r"which|that|at\s+all|here|from\s+this))*\s*[?.!]*\s*"
)
"""Whether the tool can answer, asked right after the question itself ("is this tumour or
normal mucosa, can the classifier tell"): the question is what to answer."""
_CASE_CONTEXT_RE = re.compile(
    r"\s*(?:so\s+|ok\s+|fyi\s*,?\s*)?(?:this|it)\s+(?:is|'s)\s+(?:a|an)\s+(?:[\w-]+\s+){0,5}"
    r"(?:biopsy|resection|excision|specimen|core|curettings?|sample|frozen(?:\s+section)?|"
    r"case|slide|tile|image|carcinoma|adenocarcinoma|tumou?r|cancer|lesion|sarcoma|lymphoma|"
    r"melanoma|neoplasm|polyp|adenoma|metastasis|hgsc|scc|crc)"
    r"(?:\s+(?:from|of|in)\s+(?:the\s+|a\s+|an\s+)?[\w\s-]+)?"
    r"(?:\s*,\s*\d+\s*[x×]\s*\d+\s*(?:px|pixels?)?\s*(?:jpe?g|png|tiff?|image|tile)?)?\s*[.!]*\s*"
)
"""What the user tells about the case ("This is a head and neck biopsy."): context, no order."""


def _asked(clause: str, low: str) -> bool:
    """The request puts a question mark right after ``clause``."""
    at = low.find(clause)
    return at >= 0 and low[at + len(clause) :].lstrip().startswith("?")


_POINTS_AT_IMAGE_RE = re.compile(
    r"\b(?:this|these|those|here|there|field|view|region|area|slide|section|image|case|"
    r"you\s+see|we\s+see|i\s+see|present)\b|^\s*(?:please\s+)?describe\b"
)
"""A clause beside a textbook question that asks about the image itself."""
_YES_OR_NO = r"\byes\s+or\s+no\b|\by\s*/\s*n\b|\bor\s+not\b"
"""A yes-or-no asked for in so many words ("adenoca here, yes or no")."""
_IMAGE_QUESTION_RE = re.compile(
    r"^\s*(?:(?:so|and|ok|okay|now)\s*,?\s+)?(?:is|are|does|did|can\s+you\s+see|any|has|was|"
    rf"were)\b(?!\s+(?:you|i|we)\b)|{_YES_OR_NO}|"
    r"^\s*(?!(?:what|how|why|which|who|when|where)\b)(?:[a-z-]+\s+){1,4}(?:here|there|in\s+this\s+\w+)\s*\?\s*$|"
    r"^\s*(?:(?:so|and|ok|okay|hmm|now)\s*,?\s+)?what(?:'s|\s+is|\s+are)\s+(?:those|these|that|the)\s+"
    r"(?:[a-z-]+\s+){0,3}(?:things?|stuff|bits?|spots?|dots?|holes?|spaces?|cells?|structures?|"
    r"material|areas?|blobs?|circles?|bodies)\b"
)
"""A yes-or-no question about what is there ("what are those white holes?": what something
seen is), not an order or a question put to the co-pilot."""
_ASKS_A_FAVOUR_RE = re.compile(
    r"\s*(?:\w+\s*,\s*)?(?:can|could|would|will|may)\s+(?:you|i|we)\s+(?!see\b|tell\b|say\b)"
)
"""An order put politely ("can you ..."), not a question about what the image shows."""
_PRESENCE_RE = re.compile(rf"{_YES_OR_NO}|\bany\b|\bis\s+there\b")
"""Whether something is there at all."""
_SCALE_WORDS = r"(?:mpp|µm/px|um/px|microns?\s+per\s+pixel|magnification|mag|resolution|scale)"
_VIEW_SCALE_RE = re.compile(
    rf"\b{_SCALE_WORDS}\b[^?.;]*\b(?:this|the\s+current|current|the)\s+(?:view|field)\b|"
    rf"\b(?:this|current)\s+(?:view|field)\b[^?.;]*\b{_SCALE_WORDS}\b|"
    rf"\b{_SCALE_WORDS}\s+(?:here|now|of\s+what\s+i\s+see)\b|\bat\s+this\s+(?:magnification|zoom|power)\b"
)
"""The scale of the view the user is looking at, not the scan's: the view is shown again."""
_GLAND_RE = re.compile(r"\b(?:glands?|glandular|epitheli(?:um|al))\b")
_SLIDE_OVERVIEW_RE = re.compile(
    r"\boverview\s+of\s+(?:the\s+|this\s+)?(?:whole\s+|entire\s+)?(?:slide|wsi|section|tissue|image)\b"
    r"|^\s*(?:(?:an|the|slide|low[\s-]power)\s+)*overview(?:\s+(?:please|thanks))?\s*[.!]*\s*$"
)
_WHOLE_SLIDE_CALL_RE = re.compile(
    r"\b(?:whole[\s-]+slide|slide[\s-]+level|overall)\b|\b(?:malignant|benign|cancer|carcinoma)\b"
)
_GLANDS_ASKED_RE = re.compile(
    r"(?:any\s+|some\s+)?(?:glandular\s+)?(?:glands?|epitheli(?:um|al))\b(?!\s+(?:cells?\s+)?with)"
    r"(?=\s*$|\s+(?:tissue\s+|cells?\s+)?(?:in|on|at|within|anywhere|here|there|present|left|at\s+all)\b|"
    r"\s+(?:tissue|cells?)\s*$)"
)
"""Glands or epithelium as the thing asked about ("is there epithelium in that field?"), not
the place of something else ("a stromal reaction around these glands") nor a feature of them
("any gland crowding?")."""
_OWN_WORDS = frozenset({"composition", "vqa"})
"""Tools beside the built-in ones whose wording the grammar knows (cues may override them)."""
_ABSTRACT_THERE_RE = re.compile(
    r"\s*(?:and\s+|so\s+|but\s+)?(?:is|are)\s+there\s+(?:an?\s+|any\s+|some\s+)?(?:[\w-]+\s+){0,2}?"
    r"(?:scales?|systems?|consensus|guidelines?|cut[\s-]?offs?|thresholds?|rules?|criteria|"
    r"tests?|mnemonics?|classifications?|scores?|scoring|definitions?|differences?|way)\b"
    r"(?![^?]*\b(?:here|this|these|field|view|slide|image)\b)|"
    r"(?:.*\bor\s+)?(?:is|are)\s+there\s+(?:more|anything\s+(?:more|else))\s+to\s+it\b"
)
"""A question whether a rule or scheme exists: the textbook question's, not the image's."""
_ORDINAL_WORD = r"(?:first|second|third|fourth|fifth|sixth|last|previous|latest|current)"
_JOINED_ORDINALS_RE = re.compile(
    rf"\b{_ORDINAL_WORD}\s+(?:(?:one|view|region|field|roi|core|piece)s?\s+)?(?:and|&)\s+"
    rf"(?:the\s+)?{_ORDINAL_WORD}\b"
)
"""Two views named by their ordinals and joined ("the first and the last view"): one phrase."""
_HOW_MUCH_OF_IT_RE = re.compile(
    r"\s*(?:and\s+|so\s+|also\s+)?(?:how\s+much|what\s+(?:percent\w*|proportion|fraction|share))"
    r"(?:\s+(?:of\s+(?:it|that|them|this|those)|is\s+there|in\s+(?:here|this\s+(?:field|view))))*"
    r"\s*[?.]*\s*|"
    # "how much of the area is it", "what share of the field do they cover"
    r"\s*(?:and\s+|so\s+|also\s+)?(?:how\s+much|what\s+(?:percent\w*|proportion|fraction|share))\s+"
    r"of\s+(?:the\s+|this\s+)?(?:area|field|view|tissue|image)\s+(?:is|are|does|do)\s+"
    r"(?:it|they|that|those)(?:\s+(?:cover|occupy|take\s+up|make\s+up))?\s*[?.]*\s*"
)
"""A share asked of the tissue class just named ("…, necrosis? how much of it")."""
_BARE_SHARE_RE = re.compile(
    r"^\s*(?:and\s+|then\s+|now\s+)?(?:(?:give|tell|show)\s+me\s+|what\s+(?:is|was)\s+|and\s+)?"
    r"(?:the|that|its)\s+(?:%|percent(?:age)?|share|proportion|fraction)\s+(?:for|of|in|on|across)\b"
)
"""'The %' of no class, for a place: the share just asked of a class, asked elsewhere."""
_ITS_SHARE_RE = re.compile(
    r"\s*(?:and\s+)?(?:if\s+(?:so|yes)\s*,?\s+)?(?:what|how\s+much)\s+(?:proportion|percent\w*|"
    r"fraction|share|of)\s+(?:of\s+)?(?:the\s+|this\s+)?(?:tissue|slide|field|view|area|image)\s+"
    r"(?:does|do|is|are)\s+(?:it|they|that|this|those)\s+(?:represent|cover|occupy|make\s+up|take\s+up|"
    r"account\s+for)\b[^?.;]*"
)
"""The share of the thing just measured ("what proportion of the tissue does it represent?"):
that measure's own output, not the tissue detector's."""
_REACTION_RE = re.compile(
    r"\s*(?:lol|haha+|hehe|wow|omg|ugh+|yikes|whoa|jeez|blimey|gosh|damn|dang)\b"
    r"(?![^.;?!]*\b(?:count|segment|classify|zoom|go|show|run|detect|measure|mask|outline|what|"
    r"how|which|where|why|is\s+(?:there|it|this|that)|are\s+(?:there|they|these|those)|any|can|"
    r"could|please)\b)"
)
"""A reaction ("lol thats a LOT of cells", "ugh this day is never ending"): nothing asked."""
_WHERE_IT_LOOKS_RE = re.compile(
    r"\bwhere\s+(?:it|the\s+model|the\s+classifier)\s+(?:is|was)\s+(?:looking|attending|focus\w*)\b"
)
"""The slide model's attention, asked beside its call ("show me where it is looking")."""
_ITS_CALL_RE = re.compile(
    r"\s*(?:and\s+|so\s+|then\s+)?(?:what\s+)?(?:does|did|would|will|do)\s+(?:it|they)\s+"
    r"(?:call|say|think|label|classify|consider|rate|flag|make\s+of)\b|"
    # "the model of the whole slide, what it says, tumour or normal?": said without "does"
    r"\s*(?:and\s+)?what\s+(?:it|they)\s+(?:says?|thinks?|calls?|gives?|predicts?)\b"
)
"""What the model just named calls the image ("run the whole slide model - does it call this
tumour or not?"): that model's answer, asked once."""
_ITS_SCORE_RE = re.compile(
    r"\s*(?:and\s+|also\s+|plus\s+)?(?:(?:with|at|and)\s+what\s+(?:score|probability|confidence|"
    r"certainty|likelihood)\s*|(?:and\s+)?(?:with\s+)?(?:its|the|a)\s+(?:score|probability|"
    r"confidence)\s*(?:please\s*)?)$|"
    r"\s*(?:and\s+|also\s+|plus\s+)?(?:what(?:'s|\s+is|\s+was)?|how\s+(?:high|sure|confident)\s+"
    r"(?:is|was)|give\s+me)\s+(?:the\s+|its\s+|their\s+)?(?:score|probability|confidence|"
    r"certainty|likelihood)(?:\s+(?:on|of|for)\s+(?:that|it|this|them|those))?(?:\s+(?:on|of|for)\s+"
    r"(?:that|it|this))?\s*|\s*(?:and\s+)?how\s+(?:sure|confident)\s+(?:is\s+it|are\s+you|is\s+"
    r"the\s+model)\s*"
)
"""The score of the call just asked for ("tumour or normal at slide level? and what's the score
on that?"): that call's own output, not a grading score from the knowledge graph."""
_SCORED_TOOLS = frozenset({"classify", "wsi_classify", "composition"})
_AS_SHARES_RE = re.compile(
    r"\s*(?:like|as|in|with)\s+(?:percent\w*|%|proportions?|shares?|fractions?|a\s+breakdown)\s*"
)
"""A classification asked as shares ("…, tissue-wise? like percentages"): the composition."""
_GUESS_WORDS = 4
_GUESS_FILLER = frozenset({"maybe", "or", "perhaps", "just", "mostly", "probably", "pure"})
_FOR_EACH_RE = re.compile(
    r"\s*(?:and\s+|with\s+|plus\s+|also\s+)?(?!(?:count|segment|run|detect|classify|measure|"
    r"redo|repeat|do)\b)(?:the\s+|their\s+|its\s+)?[\w\s-]{0,40}?\b(?:for|of|in|from)\s+each"
    r"(?:\s+(?:one|of\s+them|view|region|field))?\s*"
)
"""A value asked of each thing a recall lists ("which views have I opened, and the nuclei count
for each"): the case's own results, not a new analysis."""
_VIEW_NAMED_RE = re.compile(r"\b(?:view|region|roi|field)\s*#?\s*(\d{1,3})\b")
"""A view named by its number, as the place "there" points back to."""
_THERE_RE = re.compile(r"\b(?:there|that\s+(?:spot|place|area|piece|fragment|core))\b")
"""A move to a place said before ("go there", "take me to that spot")."""
_QUALIFIER_RE = re.compile(r"\s*(?:(?:and|or|but)\s+)?(?:at|in|for|with|on|from|of|by)\b")
"""A fragment that qualifies the question beside it ("…, and at what magnification?")."""
_LIMIT_ASKED_RE = re.compile(
    r"\s*(?:and\s+|so\s+|but\s+)?(?:until|up\s+to|from|over|under|above|below|beyond)\s+how\s+"
    r"(?:many|much|big|large|small|far)\b(?![^?]*\b(?:here|this|these|view|field|region)\b)[^?]*"
)
"""A limit asked of the definition just asked about ("… according to the ITBCC? until how many
cells?"), not a count."""
_TISSUE_OUTPUT = (
    r"(?:its\s+|their\s+|the\s+)?(?:areas?|outlines?|masks?|sizes?|contours?|bounding\s+box(?:es)?)"
    r"(?:\s+(?:for|of)\s+(?:each|every|all|the)\s+(?:(?:tissue\s+)?fragments?|pieces?|cores?))?"
)
_TISSUE_OUTPUT_RE = re.compile(
    r"\s*(?:and\s+|also\s+|with\s+|then\s+)?(?:(?:show|give|draw|display)\s+(?:me\s+|us\s+)?)?"
    rf"{_TISSUE_OUTPUT}(?:\s*(?:,|and|&)\s*{_TISSUE_OUTPUT})*"
    r"(?:\s+(?:too|please|pls))?\s*[?.!]*\s*|"
    r"\s*(?:and\s+|then\s+|please\s+)*(?:outline|mask|draw|trace|show)\s+(?:it|them)(?:\s+(?:for\s+"
    r"(?:us|me)|too|please|pls))*\s*[?.!]*\s*"
)
_CORRECTS_RE = re.compile(rf"\s*(?:{CORRECTION_WORDS})\b\s*[,;:–—-]?\s*")
"""A clause that takes back the one before it on the same order ("pan up. actually, pan left")."""
_BACK_TO_RE = re.compile(
    r"\s*(?:(?:ok|okay|now|so|then|and|right)\s*,?\s+)*(?:(?:please|pls)\s+)?(?:go\s+|take\s+me\s+|"
    r"get\s+me\s+|head\s+|jump\s+)?back\s+to\b"
)
_COMPARE_LEAD_RE = re.compile(
    r"\s*(?:(?:please|pls|can\s+you|could\s+you|now|then|so)\s+)*(?:compare|contrast)\b"
)
_CHOICE_TAIL = (
    r"\s*,?\s*(?:here|there|(?:in|on)\s+(?:this|the|that)\s+(?:field|view|area|region|one|bit|"
    r"spot|patch|tile)|(?:would|do)\s+you\s+(?:say|think)|you\s+think)\s*\??\s*$"
)
_WHOLE_TAIL = (
    r"\s*,?\s*(?:for|on|of|across)\s+the\s+(?:entire|whole|full)\s+(?:thing|slide|case|specimen)"
    r"\s*\??\s*$"
)
_BARE_CHOICE_RE = re.compile(
    r"\s*(?:then\s+|and\s+|so\s+)?(?!(?:any|some|no|more|less|much|many)\b)[a-z-]+"
    r"(?:\s+[a-z-]+)?\s+(?:or|vs\.?|versus)\s+(?!(?:not|none|neither)\b)[a-z-]+"
    r"(?:\s+(?!(?:here|there|in|on|for)\b)[a-z-]+)?"
    rf"(?:{_CHOICE_TAIL}|{_WHOLE_TAIL})?\s*\??\s*"
)
"""Two things named as a choice, nothing else but where ("lymphs or tumour?", "tumour or
lymphocytes in this field, would you say?")."""
_SCALE_CHOICE_RE = re.compile(
    r"\s*(?:is\s+it\s+|was\s+it\s+)?(?:\d+(?:\.\d+)?\s*(?:x|mpp|µm|um)\s*(?:,\s*|\s+or\s+|/\s*))+"
    r"\d+(?:\.\d+)?\s*(?:x|mpp|µm|um)\s*\??\s*"
)
""""40x or 20x", after a question about the scan: the values it could be, not a move."""
_NC_RATIO_RE = re.compile(r"\bnuclear[\s-]+to[\s-]+cytoplasmic\b|\bn\s*[:/]\s*c\s+ratio\b")
_WITH_OTHERS_RE = re.compile(
    r"\b(?:compare|contrast)\w*\s+(?:[\w-]+\s+){0,4}?(?:with|against|to)\s+(?:the\s+)?"
    r"(?:views?|regions?|fields?|rois?)\b"
)
"""The analysed place compared with others ("compare stromal area with views 2 and 3")."""
_EACH_CLASS_RE = re.compile(
    r"\b(?:each|every|all|per)\s+(?:of\s+)?(?:its\s+|the\s+|their\s+)?(?:tissue\s+|tile\s+)?class(?:es)?\b|"
    r"\bper[\s-]class\b"
)
"""The classifier's classes, all of them: their shares, not one class."""
_ANALYSES = frozenset({"detect", "classify", "segment", "composition", "vqa"})
"""Capabilities that analyse a region of the slide."""
_AT_SCALE_RE = re.compile(
    r"(?:\bat|@)\s*(?:a\s+)?(?:magnification\s+of\s+)?\d+(?:\.\d+)?\s*[x×](?!\w)"
    r"(?!\s+(?:field|view|scan|image|objective)\b)"
)
"""'count the nuclei at 40x': the analysis asked at a magnification, so the view is made first."""
_ANAPHOR_WORDS = 5
"""A later clause this short that only points back ("how big is it") adds no capability of its
own unless it scores clearly."""
_ANALYSIS_VERB = {
    "classify": re.compile(r"\bclassif"),
    "detect": re.compile(r"\b(?:count|detect|enumerat)"),
    "segment": re.compile(r"\bsegment"),
}
"""An analysis's own verb: "third piece, 40x, what's it classified as" asks for it, however
short."""
_PROBE_WEIGHT = 0.2
"""How far a capability's score moves with the probability the softmax head gives it: ±0.1 at
the extremes. Chosen on three batches scored before any tuning on them (+12 of 443 requests
over the examples' similarity alone)."""
_CACHE_VERSION = "router-1"
"""Part of the disk cache's key: change it when the example vectors or the head change meaning."""
_PROBE_SCALE = 10.0
_SPLIT_MARGIN = 0.15
"""How far above the threshold both halves of an "and" must score to be taken apart."""

_WH_WORD_RE = re.compile(r"\b(?:what|which|how|why|where|when|who|whether|if)\b")
"""A clause that asks, with or without its question mark."""
_TALK_PRONE = frozenset({"knowledge", "classify", "vqa"})
"""Capabilities whose examples read like talk about a case: a verbless statement lands near them."""
_WEAK_MARGIN = 0.05
"""How far above the threshold an uncued clause must score to add a step beside a surer one."""


class SemanticRouter:
    """Scores clauses against the capabilities' examples.

    The example vectors and the probe head are computed once per process, and kept on disk
    when a ``cache`` is given (``memory.vector_cache``).
    """

    _cache: dict[tuple[str, tuple[str, ...]], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    _cache_lock = threading.Lock()

    def __init__(
        self,
        capabilities: Sequence[Capability],
        encoder: Encoder,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        cache: VectorCache | None = None,
    ) -> None:
        """Route over ``capabilities`` with ``encoder``.

        ``cache`` keeps the example vectors and the probe head on disk, so that a new process
        encodes the request alone (about 1500 examples take seconds to encode).
        """
        self.capabilities = list(capabilities)
        self._disk = cache
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
                authored.update(WORD_RE.findall(normalise(example)))
        self._texts = tuple(texts)
        known = getattr(encoder, "known_words", None)
        self._words: frozenset[str] = known() if callable(known) else frozenset()
        # a typo is fixed towards the tools' own words or a real word users wrote, never
        # towards another user's typo ("nuceli")
        users = {w for t in texts for w in WORD_RE.findall(t)} & self._words
        self._vocab = sorted(w for w in authored | users if len(w) >= 5)

    def _examples(self) -> np.ndarray:
        return self._trained()[0]

    def _probe(self) -> tuple[np.ndarray, np.ndarray]:
        """A softmax-regression head over the example vectors (weights, bias), cached."""
        _, weights, bias = self._trained()
        return weights, bias

    def _trained(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Example vectors and probe head: from this process, the disk cache, or computed."""
        fingerprint = getattr(self._encoder, "fingerprint", None) or self._encoder.name
        key = (fingerprint, self._texts)
        with self._cache_lock:
            found = self._cache.get(key)
        if found is not None:
            return found
        disk_key = cache_key(
            _CACHE_VERSION,
            fingerprint,
            *self._texts,
            ",".join(map(str, self._owner)),
            f"{_PROBE_SCALE}",
        )
        stored = self._disk.get(disk_key) if self._disk is not None else None
        if stored is not None and {"examples", "weights", "bias"} <= stored.keys():
            found = (stored["examples"], stored["weights"], stored["bias"])
        else:
            examples = np.asarray(self._encoder.encode(list(self._texts)), dtype=np.float32)
            weights, bias = _train_probe(examples, np.asarray(self._owner), len(self.capabilities))
            found = (examples, weights, bias)
            if self._disk is not None:
                self._disk.put(disk_key, {"examples": examples, "weights": weights, "bias": bias})
        with self._cache_lock:
            self._cache[key] = found
        return found

    def names(self) -> list[str]:
        """The capabilities' names, in the router's order."""
        return [c.name for c in self.capabilities]

    def fix_typos(self, low: str) -> str:
        """Replace words close to a word of the examples ("segmnet" → "segment")."""
        return fix_typos(low, self._vocab, self._words)

    def score(self, clauses: list[str]) -> np.ndarray:
        """``[len(clauses), len(capabilities)]``: each capability's best example similarity."""
        examples = self._examples()
        vectors = np.asarray(self._encoder.encode(clauses), dtype=np.float32)
        sims = vectors @ examples.T
        owner = np.asarray(self._owner)
        weights, bias = self._probe()
        logits = vectors @ weights + bias
        logits -= logits.max(axis=1, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(axis=1, keepdims=True)
        out = np.full((len(clauses), len(self.capabilities)), -1.0, dtype=np.float32)
        for k in range(len(self.capabilities)):
            cols = sims[:, owner == k]
            if cols.shape[1] == 0:
                continue
            top = np.sort(cols, axis=1)[:, ::-1][:, :2]
            # the best example, nudged by the second best: one stray match weighs less
            out[:, k] = 0.75 * top[:, 0] + 0.25 * top[:, -1]
            # the head, trained on every example at once, weighs the wording that tells
            # capabilities apart; a near example alone can be near for the wrong reason
            out[:, k] += _PROBE_WEIGHT * (prob[:, k] - 0.5)
            stems = self.capabilities[k].vocabulary
            for i, clause in enumerate(clauses):
                if stems and not names_any(clause, stems):
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
                or JOINED_REFS_RE.search(clause)  # "are views 1 and 4 the same type?"
                or _JOINED_ORDINALS_RE.search(clause)  # "the first and the last view"
                or WHICH_VIEW_MOST_RE.search(clause)  # "of the views …, which had the most?"
                or topic_first(*parts)  # "the mucus, is it present in this slide?"
                or (PLACE_LEAD_RE.fullmatch(parts[0]) and clause.startswith(f"{parts[0]},"))
                or _LISTED_RE.search(clause)  # "is this fat, muscle or mucosa?"
                or any(_ONLY_A_REF_RE.fullmatch(p) for p in parts)  # "nuclei count, view 2"
                or _COMPARE_LEAD_RE.match(parts[0])  # "compare view 3 and this one for counts"
                # "what label and score did the model give?": two nouns of one question
                or (
                    re.fullmatch(r"(?:what|which)(?:\s+[\w-]+){1,2}", parts[0]) is not None
                    and re.match(r"[\w-]+\s+(?:did|does|do|was|were|is|are|has|have)\b", parts[1])
                    is not None
                )
                # "what tissue types are in view 2 and in what proportions?": how it is asked
                or re.fullmatch(
                    r"in\s+what\s+(?:proportions?|percentages?|amounts?|shares?)", parts[1]
                )
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

    def _share_of_named_class(self, clause: str, before: list[str], previous: str | None) -> bool:
        """``clause`` asks how much there is of a tile class an earlier clause named.

        ``previous``: the capability chosen for the clauses before; an area it measures
        ("segment the stroma, how much of it is there") answers the share itself.
        """
        return (
            bool(before)
            and previous not in _AREA_TOOLS
            and "composition" in self._by_name
            and bool(_HOW_MUCH_OF_IT_RE.fullmatch(clause))
            and names_any(" ".join(before), class_stems(self._by_name["composition"]))
        )

    def _same_share_elsewhere(self, clause: str, before: list[str]) -> bool:
        """``clause`` asks for "the %" of no class, after a clause that asked a class's share."""
        composition = self._by_name.get("composition")
        if composition is None or not before or not _BARE_SHARE_RE.search(clause):
            return False
        stems = class_stems(composition)
        said = before[-1]
        return (
            not names_any(clause, stems)
            and names_any(said, stems)
            and bool(PROPORTION_RE.search(said))
        )

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
        clause = _LEAD_FILLER_RE.sub("", clause)  # "ok so is this tumour or normal colon?"
        whose = _ACCORDING_INLINE_RE.search(clause)
        if whose is not None:  # "is there any tumour here according to the tile classifier?"
            asked = self._visual_cue(clause[: whose.start()] + clause[whose.end() :])
            if asked in ("composition", "classify"):
                return asked
        if "classify" in by_name and _TILE_CLASSIFIER_ASKED_RE.search(clause):
            return (
                "classify"  # "is this neoplasm or connective tissue, as your classifier sees it?"
            )
        if (
            _SPREAD_RE.search(clause)
            or (_OPINION_RE.search(clause) and _POINTS_AT_IMAGE_RE.search(clause))
            or _LOOK_AGAIN_RE.match(clause)
            or _YOUR_GRADE_RE.search(clause)
            or SAME_QUESTION_RE.search(clause)
            or (_YOU_THINK_IT_IS_RE.search(clause) and names_disease(clause))
        ):  # "your read on the tumour cells in this field"
            return "vqa"
        composition = by_name.get("composition")
        if (
            composition is not None
            and _SHARE_ASKED_RE.search(clause)
            and re.search(r"\b(?:this|here|it)\b", clause)
            and names_any(clause, class_stems(composition))
        ):
            return "composition"  # "is the tumour content above 20% in this field?"
        if (
            composition is not None
            and "classify" in by_name
            and _BARE_CHOICE_RE.fullmatch(clause)
            and _choice_cue(re.sub(_CHOICE_TAIL, "", clause), class_stems(composition))
            == "classify"
        ):
            return "classify"  # "pan R, then lymphs or tumour?": which of two classes
        if _HOW_MUCH_FEATURE_RE.search(clause):
            return "vqa"  # "how much fibrosis is around the tumour?": no tile class measures it
        asked = visual_question(clause)
        choices = either_choices(clause)
        if choices and "composition" in by_name and (asked is None or asked.form != "presence"):
            # "is this an invasive front or just reactive stroma": the classifier can only
            # choose between classes it knows; "is this stroma or tumour?" is such a choice
            stems = class_stems(by_name["composition"])
            named = [frozenset(s for s in stems if names_any(c, (s,))) for c in choices]
            if all(named) and len(set(named)) < len(named):
                return "vqa"  # "smooth muscle or skeletal muscle?": one class, two kinds of it
            if all(names_any(c, stems) for c in choices):
                return None if asked is None else "classify"
            if asked is None:
                return "vqa"
        if asked is None:
            vqa = by_name["vqa"]
            if _HOW_MANY_RE.match(clause) and names_any(clause, vqa.vocabulary):
                return "vqa"  # "how many mitoses per 10 hpf": no tool counts mitoses
            if _NC_RATIO_RE.search(clause) and _POINTS_AT_IMAGE_RE.search(clause):
                return "vqa"  # the detector outlines nuclei only: no cytoplasm to set them against
            return None
        if (
            asked.form == "presence"
            and "segment" in by_name
            and _GLANDS_ASKED_RE.match(asked.thing)
        ):
            return "segment"  # "is there epithelium in that field?": the epithelium's mask
        if asked.form in ("describe", "state") or names_any(asked.thing, by_name["vqa"].vocabulary):
            return "vqa"
        if _RELATION_RE.search(asked.thing):  # "tumour cells wrapping around a nerve"
            return "vqa"
        stems = class_stems(composition) if composition is not None else ()
        if asked.form != "presence" and " or " in asked.thing:
            # "is this an invasive front or just reactive stroma": a classifier can only
            # choose between classes it knows
            return _choice_cue(asked.thing, stems)
        words = composition.class_words if composition is not None else ()
        if asked.form == "look" and _beyond_classes(asked.thing, stems, words):
            return "vqa"  # "is this consistent with high grade serous carcinoma?": a diagnosis
        if asked.form == "presence" and stems and _feature_of_class(asked.thing, (*stems, *words)):
            return "vqa"  # "any tumour budding?", "a lymphoepithelial lesion?": no class's share
        if stems and names_any(asked.thing, stems):
            return "composition" if asked.form == "presence" else "classify"
        return "vqa"

    def _lesion_here(self, clause: str) -> bool:
        """``clause`` names a lesion or feature with the place on screen ("DCIS here")."""
        composition = self._by_name.get("composition")
        return bool(
            "vqa" in self._by_name
            and _DISEASE_HERE_RE.fullmatch(clause)
            and not _NOT_A_LESION_RE.search(clause)
            and (composition is None or not names_any(clause, class_stems(composition)))
        )

    def _asks_class_share(self, clause: str) -> bool:
        """The clause asks how much of a tissue class there is, or whether there is any.

        "How much debris?", "does the classifier find any fat?".
        """
        composition = self._by_name.get("composition")
        return (
            composition is not None
            and bool(PROPORTION_RE.search(clause) or _ANY_RE.search(clause))
            and names_any(clause, class_stems(composition))
        )

    def _class_guessed(self, clause: str) -> bool:
        """``clause`` only names a tile class or two ("stroma?", "maybe tumour or mucin")."""
        composition = self._by_name.get("composition")
        words = clause.split()
        return (
            composition is not None
            and len(words) <= _GUESS_WORDS
            and not _HAS_VERB_RE.search(clause)
            and names_any(clause, class_stems(composition))
            and all(w in _GUESS_FILLER or names_any(w, class_stems(composition)) for w in words)
        )

    def _bare_feature(self, clause: str) -> str | None:
        """``vqa`` (or composition, for a tissue class) for a bare feature asked about.

        "crescents in these glomeruli?", "psammoma bodies?", "pagetoid spread in the epidermis
        or not": a noun phrase with no verb, naming a feature in a place, several of something
        or asking "or not". Only when nothing else was chosen.
        """
        vqa = self._by_name.get("vqa")
        composition = self._by_name.get("composition")
        stems = class_stems(composition) if composition is not None else ()
        if (
            vqa is not None
            and _FEW_WORDS_RE.fullmatch(clause)
            and not NOT_A_FEATURE_RE.match(clause)
            and names_any(clause, vqa.vocabulary)
        ):
            return "vqa"  # "budding?", "signet rings?": a feature only the image shows
        if (
            not BARE_FEATURE_RE.fullmatch(clause)
            or NOT_A_FEATURE_RE.match(clause)
            or _CLASS_ASKED_RE.match(clause)
        ):
            return None
        if _MEASURED_RE.search(clause):
            return None  # "mean nuclear size in this area?": a measurement, not a feature
        if _TEXTBOOK_HEAD_RE.search(clause):
            return None  # "cHL markers", "DFSP molecular testing": the textbook's, not the image's
        if _MASK_WORD_RE.search(clause):
            return None  # "cellular mask of this view": an output asked for, not a feature
        if " or " in clause and not clause.endswith(" or not"):
            # "expansile or infiltrative?", "architecture preserved or effaced?": a choice about
            # the image
            return _choice_cue(clause, stems)
        words = clause.split()
        if not (
            re.search(r"\b(?:in|within|around|of)\s+(?:the|these|this|those)\b", clause)
            or clause.endswith(" or not")
            or (len(words) >= 2 and re.search(r"[a-z]{3}(?:s|ies|ae|i)$", words[-1]))
        ):
            return None
        if stems and names_any(clause, stems):
            return "composition"
        return "vqa"

    def image_question(self, low: str) -> str | None:
        """``vqa`` (``composition`` for a tissue class there or not) for a question about the image.

        "In the lakes of mucin here, are tumour cells floating?", "adenoca in this field yes or
        no": put as a question, pointing at the image, near no example. Not "can you export
        those masks?" (an order put politely).
        """
        at_structure = bool(_IN_A_STRUCTURE_RE.match(low))  # a question and its pointer at once
        if (
            "vqa" not in self._by_name
            or not (at_structure or _IMAGE_QUESTION_RE.search(low))
            or _ASKS_A_FAVOUR_RE.match(low)
            or not (at_structure or _POINTS_AT_IMAGE_RE.search(low))
            or COMPARE_CUE_RE.search(low)  # "is the density here higher than in the slide?"
            or re.search(r"\bthan\b", low)
        ):
            return None
        composition = self._by_name.get("composition")
        stems = class_stems(composition) if composition is not None else ()
        present = stems and _PRESENCE_RE.search(low) and names_any(low, stems)
        return "composition" if present else "vqa"

    def route(self, low: str, exclude: frozenset[str] = frozenset()) -> Routing:
        """Capabilities the request asks for, in the order its clauses name them."""
        if BARE_REF_RE.fullmatch(low) or NOTHING_ASKED_RE.fullmatch(low) or asks_nothing(low):
            # "the other one", "ok so um", "do it again but better": nothing asked, ask what
            return Routing(selected=[], nearest=[])
        # "take me back to the field where you outlined the nuclei": a place told by what was
        # done there, not an order to do it again
        clauses = [
            _WHERE_DONE_RE.sub("", c) if NAV_VERB_RE.search(c) else c for c in split_clauses(low)
        ]
        texts = [*clauses, low] if len(clauses) > 1 else clauses
        table = self.score([mask_arguments(t) for t in texts])
        for k, cap in enumerate(self.capabilities):
            if cap.name in exclude:
                table[:, k] = -1.0

        names = [c.name for c in self.capabilities]
        clauses, table = self._split_further(clauses, table, texts)
        for i, text in enumerate([*clauses, low]):
            if DIAGNOSIS_RE.search(text):  # no measuring tool answers "what is the diagnosis"
                for k, name in enumerate(names):
                    if name in NO_DIAGNOSIS:
                        table[i, k] = -1.0
        selected: list[Scored] = []
        taken_back: set[int] = set()
        weak: set[int] = set()
        told: set[int] = set()
        idle: set[int] = set()
        errand = False
        chatter = False
        purpose: str | None = None
        for i, clause in enumerate(clauses):
            if len(clauses) > 1 and BARE_REMIND_RE.fullmatch(clause):
                continue  # "remind me, what are the criteria for high grade dysplasia?"
            if len(clauses) > 1 and NOTHING_ASKED_RE.fullmatch(clause):
                continue  # "now, uh... hmm. do the one with the colors": fillers ask nothing
            if len(clauses) > 1 and NEGATED_ORDER_RE.fullmatch(clause):
                if CANCELLED_RE.search(clause):  # "…, count the nuclei. Hmm, no, don't count yet"
                    named = {c for c, verb in NEGATED_CAPABILITY if verb.search(clause)}
                    taken_back |= {j for j, s in enumerate(selected) if s.capability in named}
                continue  # "don't zoom, just count nuclei here"
            if i == 0 and len(clauses) > 1 and BEFORE_LEAD_RE.fullmatch(clause):
                continue  # "before drawing any conclusions, take me back to the overview"
            if ERRAND_RE.match(clause):
                errand = True
                continue  # "order MART-1 on block A2", "forward this to Dr Patel"
            if i and OTHER_MODEL_RE.match(clauses[i - 1]) and RERUN_RE.match(clause):
                continue  # "swap to a ViT backbone and rerun the tile classifier": the swapped one
            if _MACHINE_ASKED_RE.search(clause):
                continue  # "which GPU is the detector running on?": the deployment, not the slide
            if _reacts_only(clause, low):
                chatter = True
                continue  # "lol thats a LOT of cells": a reaction, nothing asked
            if len(clauses) > 1 and ASIDE_RE.match(clause):
                continue  # "..., my attending asked and I have no idea where to look"
            if (
                selected
                and selected[-1].capability in ("composition", "segment")
                and _ITS_SHARE_RE.fullmatch(clause)
            ):
                continue  # "…, and if so, what proportion of the tissue does it represent?"
            if selected and selected[-1].capability == "classify":
                if _AS_SHARES_RE.fullmatch(clause) and "composition" in names:
                    # "what's in this picture, tissue-wise? like percentages": the classes' shares
                    last = selected[-1]
                    selected[-1] = Scored("composition", last.score, f"{last.clause}; {clause}")
                    continue
                if self._class_guessed(clause):
                    continue  # "what's this tissue? stroma? …": the user's guess at its class
            if selected and selected[-1].capability == "recall" and _FOR_EACH_RE.fullmatch(clause):
                continue  # "which views have i opened so far and the nuclei count for each"
            if (
                selected
                and selected[-1].capability in _SCORED_TOOLS
                and _ITS_SCORE_RE.fullmatch(clause)
            ):
                continue  # "tumour or normal at slide level? and what's the score on that?"
            if selected and selected[-1].capability in _AREA_TOOLS and _only_units(clause):
                continue  # "segment the stroma here. area in mm² please": its unit, not tissue
            if (
                selected
                and selected[-1].capability == "tissue"
                and _TISSUE_OUTPUT_RE.fullmatch(clause)
            ):
                continue  # "where's the core? area + outline": the tissue's own outputs
            if selected and selected[-1].capability == "detect" and _only_per_area(clause):
                continue  # "how many nuclei in this box, and what is that per square mm?"
            if selected and _follows_up(selected[-1].capability, clause):
                continue  # "run the whole slide model - does it call this tumour or not?"
            if selected and _ACCORDING_TO_RE.fullmatch(clause):
                continue  # "tumour or stroma, according to the tile classifier?": whose answer
            if selected and _CAN_IT_TELL_RE.fullmatch(clause):
                continue  # "is this tumour or normal mucosa, can the classifier tell"
            if (
                selected
                and selected[-1].capability != "zoom"
                and len(selected) - 1 not in weak
                and ECHO_RE.fullmatch(clause)
                and not self._share_of_named_class(clause, clauses[:i], selected[-1].capability)
            ):
                # "run the classifier on piece 6 and give me the label"; after a move, "go to
                # 40x on this field and tell us the count" asks for the new view's count; after
                # talk only near an example ("I never trust heatmaps. Still, show me the
                # attention map"), the output named is what is asked
                before = selected[-1]
                if grammar_cue(before.clause) is None and grammar_cue(clause) == before.capability:
                    # "heatmaps mislead me. Still, show me the attention map": the order, not
                    # the remark its words are near, is the clause that asks
                    selected[-1] = Scored(before.capability, before.score, clause)
                continue
            if len(clauses) > 1 and _YOU_SAID_RE.match(clause) and not _asked(clause, low):
                continue  # "you said three fragments earlier. re-run the tissue detection"
            if len(clauses) > 1 and _REMARK_RE.fullmatch(clause) and not _asked(clause, low):
                continue  # "well, that's mostly glass. pan down a bit"
            if (
                selected
                and selected[-1].capability == "zoom"
                and _STATED_RE.match(clause)
                and not _asked(clause, low)
                and grammar_cue(clause) is None
                and not _WANTED_RE.search(clause)  # "the nuclei are what I want to count"
            ):
                continue  # "shift the view a little to the left. the edge of the core is cut off"
            if (
                (_STATED_RE.match(clause) or _OBSERVATION_RE.match(clause))
                and not _asked(clause, low)
                and (errand or any(ERRAND_RE.match(c) for c in clauses[i + 1 :]))
                and grammar_cue(clause) is None
                and not _WANTED_RE.search(clause)
            ):
                continue  # "could you do an immunostain? the organisms are hard to see": why (or
                # before it: "the colours look off. can you normalise the stain first?")
            if (
                selected
                and _DECLARED_RE.match(clause)
                and not _asked(clause, low)
                and grammar_cue(clause) is None
            ):
                continue  # "…? sarcoid dermis is fibroblastic, so my money is on stroma"
            if selected and _CANNOT_SEE_RE.match(clause):
                continue  # "zoom in 2x, can't make out individual cells at this res"
            if selected and _OBSERVATION_RE.match(clause) and not _asked(clause, low):
                continue  # "does this look like DCIS? the ducts look stuffed with cells"
            if (selected or errand) and PURPOSE_RE.match(clause):
                purpose = clause
                continue  # "go to the middle of this core at 40x. I'd like to hunt for mitoses"
            if purpose is not None and _purpose_goes_on(purpose, clause, low):
                continue  # "… so I can see how much is tissue and how much is tearing artefact"
            purpose = None
            if (
                (selected or i < len(clauses) - 1)
                and (
                    _STANCE_RE.match(clause)
                    or (_STANCE_ASIDE_RE.search(clause) and analysis_verb(clause) is None)
                )
                and not _asked(clause, low)
            ):
                continue  # "count the nuclei here - I expect lots of lymphocytes"
            if len(clauses) > 1 and _CASE_CONTEXT_RE.fullmatch(clause) and not _asked(clause, low):
                continue  # "This is a head and neck biopsy. Find the tissue ..."
            if (
                len(clauses) > 1
                and _SPECIMEN_LABEL_RE.fullmatch(clause)
                and not _asked(clause, low)
            ):
                continue  # "lung core. predominant pattern?", "cell block. malignant?": what it is
            if len(clauses) > 1 and _PLACE_ONLY_RE.fullmatch(clause):
                continue  # "and there? same classification": where, not what
            order = np.argsort(-table[i])
            best = float(table[i, order[0]])
            name = names[order[0]] if best >= self.threshold else None
            cue = grammar_cue(clause)
            if cue in (None, "classify", "zoom"):  # "does this look tubular or villous?"
                cue = self._visual_cue(clause) or cue
            if cue is None and _asked(clause, low) and self._lesion_here(clause):
                cue = "vqa"  # "DCIS here?": whether the view shows it, not the textbook entry
            takes_over = (
                (cue in ("vqa", "composition") and name not in ("compare", "recall"))
                or (
                    # "zoom out 2x and give me the composition again": an order, of the new view
                    cue == "composition" and name == "recall" and bool(REDO_SHARES_RE.match(clause))
                )
                or (
                    cue in ("recall", "compare", "knowledge", "experts")
                    or name is None
                    or (cue == "zoom" and name in YIELDS_TO_ZOOM)
                    # "go back to the second one", "show me a 2048 x 2048 region centred at …": a
                    # view, however close the examples of comparing or classifying regions read
                    or (
                        cue == "zoom"
                        and name == "compare"
                        and not COMPARE_CUE_RE.search(clause)
                        and len(set(region_refs(clause))) < 2
                    )
                    or (cue == "zoom" and name == "classify" and NAV_VERB_RE.search(clause))
                    # "go to the largest fragment, that should be the thyroid lobe": a place to
                    # go, described; nothing in it orders an analysis
                    or (
                        cue == "zoom"
                        and name in ("segment", "detect", "composition", "wsi_classify")
                        and (_LEADING_NAV_RE.match(clause) or _BACK_TO_RE.match(clause))
                        and not _ANALYSIS_WORD_RE.search(clause)
                    )
                    # "go to the most cellular area": a place to go, not an outline to draw
                    or (cue == "zoom" and name == "segment" and HOTSPOT_RE.search(clause))
                    # "give me an overview of the slide": a low-power view, not the case's summary
                    or (cue == "zoom" and name == "recall" and _SLIDE_OVERVIEW_RE.search(clause))
                    # "back to where we were before": a place to return to, however it is recalled
                    or (cue == "zoom" and name == "recall" and _BACK_TO_RE.match(clause))
                    # "where was the computer looking when it called it tumour?": its heatmap
                    or (
                        cue == "wsi_classify"
                        and name == "recall"
                        and re.search(r"\bwhere\b[^?]*\b(?:looking|focus\w*|attend\w*)\b", clause)
                        is not None
                    )
                    # "count cells in this view, then compare it with view 1": the count first
                    or (
                        cue in ("detect", "segment", "classify")
                        and name == "compare"
                        and analysis_verb(clause) == cue
                        and not can_compare(clause)
                    )
                    or (cue == "classify" and name in YIELDS_TO_CLASSIFY)
                    # "what does the tile model call this spot, …?": the classifier, named
                    or (
                        cue == "classify"
                        and name == "knowledge"
                        and _TILE_CLASSIFIER_ASKED_RE.search(clause)
                    )
                    # "count nuclei in the first view we looked at": an order, whatever memory
                    # words its place is named with
                    or (
                        cue in ("detect", "segment", "classify")
                        and name == "recall"
                        and ORDER_RE.match(clause)
                        and analysis_verb(clause) == cue
                    )
                    or (cue in ("segment", "detect") and name in ("tissue", "slide_info", "zoom"))
                    # "roughly how many tumour cells are in this view": a count, not a share
                    or (
                        cue == "detect"
                        and name == "composition"
                        and not PROPORTION_RE.search(clause)
                    )
                    or (cue == "segment" and name == "detect" and not COUNT_VERB_RE.search(clause))
                    or (
                        cue == "detect" and name == "segment" and not SEGMENT_VERB_RE.search(clause)
                    )
                    # an order by its verb ("classify this region of the ovarian tumour") is no
                    # textbook question, however close the disease's examples read
                    or (name == "knowledge" and cue is not None and analysis_verb(clause) == cue)
                    or (
                        cue == "wsi_classify"
                        and name in ("classify", "slide_info", "tissue", "composition", "zoom")
                    )
                    or (cue == "tissue" and name in ("classify", "zoom", "slide_info"))
                    # "tissue mask pls": the tissue detector's mask, not a compartment's
                    or (
                        cue == "tissue"
                        and name == "segment"
                        and names_tissue_outline(clause)
                        and not names_a_place(clause)
                        and not re.search(r"\b(?:here|this|that|current)\b", clause)
                    )
                    or (
                        cue == "slide_info"
                        and name in ("wsi_classify", "classify", "zoom", "tissue")
                    )
                )
            )
            previous = selected[-1].capability if selected else None
            if (name in (None, "tissue") or best < self.threshold + _WEAK_MARGIN) and (
                self._share_of_named_class(clause, clauses[:i], previous)
            ):  # "what's that pink stuff in the lumen, necrosis? how much of it"
                name, best, cue = "composition", self.threshold, "composition"
                if previous == "vqa" and _PRESENCE_RE.search(selected[-1].clause):
                    # "is there a lymphoid infiltrate in this field and how much of the area
                    # is it": whether the class is there and its share, both the class shares'
                    clause = f"{selected.pop().clause}; {clause}"
            elif self._same_share_elsewhere(clause, clauses[:i]):
                # "remind me what the tumour % was in the biggest piece, then give me the % for
                # the whole slide": the class's share, asked of another place
                name, best, cue = "composition", max(best, self.threshold), "composition"
            if (
                i > 0
                and cue is None
                and ANAPHOR_RE.search(clause)
                and len(clause.split()) <= _ANAPHOR_WORDS
                and best < self.threshold + _SPLIT_MARGIN
                and not (name in _ANALYSIS_VERB and _ANALYSIS_VERB[name].search(clause))
            ):
                continue  # "..., and how big is it?": a weak echo of the clause before
            if name is not None and name not in BUILT_IN and name not in _OWN_WORDS:
                takes_over = False  # a plug-in tool its examples chose: its author's wording
            if cue is not None and cue not in exclude and cue in names and takes_over:
                name, best = cue, max(best, self.threshold)
            if (
                name in ("classify", None)
                and (name is None or CLASSIFIER_NAMED_RE.match(clause))
                and (name is not None or cue == "classify")
                and self._asks_class_share(clause)
            ):  # "how much necrosis does the tile classifier find?": the classes' shares
                name, best = "composition", max(best, self.threshold)
            elif (
                (
                    name in (None, "segment", "classify", "tissue")
                    or (name == "zoom" and not NAV_VERB_RE.search(clause))
                )
                and "composition" in names
                and "composition" not in exclude
                and PROPORTION_RE.search(clause)
                and not SEGMENT_VERB_RE.search(clause)
                and not _MASK_WORD_RE.search(clause)  # "stroma mask, area and % coverage"
                and (
                    names_any(clause, class_stems(self.capabilities[names.index("composition")]))
                    or _EACH_CLASS_RE.search(clause)  # "what share would it give each class?"
                )
            ):  # "what fraction of this field is stroma?", "is it mostly tumour or stroma?"
                name, best = "composition", max(best, self.threshold)
            elif (
                name == "composition"
                and "segment" in names
                and PROPORTION_RE.search(clause)
                and _GLAND_RE.search(clause)
                and not names_any(clause, class_stems(self._by_name["composition"]))
            ):  # "what percentage of that box is gland?": no tile class, the epithelium's mask
                name = "segment"
            if SIZE_VARIATION_RE.search(clause) and "detect" in names and "detect" not in exclude:
                name, best = "detect", max(best, self.threshold)  # the spread of nuclear areas
            if name == "recall" and "zoom" in names and _BARE_VIEW_RE.fullmatch(clause):
                name = "zoom"  # "the previous view please": a view named alone is a place to go
            if name == "recall" and WHAT_IS_THIS_RE.fullmatch(clause):
                # "what have we got here?": the slide in front of us, not the case's past
                name = "slide_info" if "slide_info" in names else None
            if name == "zoom" and cue is None and WHERE_QUESTION_RE.match(clause):
                continue  # "where does the tissue sit? is most of it in the right half?"
            after_view = bool(selected) and selected[-1].capability == "zoom"
            bare = self._bare_feature(clause) if after_view and cue is None else None
            if bare is not None and (name is None or best < self.threshold + _WEAK_MARGIN):
                # "zoom in x2. mits?", "top left quadrant, 20x. paratrabecular lymphoid
                # aggregates?": a bare feature asked after the order that shows it
                name, best, cue = bare, self.threshold, bare
            if (
                name == "zoom"
                and (selected or (cue is None and best < self.threshold + _WEAK_MARGIN))
                and _nowhere(clause)
            ):
                # "…, then we move on", "take it with a pinch of salt", "explain": no place
                # named, and alone only near an example
                continue
            if name is not None:
                if name == "zoom" and cue is None and _nowhere(clause):
                    idle.add(len(selected))  # "we've been over the margins already. …"
                selected.append(Scored(name, best, clause))
                if cue is None and best < self.threshold + _WEAK_MARGIN:
                    weak.add(len(selected) - 1)
                if (
                    cue is None
                    and name in _TALK_PRONE
                    and not _asked(clause, low)
                    and not _HAS_VERB_RE.search(clause)
                    and not _WH_WORD_RE.search(clause)
                    and not DIAGNOSIS_RE.search(clause)  # "dx + how many frags"
                ):
                    told.add(len(selected) - 1)
        kept = [j for j in range(len(selected)) if j not in taken_back]
        for talk in (told | idle if len(idle) < len(selected) else told, weak):
            # a move that names no place, said before an order ("we've been over the margins
            # already. …"); a sentence with no verb and no question mark ("Right, small round
            # blue cell tumour, adrenal mass in a 4-year-old. What's the mpp?"); a clause only
            # near an example, with no word that orders a tool ("Tall cells? ... Any
            # hobnailing?"): beside a clause that asks, each is talk around the request
            rest = [j for j in kept if j not in talk]
            if rest:
                kept = rest
        selected = [selected[j] for j in kept]
        picked = {s.capability for s in selected}
        if {"classify", "wsi_classify"} <= picked:
            # "What tissue is on this slide? classify it": the tissue's class, asked twice;
            # the slide classifier only where its diagnosis is asked for
            selected = [
                s
                for s in selected
                if s.capability != "wsi_classify"
                or DIAGNOSIS_RE.search(s.clause)
                or _WHOLE_SLIDE_CALL_RE.search(s.clause)
            ]
        if len(selected) > 1:  # "looks mostly muscle to me, how much muscle is there?"
            selected = [s for s in selected if not IMPRESSION_RE.match(s.clause)] or selected
        if any(s.capability == "recall" for s in selected):
            summary = any(
                s.capability == "recall" and _CASE_SUMMARY_RE.search(s.clause) for s in selected
            )
            # "for view 8, what were the epithelial areas from the segmentation?", "and view
            # 10 - what was your label?": a fragment beside a recall qualifies it
            selected = [
                s
                for s in selected
                if s.capability == "recall"
                or _HAS_VERB_RE.search(s.clause)
                # "what was the count in view 2? then stroma area here vs view 1": two views
                # set against each other, a comparison of its own
                or (s.capability == "compare" and len(set(region_refs(s.clause))) >= 2)
                # "objective power at scan time and the full-res dimensions - and remind me …",
                # "… earlier? + whole slide call": the scan's facts or the slide's call, asked
                # beside the recall, name no view
                or (
                    (
                        s.capability == "slide_info"
                        or (s.capability == "wsi_classify" and not summary)
                    )
                    and not region_refs(s.clause)
                    and not _QUALIFIER_RE.match(s.clause)  # "…, and at what magnification?"
                )
            ]
        if len(selected) > 1 and selected[0].capability == "knowledge":
            # "what is the grading scheme for DCIS - does necrosis come into it?": the rest of
            # the textbook question, unless it points at the image or orders an analysis
            selected = [
                s
                for s in selected
                if s.capability not in _ANALYSES
                or (
                    _POINTS_AT_IMAGE_RE.search(s.clause)
                    and not _ABSTRACT_THERE_RE.match(s.clause)  # "is there a standard scale?"
                )
                or [r for r in region_refs(s.clause) if r != "current"]  # not a bare "it"
                or analysis_verb(s.clause)
            ]
        if any(s.capability == "compare" for s in selected):
            # "both of them - which had more epithelium?": the measure of the comparison
            selected = [
                s
                for s in selected
                if s.capability == "compare"
                or not (
                    (WHICH_MORE_RE.match(s.clause) and analysis_verb(s.clause) is None)
                    or _MEASURE_ONLY_RE.fullmatch(s.clause)
                    # "compare these two, the nuclei counts": a bare noun phrase, the measure
                    or (not _HAS_VERB_RE.search(s.clause) and not region_refs(s.clause))
                )
            ]
        if any(s.capability == "vqa" for s in selected):
            # "papillae w slit-like spaces... HGSC or LGSC? describe": the user's differential,
            # asked of the image beside the description, not a textbook question
            selected = [
                s
                for s in selected
                if not (s.capability == "knowledge" and _BARE_EITHER_RE.fullmatch(s.clause))
            ]
        kinds = [s.capability for s in selected]
        if (
            len(selected) == 2
            and kinds[0] == "recall"
            and kinds[1] in _ANALYSES
            and _RUN_ON_IT_RE.search(selected[1].clause)
        ):  # "what tissue was in the first region? run the classifier on it": asked, then the
            # order that answers it
            said = f"{selected[0].clause}; {selected[1].clause}"
            selected = [Scored(kinds[1], selected[1].score, said)]
        selected = _share_by_its_mask(selected)
        composition = self._by_name.get("composition")
        for j in range(1, len(selected)):
            before, this = selected[j - 1], selected[j]
            if (
                composition is not None
                and "composition" not in exclude
                and before.capability == "knowledge"
                and this.capability == "vqa"
                and _ANY_THERE_RE.search(this.clause)
                and names_any(before.clause, class_stems(composition))
            ):  # "what is necrosis, and is there any here?": that class, present or not
                selected[j] = Scored("composition", this.score, f"{before.clause}; {this.clause}")
        whole = table[-1]
        pointed = bool(re.search(r"\b(?:this|these|here)\b", clauses[0]))
        only = [s.capability for s in selected]
        if (
            len(clauses) == 1
            and not errand  # "adjust the brightness": the viewer's, not a feature to look for
            and not chatter
            and "vqa" in names
            and "vqa" not in exclude
            and (
                not selected
                or (pointed and only == ["knowledge"])
                # "pagetoid spread in the epidermis or not": a noun matched, no order given
                or (
                    only in (["segment"], ["detect"], ["classify"])
                    and analysis_verb(clauses[0]) is None
                    and not COUNT_VERB_RE.search(clauses[0])
                )
            )
        ):  # "crescents in these glomeruli?" points at the image, not at a textbook
            bare = self._bare_feature(clauses[0])
            if bare is not None:
                selected = [Scored(bare, self.threshold, clauses[0])]
        if (
            not selected
            and len(clauses) == 1
            and "knowledge" in names
            and "knowledge" not in exclude
            and (
                _TEXTBOOK_HEAD_RE.search(clauses[0]) or _LOOKS_LIKE_IN_GENERAL_RE.match(clauses[0])
            )
            and not DEICTIC_RE.search(clauses[0])
        ):  # "cHL markers", "what does a Wilms tumour look like": the textbook entry
            selected = [Scored("knowledge", self.threshold, clauses[0])]
        if not selected and not errand and not chatter:  # nor an errand or a reaction alone
            k = int(np.argmax(whole))
            weak_move = (
                names[k] == "zoom"
                and float(whole[k]) < self.threshold + _WEAK_MARGIN
                and grammar_cue(low) is None
                and _nowhere(low)
            )  # "explain", "next.": near a terse move, naming none
            if float(whole[k]) >= self.threshold and not weak_move:
                selected.append(Scored(names[k], float(whole[k]), low))
        nearest_order = np.argsort(-table.max(axis=0))
        nearest = [Scored(names[k], float(table.max(axis=0)[k]), low) for k in nearest_order[:3]]
        unique: dict[str, Scored] = {}
        for s in selected:
            if s.capability in unique and _CORRECTS_RE.match(s.clause):
                # "pan up. actually, pan left": the second word on the same order wins
                del unique[s.capability]
            unique.setdefault(s.capability, s)
        return Routing(selected=list(unique.values()), nearest=nearest)


_STROMA_RE = re.compile(r"\b(?:strom\w*|collagen\w*|fibrous|fibrosis|desmoplas\w*)\b")
_EPITHELIUM_RE = re.compile(r"\b(?:epitheli\w*|glands?|glandular|nests?)\b")


def _compartment(clause: str) -> str | None:
    """``stroma`` or ``epithelium`` when ``clause`` names that compartment (and not the other)."""
    stroma, epithelium = _STROMA_RE.search(clause), _EPITHELIUM_RE.search(clause)
    if stroma and not epithelium:
        return "stroma"
    if epithelium and not stroma:
        return "epithelium"
    return None


def _share_by_its_mask(selected: list[Scored]) -> list[Scored]:
    """A share of a compartment asked beside an order to mask it is that mask's area.

    "Stroma occupies which percent of this field? Please with segmentation mask.", "how much
    collagen is left between the tumour cells? outline the stroma here": the segmentation's
    area fraction answers the share; the tile classes are not asked for.
    """
    kinds = [s.capability for s in selected]
    if kinds.count("composition") != 1 or kinds.count("segment") != 1:
        return selected
    share = selected[kinds.index("composition")]
    mask = selected[kinds.index("segment")]
    asked = _compartment(share.clause)
    if asked is None or _compartment(mask.clause) not in (None, asked):
        return selected
    if _OTHER_MASK_RE.search(mask.clause):
        return selected  # "% stroma vs tumour, and segment the cellular area": two questions
    # the compartment the mask is of: as the order names it, else as the share does
    said = mask.clause if _compartment(mask.clause) else f"{share.clause}; {mask.clause}"
    return [replace(s, clause=said) if s is mask else s for s in selected if s is not share]


_OTHER_MASK_RE = re.compile(r"\b(?:cellular|cell[\s-]rich|nucle\w*)\b")
"""A mask of the cells or nuclei: no compartment's share."""


_FILLER = frozenset({"a", "an", "the", "just", "some", "mostly", "all", "only", "or", "and"})


def _only_units(clause: str) -> bool:
    """``clause`` names a unit or a share and nothing else to measure (``_UNIT_WORDS``)."""
    words = re.findall(r"[^\W\d_]+|%|²", clause)
    return any(
        w in ("area", "areas", "%", "percent", "percentage", "percentages", "fraction", "mm")
        or w in ("proportion", "proportions", "share", "shares", "fractions")
        for w in words
    ) and all(w in _UNIT_WORDS or w in ("%", "²") for w in words)


_PER_AREA_WORDS = frozenset(
    (
        *("does", "do", "did", "work", "works", "out", "to", "come", "comes", "translate"),
        *("translates", "into", "density", "densities", "square", "sq", "millimetre"),
        *("millimetres", "millimeter", "millimeters", "hpf", "unit", "crowded", "dense"),
        *("packed", "cellular", "were", "was"),
    )
)


def _only_per_area(clause: str) -> bool:
    """``clause`` asks only what a count comes to per unit area.

    "And what does that work out to per square millimetre?": the density of the count before.
    """
    words = re.findall(r"[^\W\d_]+|%|²", clause)
    return "per" in words and all(
        w in _UNIT_WORDS or w in _PER_AREA_WORDS or w in ("%", "²") for w in words
    )


def _choice_cue(thing: str, stems: Sequence[str]) -> str:
    """``classify`` when every alternative of "X or Y" names a tile class, else ``vqa``."""
    choices = [c for c in re.split(r",\s*|\s+or\s+", thing) if c.strip()]
    return "classify" if stems and all(names_any(c, stems) for c in choices) else "vqa"


def _nowhere(clause: str) -> bool:
    """``clause`` names no place, scale, move or zoom: not a view, whatever its words are near."""
    z = zoom_request(clause)
    if z.error is not None or z.direction is not None or z.relative is not None:
        return False
    if any(v is not None for v in (z.magnification, z.mpp, z.level, z.box, z.center, z.size_px)):
        return False
    if z.target not in ("default", "roi") or (z.target == "roi" and z.roi_ref != "current"):
        return False
    return not re.search(
        r"\b(?:zoom\w*|view|overview|thumbnail|whole\s+slide|back|there)\b", clause
    )


def _beyond_classes(thing: str, stems: Sequence[str], class_words: Sequence[str]) -> bool:
    """``thing`` names more than a tissue class: a grade or subtype no tile class holds.

    "tumour" or "colorectal adenocarcinoma" is a class; "high grade serous carcinoma" is not.
    ``class_words`` are the class names' other words (``Tool.class_words``).
    """
    known = (*stems, *class_words)
    words = [w for w in WORD_RE.findall(thing) if w not in _FILLER]
    return bool(stems) and names_any(thing, stems) and any(not w.startswith(known) for w in words)


_PLACE_AFTER_RE = re.compile(
    r"\s+(?:in|at|inside|within|around|on|left|anywhere|apart|beyond|floating|near|along|among|"
    r"between|from|here|there|this|that|or|,)\b|,"
)
_FEATURE_HEADS = frozenset(
    {
        "lesion",
        "lesions",
        "budding",
        "buds",
        "invasion",
        "reaction",
        "emboli",
        "embolus",
        "spread",
        "centres",
        "centers",
        "formation",
        "bodies",
        "figures",
        "crowding",
        "permeation",
        "extension",
        "infiltration",
        "atypia",
        "dysplasia",
        "metaplasia",
        "change",
        "changes",
    }
)
"""Head nouns of a feature seen beside or in a tissue class ("tumour budding")."""


def _feature_of_class(thing: str, known: Sequence[str]) -> bool:
    """``thing`` (asked present or not) is a feature beside or of a class, not the class.

    "tumour budding", "a lymphoepithelial lesion", "a desmoplastic stromal reaction", "signet
    ring cells floating in those mucin pools": its head noun is a feature, or cells of no class
    the tile classifier knows; "necrosis", "tumour cells", "lymphoid aggregates" are classes.
    """
    head = _PLACE_AFTER_RE.split(thing, maxsplit=1)[0]
    words = WORD_RE.findall(head)
    if not words:
        return False
    last = words[-1]
    return last in _FEATURE_HEADS or (
        last in ("cells", "cell") and len(words) > 1 and not names_any(head, known)
    )


def _train_probe(
    x: np.ndarray, y: np.ndarray, classes: int, *, steps: int = 300, l2: float = 1e-3
) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression of ``y`` on ``x`` by full-batch Adam from zeros (deterministic).

    ``x`` are unit vectors; scaled by ``_PROBE_SCALE`` so that 300 steps reach confident
    probabilities. About 0.1 s for a thousand examples, once per process.
    """
    x = x * _PROBE_SCALE
    onehot = np.eye(classes, dtype=np.float32)[y]
    w = np.zeros((x.shape[1], classes), dtype=np.float32)
    b = np.zeros(classes, dtype=np.float32)
    mw, vw, mb, vb = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
    lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        logits = x @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) / len(x)
        gw = x.T @ g + l2 * w
        gb = g.sum(axis=0)
        mw = b1 * mw + (1 - b1) * gw
        vw = b2 * vw + (1 - b2) * gw * gw
        mb = b1 * mb + (1 - b1) * gb
        vb = b2 * vb + (1 - b2) * gb * gb
        w -= lr * (mw / (1 - b1**t)) / (np.sqrt(vw / (1 - b2**t)) + eps)
        b -= lr * (mb / (1 - b1**t)) / (np.sqrt(vb / (1 - b2**t)) + eps)
    return w * _PROBE_SCALE, b


_FOLLOW_UPS: tuple[tuple[frozenset[str], Callable[[str], re.Match[str] | None]], ...] = (
    # "run the whole slide model - does it call this tumour or not?"
    (frozenset({"wsi_classify", "classify"}), _ITS_CALL_RE.match),
    # "… and show me where it is looking (attention map)": its heatmap
    (frozenset({"wsi_classify"}), _WHERE_IT_LOOKS_RE.search),
    # "native scan mag? 40x or 20x": the answers it could be
    (frozenset({"slide_info"}), _SCALE_CHOICE_RE.fullmatch),
    # "what is the model's diagnosis? tumour or normal?": its choices
    (frozenset({"wsi_classify"}), _BARE_CHOICE_RE.fullmatch),
    # "what is tumour budding per the ITBCC? until how many cells?"
    (frozenset({"knowledge"}), _LIMIT_ASKED_RE.fullmatch),
)
"""Clauses that only go on asking what the capability before them was asked: its call, its
heatmap, its choices, its limits."""


def _follows_up(before: str, clause: str) -> bool:
    """``clause`` asks nothing of its own after a clause routed to ``before``."""
    return any(before in caps and read(clause) for caps, read in _FOLLOW_UPS)


def _only_errands(low: str) -> bool:
    """Every clause of ``low`` is an errand, or a reason or purpose beside one."""
    clauses = split_clauses(low)
    errands = [bool(ERRAND_RE.match(c)) for c in clauses]
    return any(errands) and all(
        e or ASIDE_RE.match(c) or PURPOSE_RE.match(c) for e, c in zip(errands, clauses, strict=True)
    )


_PURPOSE_GOES_ON_RE = re.compile(r"(?:how\s+(?:much|many)|whether|if|which|what)\b")
"""The second half of a purpose's question ("so I can see how much is tissue and how much is
artefact")."""


def _purpose_goes_on(purpose: str, clause: str, low: str) -> bool:
    """``clause`` goes on with the purpose before it, in the same sentence, asking nothing new."""
    start = low.find(purpose)
    end = low.find(clause, start + len(purpose)) if start >= 0 else -1
    between = low[start + len(purpose) : end] if end >= 0 else "."
    return bool(
        _PURPOSE_GOES_ON_RE.match(clause) and re.fullmatch(r"[\s,]*(?:and|or)?[\s,]*", between)
    )


def _without_asides(low: str) -> str:
    """``low`` without the clauses that only give a reason or a setting (``ASIDE_RE``)."""
    clauses = split_clauses(low)
    if len(clauses) < 2:
        return low
    ordered = False  # a purpose only follows an order: "hi. i'd like to look at the top left"
    for clause in clauses:
        purpose = ordered and PURPOSE_RE.match(clause)
        ordered = ordered or not ASIDE_RE.match(clause)
        if (ASIDE_RE.match(clause) or purpose) and clause in low:
            low = low.replace(clause, " ", 1)
    return " ".join(low.split())


def _reacts_only(clause: str, low: str) -> bool:
    """``clause`` is a reaction and the request ``low`` it is part of asks no question."""
    return bool(_REACTION_RE.match(clause)) and "?" not in low


def _without_compared(low: str, clause_of: dict[str, str]) -> str:
    """``low`` without the clause that compares earlier views.

    "Zoom in 2x, count, compare with view 1" zooms into the view on screen, not into view 1. A
    recalled view stays: "remind me of the count from view 2 and take me back there".
    """
    clause = clause_of.get("compare")
    return low.replace(clause, " ") if clause and clause != low else low


def _with_recalled(compare: CompareRequest, recall: RecallRequest, said: str) -> CompareRequest:
    """A comparison that names one region beside a recall of another compares the two.

    "What did we get for view 1 and how does it compare to view 3": "it" is view 1. "What did
    we count in view 2? And now count view 4 so I can put them next to each other": 2 and 4.
    """
    regions = list(compare.regions)
    named = [r for r in regions if r != "current"]
    said_here = "current" in region_refs(said)  # "this view", "here": the view on screen
    if said_here and re.search(r"\bit\b", said) and regions == ["current", "previous"]:
        # "remind me what view 2 was, then compare it with here": "it" is view 2, beside this
        regions = [recall.regions[0], "current"]
    elif "current" in regions and re.search(r"\bit\b", said):
        regions = [recall.regions[0] if r == "current" else r for r in regions]
    elif len(set(named)) < 2 and not said_here:
        # "what did we count in view 2? and now count view 4 so I can put them side by side"
        regions = list(dict.fromkeys([*recall.regions, *named]))
    return replace(compare, regions=tuple(regions))


def semantic_parse(
    request: str,
    router: SemanticRouter,
    *,
    has_view: bool,
    has_class: bool = False,
    whole_image: bool = False,
) -> tuple[ParsedRequest, Routing, str]:
    """The intents of ``request`` chosen by meaning, with the shared grammar's arguments.

    ``has_class``: the case has classified a region or the slide ("what is this tumour?" then
    asks about that class, not for a new classification). ``whole_image``: the slide is an
    image that fits one view (a tile or a region exported as a PNG): a question about what is
    on screen asks about it even before any view is shown.

    Returns the parsed request, the routing, and the text the grammar read (typos fixed).
    """
    low = without_words_to_others(router.fix_typos(normalise(request)))
    routing = router.route(low)
    if not routing.selected and _only_errands(low):
        return ParsedRequest(), routing, low  # "open the TURBT slide from the same patient"
    with_asides = low
    low = _without_asides(low)  # "…, I know it will take a while": no "it" to resolve
    chosen = {s.capability for s in routing.selected}
    if (
        not chosen
        and names_disease(request)
        and not ERRAND_RE.match(low)
        and not _reacts_only(low, low)  # "lol thats a LOT of cells": shouted, no acronym
        and not _MACHINE_ASKED_RE.search(low)  # "is it a GPU?"
    ):
        # "what about melanoma?"; not "dictate a melanoma report into the LIS"
        best = routing.nearest[0].score if routing.nearest else 0.0
        routing = Routing([Scored("knowledge", best, low)], routing.nearest)
        chosen = {"knowledge"}
    wsi_clause = next((x.clause for x in routing.selected if x.capability == "wsi_classify"), "")
    if (
        "wsi_classify" in chosen
        and "classify" not in chosen
        and names_a_place(wsi_clause)
        and not SLIDE_WIDE_RE.search(wsi_clause)
    ):
        chosen = (chosen - {"wsi_classify"}) | {"classify"}  # "classify the centre of the slide"
        routing = Routing(
            [
                Scored("classify", s.score, s.clause) if s.capability == "wsi_classify" else s
                for s in routing.selected
            ],
            routing.nearest,
        )
    if (
        chosen == {"classify"}
        and "wsi_classify" in router.names()
        and _ONLY_WHOLE_SLIDE_RE.search(low)
        and not names_a_place(_ONLY_WHOLE_SLIDE_RE.sub(" ", low))
    ):  # "tumour or normal, whole slide": the slide's class, not a region's
        chosen = {"wsi_classify"}
        routing = Routing(
            [Scored("wsi_classify", s.score, s.clause) for s in routing.selected], routing.nearest
        )
    if has_class and THIS_DISEASE_RE.search(low) and chosen <= {"classify", "knowledge"}:
        # "what is this tumour?" after a classification: the class the case has is the topic
        chosen = {"knowledge"}
        routing = Routing([Scored("knowledge", routing.nearest[0].score, low)], routing.nearest)
    if "compare" in chosen and not can_compare(low):
        recalls = parse_recall(low) is not None or PAST_RESULT_RE.search(low)
        routing = router.route(
            low, exclude=frozenset({"compare"} if recalls else {"compare", "recall"})
        )
        chosen = {s.capability for s in routing.selected}
        if not chosen and names_disease(request):  # "hyperplastic polyp vs ssl?"
            routing = Routing([Scored("knowledge", router.threshold, low)], routing.nearest)
            chosen = {"knowledge"}
    chosen |= grammar_cues(low, chosen, has_view)
    parts = parts_compared(low)
    boxes = boxes_compared(low)
    if (parts or boxes) and ranks_nuclei(low):
        chosen.add("compare")  # "rank the quadrants by density": the nuclei of each, ranked
    if boxes is not None and chosen & {"compare", "detect", "segment", "classify"}:
        # "compare box [600,1200,1300,1800] with box [2600,2600,3300,3200]": each box analysed
        chosen = (chosen - {"detect", "segment", "classify", "zoom"}) | {"compare"}
        parts = None
    if parts is not None and chosen & {"compare", "detect", "segment", "classify"}:
        # "which quadrant has the most nuclei?": an analysis of each part, side by side
        chosen = (chosen - {"detect", "segment", "classify", "zoom"}) | {"compare"}
    sees = has_view or whole_image
    if not chosen and sees and WHAT_IS_THIS_RE.fullmatch(low):
        # "what is this?" is the view's class; "what am I looking at?" asks it described
        seen = "vqa" if LOOKING_AT_RE.search(low) and "vqa" in router.names() else "classify"
        chosen = {seen}
        routing = Routing([Scored(seen, router.threshold, low)], routing.nearest)
    elif (
        not sees
        and WHAT_IS_THIS_RE.fullmatch(low)
        and chosen <= {"slide_info", "classify"}
        and {"slide_info", "tissue"} <= set(router.names())
    ):
        # "what have we got here?" on a slide just opened: its facts and where its tissue is
        chosen = {"slide_info", "tissue"}
        routing = Routing(
            [Scored(c, router.threshold, low) for c in ("slide_info", "tissue")], routing.nearest
        )
    if (
        sees
        and chosen <= {"knowledge"}
        and "vqa" in router.names()
        and feature_alone(low) is not None
        and not names_disease(request)  # "trichilemmal cyst then?": what the lesion is
    ):  # "osteoid?", "keratinisation?" with a view open: whether the view shows it
        chosen = {"vqa"}
        routing = Routing([Scored("vqa", router.threshold, low)], routing.nearest)
    if (
        not chosen
        and sees
        and "vqa" in router.names()
        and any(MARGIN_ASKED_RE.match(c) for c in split_clauses(low))
    ):  # "are the edges clear?" with a view open: the margin in it
        chosen = {"vqa"}
        routing = Routing([Scored("vqa", router.threshold, low)], routing.nearest)
    if not chosen and not ERRAND_RE.match(low):
        asked = router.image_question(low)
        if asked is not None:  # a question about the image, near no example: its experts'
            chosen = {asked}
            routing = Routing([Scored(asked, router.threshold, low)], routing.nearest)
    if not chosen:
        return ParsedRequest(), routing, low
    recall = None
    compare = None
    if (
        _VIEWS_RANKED_RE.search(low)
        and (
            (chosen & {"detect", "segment", "classify", "composition"} and "compare" not in chosen)
            or (chosen == {"compare"} and not region_refs(low))  # "rank the views by nuclei"
        )
        and "recall" not in chosen
    ):  # "which of the views has the most cells?", "rank the views by density": every view's
        compare = replace(compare_of(low, ()), last=0)
        chosen -= {"detect", "segment", "classify", "composition", "zoom", "compare"}
        best = max((x.score for x in routing.selected), default=router.threshold)
        routing = Routing([Scored("compare", best, low)], routing.nearest)
    clause_of = {s.capability: s.clause for s in routing.selected}
    if "compare" in chosen and boxes is not None:
        compare = replace(compare_of(low, ()), boxes=boxes)
        chosen.discard("compare")
    if "compare" in chosen and parts is not None:
        named = compare_of(low, ())
        compare = replace(named, parts=parts[0], part_of=parts[1], within=box_named(low))
        chosen.discard("compare")
    if "compare" in chosen:
        said = clause_of.get("compare", low)
        whole = parse_compare(low) if parse_recall(low) is None else None  # as the rules read it
        compare = parse_compare(said) or whole or compare_from_refs(said)
        ran = [c for c in ("detect", "segment", "classify", "composition") if c in chosen]
        if compare is not None and len(ran) == 1 and compare_of(said, ()).tool is None:
            # "tumour vs stroma % here, then stack it against view 2": the analysis asked beside
            # a comparison that names no measure of its own
            own = compare_of(clause_of.get(ran[0], low), compare.regions)
            what = own.what if own.tool == ran[0] else None
            compare = replace(compare, tool=ran[0], what=what, nuclei=compare.nuclei or own.nuclei)
        elif compare is not None and compare.tool is None:
            # "versus view 1, how is this field in tissue type": the measure named elsewhere
            named = compare_of(low, compare.regions)
            compare = replace(
                compare, tool=named.tool, what=named.what, nuclei=compare.nuclei or named.nuclei
            )  # "compare the first view and this one — which has more nuclei?": by the nuclei
        chosen.discard("compare")
    said = clause_of.get("recall", low)
    if "recall" in chosen and (compare is None or _RECALL_BESIDE_RE.search(said)):
        recall = parse_recall(said) or RecallRequest(
            regions=tuple(dict.fromkeys(region_refs(said))), kinds=findings_asked(said)
        )
        if not recall.kinds and not recall.views and len(routing.selected) == 1:
            # "remind me, what was the count"
            recall = RecallRequest(regions=recall.regions, kinds=findings_asked(low))
    chosen.discard("recall")
    if compare is not None and recall is not None and recall.regions:
        compare = _with_recalled(compare, recall, clause_of.get("compare", ""))
    if compare is not None and "zoom" in chosen and "zoom" in clause_of and "compare" in clause_of:
        # "zoom out 2x and compare the tissue composition here with view 1": the new view's
        moved = low.find(clause_of["zoom"]) < low.find(clause_of["compare"])
        compare = replace(compare, after_move=moved)
    zoom = None
    scaled = False  # the analysis is of the view a scale it names makes
    if "zoom" not in chosen and chosen & {"detect", "classify", "segment"}:
        named = zoom_request(low)
        if named.target in ("box", "point"):  # the place becomes a numbered region first
            zoom = replace(named, for_analysis=True)
    if zoom is None and "zoom" not in chosen and has_view and chosen & _ANALYSES:
        named = zoom_request(low)
        rel = named.relative
        if rel is not None and rel.part is not None and rel.part_of == "view":
            zoom = named  # "count cells in the bottom half of this view": show it, analyse it
    if (
        zoom is None
        and "zoom" not in chosen
        and has_view
        and "slide_info" in chosen
        and _VIEW_SCALE_RE.search(low)
    ):  # "what's the mpp at this view?": the view's own scale, beside the scan's
        zoom = zoom_request("show the current view again")
    if (
        zoom is None
        and "zoom" not in chosen
        and compare is None
        and any(
            _AT_SCALE_RE.search(clause_of.get(name, low)) for name in chosen & (_ANALYSES - {"vqa"})
        )
    ):  # "count the nuclei in fragment 2 at 20x": the view at that scale, then the count
        named = zoom_request(low)
        zoom = named if named.magnification is not None else None
        scaled = zoom is not None
    if "zoom" in chosen:
        zoom = zoom_request(clause_of.get("zoom", low))
        whole = zoom_request(_without_compared(low, clause_of))
        if (zoom.target == "default" and whole.target != "default") or (
            zoom.relative is None and whole.relative is not None
        ):
            zoom = whole  # "closer. 2x": the factor said in a clause of its own
        elif (
            zoom.relative is not None
            and whole.relative is not None
            and zoom.relative.factor is None
            and whole.relative.factor is not None
            and zoom.relative.part is None
            and whole.relative.part is None
        ):  # "pan right, then zoom in 2x": one move, then closer
            zoom = replace(zoom, relative=replace(zoom.relative, factor=whole.relative.factor))
        elif (
            zoom.direction is None
            and whole.direction is not None
            and zoom.magnification is None
            and zoom.mpp is None
            and zoom.level is None
        ):  # "go to region 1 and zoom in": that view, then closer (at the scale said, if any)
            scale = {"magnification": whole.magnification, "mpp": whole.mpp, "level": whole.level}
            zoom = replace(zoom, direction=whole.direction, **scale)
        elif zoom.target == "default" and _THERE_RE.search(clause_of.get("zoom", low)):
            # "There's a polyp on the third piece. Go there at 20x.": the place the aside named
            named = zoom_request(with_asides)
            at = with_asides.find(clause_of.get("zoom", low))
            views = set(_VIEW_NAMED_RE.findall(with_asides[:at] if at > 0 else ""))
            if named.target == "default" and len(views) == 1:
                # "tell me what tissue view 3 was, then take me back there": that view
                named = zoom_request(f"go back to view {views.pop()}")
            if named.target in ("tissue_region", "box", "point", "roi"):
                zoom = replace(
                    named,
                    magnification=zoom.magnification or named.magnification,
                    mpp=zoom.mpp or named.mpp,
                    level=zoom.level if zoom.level is not None else named.level,
                )
        elif zoom.magnification is None and zoom.mpp is None and zoom.level is None:
            # "go to x 51200 y 38400, 10x mag": the scale said in a clause of its own
            scale = {"magnification": whole.magnification, "mpp": whole.mpp, "level": whole.level}
            zoom = replace(zoom, **scale)
    analyses: dict[str, RegionRequest | None] = {}
    for name in ("detect", "classify", "segment"):
        if name in chosen and scaled:
            analyses[name] = RegionRequest()
        elif name in chosen:
            # "det nuclei -> compare w/ v2": the count is of the view on screen, not of view 2
            rest = _without_compared(low, clause_of) if compare is not None else low
            analyses[name] = _analysis_region(clause_of.get(name, low), rest, zoom is not None)
        else:
            analyses[name] = None
    segment = analyses["segment"]
    parts: tuple[str, ...] = ()
    if segment is not None:
        said = clause_of.get("segment", low)
        # "can you measure the glandy parts? I think you call that epithelium?": the
        # compartment named in a clause of its own
        parts = segment_targets(said if COMPARTMENT_WORD_RE.search(said) else with_asides)
        segment = replace(segment, what=parts[0])
    if compare is not None:
        compare = _compare_with_analysis(compare, analyses, segment, clause_of.get("compare", low))
    by_name = {c.name: c for c in router.capabilities}
    other = tuple(
        (
            name,
            (
                RegionRequest()
                if scaled
                else _analysis_region(clause_of.get(name, low), low, zoom is not None)
            )
            if by_name[name].takes_region
            else None,
        )
        for name in sorted(chosen - BUILT_IN)
        if name in by_name
    )
    also_at: tuple[RegionRequest, ...] = ()
    alone = compare is None and recall is None and not parts[1:]
    listed = _places_of_one_analysis(low, chosen, clause_of, analyses, other, alone)
    if listed is not None and (zoom is None or listed[1]):
        name, places, _ = listed
        also_at = places[1:]
        if name in analyses:
            analyses[name] = places[0]
        if name == "segment" and segment is not None:
            segment = replace(places[0], what=segment.what)
        other = tuple((n, places[0] if n == name else r) for n, r in other)
        zoom = None if listed[1] else zoom
    parsed = ParsedRequest(
        recall=recall,
        compare=compare,
        segment_also=parts[1:],
        other=other,
        also_at=also_at,
        info="slide_info" in chosen,
        tissue="tissue" in chosen,
        zoom=zoom,
        detect=analyses["detect"],
        classify=analyses["classify"],
        classify_slide="wsi_classify" in chosen,
        segment=segment,
        knowledge="knowledge" in chosen or bool(THIS_DISEASE_RE.search(low)),
    )
    return parsed, routing, low


def _places_of_one_analysis(
    low: str,
    chosen: set[str],
    clause_of: dict[str, str],
    analyses: dict[str, RegionRequest | None],
    other: tuple[tuple[str, RegionRequest | None], ...],
    alone: bool,
) -> tuple[str, tuple[RegionRequest, ...], bool] | None:
    """The one analysis asked and the places it is asked at, when the request names several.

    The places are those its clause names and those of the place-only clauses after it.
    Returns (its capability, the places, whether a clause read as a move only named another
    place: "count nuclei here, then on the largest piece"), or None. ``alone``: nothing
    besides it compares, recalls or segments a second compartment.
    """
    asked = [n for n, region in analyses.items() if region is not None]
    asked += [n for n, region in other if region is not None and n == "composition"]
    if not alone or len(asked) != 1:
        return None
    name = asked[0]
    said = clause_of.get(name, "")
    moved = clause_of.get("zoom")
    place_only = (
        "zoom" in chosen and moved is not None and moved != said and PLACE_LEAD_RE.fullmatch(moved)
    )
    if "zoom" in chosen and not place_only:
        return None
    clauses = split_clauses(low)
    start = next((k + 1 for k, c in enumerate(clauses) if said in c), len(clauses))
    # "count nuclei in view 1, in this view, and in fragment 1": the places said after it
    after = [c for c in clauses[start:] if PLACE_LEAD_RE.fullmatch(c) and c != moved]
    places = places_listed("; ".join([said, *([moved] if place_only else []), *after]))
    return (name, places, bool(place_only)) if places else None


def _analysis_region(clause: str, low: str, after_zoom: bool) -> RegionRequest:
    """The region an analysis clause names; "there" after a zoom is the new view.

    A pronoun ("what tissue it is") points at the region the request named elsewhere.
    """
    found = region_request(clause)
    pointing = found.roi_ref == "current" and not DEICTIC_RE.search(clause)
    if pointing or (found.target == "default" and found.box is None and found.centre_size is None):
        whole = region_request(low)
        if whole.roi_ref == "current" and not DEICTIC_RE.search(low):
            # "what tissue was in view 1? run the classifier on it": "it" is the region named
            named = region_request(_PRONOUN_RE.sub(" ", low))
            whole = named if named.target != "default" else whole
        if not (after_zoom and whole.target == "roi"):
            found = whole
    if after_zoom and found.target == "roi" and found.roi_ref == "current":
        return RegionRequest()
    return found


def _compare_with_analysis(
    compare: CompareRequest,
    analyses: dict[str, RegionRequest | None],
    segment: RegionRequest | None,
    said: str,
) -> CompareRequest:
    """A comparison beside an analysis compares by that analysis, from the region it names.

    "segment the epithelium here and compare it with view 1" compares segmentations;
    "count nuclei in view 2 and compare with view 1" compares view 2, not the current view;
    "segment stroma here and compare stromal area with views 2 and 3" compares all three.
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
    analysed: RegionRef = region.roi_number if region.roi_number is not None else "current"
    if (
        region.target in ("default", "roi")
        and analysed not in compare.regions
        and _WITH_OTHERS_RE.search(said)
    ):
        compare = replace(compare, regions=(analysed, *compare.regions))
    return compare


def clarifying_question(routing: Routing, capabilities: Sequence[Capability]) -> str:
    """One question naming the two or three nearest capabilities, never a guess."""
    by_name = {c.name: c for c in capabilities}
    options = [by_name[s.capability].summary for s in routing.nearest if s.capability in by_name]
    if not options:  # "ok go on then", "fix it": nothing is near, so what is most often asked
        short = [text for name, text in _MOST_ASKED if name in by_name]
        listed = "; ".join(f"({k}) {text}" for k, text in enumerate(short, start=1))
        return (
            "I am not sure what you would like me to do, and I answer only what a tool or the "
            f"knowledge graph can back. I can, for example: {listed}. Which would you like, and "
            "on which region?"
        )
    short = [_short(text) for text in options[:3]]
    listed = "; ".join(f"({k}) {text}" for k, text in enumerate(short, start=1))
    return (
        "I am not sure which analysis you mean, and I answer only what a tool or the "
        f"knowledge graph can back. The nearest things I can do: {listed}. Which of these "
        "would you like, and on which region?"
    )


_MOST_ASKED = (
    ("zoom", "show a region, a fragment or a point at a chosen magnification"),
    ("detect", "count the nuclei in a region"),
    ("segment", "segment the epithelium, the stroma or the nuclei"),
    ("composition", "measure the tissue classes of a region"),
    ("vqa", "answer a question about what a region shows"),
    ("recall", "recall what this case has found so far"),
)
"""What a clarifying question offers when nothing in the request is near any capability."""


def _short(summary: str) -> str:
    """The first clause of a capability's summary, without its trailing details."""
    first = re.split(r": |; | \(|, with |, returns |, saved ", summary)[0]
    first = first.rstrip(".")
    return first[0].lower() + first[1:] if first else first
