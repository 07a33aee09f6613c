"""The lexical cues of requests: wordings whose capability is certain without embedding.

The semantic planner scores each clause by meaning; these cues settle what meaning alone
confuses: recall of past results ("what was the count earlier?"), textbook questions
("what is necrosis?"), comparisons of named regions, a bare slide fact ("mpp?"), an analysis
ordered by its verb, asides and impressions said beside a question, and the capabilities a
cue overrides.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from agent.intents import HOTSPOT_RE, WHICH_RE, parse_relative, zoom_request
from agent.references import CURRENT_RE, DEICTIC_RE
from agent.review_intents import (
    CompareRequest,
    RegionRef,
    compare_of,
    findings_asked,
    parse_compare,
    parse_recall,
    region_refs,
    views_named,
)

if TYPE_CHECKING:
    from agent.capabilities import Capability

__all__ = [
    "RANK_VIEWS",
    "names_tissue_outline",
    "either_choices",
    "CLASSIFIER_NAMED_RE",
    "BARE_REF_RE",
    "asks_nothing",
    "WHICH_MORE_RE",
    "COMPARE_CUE_RE",
    "NAV_VERB_RE",
    "ANAPHOR_RE",
    "ASIDE_RE",
    "BARE_FEATURE_RE",
    "COUNT_VERB_RE",
    "DIAGNOSIS_RE",
    "IMPRESSION_RE",
    "JOINED_REFS_RE",
    "NOT_A_FEATURE_RE",
    "NO_DIAGNOSIS",
    "PAST_RESULT_RE",
    "PROPORTION_RE",
    "SEGMENT_VERB_RE",
    "SLIDE_WIDE_RE",
    "THIS_DISEASE_RE",
    "WHAT_IS_THIS_RE",
    "LOOKING_AT_RE",
    "MARGIN_ASKED_RE",
    "REDO_SHARES_RE",
    "SIZE_VARIATION_RE",
    "DENSITY_ASKED_RE",
    "YIELDS_TO_CLASSIFY",
    "YIELDS_TO_ZOOM",
    "analysis_verb",
    "can_compare",
    "class_stems",
    "compare_from_refs",
    "grammar_cue",
    "grammar_cues",
    "names_a_place",
    "names_disease",
]

COMPARE_CUE_RE = re.compile(
    r"\bcompar(?:e|es|ed|ing|isons?|ative|atively)\b|\bversus\b|\bvs\b|\bdiffer(?!entiat)|\bcontrast|"
    r"\bboth\b|\bbetween\b|"
    r"\bsame\s+(?:as|type|tissue|class)|\bmore\s+\w+\s+than\b|\bagainst\b|\bside\s+by\s+side\b"
)
PAST_RESULT_RE = re.compile(
    r"\b(?:what|which|how\s+many|how\s+much)\b[^?.;]*?\b(?:was|were|did|had)\b[^?.;]*?"
    r"\b(?:earlier|before|previously|already|so\s+far|last\s+time|again|"
    r"you\s+(?:gave|got|found|said|say|reported|report|called|measured))\b|"
    r"^\s*(?:and\s+|so\s+)?what\s+(?:is|are)\s+(?:the\s+)?(?:[\w-]+\s+){0,3}?(?:count|density|area|"
    r"score|label|class|percentage|share|number|total|call)\b[^?.;]*\b(?:region|view)\s+\d+\s+"
    r"again\b|"  # "what's the density in v4 again": a figure of a named view, to be reminded of
    r"\b(?:did|have)\s+(?:we|you)\s+already\b|\bhave\s+we\s+(?:looked|seen|visited|been)\b|"
    # "what's the nuclei count so far": a running figure of the case, not a new count
    r"\b(?:what|whats)\b[^?.;]*?\b(?:count|tally|total|number|figure)s?\s+(?:is\s+)?so\s+far\b|"
    r"\b(?:did|have)\s+you\s+(?:say|said|report|reported|call|called|tell|told|give|gave|"
    r"label|labell?ed|name|named)\b|"
    # "what label and score did the slide level model give at the start?"
    r"\bwhat\s+(?:[\w-]+\s+){0,4}?did\s+(?:the|your|it|its)\s*(?:[\w-]+\s+){0,3}?"
    r"(?:model|classifier|detector|segmenter|tool|expert)?\s*(?:give|say|return|output|call|report|"
    r"assign|come\s+up\s+with)\b|"
    r"\b(?:earlier|before|previously)\s*,?\s+(?:you|we)\s+\w+ed\b|"
    r"\bsummari[sz]e\s+(?:what|everything|all|our|the\s+findings)|"
    # "dump the cached results": what the case holds, listed
    r"\b(?:dump|list|print|show|give\s+me|spit\s+out|pull\s+up)\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?(?:the\s+|our\s+)?"
    r"(?:cached|stored|saved|previous|prior|existing|accumulated)\s+(?:results?|findings|outputs?|"
    r"analys[ie]s|measurements?|numbers)\b|"
    r"\bwhich\s+(?:view|region|field|area|roi|one|piece|fragment)\s+(?:had|showed|gave|was)\b|"
    r"\b(?:we|you|i)\s+(?:have\s+)?already\s+(?:checked|looked\s+at|analy[sz]ed|visited|counted|"
    r"classified|segmented|seen)\b|"
    r"\bwhat\s+(?:tissue|class|label|count|diagnosis|result)\s+(?:[\w-]+\s+){0,3}(?:was|were)\b|"
    r"\bdid\s+(?:we|you)\s+(?:\w+\s+)?(?:call|name|label|check|look|test|run|count|classify|segment|measure|"
    r"assess|analy[sz]e|evaluate|come\s+across|see|find|encounter|note|notice|get)\b|"
    r"\b(?:did|has|have)\s+(?:the\s+)?[\w-]+(?:\s+[\w-]+){0,2}\s+(?:run|been\s+run|finished|"
    r"completed)\b|\b(?:earlier|before|previously)\s*,?\s+(?:you|we)\s+(?:told|said|gave|found|"
    r"got|saw|had|ran)\b|\bdid\s+(?:anything|any\s+(?:of\s+)?(?:the\s+)?\w+)\s+(?:we|you)\s+\w+|"
    r"\bwhich\s+(?:views?|regions?|fields?|areas?)\s+have\s+we\b|\brecap\b|"
    r"\bsummar(?:y|ise|ize)\s+(?:of\s+)?(?:the\s+)?(?:case|findings|results|session)\b|"
    r"\bgo\s+(?:back\s+)?over\s+(?:what|the\s+(?:findings|results))\b|"
    r"\bwhat\s+(?:have|did)\s+(?:we|you)\s+(?:found|find|got|get|seen|see)\b|"
    r"\bwhat\s+(?:\w+\s+)?did\s+(?:the\s+|your\s+)?(?:seg\w*|detect\w*|classif\w*|tile\s+\w+|slide[\s-]+level"
    r"(?:\s+\w+)?|model|composition|count|counter|tool|it)\s+(?:give|say|show|find|report|return|"
    r"call|come\s+up\s+with|come\s+to)\b|"
    r"\byou\s+(?:told|said\s+to)\s+me\b|\bdid\s+i\s+already\b|"
    r"\bwhat\s+(?:\w+\s+)?did\s+(?:the|that|this|your)\s+(?:[\w-]+\s+){0,4}?(?:show|say|give|find|"
    r"report|return|assign|call|predict)\b|"
    r"\b(?:everything|all|what)\s+(?:that\s+)?(?:we|you)\s+(?:have\s+|'ve\s+)?(?:measured|found|"
    r"counted|got|done|analy[sz]ed|classified|segmented|ran|established|concluded|covered)\b|"
    r"\b(?:pull|put)\s+together\s+(?:everything|all|what)\b|"
    r"\b(?:list|export|tabulate|summari[sz]e)\b[^?.;]*\b(?:so\s+far|earlier|all\s+the\s+results|"
    r"every\s+(?:roi|view|region|field))\b|\bexport\s+(?:all|everything|the\s+results)\b|"
    r"\b(?:write[\s-]?up|summary|recap|report)\s+of\s+(?:the|this|our)\s+(?:session|case|review|"
    r"findings)\b|\bregion\s+\d+\s+(?:[\w-]+\s+){0,2}(?:results?|output|findings?)\s*$|"
    r"\bwhat\s+(?:were|was)\s+the\s+(?:numbers?|results?|counts?|findings|values|measurements?|"
    r"scores?|labels?)\s+(?:for|of|in|from|on)\b"
)
"""A question about a result the case already has ("what was the count earlier?")."""
_KNOWLEDGE_ASK_RE = re.compile(
    # "what proportion of mucin do you need to call it mucinous?": a diagnostic threshold
    r"\b(?:do\s+you|does\s+one|do\s+we|would\s+you|is|are)\s+(?:need|needed|required|necessary)\s+"
    r"(?:to|for)\s+(?:call|diagnos\w*|make|label|qualify|classify)\b|"
    # "what mpp is standard for a 40x scanner": scanners in general
    r"\b(?:standard|typical|usual|normal|expected)\s+(?:for|on|with)\s+(?:an?\s+)?(?:\d+\s*x\s+)?"
    r"(?:scanners?|scans|objectives?)\b|"
    # "mucinous vs signet ring, what's the mucin % cutoff again": a scheme's threshold
    r"\bwhat(?:'s|\s+is|\s+are|s)\s+the\s+(?:[\w%-]+\s+){0,3}?(?:cut[\s-]?offs?|thresholds?)\b"
    r"(?![^?]*\b(?:here|this|view|used|you|your|model|classifier|detector|expert)\b)|"
    r"\bremind\s+me\s+(?:of\s+|about\s+)?the\s+(?:[\w-]+\s+){0,3}?(?:features?|definition|criteria|"
    r"grading|markers?|differentials?|sites?|cut[\s-]?offs?|thresholds?|categor(?:y|ies)|components?|"
    r"staging|system|classification|rules?|recommendations?|guidelines?|consensus)"
    r"(?:\s+(?:of|for|in|between|on)\b|\s*(?:[-?,.;:(]|$))|"
    # "remind me isup grade 3 vs 4 cutoffs": a scale's thresholds, naming nothing of the case
    r"\bremind\s+me\s+(?:of\s+|about\s+)?(?![^?]*\b(?:we|you|your|our|my|i|views?|regions?|"
    r"fields?|earlier|before|this|here|there|count|counts)\b)(?:[\w/+-]+\s+){1,5}?"
    r"(?:cut[\s-]?offs?|thresholds?|criteria|definitions?)\s*\??\s*$|"
    r"\bremind\s+me\s+(?:of\s+)?(?:\([^)]*\)\s*)?(?:what|how|which)\b(?![^?]*\b(?:we|you|our|views?|regions?|fields?|earlier|before|this|here|there|"
    r"was|i\s+(?:\w+\s+)?"
    r"(?:found|saw|said|asked|got|had|counted|measured))\b)[^?]*\b(?:defines?|defined|definition|features?|"
    r"criteria|grad(?:es?|ed|ing)|scor(?:es?|ed|ing)|stag(?:es?|ed|ing)|cut[\s-]?offs?|thresholds?|"
    r"markers?|"
    r"differentials?|stains?|immunostains?|ihc|antibod\w+|panels?|works?|methods?|approach|"
    r"schemes?|protocols?|techniques?|systems?|means?|patterns?|grade\s+groups?|tiers?)\b"
)
"""A request to be reminded of textbook knowledge, not of the case's findings."""
_MARKER = (
    r"(?:ttf-?1|napsin(?:[\s-]?a)?|p40|p63|p16|p53|ck\s?5/6|ck\s?7|ck\s?20|cdx-?2|satb-?2|gata-?3|"
    r"sox-?10|s-?100|hmb-?45|melan-?a|mart-?1|prame|her-?2|ki-?67|wt-?1|pax-?8|calretinin|d2-?40|"
    r"synaptophysin|chromogranin|insm-?1|desmin|myogenin|mlh-?1|msh-?2|msh-?6|pms-?2|bcl-?2|bcl-?6|"
    r"cyclin\s+d1|alk|ros-?1|pd-?l1|inhibin|ber-?ep4|cd\d{1,3}a?|e-?cadherin|nkx3\.?1|psa|ar|er|pr)"
)
_MARKER_PANEL_RE = re.compile(
    rf"\b{_MARKER}\b(?:\s*(?:,|/|\+|and|&|or|vs\.?)?\s*\b{_MARKER}\b)+"
    r"(?=[^?]*\b(?:profiles?|expected|pattern|panel|positive|negative|pos|neg|express\w*|"
    r"stain\w*|ihc|immuno\w*|vs\.?|versus|distinguish\w*|tell\s+apart|help)\b)"
)
"""A panel of immunostains named by their markers ("ttf1 napsin p40 - expected profile adeno vs
sq?"): textbook immunohistochemistry, which no tool on an H&E image measures."""
_MARKER_USE_RE = re.compile(
    rf"\b(?:does|do|would|could|can|will|is|are)\s+(?:an?\s+)?{_MARKER}"
    rf"(?:\s*(?:,|and|or|/|\+|&)\s*{_MARKER})*\s+(?:stain(?:ing)?\s+|immunostain\w*\s+|ihc\s+)?"
    r"(?:help|matter|add|change|tell|distinguish|separate|useful|helpful|relevant|necessary|needed|"
    r"worth|work)\b|"
    rf"\b(?:role|significance|value|utility|use|point|relevance)\s+of\s+(?:an?\s+)?{_MARKER}\b|"
    rf"\b(?:would|is|are|should)\s+{_MARKER}\s+(?:be\s+)?(?:a|an|the|your|my|our)\s+(?:[\w-]+\s+)?"
    r"(?:marker|stain|choice|test)\b"
)
"""What a marker is for ("does p16 matter for a neck node met?", "would p53 and WT1 help me
separate serous from endometrioid?"): textbook immunohistochemistry, not this slide's result."""
_TERM_IT_RE = re.compile(
    r"^(\s*(?:define|what\s+is|what'?s|whats|explain)\s+(?!(?:this|that|these|those|it|here)\b)"
    r"[\w\s-]{3,40}?,[^,]*?)\bit\b(?![^?]*\b(?:here|this\s+(?:view|field|slide|case|one)|these)\b)"
)
""""define pagetoid spread, which entities show it": "it" is the term just named, not the view."""
_WHAT_WAS_RE = re.compile(
    r"^\s*(?:and\s+|so\s+)?(?:what|which|how\s+many)\s+(?:\w+\s+)?(?:was|were)\b"
)
"""A question in the past tense: about a result the case already holds."""
_TEXTBOOK_RE = re.compile(
    r"^\s*(?:so\s+|ok\s+|and\s+|quick\s+q\s*[-:,]?\s*)?(?:(?:can|could|would)\s+you\s+"
    r"(?:please\s+)?(?:explain|tell\s+me)\s+)?(?:what\s+(?:is|are)|what'?s|whats|define|"
    r"explain|tell\s+me\s+about)\s+(?:me\s+)?"
    r"(?!(?:me\s+)?(?:this|that|these|those|it|here|there|we|you|i|in|on|inside|going)\b)"
    r"(?!(?:me\s+)?the\s+(?:[\w-]+\s+)?(?:growth\s+pattern|architecture|architectural\s+pattern|morphology|"
    r"appearance|differentiation)\s*(?:like|here|now|in\s+(?:this|the)\s+\w+|,|[?.!]|$))"
    r"(?!(?:all\s+)?(?:the|these|those)\s+(?:[\w-]+\s+){0,4}(?:things|blobs|clumps|circles|dots|specks|"
    r"stuff|bits|layers?|spots|areas?|cells)\b[^?]*\b(?:i\s*(?:am|'m)?\s*|we\s*(?:are|'re)?\s*|im\s+)"
    r"(?:seeing|looking\s+at|see)\b)"
    r"(?!(?:all\s+)?the\s+(?:[\w-]+\s+){0,4}(?:things|blobs|clumps|circles|dots|specks|stuff|bits)\b)"
    r"(?![^?]*\bin\s+the\s+(?:middle|centre|center|corner|top|bottom|left|right)\b)|"
    r"\bwhere\s+(?:does|do|is|are)\b[^?]*\b(?:arise|arises|origin\w*|occur|occurs|"
    r"come\s+from|found)\b|\bwhich\s+(?:organs?|sites?|stains?|markers?)\b|"
    r"\b(?:key\s+)?(?:histolog\w*\s+)?(?:features?|criteria|differentials?|markers?|"
    r"differential\s+diagnos[ie]s)\s+"
    r"(?:of|for)\s+(?!(?:this|that|these|those|it|here|me|us)\b)|"  # not "the features for me"
    r"\bwhat\s+(?:type|kind|sort)\s+of\s+(?:tumou?r|cancer|disease|lesion|neoplasm|entity)\s+"
    r"(?:is|are)\s+(?!(?:this|that|these|those|it|here)\b)|"
    r"\b(?:which|what)\s+cells?\b[^?]*\b(?:origin|aris|deriv|come\s+from)|"
    r"\bhow\s+(?:is|are|do\s+(?:you|we|i)|does\s+one|(?:would|should|can|could)\s+(?:you|one|i|we))\s+"
    r"(?:[\w-]+\s+){0,4}?"
    r"(?:graded|staged|diagnosed|classified|distinguish\w*|differentiat\w*|tell\s+apart|treated|"
    r"managed|defined|grade|stage|diagnose|classify|tell(?=\s+[\w\s-]{2,40}?\s+(?:from|apart)\b))\b|"
    r"\b(?:difference|differences|distinguish\w*|differentiat\w*)\s+between\b|"
    # "how does lymphovascular invasion differ from retraction artefact?"
    r"\bhow\s+(?:does|do|would|can)\s+(?!(?:this|that|these|those|it|here|view|region|field)\b)"
    r"[\w\s-]{2,50}?\s+differ\s+from\s+(?!(?:this|that|these|those|it|here|view|region|field|"
    r"the\s+(?:first|second|last|previous|other)\s+(?:view|region|field|one))\b)|"
    r"\bwhat\s+(?:criteria|features?|clues?)\s+(?:would|do|should|can)\s+(?:you|i|we|one)\s+use\b|"
    r"\bwhat\s+(?:causes|genes?|mutations?|ihc|immunostains?|antibod\w+)\b|"
    r"\bwhich\s+(?:genes?|mutations?|ihc|immunostains?|antibod\w+|subtypes?)\b|"
    r"\b(?:prognosis|staging|grading\s+system|who\s+classification|epidemiology|aetiology|"
    r"etiology|pathogenesis|risk\s+factors?)\s+(?:of|for|in)\b|"
    r"\bhow\s+common\s+is\b|\bwhere\s+does\s+[\w\s-]+\s+(?:spread|metastasi[sz]e)\b|"
    # "ddx and first-line IHC for …", "histology differences", "ISUP grade 3 criterion"
    r"\bddx\b|\bfirst[\s-]line\s+(?:ihc|stains?|panel|immuno\w*)|\bihc\s+(?:panel|work[\s-]?up)\b|"
    r"\bhistolog\w*\s+(?:differences?|criteria)\b|"
    # "metavir F0-F4 definitions and how they map onto ishak 0-6"
    r"\b(?!(?:the|this|that|your|its|my|our|a)\b)[a-z0-9-]{2,}\s+definitions\b|"
    r"\bhow\s+(?:do|does)\s+(?:they|these|those|the\s+[\w-]+(?:\s+[\w-]+)?)\s+(?:map|correspond|"
    r"translate)\s+(?:on)?to\b|"
    # "which tumours have psammoma bodies?", "what actually counts as STAS?", "how do you tell
    # it apart from carry-over?", "how is tumour-stroma ratio meant to be scored?"
    r"\bwhich\s+(?:tumou?rs|cancers|lesions|neoplasms|entities|diseases|lymphomas|carcinomas)\s+"
    r"(?:have|show|contain|cause|are\s+associated)\b|"
    r"\bwhat\s+(?:actually\s+|exactly\s+|really\s+)?counts\s+as\b|"
    r"\bhow\s+(?:do|does|would|can)\s+(?:you|one|i|we|pathologists)\s+(?:reliably\s+)?tell\s+"
    r"(?:it|them|\w+)\s+apart\b|"
    r"\bhow\s+(?:is|are)\s+[\w\s-]{2,40}?\s+(?:meant|supposed)\s+to\s+be\s+(?:scored|graded|staged|"
    r"assessed|measured|reported)\b|"
    # "is acetylcholinesterase staining useful on a suction biopsy?", "how many portal tracts do
    # you need for an adequate liver biopsy?": what holds of biopsies in general
    r"\b(?:useful|helpful|indicated|recommended|required|necessary|needed|reliable|sensitive|"
    r"specific)\s+(?:in|on|for)\s+(?:an?|all)\s+(?!(?:[\w-]+\s+)?(?:view|field|region|box)\b)|"
    r"\b(?:normal|expected|typical)\s+(?:[\w-]+\s+){0,3}?(?:for|at)\s+(?:an?\s+)?(?:\d+[\s-]*"
    r"(?:y/?o|yo|years?[\s-]old|year)\b|(?:this|that|his|her|the\s+patient'?s)\s+age\b)|"
    r"\bhow\s+many\s+[\w\s-]{2,40}?\s+(?:do|does|should)\s+(?:you|one|we|i|it)\s+(?:need|require|"
    r"want|have\s+to\s+see)\b[^?]*\b(?:an?|for)\s+(?:adequate|diagnos\w*|sufficient|reliable|"
    r"biops\w*|specimen)"
)
"""A textbook question ("what is necrosis?", "where does X arise?"): knowledge, unless it
names the slide, a place on it or something the tools measure."""
_GRADE_CRITERIA_RE = re.compile(
    r"\b(?:isup|gleason|fuhrman|nottingham|who|figo)\s+grade\s+\d\b[^?]*\bcriteri\w*|"
    r"\bgrade\s+\d\s+criteri\w*|"
    # "with differentiation score 3, mitoses about 12 per 10 hpf … what FNCLCC grade does it get":
    # a grade worked out from values the user states
    r"\b(?:with|given|if)\s+(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,3}?(?:score|count|mitoses|"
    r"mitotic\s+(?:count|rate)|differentiation|necrosis)\s+(?:of\s+|is\s+)?(?:about\s+|around\s+|"
    r"~\s*)?\d[^?]*\bwhat\s+(?:[\w-]+\s+){0,2}(?:grade|stage|score|category)\b|"
    # "marsh classification for coeliac", "the modified Gleason scoring of prostate cancer"
    r"\b(?!(?:tissue|tile|slide|patch|region|image|the|this|that|a|an|your|its|run|do|redo)\b)"
    r"[a-z]{3,}\s+(?:classification|grading|staging|scoring)\s+(?:system\s+|scheme\s+)?"
    r"(?:for|of|in)\s+"
    r"(?!(?:this|that|these|those|it|here|view|region|field|the\s+(?:slide|view|region|field|"
    r"tile|image|current|first|second|last|previous))\b)[a-z]|"
    # "normal BMT cellularity for a 70 y/o?", "for patient of 70 years": a value for an age
    r"\b(?:normal|expected|typical|usual)\s+(?:[\w-]+\s+){0,3}?(?:for|at|in)\s+(?:an?\s+|the\s+)?"
    r"(?:(?:patient|person|man|woman|adult|child)\s+(?:of|aged)\s+)?\d+[\s-]*"
    r"(?:y/?o|yo|years?)\b|"
    # "what's the usual minimum tumour percentage labs want?": a threshold, not this field's value
    r"^\s*(?:and\s+|so\s+)?what\s+(?:is|are)\s+the\s+(?:usual\s+|typical\s+|accepted\s+|recommended\s+)?"
    r"(?:minimum|maximum|cut[\s-]?offs?|thresholds?)\b(?![^?]*\b(?:here|this|these|there|we|you)\b)|"
    # "…, mitotic cutoff?", "what % cutoff": a threshold asked in a clause of its own
    r"^\s*(?:and\s+|so\s+)?(?:what(?:'s|\s+is|\s+are)?\s+)?(?:the\s+)?"
    r"(?!(?:its|your|the|this|that|detection|detector|classifier|model|score|confidence)\b)"
    r"(?:[\w%-]+\s+){1,2}?(?:cut[\s-]?offs?|thresholds?)\s*\??\s*$|"
    # "banff ci/ct scoring cutoffs?": a named scheme's thresholds, in a clause of their own
    r"^\s*(?:and\s+|so\s+)?(?![^?]*\b(?:you|your|its|this|that|here|there|detection|detector|"
    r"classifier|model|tool|confidence|count)\b)(?:[\w%/+-]+\s+){2,5}?(?:scoring|grading|staging)\s+"
    r"(?:cut[\s-]?offs?|thresholds?|criteria)\s*\??\s*$|"
    # "what means age-adjusted cellularity": a meaning asked, as a second language puts it
    r"^\s*(?:so\s+|and\s+)?what\s+means\s+(?!(?:this|that|it|here)\b)|"
    # "what grade group is 4+3=7?": a grading scale's rule, not this field's grade
    r"\bwhat\s+(?:grade\s+group|isup\s+grade|grade|stage|t\s+stage|pt\s+category|gleason\s+score)\s+"
    r"(?:is|are|would\s+be)\s+(?!(?:this|that|it|here|there|these|those|we|you)\b)[\w+=\s-]{1,40}?"
    r"(?:\d|one|two|three|four|five|six|seven|eight|nine|ten)\b|"
    # "the expected cellularity of a bone marrow trephine in a 65-year-old": a reference value
    r"\b(?:expected|typical|usual|reference)\s+(?:range\s+of\s+)?(?:[\w-]+\s+){0,2}?(?:of|for|in)\s+"
    r"an?\s+(?!(?:field|view|region|slide|image|tile|box|area|patch|fragment|piece|core)\b)[a-z]"
)
"""A grading system's criteria ("ISUP grade 3 criterion - at which magnification is it
assessed?"): textbook, whatever "it" or "magnification" the question holds."""
_MEETS = (
    r"(?:does|do|would|could|did)\s+(?:this|it|these|that|they)\s+(?:\w+\s+)?"
    r"(?:meet|fulfil+|satisfy|reach|qualify)\b"
)
"""Criteria held against the view ("does this meet criteria for IDC-P?"), not the textbook's."""
_MEETS_RE = re.compile(_MEETS)
_STAGING_RE = re.compile(
    r"^(?![^?]*\b(?:you|we|your|our|i)\b)"
    rf"(?!\s*(?:and\s+|so\s+)?{_MEETS})[^?]*(?:"
    r"\b(?:size\s+)?(?:cut[\s-]?offs?|thresholds?|criteri(?:a|on)|definition)\s+(?:for|of)\s+"
    r"(?:an?\s+|calling\s+(?:it\s+)?(?:an?\s+)?)?"
    r"(?!(?:this|that|these|those|it|here|there|the\s+(?:view|field|region|slide|image|count)))[a-z]|"
    r"\b(?:p?[tnm]\s*(?:category|categories|stage|staging)|ajcc|tnm)\b|"
    r"\bp?[tn]\d[a-d]?\s+(?:vs\.?|versus|from|and|or)\s+p?[tn]\d[a-d]?\b)"
)
"""A staging or definitional threshold ("the size cutoff for a micrometastasis", "does ENE
change the N category", "N1a vs N1b"): textbook, whatever size or number the question holds."""
_GUIDELINE_RE = re.compile(
    r"\b(?:under|per|according\s+to|by)\s+(?:the\s+)?(?:\d{4}\s+|current\s+|latest\s+|new\s+)?"
    r"(?:who|ajcc|uicc|cap|figo|isup|itbcc|nccn|rcpath)\b|"
    # "in the WHO classification is there a grade 4?"
    r"\bin\s+the\s+(?:\d{4}\s+|current\s+|latest\s+|new\s+)?(?:who|ajcc|uicc|cap|figo|isup|"
    r"itbcc|nccn|rcpath)\s+(?:classification|system|scheme|guidelines?|staging|grading|manual)\b|"
    r"\benough\s+(?:on\s+its\s+own\s+|by\s+itself\s+|alone\s+)?(?:for|to\s+(?:make|call)\s+"
    r"(?:it\s+)?)(?:an?\s+)?(?:(?:who|isup|figo)\s+)?(?:grade|stage|pt|pn)\s*\d|"
    r"\bhigh[\s-]risk\s+(?:features?|factors?|criteria)\b|"
    r"\b(?:classification|grading|staging|scoring)\s+(?:system\s+|scheme\s+)?(?:based|built)\s+on\b|"
    r"\b(?:which|what)\s+(?:[\w-]+\s+){1,3}counts?\s+as\b|"
    # "what's the rule for reporting % pattern 4 in GG2?": how a guideline says to report
    r"\b(?:the|a)\s+(?:reporting\s+)?(?:rules?|convention|recommendation)\s+(?:for|on|about)\s+"
    r"(?:reporting|grading|scoring|calling|staging|counting|measuring|assessing)\b"
)
"""A question put to a guideline ("is that enough for grade 2 under the 2021 WHO?", "what
makes PNI a high-risk feature", "which nodal stations count as N2"): textbook, unless it points
at the image."""
_ASKED_OF_THIS_RE = re.compile(r"\b(?:is|are|does|do|would|could|was)\s+(?:this|these)\b")
_REMIND_RE = re.compile(r"\bremind\s+me\b|\bremember\b")
_NOT_A_TERM = (
    r"(?!(?:this|that|these|those|it|here|there|we|you|i|"
    r"the\s+(?:view|field|region|slide|image))\b)"
)
_MEANS_RE = re.compile(
    rf"^\s*(?:so\s+|ok\s+|and\s+)?what\s+(?:does|do)\s+{_NOT_A_TERM}[\w\s/+-]+\b(?:mean|stand\s+for)\b|"
    rf"^\s*(?:(?:can|could|would)\s+you\s+(?:please\s+)?)?explain\s+what\s+"
    rf"{_NOT_A_TERM}[\w\s/+-]+\s+(?:is|are|means?)\s*$|"
    # "SRCC definition (>50% rule?)", "definition of pT3 pls": a term's definition, asked
    rf"^\s*(?:[+&]\s*)?(?:and\s+|also\s+|plus\s+)?(?:the\s+)?(?:(?!(?:this|that|its|the)\b)"
    rf"[\w/+-]+\s+){{1,3}}(?:formal\s+|exact\s+|official\s+)?definitions?\b(?!\s+of\b)|"
    rf"^\s*(?:[+&]\s*)?(?:and\s+|also\s+|plus\s+)?(?:the\s+)?definitions?\s+of\s+{_NOT_A_TERM}"
)
"""A term's meaning asked outright ("what does pN1a mean", "explain what desmoplasia is")."""
_CASE_NOUN_RE = re.compile(
    r"\b(?:mpp|microns?|µm|um/px|magnification|mag|objective|resolution|size|dimensions?|"
    r"pixels?|px|levels?|scanner|vendor|format|file|fraction|percent\w*|proportion|share|"
    r"counts?(?!\s+as\b)|number|density|composition|make-?up|breakdown|class|label|"
    r"(?<!differential\s)diagnosis|dx|prediction|results?|"
    r"findings?|slide|downsampl\w*|pyramid|"
    r"wsi|image|scan|specimen|case|section|glass|metadata|header|view|region|field|roi|"
    r"fragments?|pieces?|cores?|"
    r"tissue\s+(?:area|type)|hpf|mm²|mm2|square\s+(?:mm|millimet\w+|microns?)|"
    r"(?:area|size|count|number|length|width|diameter)\s+of\s+(?:each|every|both|all)|"
    r"(?:area|size)\s+in)\b|%|\d+(?:\.\d+)?\s*(?:x|×|px|mm|µm|um)\b|\d+\s*,\s*\d+|mm²"
)
"""Words of the case and its measurements (a scale, a size, a point): a question naming one is
not a textbook question; a number alone ("Gleason pattern 5", "pN1a") is no such word."""
_POINTED_RE = re.compile(r"\b(?:these|those)\s+[a-z]|\bthere\s*[?.!]*\s*$")
"""A plural pointing at the image ("these atypical cells") or a place ending the clause
("what's the composition there"): not a textbook question."""
WHICH_MORE_RE = re.compile(
    r"\s*(?:and\s+|so\s+)?which\s+(?:one\s+)?(?:is|was|has|had|shows?|showed)\s+(?:the\s+)?"
    r"(?:more|fewer|less|most|least|higher|lower|bigger|larger|smaller|denser)\b"
)
"""A comparative question beside a comparison ("which had more epithelium?"): its measure."""
BARE_REF_RE = re.compile(
    r"\s*(?:(?:ok|okay|now|and|so|then|same\s+(?:for|with|again\s+for)|what\s+about|how\s+about)"
    r"\s+)*the\s+other\s+(?:one|view|region|field)s?\s*(?:too|then|please|now)?\s*[?.!]*\s*"
)
""""the other one", "same for the other one": a reference with nothing asked of it."""
NOTHING_ASKED_RE = re.compile(
    r"\s*(?:(?:ok|okay|so|um+|uh+|er+m?|hmm+|right|well|and|then|now|yes|yeah|no|alright|fine|"
    r"go|help|please|hi|hello|next|what\s+now|now\s+what|what\s+next)\s*[,.!?]*\s*)*"
)
"""Words that ask for nothing ("ok so um", "help", "go", "next."): a clarifying question."""
_VAGUE = """
ok okay so um uh hmm right well and then now yes yeah alright fine go on please pls hi hello
can could would will you u just do does did it that this those these again but the a an other
another way better one ones setting settings option options try run rerun check fix redo repeat
same as before for also too i me we mentioned sorry wait with something thing stuff looks look
off wrong weird process slide case from earlier last time
"""
_VAGUE_WORDS = frozenset(_VAGUE.split())
"""Words that name no tool, no measure, no place and no move: "do it again but better"."""


_ONE_BEFORE_RE = re.compile(r"\b(?:one|view|region)\s+before\s+(?:that|this|it|last)\b")


def asks_nothing(low: str) -> bool:
    """``low`` is made of words that ask for nothing in particular ("try the other setting")."""
    if _ONE_BEFORE_RE.search(low):
        return False  # "and the one before that?": an earlier region, named by its order
    words = re.findall(r"[a-z]+|\d+", low)
    return bool(words) and all(w in _VAGUE_WORDS for w in words)


_VERSUS_RE = re.compile(r"\bversus\b|\bvs\b\.?")
_CLASS_MAP_RE = re.compile(
    r"\b(?:tissue[- ]|tile[- ])?class(?:es)?[- ]?(?:maps?|overlays?)\b|"
    # "the class % for the wider field", "break it down by tissue class"
    r"\b(?:tissue[- ])?class(?:es)?[- ]?(?:%|percent\w*|shares?)|"
    r"\bbreak\s+(?:it|this|that|them|the\s+\w+)\s+down\s+by\s+(?:tissue\s+)?(?:class|type)(?:es|s)?\b|"
    r"\btile[- ]?(?:class\s+)?maps?\b|"
    r"\bmap\s+of\s+(?:the\s+)?(?:tissue\s+|tile\s+)?classes\b|"
    r"\bcolou?r\s+(?:in\s+)?(?:the\s+|this\s+)?(?:picture|image|view|field|slide|it|tissue)\s+"
    r"(?:in\s+)?by\s+(?:tissue\s+)?(?:type|class)"
)
"""A map of the tile classifier's classes over a view: the composition's overlay."""
WHICH_VIEW_MOST_RE = re.compile(
    r"\bwhich\b(?=[^?;]*\b(?:views|regions|fields|rois|areas\s+(?:we|you)|ones|places)\b)"
    r"(?:[^?;]*?\b(?:views|regions|fields|rois|one|ones|places)\b)?[^?;]*?"
    r"\b(?:is|was|has|had|have|shows?|showed|contains?|contained)\s+(?:the\s+)?"
    r"(?:most|least|highest|lowest|largest|biggest|smallest|greatest|fewest|densest)\b|"
    r"\b(?:of|among)\s+(?:all\s+)?the\s+(?:views|regions|fields|rois)\b[^?;]*?\bwhich\b[^?;]*?"
    r"\b(?:most|least|highest|lowest|largest|biggest|smallest|greatest|fewest|densest)\b"
)
"""Which of the views visited has the most of a measure: the views set side by side."""
_COMPARATIVE_RE = re.compile(
    r"\b(?:more|fewer|less|higher|lower|larger|bigger|smaller|denser|most|least|same\s+as|"
    r"\w+est\b|most\s+\w+|"
    r"different\s+from|as\s+many|the\s+same)\b"
)
_SLIDE_FACT_RE = re.compile(
    r"\s*(?:and\s+|so\s+|first\s+|then\s+|also\s+)?(?:what\s+is\s+|what\s+are\s+|(?:please\s+)?"
    r"(?:tell|give|show)\s+me\s+)?(?:the\s+)?(?:scan\s+|base\s+)?"
    r"(?:mpp|µm/px|um/px|microns?\s+per\s+pixel|magnification|objective(?:\s+power)?|"
    r"resolution|scanner|vendor|file\s+format|format|dimensions|pixel\s+size)"
    r"(?:\s+(?:at|of)\s+(?:level\s*0|(?:the\s+)?(?:base|full|native)\s+(?:level|resolution)))?"
    r"(?:\s+(?:please|again))?\s*[?.!]*\s*"
)
"""A bare question for one of the slide's facts ("mpp?", "magnification please")."""
_SLIDE_FACT_ASKED_RE = re.compile(
    r"\bhow\s+many\s+(?:pyramid\s+|zoom\s+|resolution\s+)?levels\b|\b(?:number|count)\s+of\s+"
    r"(?:pyramid\s+)?levels\b|\bfile\s+size\b|\b(?:which|what)\s+scanner\b|\bscanner\s+(?:model|"
    r"vendor|make|type)\b|\b(?:level[\s-]*0\s+)?dimensions?\s+(?:of|in)\b|\b(?:width|height)\s+in\s+"
    r"pixels\b|\bpixel\s+dimensions\b|"
    # "is this a 20x or 40x scan?": which power the slide was scanned at
    r"\b\d+\s*x\s+or\s+(?:a\s+)?\d+\s*x\s+(?:scan|slide|image|file|wsi)\b|"
    r"\bscanned\s+at\s+\d+\s*x\s+or\s+(?:at\s+)?\d+\s*x\b|"
    # "is this an Aperio or Hamamatsu scan?": the scanner's maker
    r"\b(?:aperio|hamamatsu|leica|philips|3d\s*histech|ventana|roche|zeiss|olympus|huron|motic|"
    r"grundium|mirax|nanozoomer)\b(?=[^?]*\b(?:or|scan|scanner|slide|file|format)\b)|"
    # "was it done at 40x?", "was this scanned at 20x": the scan's own power, asked
    r"^\s*(?:and\s+)?(?:was|is|were)\s+(?:it|this|that|the\s+(?:slide|scan|image|file))\s+(?:done|"
    r"scanned|taken|captured|acquired|digiti[sz]ed|imaged|made)\s+(?:at|with)\s+(?:a\s+)?\d+(?:\.\d+)?\s*x\b|"
    # "remind me the microns per pixel": a fact of the scan, not a finding
    r"\bremind\s+me\s+(?:of\s+)?(?:what\s+)?(?:the\s+)?(?:scan\s+)?(?:mpp|µm/px|um/px|microns?\s+per\s+pixel|"
    r"pixel\s+size|scan\s+magnification|objective\s+power|dimensions|vendor|file\s+format)\b"
)
"""A question for one of the scan's facts however worded ("how many levels does this wsi have")."""
_SLIDE_MODEL_RE = re.compile(
    r"\b(?:whole[\s-]+slide|slide[\s-]+level|wsi|mil)\s+(?:model|classifier|classification|"
    r"prediction|predictor|network|call|label|score|probability)s?\b|"
    r"\b(?:is|does)\s+(?:the\s+)?(?:whole|entire)\s+slide\s+(?:look\s+(?:like\s+)?)?(?:an?\s+)?"
    r"(?:[\w-]+\s+){0,2}?(?:or\s+not|tumou?r|cancer|carcinoma|adenocarcinoma|normal|benign|malignant)\b|"
    r"\bwhere\s+(?:was|is|were)\s+(?:the|your|its|this)\s+(?:ai|model|classifier|algorithm|network|"
    r"machine|computer)\s+(?:looking|focus\w*|attend\w*)\b|"
    r"\bwhere\s+(?:the|your|its|this)\s+(?:ai|model|classifier|algorithm|network|machine|computer)\s+"
    r"(?:is\s+|was\s+)?(?:looking|looks|looked|focus\w*|attend\w*)\b|"
    r"\b(?:show|give|display|overlay|draw|produce|generate|get|see|plot|pull\s+up|bring\s+up)\b"
    r"[^.;?]*\b(?:the|its|an?|your|that)\s+(?:(?:attention|attn)\s*(?:heat\s*)?-?|heat\s*-?)maps?\b(?!\s+(?:of|for)\s+(?:the\s+)?"
    r"(?:tiles?|class|tissue|nucle|densit|cell|composition))"
)
""""run the whole slide model": the slide classifier, named."""
_ABOUT_THAT_CLASS_RE = re.compile(
    r"\bhow\s+(?:do|does|would|should|is|are|do\s+you|would\s+you)\s+(?:you\s+|u\s+|we\s+|i\s+|one\s+|"
    r"pathologists\s+)?(?:even\s+|actually\s+|usually\s+|normally\s+)?(?:score|grade|stage|assess|"
    r"quantify|report)\s+(?:it|them|that|those)\b(?!\s+(?:here|in\s+this|on\s+this))|"
    r"\bhow\s+(?:is|are)\s+(?:it|they|those|these)\s+(?:scored|graded|staged|counted|assessed|"
    r"reported)\b|"
    r"\b(?:features?|criteria|characteristics|significance|appearance)\s+of\s+(?:that|this|the)\s+"
    r"(?:tissue\s+type|type|class|entity|diagnosis|tumou?r\s+type|label)\b|"
    r"\b(?:tell\s+me\s+(?:more\s+)?about|explain|define)\s+(?:that|this|the)\s+(?:class|label|diagnosis|"
    r"entity|tissue\s+type)\b"
)
"""A textbook question about what was just named or found ("how do you score it", "the typical
features of that tissue type"): the knowledge graph's."""
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
    r"diagnosis|classification|answer)\b|"
    r"\bsign(?:ed|ing)?\s+(?:(?:this|it|that|the)\s+(?:(?:slide|case|one)\s+)?)?out\b|"
    r"\bfinal\s+(?:diagnosis|call|label)\b|"
    r"\b(?:is|are)\s+(?:this|the)\s+(?:case|slide|specimen)\s+(?:malignant|benign|positive|"
    r"negative|cancer\w*|tumou?r\w*)\b"
)
"""The slide's class asked in passing ("tell me what this case is", "a slide-level call")."""
""""Overall, what is this case?": the slide's class."""
PROPORTION_RE = re.compile(
    r"\b(?:fraction|percent(?:ages?)?|proportions?|share|mostly|majority|predominantly|"
    r"how\s+much)\b|%|\b(?:tumou?r|stroma\w*|necro\w*)\s+(?:content|burden|cellularity)\b"
)
"""How much of a region a class takes: the composition's question, when it names a class."""
CLASSIFIER_NAMED_RE = re.compile(r"^(?!.*\bclassif(?:y|ied|ication)\b).*\bclassifier\b")
"""The classifier named as a tool, with no order to classify ("what does the classifier find")."""
_CLASSIFY_VERB_RE = re.compile(r"\bclassif(?:y|ier|ication)\b|\bpatch\s+classifier\b")
SEGMENT_VERB_RE = re.compile(
    r"\b(?:segment(?:ed|ing)?|segmentation|outlin(?:e|ed|ing)|delineat(?:e|ed|ing)|contour(?:ed)?)\b|"
    r"\b(?:colou?r\s+in|highlight|paint|mask|shade|draw\s+(?:a\s+line\s+)?(?:round|around)|"
    r"mark(?:\s+out)?)\s+(?:all\s+)?(?:the\s+)?(?:stroma|epitheli\w*|epiderm\w*|nucle\w*|glands?|"
    r"glandular|cellular)\b|"
    # "run the cellularity mask", "a stroma mask of it"
    r"\b(?:cellular(?:ity)?|stroma(?:l)?|epitheli(?:um|al)|nucle(?:i|ar|us)|glands?|glandular)\s+"
    r"masks?\b"
)
""""Segment the stroma", or an order to draw a compartment ("colour in the stroma")."""
COUNT_VERB_RE = re.compile(
    r"\b(?:count|enumerate|detect|tally)\b[^?.;]*\b(?:nucle(?:i|us)|cells?)\b|"
    r"\bhow\s+many\s+(?:[\w-]+\s+){0,3}(?:cells|nuclei)\b|\b(?:cell|nuclear)\s+density\b|"
    r"\b(?:cells|nuclei)\s+per\s+(?:mm|square|hpf|high\s+power)|"
    r"\b(?:nucle(?:ar|i)|cell)\s+count\b|(?<!tumour\s)(?<!tumor\s)(?<!expected\s)(?<!normal\s)"
    r"\bcellularity\b(?!\s+(?:for|at)\s+(?:an?\s+)?(?:\d+|age\b))|"
    r"\b(?:run|re-?run|redo|repeat|do)\s+(?:the\s+|a\s+)?(?:nucle(?:i|us|ar)\s+|cell\s+)?detection\b"
)
SIZE_VARIATION_RE = re.compile(
    r"\bhow\s+(?:variable|varied|uniform|different\s+in\s+size)\b|\banisonucleosis\b|"
    r"\b(?:size|area)\s+(?:variation|variability|spread|range)\b|"
    r"\b(?:variation|variability|spread|range)\s+(?:of|in)\s+(?:the\s+)?(?:nuclear\s+)?(?:sizes?|areas?)\b|"
    r"\b(?:vary|varies)\s+in\s+size\b"
)
"""How much the nuclear sizes vary ("how variable are they?"): the detector's spread of areas."""
DENSITY_ASKED_RE = re.compile(
    r"\bdensit(?:y|ies)\b|\bper\s+(?:mm|square|sq\b|µm|um\b|unit\s+area)|\bhow\s+dense(?:ly)?\b|"
    r"/\s*mm|\bcells?\s+per\b|\bnuclei\s+per\b"
)
"""The density is asked for ("nuclear density per mm² of tissue"): the answer leads with it."""
ANAPHOR_RE = re.compile(r"\b(?:it|they|them|those|these|that\s+one)\b")
ECHO_RE = re.compile(
    r"\s*(?:and\s+|so\s+)?how\s+(?:confident|sure|certain|reliable)\s+(?:is|was|are|were)\s+"
    r"(?:the\s+(?:model|classifier|detector|tool|call|result|prediction)|it|you|that|they)\b[^?.;]*|"
    r"\s*(?:and\s+|then\s+)?(?:give|tell|show|report|send|print|return)\s+(?:me\s+|us\s+)?"
    r"(?:back\s+)?(?:the|its|their|his|her|what\s+it)\s+(?:top\s+|final\s+|predicted\s+|main\s+|"
    r"winning\s+)?(?:labels?|class(?:es)?|results?|outputs?|answers?|numbers?|counts?|scores?|"
    r"values?|areas?|percentages?|breakdown|says|finds|found)(?:\s*(?:with|and|,)\s+(?:its\s+|the\s+|"
    r"their\s+)?(?:mean\s+|average\s+|median\s+|total\s+)?(?:confidence|score|probabilit(?:y|ies)|"
    r"certainty|areas?|sizes?|density|count|number))*(?:\s+please)?\s*|"
    r"\s*(?:and\s+|then\s+)?(?:give|tell|show)\s+(?:me\s+|us\s+)?(?:what\s+(?:fraction|percent(?:age)?|"
    r"share|proportion)(?:\s+of\s+(?:the\s+)?(?:area|field|view|region))?\s+(?:it|they|that)\s+"
    r"(?:takes?|makes?|occup\w+|covers?)(?:\s+up)?|"
    r"(?:the\s+)?(?:%|percent(?:age)?)\s+(?:area|cover\w*)|the\s+areas?\s+of\s+(?:both|each|the\s+two)"
    r"(?:\s+compartments)?)(?:\s+please)?\s*|"
    r"\s*(?:and\s+)?(?:i\s+need\s+)?(?:the\s+)?(?:areas?|numbers|values|percentages?)\s+(?:of|for)\s+"
    r"(?:both|each)(?:\s+compartments)?(?:\s+please)?\s*|"
    r"\s*(?:and\s+)?(?:an?|the)\s+(?:outline|mask|contour|overlay)(?:\s+of\s+[\w\s]+?)?(?:\s+please)?\s*|"
    r"\s*(?:and\s+|then\s+)?(?:give|show|draw)\s+(?:me\s+|us\s+)?(?:an?|the)\s+(?:outline|contour)"
    r"(?:\s+of\s+(?:it|them|that|those|this|the\s+tissue))?(?:\s+please)?\s*|"
    r"\s*(?:and\s+)?if\s+(?:yes|so)\s*,?\s+(?:how\s+(?:much|many|big|large)|what\s+(?:proportion|"
    r"percent\w*|fraction|share))\b[^?.;]*|"
    r"\s*(?:and\s+)?(?:show|give|tell)\s+(?:me\s+)?(?:your|the)\s+(?:working|work|maths?|calculations?)\s*|"
    r"\s*(?:and\s+)?with\s+(?:its|the|their)\s+(?:area|size|percentage|%|density|count)\b[^?.;]*|"
    r"\s*(?:and\s+)?what(?:'s|s|\s+is|\s+are|\s+were|\s+was)?\s+(?:their|its)\s+(?:mean\s+|average\s+|"
    r"median\s+|total\s+)?(?:areas?|sizes?)\b[^?.;]*|"
    r"\s*(?:then\s+|and\s+)?(?:the\s+)?(?:mm²|mm2|µm²|%|percent(?:age)?|area|density|coverage)"
    r"(?:(?:\s*/\s*|\s+)(?:mm²|mm2|%|percent\w*|area|density|coverage))*"
    r"(?:\s+(?:of|for|in)\s+(?:the\s+)?(?:view|field|region|this|it))?\s*|"
    r"\s*(?:and\s+)?(?:show|give|tell)\s+me\s+(?:every|each|all(?:\s+the)?)\s+class(?:es)?\b[^?.;]*|"
    r"\s*(?:and\s+)?what\s+(?:dataset|data|images|tissue)\s+(?:was|is|were)\s+(?:that|the|this|it|your)\s*"
    r"(?:classifier|model|detector|tool|expert)?\s+trained\s+on\b[^?.;]*|"
    r"\s*(?:and\s+)?(?:show|give)\s+me\s+(?:where\s+(?:its|the\s+model's|the)\s+attention\s+"
    r"(?:falls|is|goes|lies)|the\s+(?:attention\s+)?(?:heat\s*map|attention(?:\s+map)?))\s*|"
    r"\s*(?:and\s+)?how\s+(?:much|many|big|large)(?:\s+(?:area|of\s+it|of\s+them|is\s+it|are\s+they|"
    r"mm²|mm2|µm²|um2|percent|%))*(?:\s+in\s+(?:mm²|mm2|µm²|um2|percent|%))?\s*|"
    r"\s*(?:and\s+|if\s+so\s*,?\s+)?(?:roughly|approximately|approx\.?|about|at\s+a\s+guess)?\s*"
    r"(?:what|which)\s+(?:fraction|percent(?:age)?|proportion|share|%)(?:\s+of\s+(?:it|them|the\s+"
    r"(?:field|view|region|area))|\s+(?:is\s+it|are\s+they|does\s+it\s+(?:cover|take\s+up)))?\s*"
)
"""A later clause that asks for the output of the one before ("run the classifier on piece 6
and give me the label"): no request of its own."""
WHAT_IS_THIS_RE = re.compile(
    r"\s*(?:so\s+|ok\s+|and\s+)?(?:what\s+is\s+(?:this|that|here)|what\s+(?:am\s+i|are\s+we)\s+"
    r"looking\s+at(?:\s+(?:here|now|right\s+now))?|"
    r"what\s+(?:have\s+we|'?ve\s+we|do\s+we\s+have|have\s+i|do\s+i\s+have)\s+(?:got\s+)?here)"
    r"\s*[?.!]*\s*"
)
"""A bare "what is this?" about the view on screen: its tissue class."""
LOOKING_AT_RE = re.compile(r"\blooking\s+at\b")
"""Of those, "what am I looking at?": on a view, a description of it rather than one class."""
ASIDE_RE = re.compile(
    r"\s*(?:(?:in\s+)?(?:plain|simple|lay(?:man'?s)?|layperson'?s?|normal)\s+(?:english|terms|words|language)\b|"
    r"keep\s+it\s+simple\b|eli5\b|"
    r"(?:in|under|per|according\s+to)\s+the\s+(?:[\w-]+\s+){0,3}?(?:classification|system|guidelines?|"
    r"criteria|scheme)\s*$|"
    r"i\s+ask\s+(?:because|since|as)|where\s+i\s+(?:believe|think|suspect|reckon|expect|am\s+told)|"
    r"asking|because|bc|cos|cuz|since|like(?!\s+(?:at\s+|around\s+|about\s+)?\d)"
    r"(?!\s+(?:in\s+)?(?:percent\w*|%|proportions?|shares?|fractions?|a\s+breakdown|areas?)\b)|sorry|thanks|thank\s+you|cheers|no\s+rush|"
    r"not\s+sure|just\s+(?:curious|checking|wondering)|looking\s+for|trying\s+to|"
    r"(?:it\s+is\s+|it's\s+)?(?:hard|difficult|tricky|impossible)\s+to\s+(?:tell|say|judge)|"
    r"(?:(?:ok|okay|right|so)\s*,?\s+)?(?:forget|never\s*mind|scrap|ignore)\b|"
    r"(?:(?:ok|okay|right|so)\s*,?\s+)?(?:a\s+)?(?:new|next|another|fresh|different)\s+(?:slide|case|block)\b"
    r"(?![^?.;]*\b(?:go|take|show|open|zoom|move|jump)\b)|"
    r"(?:from|at)\s+this\s+(?:magnification|mag|power|zoom)\s+i\s+(?:am|'m)\s+not\s+sure|"
    r"can'?t\s+(?:tell|decide)|need\s+to\s+know\b|"
    r"(?:is|would)\s+(?:that|it|this)\s+(?:even\s+)?(?:be\s+)?(?:possible|feasible|doable)\b(?!\s+(?:to|for)\b)|new\s+case|next\s+case|moving\s+on|"
    r"(?:(?:good\s+)?morning|hi|hello|hey|suspect|suspected|query|possible|possibly|probable|probably|likely|clinically|hx|"
    r"history\s+of|known|r/o)\b|"
    r"i\s+want\s+(?:to\s+)?see\s+(?:if|whether)\b|"
    r"i(?:\s+want|\s+wanted|\s+need|'d\s+like|\s+would\s+like)\s+(?:a\s+(?:rough\s+)?(?:sense|idea|"
    r"baseline|feel)|to\s+(?:exclude|rule\s+out|get\s+a\s+(?:sense|feel|idea)|be\s+sure|make\s+sure|"
    r"confirm|document)|to\s+know\s+whether\s+it\s+(?:reads|calls|sees|thinks))\b|"
    r"(?:you\s+all|as\s+you(?:\s+all)?)\s+know\b|notice\s+that\b|"
    r"(?:(?:yes|yeah|ok|okay)\s*,?\s+)?i\s+know\b(?!\s+(?:what|which|how|where|if|whether|the\s+answer))|"
    r"(?:a\s+)?second\s+opinion\b|before\s+i\s+start\b|"
    r"(?:if|in\s+the\s+event\s+that|provided\s+that|assuming)\s+(?:you|it|the\s+[\w-]+)\s+"
    r"(?:can|could|is\s+able|are\s+able|were\s+able)\b(?:\s+to\s+do\s+(?:so|that|this|it))?\s*$|"
    r"(?:the\s+)?(?:clinician|surgeon|requisition|request\s+form|form|referral)\s+"
    r"(?:wrote|writes|says|said|states|mentions)\b|"
    r"my\s+(?:\w+\s+)?(?:attending|boss|consultant|registrar|supervisor|pi|clinician|surgeon|"
    r"oncologist)s?\b|"
    # "somebody in the back said four": what another person said, beside the question
    r"(?:i\s+)?reckon\b(?![^?.;]*\?)|"  # "…, reckon that's the invasive front": a guess
    r"let\s+me\s+(?:put\s+it\s+(?:differently|another\s+way)|rephrase)\b|"
    r"i\s+(?:want|need|would\s+like|have)\s+to\s+(?:prepone|postpone|bring\s+forward|finish|get\s+(?:this|it)\s+"
    r"(?:done|out))\b|"
    r"i\s+keep\s+(?:mixing|confusing|forgetting|muddling)\b|"
    # "capsule is on the right side of this field.": where a structure is, said beside the question
    r"(?!(?:what|which|where|is|are|how|can|could|does|do)\b)(?:the\s+)?(?:[\w-]+\s+){0,3}?(?:is|are)\s+"
    r"(?:on|at|in|along|near)\s+the\s+(?:right|left|top|bottom|upper|lower)\b[^?]*$|"
    # "sorry, anatomy was ages ago"
    r"[^?.;]*\b(?:was|were)\s+(?:ages|years|decades|a\s+long\s+time|forever)\s+ago\b|"
    # "last one for today, neck dissection lymph node w/ scc met.", "last slide, the skin excision!"
    r"(?:(?:ok|okay|right|so)\s*,?\s+)?(?:the\s+)?(?:last|final)\s+(?:one|case|slide|question|thing)"
    r"(?:\s+(?:for\s+today|of\s+the\s+day|today|tonight))?\s*(?:[,!:-]|$)|"
    r"(?:some(?:body|one)|everyone|every\s+body|they|he|she)\b[^?.;]{0,30}?\b(?:said|says|thinks|"
    r"thought|reckons|reckoned|guessed|claims|claimed)\b(?!\s+(?:you|the\s+co-?pilot)\b)|there\s+(?:is|are|was|were)\s+(?:some|a|an|what|also)\b|"
    r"i\s+(?:seem\s+to\s+)?(?:remember|recall)\s+(?:something|that|there|it|you)\b|"
    r"i\s+(?:may|might|could)\s+be\s+(?:conflating|confusing|mixing|wrong|mistaken|misremembering)\b|"
    r"there\s+(?:seems?|appears?)\s+to\s+be\b|there\s+(?:is|are)\s+(?:loads|lots|plenty|tons)\s+of\b|honestly\b|"
    r"our\s+(?:old\s+|new\s+)?(?:viewer|scanner|lab|system|software|pipeline|team)\b|"
    r"an?\s+(?:medical\s+)?(?:student|resident|colleague|clinician|trainee)\s+(?:asked|wants)\b|"
    r"i\s+(?:can\s+|could\s+)?(?:see|count)\b|"
    r"in\s+(?:the\s+)?(?:requisition|request\s+form|referral|form|clinical\s+notes?)\b|"
    r"i(?:'d|\s+would)\s+like\s+to\s+(?:mention|note|include|put|add|say|write|cite|quote)\b|"
    r"(?:(?:so|and|ok|okay|well|right)\s*,?\s+)?"  # "so i just opened the colon resection, …"
    r"i\s+(?:have|had|was|am|don't|do\s+not|didn't|can't|cannot|think|guess|know|realise|realize|"
    r"suspect|just|need\s+(?:it|this|that|these)\b)|i\s+am\b|i\s+have\b|we\s+are\b|"
    r"for\s+(?:my|the|a|our)\s+(?:report|molecular|mdt|tumou?r\s+board|records?|notes?|paper|"
    r"study|dataset)|need(?:ed)?\s+(?:it|this|that|these|an?\s+[\w-]+(?:\s+[\w-]+)?)\s+for\b)"
)
"""A later sentence that gives the reason or the setting of the request, not an order:
"asking bc the nuclei look soft", "my attending wants a number", "need a cellularity for
molecular"."""
_WHAT_LIKE_RE = re.compile(
    r"^\s*(?:so\s+|and\s+)?what\s+(?:is|are)\s+(?:the|these|those|its|their)\s+"
    r"(?![\w\s-]*\b(?:prognosis|survival|outlook|treatment|management|incidence|prevalence|risk)\b)"
    r"[\w\s-]{3,40}?\s+like\s*\??\s*$"
)
"""How something looks ("what is the background like?"): the view's, not a definition."""
_REMIND_ME = (
    r"\s*(?:(?:ok|so|and|just|also|quick(?:ly)?|please|pls|can\s+you|could\s+you)\s+)*remind\s+me"
)
"""The lead of a request to be reminded ("ok remind me", "can you remind me")."""
_REMIND_LEAD_RE = re.compile(
    _REMIND_ME + r"\s*(?:[-–:,]\s*)?\s(?:again\s+)?(?:of\s+|about\s+)?(?:again\s+)?"
)
""""remind me (again) (of)": what follows is the question, textbook or the case's."""
_CASE_WORD_RE = re.compile(
    r"\b(?:we|you|your|our|my|i|views?|regions?|fields?|earlier|before|this|here|there|that|"
    r"it|found|said|got)\b"
)
"""A word that points at the case or its findings ("what we counted", "view 2", "here")."""
_WHAT_IT_IS_RE = re.compile(
    r"what\s+(?:an?\s+|the\s+)?(?!(?:[\w/+-]+\s+){0,3}?(?:scores?|results?|numbers?|totals?|"
    r"figures?|values?|percent\w*|share)\b)(?:[\w/+-]+\s+){0,4}?(?:is|are|means?)\s*\??\s*"
)
""""what a crescent is", after "remind me": a definition asked as an embedded question."""
_SCHEME_RE = re.compile(
    r"\b(?:grad(?:e|es|ing)\s+(?:groups?|system|scheme|criteria)|grading|categor(?:y|ies)|criteria|"
    r"cut[\s-]?offs?|thresholds?|classifications?|staging|stages|scheme|system|rules?|"
    r"definitions?|risk\s+of\s+malignancy|rom|bethesda|figo|isup|gleason|nottingham|ajcc|tnm|"
    r"who\s*\d?|banff|paris|milan|vienna|sydney|marsh|ishak|metavir|kleiner|breslow|clark)\b"
)
"""A textbook scheme named after "remind me" ("remind me the ISUP grade group for 4+3")."""
_TEXTBOOK_REST_RE = re.compile(
    # "remind me of the nuclear score for NIFTP": a scale of a named entity, not a result
    r"\bscor(?:e|es|ing)\s+(?:for|of|in)\s+(?!(?:this|that|these|those|the|its?|our|my)\b)\w|"
    # "remind me LAMN vs HAMN"
    r"^\s*[\w/-]+(?:\s+[\w/-]+)?\s+(?:vs\.?|versus)\s+[\w/-]+(?:\s+[\w/-]+)?\s*\??\s*$|"
    r"^\s*why\b|"  # "remind me why margin status matters for LAMN"
    # "remind me how the Van Nuys prognostic index is constructed": how a scheme works
    r"^\s*how\s+(?:the\s+|a\s+|an\s+)?[\w\s/-]{2,50}?\s+(?:is|are)\s+(?:constructed|calculated|"
    r"computed|derived|scored|worked\s+out|assigned|built|put\s+together|defined|staged|graded)\b"
)
"""After "remind me", with no word of the case: a named entity's scale, two entities set side by
side, or a reason asked."""
BARE_REMIND_RE = re.compile(
    _REMIND_ME + r"(?:\s+(?:again|quickly|please|pls|once|just\s+once))*\s*[,:.!-]*\s*"
    # "just remind me once, i keep mixing it with the old tumour thickness"
    r"(?:i\s+(?:keep|always)\s+(?:mixing|confusing|forgetting|muddling|getting)\b[^?]*)?"
)
""""remind me, what are the criteria for …": the question that follows is what is asked."""
BEFORE_LEAD_RE = re.compile(
    r"\s*(?:(?:but|and|so|ok|okay|now|just|quick\s+one)\s+)*before\s+(?!(?:and|after)\b)[^?]*"
)
"""A clause that sets when, not what ("before we start", "before drawing any conclusions",
"before you proceed to any counting"): beside an order it orders nothing."""
NEGATED_ORDER_RE = re.compile(
    r"\s*(?:(?:stop\s+(?:there|here)|that'?s\s+(?:it|all)|nothing\s+else|actually|no|wait|sorry|"
    r"hmm+|ok(?:ay)?|on\s+second\s+thoughts?)\s*,?\s*)*"
    r"(?:but\s+|and\s+|so\s+|please\s+|then\s+)?(?:don'?t|dont|do\s+not|no\s+need\s+to|without|"
    r"never|not|no|skip|scrap|scratch|drop|forget|cancel)\s+(?:\w+\s+)?(?:zoom|mov|navigat|pan|go\b|goin|chang|jump|re-?run|run|redo|"
    r"repeat|segment|count|classif|detect|recomput|re-?do|re-?count|re-?segment|compos|describ|"
    r"descript|quantif)\w*"
    r"(?:\s+(?:in|out|anywhere|anything|again|it|the\s+view|this|that|away|this\s+time|yet|"
    r"for\s+now|now|please|thanks))*\s*[.!]*\s*|"
    # "no need to count nuclei again", "no need to re-run the tissue detection, we know where"
    r"\s*(?:but\s+|and\s+|so\s+)?(?:no\s+need\s+to|don'?t\s+(?:bother\s+to|need\s+to)|"
    r"you\s+(?:don'?t|do\s+not)\s+need\s+to|there'?s\s+no\s+need\s+to|(?:it\s+)?is\s+not\s+"
    r"necessary\s+to|it'?s\s+not\s+necessary\s+to|not\s+necessary\s+to)\s+.*"
)
CORRECTION_WORDS = r"actually|no\s+wait|wait|sorry|no|instead|rather|make\s+that|i\s+mean"
"""Words that correct what was just said ("pan up. actually, pan left")."""
CANCELLED_RE = re.compile(
    rf"\b(?:{CORRECTION_WORDS}|skip|scrap|scratch|drop|forget|cancel|yet|second\s+thoughts?)\b"
)
"""A word that makes a negated order take back an earlier one ("count the nuclei — hmm, no,
don't count yet, just describe it")."""
NEGATED_CAPABILITY = (
    ("detect", re.compile(r"\b(?:count|detect|enumerat|re-?count)")),
    ("vqa", re.compile(r"\bdescri(?:b|pt)")),
    ("segment", re.compile(r"\b(?:re-?)?segment")),
    ("classify", re.compile(r"\bclassif")),
    ("composition", re.compile(r"\bcompos")),
    ("zoom", re.compile(r"\b(?:zoom|mov|navigat|pan|jump)")),
)
"""The capability a negated order names by its verb."""
"""A clause that says what not to do ("don't zoom", "no need to move", "without re-running"):
beside an order it orders nothing."""
PURPOSE_RE = re.compile(
    r"\s*(?:and\s+|but\s+)?(?:so\s+(?:that\s+)?(?:i|we)\s+(?:can|could|may|might)\b|(?:"
    r"i(?:'d|\s+would)\s+(?:like|love|want)\s+to|i\s+(?:want|need|wanted|hope|plan|intend)\s+to|"
    r"i'?m\s+(?:trying|hoping|going|about|planning)\s+to|(?:in\s+order\s+)?to\s+help\s+me)\s+"
    r"(?:\w+\s+)?(?:hunt|search|look\s+(?:at|for|closer|more\s+closely)|review|complete|finish|"
    r"grade|draft|start|begin|see\s+(?:whether|if|how|what|which)|know\s+(?:whether|if|how)|"
    r"check\s+(?:whether|if)|judge|decide|assess|gauge|tabulate|jot|write|report|sign|dictate|"
    r"document|record|include|mention|put|plan|think|be\s+(?:sure|certain)|make\s+sure)\b)"
)
"""What the user means to do with the answer ("I'd like to hunt for mitotic figures", "so I can
put them next to each other"), said after the order: a purpose, not a further order."""
DIAGNOSIS_RE = re.compile(
    r"\bdiagnos[ie]s\b|\bdx\b|\bsign(?:ed|ing)?\s+(?:(?:it|this|that)\s+(?:\w+\s+)?)?out\b|"
    r"\bsign[\s-]?out\s+(?:as|diagnosis)\b"
)
NO_DIAGNOSIS = frozenset({"tissue", "slide_info", "zoom", "detect", "segment", "composition"})
"""Capabilities that never answer a question for a diagnosis, however close its wording."""
JOINED_REFS_RE = re.compile(
    r"\d+\s*(?:,|and|&|or)\s*(?:(?:view|region|roi|field)s?\s*)?#?\d+\b|"
    r"\b(?:view|region|roi|field)\s*#?\s*\d+\s+or\b"
)
"""Two numbered regions joined by "and" or "or": one reference, not two clauses."""
IMPRESSION_RE = re.compile(
    r"\s*(?:(?:tbh|ngl|honestly|imo|imho|lol|ok|okay|so|well|hmm+|i\s+mean)\s*,?\s+)*"
    r"(?:(?:it|this|that|the)(?:\s+[\w-]+){0,2}\s+|[\w-]+(?:\s+[\w-]+)?\s+(?=\S+(?:\s+\S+)?\s+to\s+me\b))?"
    r"(?:looks|seems|appears)\s+(?!like\s+(?:what|which))"
)
"""The user's own impression ("this node looks packed with lymphocytes"), said beside a
question: the question is what to answer."""
BARE_FEATURE_RE = re.compile(r"[a-z][a-z-]*(?:\s+[a-z-]+){1,7}")
NOT_A_FEATURE_RE = re.compile(
    r"(?:what|how|why|who|where|which|when|is|are|was|were|do|does|did|can|could|would|should|"
    r"will|please|pls|the|this|that|these|those|it|its|i|we|you|my|our|and|so|ok|okay|hmm|same|"
    r"next|again|more|less|back|go|run|fix|redo|undo|analy[sz]e|continue|show|give|tell|let|"
    r"make|check|help|thanks|thank|yes|no|not|just|also|then|now|compare|zoom|count|segment|"
    r"classify|outline|measure|detect|find|get|open|view|look|any|some|lol|haha|wow|omg|ugh|"
    r"yikes|whoa|jeez|blimey|gosh)\b"
)
"""A clause starting with one of these is not a bare noun phrase (nor one that starts with a
reaction: "lol that is a lot of cells")."""
_DISEASE_RE = re.compile(
    r"\w+(?:oma|omas)\b|\bcarcinoma|\bcancer|\bneoplasm|\bsyndrome|\w+itis\b|\w+plasia\b|"
    r"\bpolyps?\b|\bcysts?\b|\bkeratos[ie]s\b|\bn(?:a)?ev(?:us|i)\b|"
    r"\bdisease|\b(?:[A-Z]{2,6}|[A-Z]{2,5}-[A-Z0-9]{1,3})s?\b"
)
_NOT_DISEASE = frozenset({"ROI", "ROIS", "WSI", "HPF", "ICD", "OK", "MM", "PX", "UM", "ID", "PDF"})
"""A request that names a disease (or an acronym of one) and matches no tool asks about it."""
_ANALYSIS_RE = re.compile(
    r"\b(?:classif\w*|count\w*|composition|breakdown|detect\w*|segment\w*|outline\w*|enumerat\w*|measure\w*|"
    r"quantif\w*|how\s+many|what\s+(?:kind|type)\s+of\s+tissue|tissue\s+type|"
    r"what\s+(?:proportion|percent\w*|fraction|share)|how\s+much\s+(?!closer|further|more\s+zoom))\b"
)
_PLACE_RE = re.compile(
    r"\b(?:cent(?:er|re)|middle|corner|quadrant|half|region|area|field|view|spot|box|here|"
    r"there|point)\b|\[|\("
)
THIS_DISEASE_RE = re.compile(
    r"\bwhat\s+(?:is|are)\s+(?:this|these|that|those)\s+(?:tumou?r|lesion|cancer|neoplasm|"
    r"disease|diagnosis)s?\b|\b(?:differentials?|features|markers|grading|staging|prognosis)\s+"
    r"(?:of|for)\s+(?:this|that|the)\s+(?:entity|diagnosis|tumou?r|lesion|class|label)\b|"
    r"\bwhat\s+(?:this|that)\s+(?:tumou?r|lesion|cancer|neoplasm|"
    r"disease|diagnosis|label|class|entity)\s+(?:means|is)\b|\bwhat\s+(?:should|do)\s+i\s+look\s+for\b|"
    r"\bwhat\s+(?:features?|criteria)\s+(?:define|characteri[sz]e|distinguish)\s+(?:it|this|that)\b"
)
"""A question about the disease the image shows: its facts are recalled beside the analysis."""
_TISSUE_TYPE_RE = re.compile(
    r"\b(?:tissue\s+(?:type|class|classification)|(?:type|kind|sort)\s+of\s+tissue)\b|"
    r"\bwhat\s+tissue\s+(?:is|was)\b|"
    # "single dominant class for here?": the classifier's top label
    r"\b(?:single\s+)?(?:dominant|predominant|main|top|majority)\s+(?:tissue\s+)?(?:class|label)\b"
    r"(?![^?]*\b(?:shares?|%|percent\w*|breakdown|proportions?)\b)|"
    # "which class is this, lymphocytes?": the class of the view, guessed
    r"\b(?:which|what)\s+class\s+(?:is|was|would\s+be)\s+(?:this|that|it|here|the\s+(?:view|field|"
    r"region|tile|patch))\b|"
    # "is this fat I am looking at, or is it stroma?"
    r"^\s*(?:so\s+|and\s+)?is\s+(?:this|that|it)\s+(?:an?\s+)?[\w-]+(?:\s+[\w'-]+){0,5}?,?\s+or\s+is\s+"
    r"(?:it|this|that)\s+(?:just\s+|an?\s+)?[\w-]+\s*$"
)
_EITHER_CLASS_RE = re.compile(
    r"^\s*(?:so\s+|and\s+|ok\s+)?(?:is|does)\s+(?:this|that|it|the\s+(?:view|field|region|area))\s+"
    r"(?:look\s+like\s+|more\s+)?(?P<choices>(?:an?\s+)?(?:[\w-]+,?\s+){1,3}or\s+(?:just\s+|an?\s+)?"
    r"[\w-]+(?:\s+[\w-]+)?)"
)
""""Is this mucus or debris?": which of two classes the region is, a classification."""


def either_choices(clause: str) -> list[str]:
    """The alternatives of "is this X or Y?" ("mucus", "debris"); empty when it asks none."""
    m = _EITHER_CLASS_RE.search(clause)
    if m is None:
        return []
    return [c for c in re.split(r",\s*|\s+or\s+", m.group("choices")) if c.strip()]


_FORMAT_RE = re.compile(
    r"\b(?:svs|ndpi|mrxs|scn|czi|vsi|bif|isyntax|dicom|ome-?tiff?|tiff?)\b|\bfile\s+(?:type|format)\b|"
    r"\b(?:label|macro|barcode)\s+(?:image|picture|photo|thumbnail|area)\b|\bbarcode\b|"
    r"\b(?:basics|basic\s+(?:info\w*|details|facts|data)|specs|technical\s+details)\s+(?:of|on|about|for)\s+"
    r"(?:this|the)\s+(?:slide|scan|file|wsi)\b"
)
"""A slide file format, the slide's label image or its basics named: a question about the
file, not the tissue."""
_WHERE_TISSUE_RE = re.compile(
    r"^\s*which\s+(?:one\s+)?is\s+the\s+(?:largest|biggest|smallest)\s+(?:bit|piece|fragment|core|"
    r"region|area)(?:\s+of\s+tissue)?\s*$|"
    r"\bwhere\s+(?:is|are)\s+(?:the\s+|all\s+the\s+)?tissues?\b(?!\s+(?:type|class))|"
    r"^\s*(?:(?:ok|okay|so|and|first)\s*,?\s+)?where\s+(?:is|are)\s+(?:the\s+|all\s+the\s+|my\s+)?"
    r"(?:core|cores|biops(?:y|ies)|fragments?|pieces?|sections?|specimen|curettings)"
    r"(?:\s+(?:on\s+(?:the|this)\s+(?:slide|glass)|please))?\s*[?.!]*\s*$|"
    r"^\s*(?:(?:please|now|first)\s+)?(?:find|detect|locate|map|identify)\s+(?:me\s+)?(?:all\s+)?"
    r"(?:the\s+)?tissue(?:\s+(?:pieces|regions|fragments|areas|bits|cores))?\s*(?:first|please)?\s*$|"
    r"\btissue\s+(?:mask|detection|segmentation\s+mask|outline)s?\b(?!\s+(?:type|class))"
)
"""Where the tissue lies on the slide: the tissue tool's regions, not a classification."""
_COMPOSITION_RE = re.compile(
    r"\b(?:tissue\s+|class\s+)?composition\b|\bbreak\s*down\s+(?:of\s+)?(?:the\s+)?"
    r"(?:tissue|class)|\b(?:tissue|class)(?:[\s-]+type)?\s+breakdown\b|"
    # "give me the whole-slide breakdown": the classes' shares over the slide
    r"\b(?:whole|entire|full)[\s-]+slide\s+(?:class\s+|tissue\s+)?break\s*-?\s*down\b|"
    r"\bmix(?:ture)?\s+of\s+(?:tissues?|classes|tissue\s+(?:types|classes))\b|"
    r"\b(?:tissue|class)(?:[\s-]+types?)?\s+(?:mix|mixture|proportions|shares|percentages)\b|"
    r"\b(?:what|which)\s+(?:tissue\s+types|tissue\s+classes|tissues)\s+(?:are|is)\s+"
    r"(?:in|present|there|seen)\b|\bclass\s+distribution\b|\bdistribution\s+of\s+(?:the\s+)?"
    r"(?:tissue\s+)?(?:classes|labels|tiles|tissue\s+types)\b|\bhistogram\s+of\s+(?:the\s+)?"
    r"(?:predicted\s+)?(?:labels|classes)\b|\bper[\s-]class\b|"
    r"\b(?:tumou?r|class|tissue|tile)\s+(?:heat\s*-?\s*map|map|overlay)\b|"
    r"\bmap\s+(?:out\s+)?(?:the\s+|all\s+the\s+)?(?:tissue\s+)?(?:classes|class(?:es)?\s+labels|"
    r"tissue\s+types)\b|\b(?:tissue\s+)?(?:classes|tissue\s+types)\s+across\b|"
    r"\b(?:percentages?|proportions?|shares?|fractions?)\s+of\s+(?:each|every|all\s+the)\s+"
    r"(?:tissue\s+)?(?:types?|class(?:es)?|tissues?)\b|"
    r"\bwhat\s+(?:is\s+)?(?:this|the|it|that)\s*(?:region|field|view|area|biopsy|piece|fragment)?\s+"
    r"(?:is\s+)?(?:made\s+(?:up\s+)?of|composed\s+of)\b"
)
"""The share of each tissue class in a region: the composition tool's question."""
_HOW_MANY_PIECES_RE = re.compile(
    r"\b(?:how\s+many|number\s+of)\s+(?:separate\s+|distinct\s+)?(?:tissue\s+)?"
    r"(?:regions|pieces|fragments|cores|bits)\b|"
    r"\b(?:fragment|piece|core)s?\s+count\b|\bcount\s+(?:of\s+)?(?:the\s+)?(?:tissue\s+)?"
    r"(?:fragments|pieces|cores)\b|"
    r"\b(?:missing|missed|miss|lost|dropped|skipped)\s+(?:any\s+|some\s+|a\s+)?(?:tissue\s+)?"
    r"(?:fragments?|pieces?|cores?)\b"
)
"""How many pieces of tissue the slide holds ("the fragment count", "is the scanner missing any
fragments?"): the tissue tool's regions."""
SLIDE_WIDE_RE = re.compile(r"\b(?:whole|entire)[\s-]+slide\b|\bslide[- ]level\b|\boverall\b")
_A_SLIDE_RE = re.compile(
    r"\b(?:this|the|that)\s+(?:[a-z-]+\s+){0,2}(?:slide|case|wsi)\b|\bwhole\s+slide\b"
)
_SLIDE_CALL_RE = re.compile(
    r"\b(?:tumou?r|cancer|malignan\w*|neoplas\w*)\s+(?:or|vs\.?|versus|/)\s+(?:normal|not|benign|"
    r"non-?tumou?r\w*|healthy)\b"
)
""""Tumour or normal": the two classes of the slide-level model."""
_MODEL_SAYS_RE = re.compile(
    r"\bwhat\s+(?:does|did|would)\s+(?:the\s+)?(?:ai|computer|algorithm|model|machine)\s+(?:say|think|call)"
)
YIELDS_TO_CLASSIFY = frozenset({"tissue", "slide_info", "wsi_classify", "zoom", "composition"})
"""Capabilities a clause that asks for a region's class ("is this mucus or debris?") overrides."""
YIELDS_TO_ZOOM = frozenset({"slide_info", "tissue", "wsi_classify"})
"""Capabilities that a clause's explicit navigation (a verb with a target or a scale) overrides:
"show me tissue 1 at 0.25 microns per pixel" is a view, not the slide's resolution."""
NAV_VERB_RE = re.compile(
    r"\b(?:zoom|magnify|go|navigate|move|pan|cent(?:er|re)\s+on|"
    r"(?<!this\s)(?<!that\s)(?<!the\s)(?<!current\s)(?<!same\s)(?<!each\s)view(?!\s*#?\s*\d)|"
    r"look\s+(?:at|around|over)|"
    r"(?:^|please\s+|you\s+)show\b|\bshow\s+(?:me|us)\b|"
    r"(?:have|take)\s+a\s+look|return|take|"
    r"open|jump|head|bring\s+up|display|visit|switch|overview|^\s*back\s+to)\b|"
    r"^\s*(?:\d+(?:\.\d+)?\s*x|at\s+\d|level\s+\d)"
)


ORDER_RE = re.compile(
    r"\s*(?:ok(?:ay)?\s*,?\s+|now\s+|so\s+)?(?:(?:could|can|would)\s+you\s+(?:please\s+)?|please\s+)?"
    r"(?:count|classify|segment|outline|detect|run|zoom|go\s+back|back\s+to|take\s+me|show\s+me|pan|"
    r"navigate|measure|quantify|enumerate)\b"
)
""""Could you count cells in the first region we looked at?": an order, whatever memory words
its place is named with."""
_SAME_ANALYSIS_RE = re.compile(
    r"\bsame\s+(?:(?P<classify>classification|class(?:ifier)?|label)|"
    r"(?P<detect>count|detection|nuclear\s+count|cell\s+count)|(?P<segment>segmentation|mask))\b"
)
""""and there? same classification": the analysis named by "same"."""
_LOOKS_ON_SLIDES_RE = re.compile(
    r"\bwhat\s+(?:do|does)\s+(?!(?:this|these|that|those|here)\b)[\w\s&-]{1,40}?\s+look\s+like\s+"
    r"(?:on\s+h\s*&\s*e|under\s+the\s+microscope|histolog\w*|microscopic\w*|on\s+(?:a\s+)?slides?)\b|"
    r"\bhow\s+(?:would|do|does|can)\s+(?:a|an|the)\s+pathologists?\s+(?:tell|distinguish|"
    r"differentiate|recogni[sz]e|spot|identify)\b"
)
"""How something looks in general ("what does MSI look like under the microscope?"): a
textbook question, even about "it"."""
_YOU_SAID_RE = re.compile(r"\byou\s+(?:told\s+me|said|reported|gave\s+me)\b")


_ATTENTION_RE = re.compile(r"\b(?:attn|attention|heat\s*-?maps?|maps?)\b")


_SCALE_ALONE_RE = re.compile(
    r"\s*(?:(?:now|ok|okay|then|and)\s*,?\s+)?(?:at\s+)?\d+(?:\.\d+)?\s*(?:µm|μm|um|microns?)?"
    r"\s*(?:/\s*px|/\s*pixel|per\s+pixel|mpp)\s*(?:,?\s*(?:please|thanks))?\s*[.!]*\s*"
)
"""A resolution said alone, as an order ("0.5 mpp please")."""


_KG_NAMED_RE = re.compile(
    r"\b(?:knowledge\s+(?:graph|base)|kg)\b[^?.;]*\b(?:give|say|says|said|list|have|has|hold|"
    r"holds|know|contain|contains|offer|suggest|recommend|define)|"
    r"\b(?:according\s+to|from|in|per|ask|check|search|query)\s+(?:the\s+|your\s+)?"
    r"(?:knowledge\s+(?:graph|base)|kg)\b"
)
"""The knowledge graph named as the source ("what criteria does the knowledge graph give?")."""
_TILED_SLIDE_RE = re.compile(
    r"\btil(?:e|ing)\s+(?:the\s+|this\s+)?(?:entire|whole|full)\s+(?:slide|wsi|section)\b|"
    r"\b(?:tile|patch)[\s-]+(?:by[\s-]+(?:tile|patch)|level)\b[^.?;]*\b(?:entire|whole|full)\s+slide\b|"
    r"\b(?:tile|patch)[\s-]+(?:level\s+)?classifier\b[^.?;]*\b(?:entire|whole|full)\s+slide\b|"
    r"\b(?:entire|whole|full)\s+slide\b[^.?;]*\b(?:tile|patch)[\s-]+(?:level\s+)?classifier\b"
)
"""The tile classifier run over every tile of the slide: its classes' shares, not the slide's
diagnosis."""
WHERE_QUESTION_RE = re.compile(
    r"\s*(?:and\s+|so\s+)?(?:is|are|does|do)\s+(?:most|all|much|any|some|the\s+bulk|it|they|the\s+"
    r"(?:tissue|tumou?r|lesion|fragments?|pieces?))\b(?![^?]*\b(?:zoom|go|take|show|move|pan)\b)"
)
"""A question about where something lies ("is most of it in the right half?"), not a move."""
_SET_SCALE_RE = re.compile(
    r"\s*(?:(?:please|pls|now|ok|okay|and|then|so|can\s+you|could\s+you)\s+)*"
    r"(?:set|put|use|change|make)\b(?:\s+(?:it|this|the\s+(?:view|resolution|scale|magnification)|"
    r"in|to|at|on|a|an))*\s+\d+(?:\.\d+)?\s*(?:mpp\b|µm|um/|um\s+per|microns?\b|x\b)"
)
"""An order that sets the view's scale ("set 0.5 microns per pixel", "put in 20x"): a view."""
_REDO_COUNT_RE = re.compile(
    r"\s*(?:(?:and|then|now|please|so)\s+)*(?:re-?do|repeat|re-?run|re-?calculate|recompute|"
    r"re-?measure)\s+(?:the\s+|that\s+|your\s+)?(?:nuclear\s+|nuclei\s+|cell(?:ular)?\s+)?"
    r"(?:density|densities|counts?)\b"
)
"""An order to measure the nuclei again ("redo the density"): the detector's."""


_DESCRIBE_VIEW_RE = re.compile(
    r"\s*(?:(?:just|then|now|please|pls|so|ok|okay|fine|and|can\s+you|could\s+you)[,\s]+)*"
    r"describe\s+(?:the\s+|this\b|that\b|these\b|those\b|it\b|what\b|here\b)"
    r"(?![^?.;]*\b(?:features\s+of|criteria|definition|composition|breakdown|(?:tissue\s+)?classes|"
    r"class\s+map|grading\s+system|mask|outline|tissue\s+types?)\b)"
)
"""An order to describe what is on screen ("just describe the inflammation then"): words about
the view, not its tissue classes or a textbook entry."""


MARGIN_ASKED_RE = re.compile(
    r"^\s*(?:(?:and|so|ok|also|now)\s+)*(?:are|is)\s+(?:the\s+|all\s+the\s+|its\s+)?(?:[\w-]+\s+)?"
    r"(?:margins?|edges?|resection\s+margins?)\s+(?:clear|involved|free|positive|negative|close|"
    r"inked|uninvolved|ok|okay)\b"
)
"""Whether a margin is involved, asked of the view ("are the edges clear?")."""
_HOW_MANY_NEEDED_RE = re.compile(
    r"\bhow\s+many\s+[\w\s-]{1,30}?\b(?:one|you|do\s+(?:you|we|i)|does\s+one|are)\s+"
    r"(?:needs?|required|needed)\s+(?:for|to)\b"
)
"""A threshold of a grading scheme ("how many mitoses one needs for grade 3")."""
_CHANGES_STAGE_RE = re.compile(
    r"\b(?:does|do|would|will|can)\s+(?!(?:this|that|it|these|those)\b)(?:[\w-]+\s+){1,3}?(?:change|affect|"
    r"alter|upstage|downstage|raise|modify)\s+(?:the\s+)?(?:pt\s+)?(?:stage|staging|grade|grading|prognosis|"
    r"management|category)\b"
)
"""What a finding does to a stage or a grade in general ("does PNI change the stage in oral
cavity?"): the textbook, not this slide."""
_FEATURES_NAMED_RE = re.compile(
    r"\s*(?:(?:and|so|now|then)\s+)?(?:the\s+)?(?:nuclear|cytologic(?:al)?|cell(?:ular)?|cytoplasmic)\s+"
    r"(?:features?|morphology|details?|atypia|appearances?|characteristics)\s*(?:here|there)?\s*[?:.]*\s*"
)
""""nuclear features -> pleomorphism?": the look of the cells on screen, named as a heading."""
_WHAT_I_SEE_RE = re.compile(
    r"\bwhat\s+(?:is|are)\s+(?:all\s+)?(?:the|these|those|that|this)\s+(?:[\w-]+\s+){0,4}?"
    r"(?:i\s*(?:am|'m)?|im|we\s*(?:are|'re)?)\s+(?:seeing|looking\s+at)\b|"
    # "what are the big pale cells in the middle?"
    r"\bwhat\s+(?:is|are)\s+(?:all\s+)?(?:the|these|those|that|this)\s+(?:[\w-]+\s+){0,4}?(?:in|at|on)\s+"
    r"the\s+(?:very\s+)?(?:middle|centre|center|corner|top|bottom|left|right|edge)\b|"
    # "what does the epithelium floating in it look like": of something on screen
    r"\bwhat\s+(?:does|do)\s+(?:the|these|those|this|that)\s+(?!(?:textbook|classic|typical)\b)"
    r"[\w\s-]{2,60}?\s+look\s+like\b(?!\s+(?:on|in|under)\s+(?:histology|h&e|general|textbooks?|"
    r"microscopy))|"
    # "tell me what's going on in the epidermis", "what is happening at the edge here?"
    r"\bwhat\s+(?:is|are)\s+(?:going\s+on|happening)\s+(?:in|at|with|along|around|inside|here|there)\b"
    r"(?![^?.;]*\b(?:so\s+far|earlier|before|case|study|literature|field\s+of)\b)"
)
"""A thing on screen asked by what the user sees ("what are the layers im seeing?")."""


REDO_SHARES_RE = re.compile(
    r"\s*(?:(?:and|then|now|please|so)\s+)*(?:give\s+me|show\s+me|get\s+me|do|run|re-?do|repeat)\s+"
    r"(?:the\s+|a\s+)?(?:tissue\s+|class\s+)?(?:composition|breakdown|class\s+shares)\s+again\b"
)
"""The tile classes' shares asked again, as an order ("give me the composition again"), not as
a question about what was found."""


_ORIGIN_ASKED_RE = re.compile(
    r"\b(?:which|what)\s+(?:organ|site|body\s+site|primary(?:\s+site)?|"
    r"part\s+of\s+the\s+body)\b[^?.;]*\b(?:this|these|it|here|that)\b|"
    r"\bwhere\s+(?:is|are|does|do|did)\s+(?:this|these|it)\s+(?:\w+\s+)?(?:come|from)\b|"
    r"\b(?:this|it)\s+(?:is|comes?)\s+from\s+(?:which|what)\s+(?:organ|site)\b"
)
"""Which organ the tissue on screen comes from ("which organ is this from?"): only an expert that
sees the image can say; the tile classifier assumes its own organ."""


def grammar_cue(clause: str) -> str | None:
    """A capability the shared grammar makes certain for one clause, or None.

    Recalling the case's findings and comparing named regions have unambiguous wording; a
    navigation verb with an explicit target or scale, or a relative move, is a view.
    """
    if names_tissue_outline(clause):
        return "tissue"  # "make me the outline of the tissue, the mask of all fragments"
    if _SLIDE_CALL_RE.search(clause) and (
        _A_SLIDE_RE.search(clause) or SLIDE_WIDE_RE.search(clause) or _MODEL_SAYS_RE.search(clause)
    ):
        return "wsi_classify"  # "tumour or normal for the whole slide?": the slide model's call
    if (
        HOTSPOT_RE.search(clause)
        and (NAV_VERB_RE.search(clause) or re.search(r"\b(?:find|where)\b", clause))
        and not WHICH_RE.search(clause)
        and not _ATTENTION_RE.search(clause)  # the slide classifier's attention hotspots
    ):
        return "zoom"  # "take me to the most cellular-looking area", "find the hotspot"
    if (
        _diseases_named(clause) >= 2
        and not _VISUAL_WORD_RE.search(clause)
        and (_COMPARE_WORD_RE.search(clause) or _COMPARATIVE_RE.search(clause))
        and not [r for r in region_refs(clause) if r != "current"]  # "or is it different?"
        and not DEICTIC_RE.search(clause)
        and not _EARLIER_RE.search(clause)
    ):
        return "knowledge"  # "is SSL the same as sessile serrated adenoma?": two diseases
    if _SET_SCALE_RE.match(clause):
        return "zoom"  # "set 0.5 microns per pixel", "put in 20x"
    if _REDO_COUNT_RE.match(clause):
        return "detect"  # "pan right by one field and redo the density"
    if REDO_SHARES_RE.match(clause):
        return "composition"  # "zoom out 2x and give me the composition again": of the new view
    if _TILED_SLIDE_RE.search(clause):
        return "composition"  # "tile the entire slide through the classifier"
    if _CLASS_MAP_RE.search(clause):
        return "composition"  # "whole slide class map pls", "class-map overlay of it"
    if WHICH_VIEW_MOST_RE.search(clause) and not _REMIND_RE.search(clause):
        # "of the views you segmented, which one had the most stroma?"; "remind me which of
        # the views showed the most tumour" asks what the case already found
        return "compare"
    if (
        _COMPARE_WORD_RE.search(clause)
        and can_compare(clause)
        and (parse_compare(clause) is not None or compare_from_refs(clause) is not None)
        # "you told me something different about the first view": what was said, recalled
        and not (_YOU_SAID_RE.search(clause) and not re.search(r"\bcompar", clause))
    ):
        return "compare"
    if _EXPERTS_ASKED_RE.search(clause):
        return "experts"  # "which of your models are valid for head and neck?"
    if _MOSTLY_CLASS_RE.match(clause):
        return "composition"  # "is this core predominantly tumour?": the largest share
    if (
        _TWO_COMPARTMENTS_RE.search(clause)
        and not re.search(r"\bnucle", clause)
        and not _DIFFERENCE_RE.search(clause)
    ):
        return "segment"  # "how much of the tissue is epidermis vs dermis?"
    if (
        _YES_NO_RE.search(clause)
        and _CLASS_WORD_RE.search(clause)
        and not _CLASS_PROPERTY_RE.search(clause)
        and not _KNOWLEDGE_ASK_RE.search(clause)
        and not re.search(r"\b(?:slide|case|overall|diagnos\w*|patient)\b", clause)
        # "run the whole slide model - does it call this tumour or not?": the model's call
        and not re.search(
            r"\b(?:does|did|would|will|do)\s+(?:it|they|the\s+(?:[\w-]+\s+)?(?:model|classifier))\s+"
            r"(?:call|say|think|label|classify|consider|rate|flag)\b",
            clause,
        )
    ):
        return "composition"  # "necrosis y/n": a tissue class present or not
    if _ORIGIN_ASKED_RE.search(clause) and not names_disease(clause):
        return "vqa"  # "which organ is this from?": what the image shows, not a textbook entry
    if _KNOWLEDGE_ASK_RE.search(clause) or _ABOUT_THAT_CLASS_RE.search(clause):
        return "knowledge"
    if _DESCRIBE_VIEW_RE.match(clause) and not (
        names_disease(clause) and not DEICTIC_RE.search(clause)
    ):
        return "vqa"  # "fine, just describe the inflammation then": the view, in words
    if _WHAT_I_SEE_RE.search(clause) or _FEATURES_NAMED_RE.fullmatch(clause):
        return "vqa"  # "what are the layers im seeing?": what is on screen, named
    if _HOW_MANY_NEEDED_RE.search(clause) or _CHANGES_STAGE_RE.search(clause):
        return "knowledge"  # "how many mitoses one needs for grade 3", "does PNI change the stage"
    lead = _REMIND_LEAD_RE.match(clause)
    if lead is not None and lead.end() < len(clause):
        # "(I know WHO5 …)": an aside; "per high power field": a unit, not a view
        rest = re.sub(r"\s*\([^)]*\)?", "", clause[lead.end() :])
        rest = re.sub(r"\b(?:per|/)\s*(?:10\s+)?high\s+power\s+fields?\b", "per hpf", rest)
        # "remind me - FIGO grade is based on …, isn't it?": a tag question asks no case word
        rest = re.sub(r",?\s*(?:isn'?t\s+it|is\s+it\s+not|right|correct|no)\s*\??\s*$", "", rest)
        rest = rest.lstrip(" -–:,")
        if not _CASE_WORD_RE.search(rest) and (
            (_WHAT_IT_IS_RE.fullmatch(rest) and not findings_asked(rest))
            or grammar_cue(rest) == "knowledge"
            or (_SCHEME_RE.search(rest) and not findings_asked(rest))
            or _TEXTBOOK_REST_RE.search(rest)
        ):
            return "knowledge"  # "remind me again what counts as a positive margin"
    if (
        _SUMMARY_RE.search(clause)
        and not names_disease(clause)
        and re.search(
            r"\b(?:tile|image|slide|case|regions?|views?|fields?|findings?|results?|found|far|we|"
            r"this|report|it|everything|all|lines?|sentences?|bullets?|bullet\s+points?)\b",
            clause,
        )
        and not re.search(r"\bwhat\s+(?:you|it|this|the\s+\w+)\s+(?:see|sees|shows?)\b", clause)
    ):
        return "recall"  # "summarise this tile in two sentences": the case's findings
    if (
        _SLIDE_FACT_RE.fullmatch(clause)
        or _WHICH_SLIDE_RE.search(clause)
        or (_SLIDE_FACT_ASKED_RE.search(clause) and not analysis_verb(clause))
        or (_FORMAT_RE.search(clause) and not analysis_verb(clause))
    ):
        return "slide_info"
    if (parse_recall(clause) is not None or PAST_RESULT_RE.search(clause)) and not ORDER_RE.match(
        clause
    ):
        return "recall"
    if (
        _WHAT_CASE_RE.fullmatch(clause)
        or _WHAT_CASE_IS_RE.search(clause)
        or _SLIDE_MODEL_RE.search(clause)
    ):
        return "wsi_classify"
    if _WHAT_WAS_RE.search(clause) and set(findings_asked(clause)) - {"slide_info"}:
        return "recall"  # "what was the segmentation of region 2?"
    if (
        _MEANS_RE.search(clause)
        or _KG_NAMED_RE.search(clause)
        or _LOOKS_ON_SLIDES_RE.search(clause)
        or _GRADE_CRITERIA_RE.search(clause)
        or _STAGING_RE.search(clause)
        or (
            _MARKER_PANEL_RE.search(clause)
            and not DEICTIC_RE.search(clause)
            and not _ASKED_OF_THIS_RE.search(clause)
        )
        or (_MARKER_USE_RE.search(clause) and not _ASKED_OF_THIS_RE.search(clause))
        or (
            _GUIDELINE_RE.search(clause)
            and not CURRENT_RE.search(clause)
            and not _POINTED_RE.search(clause)
            and not _ASKED_OF_THIS_RE.search(clause)  # "is this grade 2 under the WHO?"
        )
    ):
        return "knowledge"
    same = _SAME_ANALYSIS_RE.search(clause)
    if same is not None and not COMPARE_CUE_RE.search(clause):
        return next(k for k, v in same.groupdict().items() if v)
    if (
        _TEXTBOOK_RE.search(clause)
        and not _WHAT_LIKE_RE.search(clause)  # "what's the mitotic activity like?"
        and not CURRENT_RE.search(_TERM_IT_RE.sub(r"\1", clause))
        and not _POINTED_RE.search(clause)  # "what's the N:C ratio like in these cells"
        and not _CASE_NOUN_RE.search(clause)
        and not analysis_verb(clause)
        and not _MEETS_RE.search(clause)
    ):
        return "knowledge"
    two = len(set(region_refs(clause))) >= 2 or _TWO_RE.search(clause)
    if two and (_COMPARATIVE_RE.search(clause) or COMPARE_CUE_RE.search(clause)):
        compare = compare_from_refs(clause)
        if compare is not None:
            return "compare"
    if _COMPOSITION_RE.search(clause):  # of a region or of the whole slide
        return "composition"
    if (
        (_TISSUE_TYPE_RE.search(clause) or _EITHER_CLASS_RE.search(clause))
        and not SLIDE_WIDE_RE.search(clause)
        and not PROPORTION_RE.search(clause)  # "is it mostly tumour or stroma?": how much
    ):
        # "is this slide cancer or not?": the slide's class, not a region's
        return (
            "wsi_classify"
            if _A_SLIDE_RE.search(clause) and not names_a_place(clause)
            else "classify"
        )
    if _WHERE_TISSUE_RE.search(clause) or _HOW_MANY_PIECES_RE.search(clause):
        return "tissue"
    if parse_compare(clause) is not None:
        return "compare"
    rel = parse_relative(clause)
    analysis = _ANALYSIS_RE.search(clause)
    if rel is not None and (rel.pan or rel.factor is not None):
        return "zoom"
    if (
        rel is not None
        and (rel.part or rel.slide_centre)
        and not analysis
        and not WHERE_QUESTION_RE.match(clause)
    ):
        return "zoom"
    zoom = zoom_request(clause)
    if zoom.target in ("point", "box") and not analysis:
        return "zoom"  # "what's at 1200, 800": show the place
    verb = analysis_verb(clause)
    if verb is not None:
        return verb
    if NAV_VERB_RE.search(clause) and not analysis:
        here = zoom.target == "roi" and zoom.roi_ref == "current"
        explicit = (zoom.target != "default" and not here) or any(
            v is not None for v in (zoom.magnification, zoom.mpp, zoom.level)
        )  # "look at the vessels here" names the view on screen: no move
        if explicit:
            return "zoom"
    if zoom.mpp is not None and _SCALE_ALONE_RE.fullmatch(clause):
        return "zoom"  # "1 µm/px pls": the resolution to view at, not the scan's
    return None


def analysis_verb(clause: str) -> str | None:
    """The analysis a clause orders by its verb ("classify ROI 1", "segment the stroma")."""
    if _CLASSIFY_VERB_RE.search(clause):
        whole = SLIDE_WIDE_RE.search(clause) or (
            _A_SLIDE_RE.search(clause) and not names_a_place(clause)
        )
        return "wsi_classify" if whole else "classify"
    if SEGMENT_VERB_RE.search(clause):
        return "segment"
    if COUNT_VERB_RE.search(clause):
        return "detect"
    return None


def grammar_cues(low: str, chosen: set[str], has_view: bool) -> set[str]:
    """Capabilities the argument grammar alone makes certain: a pan, a part of the view."""
    rel = parse_relative(low)
    if rel is None or chosen & {"zoom", "detect", "segment", "classify", "compare"}:
        return set()
    if _ANALYSIS_RE.search(low) and not (rel.pan or rel.factor is not None):
        return set()  # a place named for an analysis ("classify the centre of the slide")
    if rel.pan or (rel.factor is not None and has_view):
        return {"zoom"}
    if (rel.part or rel.slide_centre) and not WHERE_QUESTION_RE.search(low):
        return {"zoom"}  # not "… is most of it in the right half?"
    return set()


def names_tissue_outline(clause: str) -> bool:
    """``clause`` asks for the tissue detector's mask or outline, not a compartment's."""
    return bool(_TISSUE_OUTLINE_RE.search(clause)) and not _COMPARTMENT_NAMED_RE.search(clause)


def names_a_place(low: str) -> bool:
    """The request names a place on the slide (a region, a point, the centre, a corner)."""
    without = re.sub(r"\b(?:whole|entire|full)\s+slide\b|\bslide[- ]level\b|\boverall\b", "", low)
    return bool(_PLACE_RE.search(without))


def class_stems(cap: Capability) -> tuple[str, ...]:
    """The stems of a capability's vocabulary that name a tissue class (not "proportion")."""
    return tuple(v for v in cap.vocabulary if v not in _GENERIC_STEMS)


_GENERIC_STEMS = frozenset({"composition", "proportion", "percentage", "classes", "background"})


_NAMED_TUMOUR_RE = re.compile(
    r"\b(?!(?:the|this|that|these|those|a|an|each|every|any|whole|main|primary|same|other|"
    r"first|second|third|last|viable|residual|invasive|solid|big|large|small|entire|of|in|"
    r"no|some|more|less|much|your)\b)[a-z]{3,}\s+tumou?rs?\b"
)
""""Wilms tumour", "phyllodes tumour": a tumour named by a kind, not "the tumour" on screen."""


def _diseases_named(clause: str) -> int:
    """How many diseases (or acronyms of one) ``clause`` names; "stroma" is tissue."""
    return len(
        {
            m.group()
            for m in _DISEASE_RE.finditer(clause)
            if m.group().upper() not in _NOT_DISEASE and m.group() not in ("stroma", "stromas")
        }
        | {m.group() for m in _NAMED_TUMOUR_RE.finditer(clause)}
    )


_EXPERTS_ASKED_RE = re.compile(
    r"\b(?:your|the|these|its)\s+(?:own\s+)?(?:models?|experts?|classifiers?|algorithms?|tools?|"
    r"networks?|detectors?|segmenters?)\b[^.?!;]*\b(?:valid|trained|suit\w*|handle|able|"
    r"limit\w*|know|recogni[sz]e|support|work|reliable|trust)|"
    r"\bwhat\s+can(?:'t|not|\s+not)?\s+you\s+(?:do|not\s+do|measure)\b|"
    r"\bwhat\s+are\s+your\s+(?:limitations|limits|capabilities)\b|"
    # "can it tell X from Y", not "can you tell me what vendor it came from"
    r"\bcan\s+(?:you|it|they|the\s+\w+)\s+(?:tell(?!\s+(?:me|us)\b)|distinguish|differentiate|"
    r"discriminate|separate)"
    r"\b[^.?!;]*\b(?:from|and|vs|versus|apart)\b|"
    # "can you detect pen or ink at all?", "can your models detect mitoses?", "are you able to
    # grade tumours?", "do you have a model for blur?"
    r"\bcan\s+(?:you|it|your\s+\w+)\b[^.?!;]*\b(?:at\s+all|in\s+general)\b|"
    r"\bcan\s+your\s+(?:models?|experts?|tools?|classifiers?|detectors?|algorithms?)\s+"
    r"(?:detect|find|identify|spot|grade|count|segment|measure|see|assess|pick\s+up|recogni[sz]e)\b|"
    r"\b(?:are|is)\s+(?:you|your\s+\w+)\s+(?:able|capable)\s+(?:to|of)\b|"
    r"\bdo\s+you\s+have\s+(?:a|an|any)\s+(?:model|expert|detector|classifier|tool)s?\s+"
    r"(?:for|that|to)\b"
)
"""A question about the models themselves: what they were trained on, can and cannot tell."""
_TWO_COMPARTMENTS_RE = re.compile(
    r"\b(?:epitheli\w*|epiderm\w*)\b[^.?!;]*\b(?:vs\.?|versus|and|to|from|or|/)\s+"
    r"(?:the\s+)?(?:strom\w*|derm(?:is|al))\b|"
    r"\b(?:strom\w*|derm(?:is|al))\b[^.?!;]*\b(?:vs\.?|versus|and|to|or|/)\s+(?:the\s+)?"
    r"(?:epitheli\w*|epiderm\w*)\b"
)
"""Epithelium set beside stroma (or epidermis beside dermis): both outlined ("the difference
between epidermis and dermis" asks the textbook: ``_DIFFERENCE_RE``)."""
_DIFFERENCE_RE = re.compile(r"\bdifferences?\s+between\b|\bhow\s+(?:do|does)\s+[\w\s]+\s+differ\b")
_YES_NO_RE = re.compile(r"\by\s*/\s*n\b|\byes\s*/\s*no\b|\byes\s+or\s+no\b|\bor\s+not\b")
_CLASS_WORD_RE = re.compile(
    r"\b(?:necro\w*|debris|tumou?rs?|cancer|carcinoma|lympho\w*|mucus|mucin\w*|fat|adipose|"
    r"muscle|stroma\w*)\b"
)
"""A tissue class the tile classifier knows, named in a yes-or-no question."""
_MOSTLY_CLASS_RE = re.compile(
    r"\s*(?:(?:so|and|ok|now)\s+)?(?:is|are)\s+(?:this|that|it|these|those|the\s+(?:view|field|region|"
    r"area|core|piece|fragment|tissue|biopsy))(?:\s+(?:core|piece|fragment|field|view|region|area|"
    r"biopsy|tissue))?\s+(?:mostly|predominantly|mainly|largely|chiefly|primarily|almost\s+all|"
    r"all|entirely|purely)\s+(?:made\s+up\s+of\s+|composed\s+of\s+)?" + _CLASS_WORD_RE.pattern
)
""""Is this core predominantly tumour?": which class takes most of it, the class shares."""
_CLASS_PROPERTY_RE = re.compile(
    r"\b(?:necro\w*|debris|tumou?rs?|cancer|carcinoma|lympho\w*|mucus|mucin\w*|fat|adipose|"
    r"muscle|stroma\w*)\s*[:,-]?\s+(?:is\s+|are\s+|looks?\s+|seems?\s+)?(?!(?:present|seen|there|visible|"
    r"identified|found|detected|involved|positive|negative)\b)[a-z-]+(?:tic|ic|ous|ive|oid|ar|al|"
    r"ed|ent|ant)\s+or\s+not\b"
)
"""A property of a class asked yes or no ("is the stroma desmoplastic or not?"): how it looks,
not whether it is there."""
_SUMMARY_RE = re.compile(
    r"\b(?:summari[sz]e|summari[sz]ing|summary|sum\s+(?:it\s+|this\s+|things\s+|everything\s+)?up|"
    r"recap|wrap\s+(?:it\s+|this\s+)?up)\b(?!\s+(?:of\s+)?(?:the\s+)?(?:literature|evidence|guidelines?))|"
    # "make me a table of the regions", "tabulate the counts of every view"
    r"\b(?:tables?|tabulate|tabular|spreadsheet)\b(?=[^?.;]*\b(?:regions?|views?|fields?|rois?|"
    r"counts|results|findings|everything|all)\b)|"
    r"\b(?:everything|all\s+(?:of\s+)?(?:it|this|that|the\s+(?:results|findings|regions|views|counts)))"
    r"\s+(?:in(?:to)?|as)\s+a\s+(?:table|spreadsheet)\b"
)
"""A summary asked for: of the case's findings, unless a disease is named."""
_VISUAL_WORD_RE = re.compile(r"\b(?:describe|looks?|see|seen|appear\w*)\b")


def names_disease(request: str) -> bool:
    """The request names a disease or a disease's acronym ("HGSC", "MSI-H")."""
    return any(m.group().upper() not in _NOT_DISEASE for m in _DISEASE_RE.finditer(request))


_AGAINST_NEIGHBOUR_RE = re.compile(
    r"\b(?:compared?\s+(?:with|to)|versus|vs\.?|than(?:\s+in)?|relative\s+to)\s+(?:the\s+|its\s+)?"
    r"(?:adjacent|surrounding|neighbou?ring|nearby|background|uninvolved|normal|non-?lesional)\b"
)
"""Set against its own surroundings in the image, not against another view."""


def can_compare(low: str) -> bool:
    """A comparison names two regions, or says compare / differ / both.

    A "versus" between two things that are not regions ("the cellular vs acellular areas") is
    no comparison, nor is the same analysis asked again here ("do the same count here that
    you did on the first one").
    """
    refs = len(set(region_refs(low))) or (2 if _WHICH_OF_TWO_RE.search(low) else 0)
    if refs < 2 and _AGAINST_NEIGHBOUR_RE.search(low):
        return False  # "… compared with the adjacent normal tube": within the view
    if refs < 2:
        # "epithelium vs stroma, the area of both", "both with numbers", "my comparison
        # field": two compartments, two analyses or a name, not two regions
        if len({m.group()[:5] for m in _COMPARTMENTS_RE.finditer(low)}) == 2:
            return False
        low = _NOT_REGIONS_RE.sub(" ", low)
    cue = COMPARE_CUE_RE.search(_VERSUS_RE.sub(" ", low))
    if not cue and _SAME_AGAIN_RE.search(low):
        return False
    two = bool(_TWO_RE.search(low) and _COMPARATIVE_RE.search(low))
    group = views_named(low) is not None and bool(_COMPARATIVE_RE.search(low))
    ranked = bool(_RANK_VIEWS_RE.search(low))  # "rank the views by nuclei"
    return bool(cue) or refs >= 2 or two or group or ranked or bool(WHICH_VIEW_MOST_RE.search(low))


RANK_VIEWS = (
    r"\b(?:rank|order|sort)\s+(?:all\s+)?(?:the\s+|our\s+|these\s+|those\s+)?(?:views|regions|"
    r"fields|rois|areas)\b"
)
"""Every view the case looked at put in order ("rank the views", "sort all the regions")."""
_RANK_VIEWS_RE = re.compile(RANK_VIEWS + r"[^?.;]*\bby\b")


_TISSUE_OUTLINE_RE = re.compile(
    r"\b(?:outline|mask|contour)s?\s+(?:of\s+)?(?:the\s+|all\s+(?:the\s+)?)?(?:tissue|fragments|"
    r"pieces|sections?)\b|\btissue\b[^?.;]*\b(?:outline|mask|contour)s?\b"
)
_COMPARTMENT_NAMED_RE = re.compile(
    r"\b(?:nucle\w*|epitheli\w*|epiderm\w*|glands?|glandular|strom\w*|cellular|cell[- ]rich)\b"
)
_EARLIER_RE = re.compile(r"\b(?:before|earlier|previous(?:ly)?|last\s+(?:one|view|region|time))\b")
_COMPARTMENTS_RE = re.compile(r"\b(?:epitheli(?:um|al)|strom(?:a|al))\b")
_NOT_REGIONS_RE = re.compile(
    r"\bboth\s+(?:with|as|in|please|numbers|compartments|masks|analyses|counts?\s+and)\b|"
    r"\bboth\s+(?:(?:mm|µm|um)(?:2|²|\^2)?|%|percent\w*|units|absolute|area\s+and)(?!\w)|"
    r"\b(?:areas?|numbers|values|masks|results)\s+of\s+both\b|"
    r"\bcomparison\s+(?:field|region|area|view|slide|case|sample|piece)\b|"
    r"\bso\s+(?:that\s+)?(?:they|we|i|you|the\s+\w+)\s+can\s+compare\b[^?.;]*"
)
"""Words of a comparison that name no second region."""
_SAME_AGAIN_RE = re.compile(
    r"\b(?:do|run|repeat|redo)\s+(?:the\s+)?same\s+(?:[\w-]+\s+){0,2}?(?:count|analysis|"
    r"segmentation|classification|detection|thing|measurement)\s+(?:here|on\s+this|for\s+this|"
    r"in\s+this)\b"
)
""""Do the same nuclear count here": the analysis again on the current view, no comparison."""
_TWO_RE = re.compile(
    r"\b(?:the|these|those)\s+(?:two|three|four)\b|\b(?:all|each)\s+(?:of\s+)?(?:the\s+|our\s+)?"
    r"(?:regions|views|fields|areas|rois)\b|\bboth\b|\beach\s+other\b|\bwhere\s+we\s+were\b|"
    r"\b(?:the\s+)?(?:one|view|place|area)\s+before\b|\bthe\s+other\s+(?:one|region|view)\b"
)
_COMPARE_WORD_RE = re.compile(
    r"\bcompar(?:e|es|ed|ing|isons?|ative|atively)\b|\bversus\b|\bvs\b|\bcontrast\w*|"
    r"\bdiffer\w*|\bside\s+by\s+side\b|\bhead\s+to\s+head\b|\bstack(?:s|ed)?\s+(?:up\b|"
    r"(?:\w+\s+){1,4}(?:up\s+)?against\b)|\bagainst\s+(?:each\s+other|one\s+another)\b|"
    r"\b(?:stands?|set|measures?|holds?|matche?s?)\s+(?:up\s+)?(?:against|to|with)\s+(?!(?:the\s+)?"
    r"(?:slide|reason|criteria|standard)\b)|"
    r"\bwhich\s+(?:of\s+(?:the|these|those|our)\s+)?(?:views?|regions?|fields?|rois?|areas?|ones?)\s+"
    r"(?:had|has|have|showed|shows|is|was|were|gave)\s+(?:the\s+)?(?:more|less|fewer|higher|lower|most|"
    r"least|highest|lowest|bigger|smaller|larger)\b"
)


_WHICH_OF_TWO_RE = re.compile(
    r"^\s*which\b[^?;]*?,?\s+(?:(?:views?|regions?|rois?|fields?)\s+)?(\d{1,2})\s+or\s+"
    r"(?:(?:view|region|roi|field)\s+)?(\d{1,2})\s*\??\s*$"
)
""""Which had more epithelium, 1 or 3?": two regions by their bare numbers."""
_COMPARE_ORDER_RE = re.compile(r"\s*(?:now\s+|ok\s+|please\s+)?(?:compare|contrast)\b")
""""Compare the counts": with no region named, the last two regions the case looked at."""


def compare_from_refs(low: str) -> CompareRequest | None:
    """The comparison the request's region references make; "the two" are the last two views."""
    refs: list[RegionRef] = list(dict.fromkeys(region_refs(low)))
    group = views_named(low)
    if not refs and group is None and WHICH_VIEW_MOST_RE.search(low):
        group = 0  # "of the views you segmented, which one had the most stroma?": every one
    if not refs and group is not None and group != 2:
        return replace(compare_of(low, ()), last=group)  # "the three views", "all the views"
    which = _WHICH_OF_TWO_RE.search(low)
    if not refs and which is not None:
        refs = [int(which.group(1)), int(which.group(2))]
    if not refs and (_TWO_RE.search(low) or _COMPARE_ORDER_RE.match(low)):
        refs = ["previous", "current"]  # "the two regions": the last two the case looked at
    if not refs:
        return None
    if len(refs) == 1:
        refs = ["current", *refs] if refs[0] != "current" else ["current", "previous"]
    return compare_of(low, tuple(refs))
