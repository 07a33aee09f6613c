"""A request's text as the planners read it: normalised, split into clauses, arguments masked.

Pathologists' shorthand is spelled out ("nuc" → nuclei, "ddx" → differential diagnosis),
contractions opened, dictated run-ons split at an analysis verb, and where-phrases (boxes,
points, tissue pieces) masked so that a clause is embedded for *what* it asks, not *where*.
Typos are fixed by edit distance towards the words of the capabilities' examples.
"""

from __future__ import annotations

import difflib
import os
import re
from typing import TYPE_CHECKING

from agent.ordinals import ORDINAL_PATTERN, ordinal_number

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["WORD_RE", "fix_typos", "mask_arguments", "names_any", "normalise", "split_clauses"]

_SPLIT_RE = re.compile(
    r"\s*(?:[;!?]+(?:\s*then\b)?|\.(?:\s+|$)|,?\s+and\s+then\s+|"
    r",?\s+and\s*,\s*(?=(?:once|when|while|having|after)\b)|,?\s+then\s+|,\s*(?:and|also|plus)\s+|"
    r"\s+and\s+(?:also\s+)?(?=(?:zoom|count|detect|segment|classify|show|measure|tell|what|how|"
    r"give|report|outline|identify|find|list|go|pan|move|compare|summari[sz]e|estimate|"
    r"quantify|delineate|mask|enumerate|label|navigate|open|look|take|describe|explain|"
    r"define|is|are|which|where|highlight|draw|colou?r|mark|run|check|calculate|assess|get|"
    r"remind|recall|did|have|was|were|re-?run|redo|repeat|why|know|answer|ask|"
    r"segment|do|does|can|could|please)\b)|,\s+(?=(?:zoom|count|detect|segment|classify|show|"
    r"measure|tell|what|how|give|report|outline|identify|find|go|pan|move|compare|"
    r"estimate|quantify|enumerate|then|highlight|draw|run|check|calculate|assess|get|jump|"
    r"head|navigate|open|take|bring|switch|return|pull|locate|map|describe|explain)\b)|"
    r",\s*(?=(?:because|as\s+that|since\s+that)\b)|"
    # "i am seeing small islands at the front but tell me what you see": the order after a remark
    r",?\s+but\s+(?=(?:tell\s+me|show\s+me|describe|give\s+me|let\s+me\s+know|"
    r"(?:can|could|would)\s+you)\b)|"
    # "20x on the 3rd piece, cells?": the analysis asked by its noun alone, after the place
    r",\s*(?=(?:cells?|nuclei|cell\s+count|nuclear\s+count|count|composition|mask)\s*[?!.]*\s*$)|"
    r",\s*(?=just\s+(?:count|zoom|describe|segment|classify|measure)\b)|"
    r",\s*(?=i(?:\s+should|\s+would|'d|\s+want|\s+need)\s+(?:like\s+)?(?:you|it)\s+to\b)|"
    r",\s*(?=(?:the\s+|my\s+)?(?:clinician|surgeon|requisition|referral|clinical\s+history|history|"
    r"oncologist|dermatologist|radiologist|gp)\s+(?:said|says|wrote|writes|states|mentions|notes|"
    r"reports?|described|describes)\b)|"
    r",\s*(?=(?:suspect|suspected|query|possible|possibly|probable|likely|clinically|hx|"
    r"history\s+of|known|r/o)\b)|"
    r"\s+and\s+(?:the\s+|a\s+)?(?=(?:composition|classification|segmentation|breakdown|"
    r"diagnosis|nuclei\s+count|cell\s+count|tissue\s+type|mpp|magnification|"
    r"tissue\s+(?:fraction|percent\w*|%|outlines?|mask))\b)|"
    r"\s+\+\s+|\s+&\s+|\s+[-–—]+\s+(?=(?:is|are|any|do|does|can|could|what|how|which|"
    r"where|then|and|now|also|count|zoom|segment|classify|show|tell|give|i|we|my|our|no|not|"
    r"don'?t|dont|without|never|but|actually|wait|sorry|skip|scrap|scratch|hmm+)\b))\s*"
)
_COLON_QUESTION_RE = re.compile(
    r"(?P<lead>(?:^|[.;!?]\s*)[^.;!?:]*?):\s+(?=(?:is|are|do|does|did|can|could|would|what|how|which|"
    r"where|why|any)\b)"
)
"""A question after a colon ("what I want is your read on these cells: do they look viable?")."""
_RUN_ON_RE = re.compile(
    r"\b((?:view|field|region|roi|area|piece|fragment|core|box)\s*#?\d+|view|field|region|area|here|"
    r"there|slide|piece|fragment|\d+x)\s+"
    r"(?=(?:count|segment|classify|outline|detect|measure(?!\s+up)|zoom)\s(?!(?:results?|outputs?|masks?|"
    r"labels?|counts?|values?|numbers?)\b|[+&,]|and\b|per\b))"
)
"""A dictated run-on ("zoom to the centre of this view count the cells"): a new order starts
at an analysis verb right after a place."""
_MOVE_RUN_ON_RE = re.compile(
    r"\b((?:pan|move|scroll|shift|nudge|go)\s+(?:left|right|up|down)(?:\s+(?:a\s+(?:bit|little|touch)|"
    r"slightly|one\s+field))?)\s+(?=(?:count|segment|classify|outline|detect|measure|describe|show|"
    r"tell|give|what|how|is|are|any)\b)"
)
"""A dictated move, then an order ("pan right count the nuclei there")."""
_THEN_ASKED_RE = re.compile(
    r"\s+(?:and\s+if\s+so|and\s+if\s+(?:there\s+is|it\s+is|yes)|also)\s*,?\s+"
    r"(?=(?:what|how|which|is|are|does|do|can|could|would)\b)"
)
"""A second question dictated without a stop ("is there fat here and if so is the tumour
pushing into it", "is tumour at ink also what pT is a 4.5 cm tumour")."""
_SCALE_RUN_ON_RE = re.compile(
    r"\b(\d+(?:\.\d+)?x)\s+(?=(?:what|which|describe|tell|how|is|are|any|does|do|count|segment|"
    r"classify|show|give|outline)\b)"
)
"""A scale, then a question or an order ("zoom out 2x what does the tile classifier say")."""
_FACT_AND_RE = re.compile(
    r"^((?:the\s+)?(?:mpp|magnification|resolution|objective|dimensions|scanner|vendor))\s+"
    r"(?:and|&|\+|,)\s+"
)
""""mpp and tissue % please": a bare slide fact, then another request."""
_PURPOSE_SPLIT_RE = re.compile(
    r"(?<=\w)\s+(?=so\s+(?:that\s+)?(?:i|we)\s+(?:can|could|may|might)\b)"
)
""""segment the nests so I can see how much is tumour": the purpose is a clause of its own."""
_WHERE_SEEN_SPLIT_RE = re.compile(
    r",\s+(?=where\s+(?:the|these|those|it|they)\b[^,;?]*?\b(?:looks?|seems?|appears?)\b)"
)
""""the right half at 20x, please, where the stroma looks infiltrated to me": why there."""
_SLIDE_CALL_SPLIT_RE = re.compile(
    r"(?<=\w)\s+(?=(?:and|&|\+|plus)\s+(?:also\s+)?(?:the|its|a|an|your)\s+(?:(?:slide[\s-]+level|"
    r"whole[\s-]+slide|wsi)\s+(?:score|call|label|classification|prediction|probability|"
    r"diagnosis)|attention\s+(?:heat\s*)?map|heat\s*-?map)\b)"
)
""""the class map for the whole slide and the slide level score": the slide classifier's
output, asked beside another request."""
WORD_RE = re.compile(r"[a-zA-Zµ]+")
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
    re.compile(
        r"\b(?:the\s+)?(?:second|third|fourth|fifth|sixth|\d+(?:st|nd|rd|th))\s+(?:(?:largest|"
        r"biggest)\s+)?(?:(?:tissue\s+)?(?:piece|fragment|core|chip)s?(?:\s+of\s+tissue)?|"
        r"(?:piece|bit)\s+of\s+tissue)\b"
    ),
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
        "nudge",
        "scoot",
        "inked",
        "overcall",
        "suction",
        "malignancy",
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
    "wpoi": "worst pattern of invasion",
    "glom": "glomerulus",
    "gloms": "glomeruli",
    "doi": "depth of invasion",
    "ete": "extrathyroidal extension",
    "ene": "extranodal extension",
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
    "dims": "dimensions",
    "fov": "field",
    "fovs": "fields",
    "n:c": "nuclear to cytoplasmic",
    "tils": "tumour infiltrating lymphocytes",
    "til": "tumour infiltrating lymphocytes",
    "fmt": "format",
    "lvl": "level",
    "histo": "histological",
    "coords": "coordinates",
    "classificator": "classifier",
    "ovrvw": "overview",
    "ovw": "overview",
    "übersicht": "overview",
    "uebersicht": "overview",
    "preparate": "slide",
    "lvls": "levels",
    # Spanish words in an English request ("cuántos núcleos there are in el campo?")
    "cuántos": "how many",
    "cuantos": "how many",
    "núcleos": "nuclei",
    "nucleos": "nuclei",
    "laminilla": "slide",
    "el campo": "the field",
    "en el centro": "in the centre",
    "el centro": "the centre",
    "pieza": "piece",
    "epitelio": "epithelium",
    "estroma": "stroma",
    "linfocitos": "lymphocytes",
    "zoom más": "zoom in more",
    "más": "more",
    "por favor": "please",
    "goto": "go to",
    "pyr": "pyramid",
    "brst": "breast",
    "tum": "tumour",
    "str": "stroma",
    "cnt": "count",
    "cts": "counts",
    "dens": "density",
    "irreg": "irregular",
    "bk": "back",
    "neuts": "neutrophils",
    "neut": "neutrophil",
    "polys": "neutrophils",
    "eos": "eosinophils",
    "n/c": "nuclear to cytoplasmic",
    "adenoca": "adenocarcinoma",
    "u": "you",
    "ur": "your",
    "say me": "tell me",
    "cmp": "compare",
    "det": "detect",
    "clf": "classify",
    "musc": "muscle",
    "epith": "epithelium",
    "recount": "count again",
    "pred": "prediction",
    "defn": "definition",
    "stas": "spread through air spaces",
    "mvp": "microvascular proliferation",
    "defs": "definitions",
    "preds": "predictions",
    "comp": "composition",
    "clfr": "classifier",
    "strom": "stroma",
    "epi": "epithelium",
    "mits": "mitoses",
    "lymphs": "lymphocytes",
    "aggs": "aggregates",
    "archt": "architecture",
    "mets": "metastases",
    "hpfs": "high power fields",
    "pleo": "pleomorphism",
    "new clyde": "nuclei",
    "new clay": "nuclei",
    "new clydes": "nuclei",
    "wat": "what",
    "wut": "what",
    "nuc grade": "nuclear grade",
    "pan write": "pan right",
    "sell count": "cell count",
    "sell counts": "cell counts",
    "seg meant": "segment",
    "my toes ease": "mitoses",
    "mew sin": "mucin",
    "mu sin": "mucin",
    "new sin": "mucin",
    "stroke ma": "stroma",
    "necro sis": "necrosis",
    "lim foe sites": "lymphocytes",
    # short words typed in a hurry (the typo fixer leaves words under five letters alone)
    "teh": "the",
    "hte": "the",
    "thsi": "this",
    "tihs": "this",
    "taht": "that",
    "waht": "what",
    "whta": "what",
    "adn": "and",
}
_BULLET_RE = re.compile(r"\s*\n\s*(?:[-*•]\s+)?|^\s*[-*•]\s+")
"""Lines of a note, each one a clause ("- nuc count\n- mitotic figs seen?")."""
_UNITS_PLUS_RE = re.compile(
    r"(mm²|mm2|µm²|um2|%|area|percent\w*|density|count)\s*\+\s*(mm²|mm2|µm²|um2|%|area|percent\w*|"
    r"density|count)(?!\s*(?:of\s+)?(?:tumou?r|stroma|necro\w*|muc\w*|fat|lymph\w*|debris|muscle|"
    r"epitheli\w*|normal|mucosa|adipose)\b)"
)
"""Two units of one figure ("mm² + %"): one clause, not two; "count + % tumour" asks two."""
_STEP_OUT_RE = re.compile(r"\b(?:step|pull|back|go)\s+(out|in)\b(?=\s+(?:by\s+)?\d|\s*$|\s*[,;.])")
"""A note's "step out 2x", "go in 2x": a zoom."""
_DEEPER_RE = re.compile(r"\bgo\s+(\d+(?:\.\d+)?\s*x)\s+(?:deeper|closer|further)(?:\s+in)?\b")
""""go 2x deeper in": closer by that factor."""
_FACTOR_SAID_RE = re.compile(
    r"\bzoom\s+(in|out)\s*,?\s+(?:by\s+)?(?:a\s+)?factor\s+(?:of\s+)?(\d+(?:\.\d+)?)\b"
)
""""make zoom out, factor 2": out by that factor."""
_LR_RE = re.compile(
    r"\b(pan|move|shift|nudge|scroll|go|step)\s+([lr]t?)\b(?!\s*\d)|(?<![\w.])([lr]t?)\s+(half|side)\b"
)
""""shift L a bit", "r half of view", "pan rt": left and right by their letters."""
_AT_SIGN_RE = re.compile(r"\s*@\s*(?=\d)")
""""zoom 12000,8000 @20x": at."""
_CORNER_ARROW_RE = re.compile(r"(?<=\d)\s*(?:->|→|=>)\s*(?=\(?\s*\d)")
"""An arrow between two corners ("box 12000,8000 -> 14048,10048"): from one to the other."""
_DOUBLE_AMP_RE = re.compile(r"\s*&&\s*")
"""A shell's "&&" between two asks ("goto bbox=(…) && count nuclei there"): the next one."""
_ARROW_RE = re.compile(r"\s*(?:->|→|=>)\s*")
"""A note's arrow ("step out 2x -> recount nuc"): the next step."""
_LIST_MARK_RE = re.compile(r"(?:^|(?<=\s))(?<![,(]\s)(?:\d|[a-f])\)\s+")
"""A numbered or lettered list in a note ("1) count 2) compare with v1", "a) describe b) count"):
one clause per item. Not the second number of a pair ("(0, 0) to (448, 224)")."""
_MAKE_ZOOM_RE = re.compile(r"\bmake\s+(?:a\s+)?zoom\b")
""""make zoom in the center": a zoom said as in Spanish or Portuguese ("hacer zoom")."""
_ZOOM_IN_THE_RE = re.compile(
    r"\bzoom\s+in\s+(?=the\s+(?:cent(?:er|re)|middle|top|bottom|left|right|upper|lower)\b)"
)
""""zoom in the center": on the centre."""
_FOR_THE_SIDE_RE = re.compile(
    r"\b(go|move|pan|walk|shift|slide)(\s+(?:a\s+)?(?:little|bit|touch|tad)(?:\s+bit)?)?\s+for\s+the\s+"
    r"(left|right|top|bottom)\b"
)
""""go a little for the right": to the right."""
_NUMBER_OF_RE = re.compile(
    r"(?<![\w'])n\s+(?=(?:fragments|pieces|levels|pyramid\s+levels|nuclei|cells|regions|views|tiles|"
    r"cores|objects|components|classes|detections)\b)"
)
""""n fragments", "n pyramid levels": a programmer's "the number of"."""
_BARE_TIMES_RE = re.compile(r"^\s*(?:(?:and|then|now|ok|okay)\s+)?[x×]\s?([2-8])\s*[.!]?\s*$")
""""x2" said alone: closer by that factor, as "zoom in x2" is; "at x40" stays a magnification."""
_ALL_SLIDE_RE = re.compile(r"\b(for|on|in|of|over|across)\s+all\s+(?:the\s+)?slide\b")
""""and for all slide?": the whole slide, as a second language puts it."""
_TEXTED_AND_RE = re.compile(r"(?<=[a-z]) n (?=[a-z])")
""""zoom in n tell me what it is": a texted "and"."""
_QUERY_MARK_RE = re.compile(r"(?:(?<=[\s,(])|^)\?(?=[a-z])")
"""A clinician's "?metastatic colorectal" on a form: a query, not a question mark."""
_SHORTHAND_RE = re.compile(
    r"(?<![\w/])("
    + "|".join(map(re.escape, sorted(_SHORTHAND, key=len, reverse=True)))
    + r")(?![\w/])"
)  # the longest first: "nuc grade" before "nuc"
_TERMS = "|".join(
    re.escape(k) for k in sorted(_SHORTHAND, key=len, reverse=True) if k.isalpha() and len(k) >= 3
)
_SLASHED_SHORTHAND_RE = re.compile(rf"\b({_TERMS})/(?=(?:{_TERMS})\b)")
"""The slash between two shorthand terms ("pni/lvi", "stas/lvi")."""
_CONTRACTIONS = {"'s": " is", "'re": " are", "'m": " am", "'ve": " have", "'ll": " will"}
_CONTRACTION_RE = re.compile(
    r"\b(what|where|how|who|which|it|that|there|here|we|you|i|they)('s|'re|'m|'ve|'ll)\b"
)
_STARTED_RE = re.compile(
    r"\b(?:where\s+|the\s+(?:place|view|spot)\s+(?:where\s+)?)we\s+"
    r"(?:started|began|first\s+looked)\b|"
    r"\bthe\s+(?:very\s+)?(?:start|beginning|starting\s+(?:point|view))\b|"
    # "the first gastric piece we looked at": the case's first view, named by what it showed
    r"\bthe\s+(?:very\s+)?first\s+(?:[\w-]+\s+){0,2}?(?:piece|core|fragment|field|area|spot|region|"
    r"view|one|place|bit)\s+(?:that\s+)?(?:we|i|you)\s+(?:looked\s+at|opened|saw|visited|went\s+to|"
    r"zoomed\s+(?:in\s+)?(?:in|on|to|into)|examined|checked|viewed)\b"
)
""""Where we started": the case's first view."""
_R_NUMBER_RE = re.compile(r"\b(?:r|roi|v|view)(\d{1,3})\b")
_COMPARED_NUMBER_RE = re.compile(
    r"\b(compar\w*\s+(?:it\s+|this\s+|that\s+|them\s+)?(?:with|to|against|vs\.?)\s+)(\d{1,2})"
    r"(?![\d.,]|\s*(?:x\b|%|px|µm|um|mm|times|fold|pixels?|microns?))"
)
""""compare with 1": a view named by its number alone."""


_GLUED = {
    "whats": "what is",
    "thats": "that is",
    "theres": "there is",
    "hows": "how is",
    "theyre": "they are",
}
_GLUED_RE = re.compile(rf"\b({'|'.join(_GLUED)})\b")
_GLUED_PIECE_RE = re.compile(r"\b(frag(?:ment)?|piece|core|view|roi|region)(\d{1,2})\b")
""""frag3 20x": a piece and its number typed as one word."""
_PERCENT_GLUED_RE = re.compile(r"(?:(?<=[\s(])|^)%(?=[a-z])")
""""%tum whole slide": the share of a class, its percent sign typed against the word."""
_QUADRANT_RE = re.compile(r"\b([tb])([lr])\s+quad(?:rant)?\b")
""""tl quad": the top-left quadrant."""
_COUNT_SHORT_RE = re.compile(r"\bct\s+(?=(?:the\s+)?(?:cells|nuclei|nucs?)\b)")
""""ct cells too": a count."""
""""whats the mpp": a contraction typed without its apostrophe."""
_THOUSANDS_RE = re.compile(r"\b([xy]\s*[=:]?\s*)(\d{1,3}),(\d{3})\b(?!,\d)")
""""x 42,000, y 18,500": a labelled coordinate written with a thousands separator."""
_THOUSANDS_PAIR_RE = re.compile(r"(?<![\d,.])(\d{1,3}),(\d{3})\s*,\s+(\d{1,3}),(\d{3})\b(?!,\d)")
""""centre on 52,000, 38,500": a point written with thousands separators."""
_THOUSANDS_SIZE_RE = re.compile(
    r"(?<![\d,.])(\d{1,3}),(\d{3})\s*(x|by)\s*(\d{1,3}),(\d{3})\b(?!,\d)"
)
""""a field of 2,000 by 2,000 pixels": a size written with thousands separators."""
_GO_TO = (
    r"(?<!go\sto\s)(?<!move\sto\s)(?<!jump\sto\s)(?<!zoom\sto\s)(?<!head\sto\s)(?<!me\sto\s)"
    r"(?<!navigate\sto\s)(?<!pan\sto\s)"
)
"""Not after "go to", "take me to": there "800,800" is a point, not eight hundred thousand."""
_SLASHED_PAIR_RE = re.compile(r"(?<![\d.,/])(\d{1,3}),(\d{3})\s*/\s*(\d{1,3}),(\d{3})(?![\d,/])")
""""from 12,000/8,000 to 16,000/12,000": x and y of a corner, written with a slash."""
_THOUSANDS_RANGE_RE = re.compile(
    rf"(?<![\d,.])(?<!\bon\s)(?<!\bat\s)(?<!\()(?<!around\s){_GO_TO}"
    r"(\d{1,3}),(\d{3})\b(?!,\d)(?=\s*(?:to|-|–|across|down|wide|high|px)\b|(?<=to\s\d)|$)|"
    rf"(?<=\bto\s){_GO_TO}(\d{{1,3}}),(\d{{3}})\b(?!,\d)"
)
""""from 70,000 to 76,000 across": the ends of a range written with thousands separators."""
_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = (
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_NUMBER_WORDS = {
    **{w: v for v, w in enumerate(_UNITS)},
    **{w: 10 + v for v, w in enumerate(_TEENS)},
    **{w: 20 + 10 * v for v, w in enumerate(_TENS)},
}
_WORDS = "|".join(_NUMBER_WORDS)
_SPOKEN_RE = re.compile(
    rf"\b(?:{_WORDS}|hundred|thousand)(?:(?:\s+|-|\s+and\s+(?={_WORDS}))"
    rf"(?:{_WORDS}|hundred|thousand|point))*\b"
)
"""A run of number words as dictated ("twenty thousand", "zero point five", "forty-two")."""
_RANKED_THEN_THERE_RE = re.compile(
    r"(\b(?:which|what)\s+(?:one\s+)?is\s+(?:the\s+)?((?:second\s+|third\s+)?(?:biggest|largest|"
    r"smallest))\b(?:\s+(?:one|fragment|piece|core))?\s*(?:[.?!;]\s*|,?\s*(?:and|then)\s+)"
    r"(?:(?:and|then|please|pls|now|ok)\s+)*(?:(?:take|bring)\s+me\s+(?:to|into)|go\s+(?:to|into)|open|"
    r"show\s+me|zoom\s+(?:in\s+)?(?:to|into|on)))\s+(?:that\s+one|that|it|there)\b"
)
"""A place asked and then gone to ("which is the biggest? take me to that one"): the ranked
fragment named again where "that one" stands."""
_DICTATED_MARK = {"comma": ",", "period": ".", "full stop": ".", "question mark": "?"}
_DICTATED_MARK_RE = re.compile(
    r"(?<=[a-z0-9])\s+(comma|period|full\s+stop|question\s+mark)(?=\s|$)(?!\s+(?:of|in|for)\b)"
)
"""Punctuation dictated as a word and left in by speech-to-text ("forty thousand comma thirty
thousand", "is there fat here period")."""
_DICTATED_WORD = {"sells": "cells", "hear": "here"}
_DICTATED_WORD_RE = re.compile(
    r"(?<!\bi\s)(?<!\bwe\s)(?<!\byou\s)(?<!\bto\s)(?<!\bcan\s)(?<!\bdid\s)(?<!\bthey\s)"
    r"\b(sells|hear)\b(?!\s+(?:that|about|from|of|back|me|you|it)\b)"
)
"""A dictated homophone ("count the sells hear"): a verb after a person is kept ("did you
hear")."""
_COUNTED_RE = re.compile(
    rf"\b((?:views?|regions?|rois?|fields?|pieces?|fragments?|cores?|levels?|tissue)\s+"
    rf"(?:#|number\s+|no\.?\s+)?)({_WORDS}|\d+)\b"
)
""""view one versus view two": a numbered region dictated as a word."""
_HOMOPHONE = {"to": "2", "too": "2", "for": "4", "won": "1", "ate": "8"}
_HOMOPHONE_RE = re.compile(
    r"\b((?:view|region|piece|fragment|core)\s+)(to|too|for|won|ate)"
    r"(?=\s*(?:$|[,.;:?!]|(?:and|or|vs|versus|with|please|again)\b))"
)
""""compare view to and view for": a dictated number heard as another word, at a clause end."""
_PAIR_RE = re.compile(
    rf"\b({'|'.join(_UNITS[1:])})\s+(and|vs|versus|with)\s+({'|'.join(_UNITS[1:])})\b"
)
""""compare one and three": two numbered views dictated as words."""
_BARE_PAIR_RE = re.compile(
    r"(?:^|(?<=\s))(?:(\w+)\s+)?(\d{1,2}(?:\s*,\s*\d{1,2}|\s+(?:vs|versus)\s+\d{1,2})*)\s*,?\s+"
    r"(and|vs|versus|with|to)\s+(\d{1,2})\b"
    r"(?![.,]\d)(?!\s*(?:x|px|%|µm|um|mm|mpp|pixels?|hpf|cells?|nuclei)\b(?!\s+count))"
)
_NOUN_BEFORE = re.compile(
    r"views?|regions?|rois?|fields?|pieces?|fragments?|levels?|tissue|\d+|"
    # "tubule score 1 vs 2 vs 3", "grade 2 or 3": a grading scale's values, not views
    r"scores?|grades?|patterns?|stages?|types?|tiers?|groups?|class(?:es)?|categor(?:y|ies)|"
    r"steps?|points?"
)


def _bare_pair(m: re.Match[str]) -> str:
    before = m.group(1)
    if before and _NOUN_BEFORE.fullmatch(before):
        return m.group()
    lead = f"{before} " if before else ""
    listed = re.sub(r"\d+", lambda n: f"view {n.group()}", m.group(2))
    return f"{lead}{listed} {m.group(3)} view {m.group(4)}"


_COMPARING_RE = re.compile(r"\b(?:compar\w*|versus|vs|differ\w*|between|side\s+by\s+side)\b")
"""In a comparison, "2 and 4" are two views ("how do the labels for 2 and 4 differ")."""
_CORRECTION = (
    r"\s*[,;:–—-]?\s*(?:(?:no\s+wait|no\s+sorry|sorry|i\s+mean|i\s+meant|no|wait|oops|scratch\s+that|"
    r"correction|make\s+that|actually|er+|or\s+rather|rather)\s*[,;:–—-]?\s*)+(?<=\s)"
)
_CORRECTED_REF_RE = re.compile(
    rf"\b(view|region|roi|piece|fragment|field)(s?)\s+#?\d+{_CORRECTION}"
    rf"(?:(?:\1\2?\s+#?(\d+))|(?:the\s+)?({ORDINAL_PATTERN})(?:\s+one)?|(\d+)(?!\s*(?:x|mpp|µm|um|%|px)\b))\b"
)
_CORRECTED_PAIR_RE = re.compile(
    rf"\bviews?\s+\d+\s+(?:and|vs|versus|with)\s+(?:view\s+)?\d+{_CORRECTION}"
    r"(views?\s+\d+\s+(?:and|vs|versus|with)\s+(?:view\s+)?\d+)"
)
_SCALE_UNIT = r"(?:x|mpp|µm/px|um/px)"
_CORRECTED_MAG_RE = re.compile(
    rf"\b\d+(?:\.\d+)?\s*({_SCALE_UNIT}){_CORRECTION}(\d+(?:\.\d+)?)(\s*{_SCALE_UNIT})?\b"
    rf"|\b\d+(?:\.\d+)?{_CORRECTION}(\d+(?:\.\d+)?\s*{_SCALE_UNIT})"
)
_PART = (
    r"(?:top|bottom|upper|lower)[\s-]*(?:left|right)|(?:left|right|top|bottom|upper|lower)\s+half|"
    r"cent(?:er|re)"
)
_CORRECTED_PART_RE = re.compile(
    rf"\b(?:{_PART})(\s+of\s+the\s+\w+)?{_CORRECTION}((?:the\s+)?(?:{_PART}))\b"
)
_CORRECTED_POINT_RE = re.compile(
    rf"\b\d{{3,7}}\s*,\s*\d{{3,7}}{_CORRECTION}(\d{{3,7}}\s*,\s*\d{{3,7}})(?:\s*[,;:–—-]\s*)?"
)
""""piece 3 no wait the second one", "20x sorry 40x": a dictated correction; the last word wins."""


def _corrected_ref(m: re.Match[str]) -> str:
    number = m.group(3) or m.group(5) or str(ordinal_number(m.group(4)))
    return f"{m.group(1)} {number}"


def _corrected_scale(m: re.Match[str]) -> str:
    """A scale corrected: "20x sorry 40x" is 40x; "0.25 mpp, sorry, 0.5" is 0.5 mpp."""
    if m.group(4):
        return m.group(4)
    unit = m.group(3) or m.group(1)
    return f"{m.group(2)}{unit}" if unit == "x" else f"{m.group(2)} {unit.strip()}"


_CORRECTING_LEAD_RE = re.compile(
    r"(^|[.;!?]\s+)(actually|no\s+wait|wait|instead|make\s+that)\s*,\s*"
)
""""Pan up. Actually, pan left": the correcting word stays with the order it corrects."""
_RETRACTED_RE = re.compile(
    r"(?:^|(?<=[.;?!]\s))[^.;?!]*?\s*[,;:–—-]*\s*\b(?:actually\s*,?\s*(?:no|scratch\s+that|forget\s+"
    r"(?:that|it)|cancel\s+that)|scratch\s+that|forget\s+that|on\s+second\s+thoughts?)\b\s*[,;:–—-]*\s*"
)
""""count nuclei — actually scratch that, segment the epithelium": what was taken back is gone."""


_FILLER_RE = re.compile(
    r"(?<![\d.]\s)(?<![\d.])\b(?:um+|uh+m?|erm+|hmm+)\b(?!\s*(?:/|per\b|²|2\b|\^))(?![\s-]*x\s*\d),?\s*"
)
"""Dictation fillers ("center on um 8500 12000"); "er" is left: it is the oestrogen receptor."""
_X_MAG_RE = re.compile(r"\bx\s?(2|4|5|10|20|40|60|80)\b(?!\s*[=:]|\s*,?\s*(?:and\s+)?y\b)")
""""at x40": a magnification written after its sign."""
_TIMES_RE = re.compile(rf"\b({_WORDS})\s*(?:x|times)\b(?!\s*\d)")
""""at forty x": a magnification dictated as a word."""
_TIMES_AFTER_RE = re.compile(rf"\b(?:x|times)\s+({_WORDS})\b")
""""zoom in times two", "x four": the factor said after its sign."""


def _number(words: list[str]) -> list[str]:
    """Dictated number words as digits ("twenty one thousand" → 21000).

    A run holding two numbers gives two ("five thousand five thousand" → 5000 5000); "point"
    starts decimal digits ("zero point five" → 0.5).
    """
    out: list[str] = []
    total = current = 0
    last = ""
    decimals: str | None = None
    started = False

    def close() -> None:
        nonlocal total, current, last, decimals, started
        if started:
            value = str(total + current)
            out.append(value + ("." + decimals if decimals else ""))
        total = current = 0
        last = ""
        decimals = None
        started = False

    starts = _thousands_starts(words)
    for k, word in enumerate(words):
        if word == "point":
            if not started or decimals is not None:
                close()
                out.append("point")
                continue
            decimals = ""
            last = "point"
            continue
        if decimals is not None:
            if word in _UNITS:
                decimals += str(_NUMBER_WORDS[word])
                continue
            close()
        if word == "thousand":
            if not started or total:
                close()
                out.append(word)
                continue
            total, current, last = (current or 1) * 1000, 0, "thousand"
            continue
        if word == "hundred":
            if not started or last not in ("unit", "teen", "tens") or current >= 100:
                close()
                out.append(word)
                continue
            current, last = current * 100, "hundred"
            continue
        kind = "unit" if word in _UNITS else "teen" if word in _TEENS else "tens"
        clash = (
            (kind == "unit" and last in ("unit", "teen"))
            or (kind in ("teen", "tens") and last in ("unit", "teen", "tens"))
            or (total and k in starts)
        )
        if clash:
            close()
        current += _NUMBER_WORDS[word]
        last = kind
        started = True
    close()
    return out


def _thousands_starts(words: list[str]) -> set[int]:
    """Where the multiplier of each "thousand" begins: the under-100 words just before it.

    "eight thousand five hundred twelve thousand" is 8500 then 12000: the second "thousand"
    takes "twelve" only.
    """
    starts = set()
    for k, word in enumerate(words):
        if word != "thousand" or k == 0:
            continue
        j = k - 1
        if words[j] in _UNITS and j > 0 and words[j - 1] in _TENS:
            j -= 1  # "twenty one thousand"
        if words[j] in _NUMBER_WORDS:
            starts.add(j)
    return starts


def _counted(m: re.Match[str]) -> str:
    """A numbered piece as dictated: "fragment number three" → "fragment 3"."""
    said, number = m.group(1), m.group(2)
    said = re.sub(r"\s+(?:number|no\.?)\s+$", " ", said)
    return said + str(_NUMBER_WORDS.get(number, number))


def _spoken(m: re.Match[str]) -> str:
    words = [w for w in re.split(r"[\s-]+", m.group()) if w and w != "and"]
    if len(words) < 2 or all(w in _UNITS for w in words):
        return m.group()  # "one" alone is a pronoun; "two three" is not read as a number
    return " ".join(_number(words))


_TO_POWER = r"(?:(?<=\bto\s)|(?<=\binto\s)|(?<=\bgo\s)|(?<=\buse\s)|(?<=^)|(?<=[,;.]\s))"
_POWER_AS_PLACE = (
    r"\b(?![\s-]+fields?\b)(?=\s+(?:on|of|over|view|please|pls|again)\b|\s*[?.!]?\s*$)"
)
"""An objective's power said as where to go ("go to high power", "high power on the glands"),
not a remark made at it ("deceptive at low power")."""
_PHRASES = (
    (re.compile(r"\b(nucle(?:i|ar)|cells?)\s+ct\b"), r"\1 count"),  # "nuc ct"
    (re.compile(r"\bhi\s+or\s+lo\b"), "high or low"),
    (re.compile(r"\b(is|are)\s+their\b"), r"\1 there"),  # "is their tumor in this"
    (re.compile(r"\bprops\s+of\b"), "proportions of"),
    (re.compile(r"\bwhat\s+(?:even|exactly|actually)\s+(is|are)\b"), r"what \1"),
    # "…, remind me": the reminder said last, read first
    (
        re.compile(
            r"^([^;?]{8,}?)\s*[,-]\s*remind\s+me(?:\s+again|\s+please|\s+pls)?\s*([?.!]*)\s*$"
        ),
        r"remind me \1\2",
    ),
    # "sorry, dumb question, but what is …": the apology asks nothing, the question after it does
    (
        re.compile(
            r"^(?:(?:ok|okay|so|hmm+|ah|oh)\s*,?\s+)*(?:sorry|apologies|forgive\s+me)\s*,?\s*"
            r"(?:(?:if\s+)?(?:this\s+is\s+|it'?s\s+)?(?:a\s+)?(?:dumb|stupid|silly|basic|naive|newbie|"
            r"quick|daft|obvious)\s+(?:question|q|one)\s*,?\s*)?(?:but|-)\s+"
        ),
        "",
    ),
    # "SRCC def", "def of PNI?": a definition; "def not", "def looks": definitely
    (re.compile(r"\bdef\b(?=\s*(?:$|[?(;,.]|of\b|for\b|and\b|\+|pls\b|please\b))"), "definition"),
    (re.compile(r"\b(\d{1,2})\s+v\s+(?=\d{1,2}\b)"), r"\1 vs "),  # "1 v 2 v 3"
    # "what does 'cytological atypia' actually mean?": a term quoted, a definition asked
    (re.compile(r"(?<![a-z0-9])['\"]([a-z][a-z0-9\s/-]{1,40}?)['\"](?![a-z0-9])"), r"\1"),
    (re.compile(r"\s+(?:actually|really|exactly)\s+(?=mean\b|means\b|stand\s+for\b)"), " "),
    # "could you remind the room how …": a reminder asked for others in the room
    (
        re.compile(
            r"\bremind\s+(?:the\s+(?:room|group|class|team|residents|registrars|trainees|students)|"
            r"us(?:\s+all)?|everyone|everybody|them)\b"
        ),
        "remind me",
    ),
    (re.compile(r"\bwhat\s+all\s+(is|are)\b"), "what are"),
    # a surgeon's words: "nerve involvement?", "any dead tissue", "did you get it all?"
    (re.compile(r"\bnerves?\s+(?:involvement|invasion|infiltration)\b"), "perineural invasion"),
    (re.compile(r"\bdead\s+tissue\b"), "necrosis"),
    (
        re.compile(
            r"\b(?:did|have)\s+(?:you|we|they|the\s+surgeons?)\s+(?:get|got|take|taken)\s+it\s+all\b"
        ),
        "are the margins clear",
    ),
    (
        re.compile(r"\b(?:are\s+)?the\s+edges\s+(clear|free|clean|involved|ok)\b"),
        r"are the margins \1",
    ),
    # "while you are at it, remind me …": another thing asked
    (
        re.compile(r"\bwhile\s+you(?:'re|\s+are)\s+at\s+it\s*,?\s*"),
        "also ",
    ),  # "what all is WPOI 1 to 5"
    # "chuck the whole slide up for me": the slide shown, not moved up
    (
        re.compile(
            r"\b(?:(?:chuck|throw|pop|stick|put|pull|bring|get)\s+)?(?:the\s+|that\s+|this\s+)?(whole|full|"
            r"entire)\s+slide\s+(?:back\s+)?up\b"
        ),
        r"show the \1 slide",
    ),
    # "… and tell me are these clear cells": the question after "tell me" is what is asked
    (
        re.compile(
            r"\btell\s+me\s+(?=(?:are|is|was|were|does|do|did|has|have|can|could|would|should)\s+"
            r"(?:these|those|this|that|there|it|they|the)\b)"
        ),
        "",
    ),
    (
        re.compile(
            r"\b(second|third|fourth|fifth|\d+(?:st|nd|rd|th))-(largest|biggest|smallest)\b"
        ),
        r"\1 \2",
    ),
    # "the piece more big", "the second more big one": the biggest, said in Spanish order
    (
        re.compile(r"\b(piece|fragment|core|bit|part|one)\s+(?:more|most)\s+(?:big|large)\b"),
        r"biggest \1",
    ),
    (re.compile(r"\b(?:more|most)\s+big\b"), "biggest"),
    # "the largest of the cores": the largest one
    (
        re.compile(
            r"\b(largest|biggest|smallest)\s+of\s+(?:the|these|those|all\s+the)\s+(?:tissue\s+)?"
            r"(piece|fragment|core|bit|chunk|island|part)s\b"
        ),
        r"\1 \2",
    ),
    # "zoom in more, like 2x": in by that factor
    (
        re.compile(
            r"\b(zoom\s+(?:in|out))\s+(?:a\s+(?:bit|little|touch)\s+|some\s+)?more\s*,?\s+"
            r"(?:like|say|maybe|about|around|roughly|perhaps)\s+(?=\d+(?:\.\d+)?\s*x\b)"
        ),
        r"\1 ",
    ),
    # "can I see the whole thing": the slide; "high power on the glands": the objective's power
    (re.compile(r"\b(?:the\s+)?(?:whole|entire)\s+thing\b"), "the whole slide"),
    (re.compile(rf"{_TO_POWER}high[\s-]power{_POWER_AS_PLACE}"), "40x"),
    (re.compile(rf"{_TO_POWER}(?:medium|intermediate)[\s-]power{_POWER_AS_PLACE}"), "10x"),
    (re.compile(rf"{_TO_POWER}low[\s-]power{_POWER_AS_PLACE}"), "5x"),
)
"""Shorthand that is only shorthand beside other words."""


def _side_letter(m: re.Match[str]) -> str:
    side = {"l": "left", "r": "right", "lt": "left", "rt": "right"}
    if m.group(1):
        return f"{m.group(1)} {side[m.group(2)]}"
    return f"{side[m.group(3)]} {m.group(4)}"


_TO_SOMEONE_ELSE_RE = re.compile(
    r"(?:^|(?<=[.?!;]\s))(?!(?:co-?pilot|assistant|smartpath|computer|ai|ok|okay|right|so|now|"
    r"well|yes|no|sorry|thanks|please|also|then|next|first|second|third|finally|lastly|great|"
    r"good|fine|hmm|actually|again|here|there|this|that|quick|briefly|overall|alright|cool|"
    r"perfect|anyway|meanwhile|and|but|or|if|otherwise|similarly|however|honestly|stroma|"
    r"necrosis|nuclei|tumou?r|epithelium|mucus|mucin|fat|glands?|cells|tissue|views?|regions?|"
    r"fields?|slide|pieces?|fragments?|mitoses|lymphocytes|muscle|debris)\b)"
    r"[a-z]{3,12},\s+[^.?!;]*(?:[.?!;]|$)"
)
_ADDRESSES_CO_PILOT_RE = re.compile(r"\bco-?pilot\s*,")


def without_words_to_others(low: str) -> str:
    """``low`` without the sentences it addresses by name to someone other than the co-pilot.

    "Aisha, count the mitoses in ten HPFs. Co-pilot, meanwhile count all nuclei here": at a
    multi-header scope only what is asked of the co-pilot is its to do. Only where the request
    names the co-pilot as the one it asks; a lone "Stroma, how much?" keeps its words.
    """
    kept = _TO_SOMEONE_ELSE_RE.sub(" ", low) if _ADDRESSES_CO_PILOT_RE.search(low) else low
    turn = _CO_PILOT_TURNED_TO_RE.search(kept)
    if turn is not None:  # "Look at these nuclei. Vesicular chromatin. Co-pilot, would you …"
        said = [
            s
            for s in _SENTENCE_RE.findall(kept[: turn.start()])
            if (s.rstrip().endswith("?") or _ORDER_WORD_RE.search(s)) and not _ROOM_RE.search(s)
        ]
        kept = " ".join([*said, kept[turn.start() :]])
    kept = _CO_PILOT_NAMED_RE.sub("", kept)  # "co-pilot, count the nuclei": the order
    return " ".join(kept.split()) or low


_CO_PILOT_TURNED_TO_RE = re.compile(r"(?<=[.?!;]\s)co-?pilot\s*,")
"""The co-pilot addressed after a sentence said to the room."""
_SENTENCE_RE = re.compile(r"[^.?!;]+[.?!;]*")
_ORDER_WORD_RE = re.compile(
    r"\b(?:zoom|go|pan|move|slide|shift|scroll|jump|take|bring|open|show|count|detect|segment|"
    r"classify|measure|outline|mask|run|quantify|estimate|compare|describe|tell|give|find|"
    r"navigate|head|return|centre|center)\b"
)
"""A sentence with one of these orders something of the co-pilot, whoever else hears it."""
_ROOM_RE = re.compile(
    r"\b(?:everyone|everybody|you\s+all|y'?all|folks|guys|team|residents|students|trainees)\b"
)
"""Words that say a sentence is for the people in the room."""
_CO_PILOT_NAMED_RE = re.compile(
    r"(?:^|(?<=[.?!;]\s))(?:(?:hey|ok|okay|right|so|and|now)\s*,?\s+)?co-?pilot\s*,\s*|"
    r",\s*co-?pilot\s*(?=[.?!;]|$)|"
    r"(?<=[-–—]\s)co-?pilot\s*,\s*"  # "… at the edge - co-pilot, is tumour wrapping round it?"
)
"""The co-pilot named as the one asked: the words of the request are what follows."""


def normalise(text: str) -> str:
    """Lower case, single spaces, plain quotes and ×, pathologists' shorthand spelled out."""
    low = _BULLET_RE.sub("; ", text.lower()).lstrip("; ")
    low = " ".join(low.split())
    low = low.replace("’", "'").replace("“", '"').replace("”", '"').replace("×", "x")
    low = _SLASHED_SHORTHAND_RE.sub(r"\1 / ", low)  # "pni/lvi": two terms, each spelled out
    low = _SHORTHAND_RE.sub(lambda m: _SHORTHAND[m.group(1)], low)
    low = _UNITS_PLUS_RE.sub(r"\1/\2", low)
    low = _STEP_OUT_RE.sub(r"zoom \1", low)
    low = _DEEPER_RE.sub(r"zoom in \1", low)
    low = _CORNER_ARROW_RE.sub(" to ", low)
    low = _LR_RE.sub(_side_letter, low)
    low = _AT_SIGN_RE.sub(" at ", low)
    low = _ARROW_RE.sub("; then ", low)
    low = _DOUBLE_AMP_RE.sub("; and ", low)
    low = _LIST_MARK_RE.sub("; ", low)
    low = _QUERY_MARK_RE.sub("query ", low)
    low = _NUMBER_OF_RE.sub("number of ", low)
    low = _ALL_SLIDE_RE.sub(r"\1 the whole slide", low)
    low = _BARE_TIMES_RE.sub(r"zoom in \1x", low)
    low = _TEXTED_AND_RE.sub(" and ", low)
    low = _MAKE_ZOOM_RE.sub("zoom", low)
    low = _FACTOR_SAID_RE.sub(r"zoom \1 \2x", low)
    low = _ZOOM_IN_THE_RE.sub("zoom in on ", low)
    low = _FOR_THE_SIDE_RE.sub(lambda m: f"{m.group(1)}{m.group(2) or ''} to the {m.group(3)}", low)
    for pattern, replacement in _PHRASES:
        low = pattern.sub(replacement, low)
    low = _CONTRACTION_RE.sub(lambda m: m.group(1) + _CONTRACTIONS[m.group(2)], low)
    low = _STARTED_RE.sub("the first view", low)
    low = _RANKED_THEN_THERE_RE.sub(r"\1 the \2 fragment", low)
    low = _GLUED_RE.sub(lambda m: _GLUED[m.group(1)], low)
    low = _GLUED_PIECE_RE.sub(
        lambda m: f"{_SHORTHAND.get(m.group(1), m.group(1))} {m.group(2)}", low
    )
    low = _QUADRANT_RE.sub(
        lambda m: (
            f"{'top' if m.group(1) == 't' else 'bottom'} "
            f"{'left' if m.group(2) == 'l' else 'right'} quadrant"
        ),
        low,
    )
    low = _COUNT_SHORT_RE.sub("count ", low)
    low = _PERCENT_GLUED_RE.sub("% ", low)
    low = _SLASHED_PAIR_RE.sub(r"\1\2, \3\4", low)
    low = _THOUSANDS_RE.sub(r"\1\2\3", low)
    low = _K_PAIR_RE.sub(_k_pair, low)
    low = _THOUSANDS_PAIR_RE.sub(r"\1\2, \3\4", low)
    low = _THOUSANDS_SIZE_RE.sub(r"\1\2 \3 \4\5", low)
    low = _THOUSANDS_RANGE_RE.sub(lambda m: "".join(g for g in m.groups() if g), low)
    low = _FILLER_RE.sub("", low)
    low = _DICTATED_MARK_RE.sub(lambda m: _DICTATED_MARK[m.group(1)], low)
    low = _DICTATED_WORD_RE.sub(lambda m: _DICTATED_WORD[m.group(1)], low)
    low = _SPOKEN_RE.sub(_spoken, low)
    low = _PAIR_RE.sub(
        lambda m: f"{_NUMBER_WORDS[m.group(1)]} {m.group(2)} {_NUMBER_WORDS[m.group(3)]}", low
    )
    low = _COUNTED_RE.sub(_counted, low)
    if _COMPARING_RE.search(low):
        low = _BARE_PAIR_RE.sub(_bare_pair, low)
    low = _HOMOPHONE_RE.sub(lambda m: m.group(1) + _HOMOPHONE[m.group(2)], low)
    low = _TIMES_RE.sub(lambda m: f"{_NUMBER_WORDS[m.group(1)]}x", low)
    low = _TIMES_AFTER_RE.sub(lambda m: f"{_NUMBER_WORDS[m.group(1)]}x", low)
    low = _X_MAG_RE.sub(r"\1x", low)
    low = _CORRECTED_PAIR_RE.sub(r"\1", low)
    low = _CORRECTED_REF_RE.sub(_corrected_ref, low)
    low = _CORRECTED_MAG_RE.sub(_corrected_scale, low)
    low = _CORRECTED_PART_RE.sub(lambda m: m.group(2) + (m.group(1) or ""), low)
    low = _CORRECTED_POINT_RE.sub(r"\1 ", low)
    low = _RETRACTED_RE.sub("", low)
    low = _CORRECTING_LEAD_RE.sub(r"\1\2 ", low)
    low = _COMPARED_NUMBER_RE.sub(r"\1view \2", low)
    low = _R_NUMBER_RE.sub(r"region \1", low)
    low = _PLUS_REF_RE.sub(r"\1 and ", low)
    return _PLUS_ASKED_RE.sub(" and ", low)


_K_PAIR_RE = re.compile(
    r"(?<![\w.])(\d{1,3}(?:\.\d{1,3})?)k(\s*,\s*|\s+)(\d{1,3}(?:\.\d{1,3})?)k\b"
)
""""12k,9k": a point in thousands of level-0 pixels."""


def _k_pair(m: re.Match[str]) -> str:
    return f"{round(float(m.group(1)) * 1000)}{m.group(2)}{round(float(m.group(3)) * 1000)}"


_PLUS_ASKED_RE = re.compile(r"(?<=\bcount)\s*\+\s*(?=%\s*(?:of\s+)?[a-z])")
""""nuc count + % tumour here": two things asked, joined by a plus between words."""
_PLUS_REF_RE = re.compile(
    r"\b((?:region|view|roi|fragment|piece|core)s?\s+\d+)\s*\+\s*(?=(?:(?:region|view|roi|fragment|"
    r"piece|core)\s+)?\d+\b)"
)
""""v2 + v4": two views joined, not two requests."""


_ENDINGS = frozenset(
    (
        *("s", "es", "ed", "d", "ing", "e", "er", "ers", "al", "ally", "ly", "ies", "y"),
        *("ation", "ations", "ate", "ated", "ion", "ions", "ic", "ical", "ity", "ities", "ous"),
        *("ar", "um", "i", "a", "ae", "us", "is", "ia", "ial", "ness", "ment", "ments"),
        *("ise", "ize", "ised", "ized", "red", "ered", "re", "ian", "ians", "ist", "ists"),
    )
)
"""Word endings: two words that differ in these only are one word inflected ("centred")."""


def _inflection(word: str, known: str) -> bool:
    """``word`` and ``known`` differ in an ending only ("piece"/"pieces", "predict"/"predicted").

    "epithelim" is no inflection of "epithelium": "m" and "um" are not both endings.
    """
    if word.startswith(known):
        return True
    common = len(os.path.commonprefix([word, known]))
    if common < max(4, min(len(word), len(known)) - 3) or abs(len(word) - len(known)) > 2:
        return False  # "clinician"/"clinical": one stem, two endings
    return all(rest in _ENDINGS or not rest for rest in (word[common:], known[common:]))


_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS = {
    (a, b)
    for r, row in enumerate(_KEYBOARD_ROWS)
    for c, a in enumerate(row)
    for rr in (r - 1, r, r + 1)
    if 0 <= rr < len(_KEYBOARD_ROWS)
    for b in _KEYBOARD_ROWS[rr][max(0, c - 1) : c + 2]
    if b != a
}
"""Letters next to each other on a keyboard: a finger's slip ("summarize" → "summarise")."""
_VOWELS = frozenset("aeiouy")


def _swap_cost(a: str, b: str, after: str) -> int:
    """The cost of reading letter ``a`` as ``b`` (``after``: the letter that follows ``a``).

    A slip of the finger (keyboard neighbours), a vowel misspelt ("seperate") or the "c" of
    "differenciated" costs one edit; any other letter costs three, more than a word may be
    changed by: "resection" is its own word, not a slip of "rejection".
    """
    if a == b:
        return 0
    if (a, b) in _NEIGHBOURS or (a in _VOWELS and b in _VOWELS) or (a, b, after) == ("c", "t", "i"):
        return 1
    return 3


def _edits(a: str, b: str) -> int:
    """Edits between two words, a swap of neighbouring letters counting as one ("nuceli").

    A letter read as another one that is neither its keyboard neighbour nor a vowel for a
    vowel counts as three (``_swap_cost``); between words of one length a letter dropped and
    another added count two each, so that they do not stand in for such a letter.
    """
    gap = 1 if len(a) != len(b) else 2
    prev2: list[int] = []
    prev = [gap * j for j in range(len(b) + 1)]
    for i, ca in enumerate(a, start=1):
        row = [gap * i] + [0] * len(b)
        after = a[i] if i < len(a) else ""
        for j, cb in enumerate(b, start=1):
            row[j] = min(prev[j] + gap, row[j - 1] + gap, prev[j - 1] + _swap_cost(ca, cb, after))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def mask_arguments(low: str) -> str:
    """``low`` with its where-phrases (boxes, points, tissue pieces) replaced by "there"."""
    for pattern in _MASKS:
        low = pattern.sub("there", low)
    return low


def _colon_split(m: re.Match[str]) -> str:
    """A clause of its own before the colon when it says something (five words or more).

    "Oral mucosa: does the epithelium look dysplastic?" keeps its label with the question.
    """
    lead = m.group("lead")
    return f"{lead}; " if len(lead.split()) >= 5 else m.group()


_AUXILIARY_ASKED_RE = re.compile(
    r"\b(?:what|which|how|where)\s+(?:\w+\s+)?(?:did|does|do|would|will)\s+(?:the\s+)?"
    r"(?:[\w#-]+\s+){0,2}$"
)
"""A question whose verb is still to come ("what did fragment 2 …"): no new order starts."""


def _run_on(m: re.Match[str]) -> str:
    sentence = re.split(r"[.;!?]", m.string[: m.start()])[-1]
    if _AUXILIARY_ASKED_RE.search(sentence + m.group(1) + " "):
        return m.group()  # "what did fragment 2 classify as earlier?"
    return f"{m.group(1)}; "


def split_clauses(low: str) -> list[str]:
    """The request's clauses (each with at least one word); the whole when it has one."""
    low = _RUN_ON_RE.sub(_run_on, low)
    low = _SCALE_RUN_ON_RE.sub(r"\1; ", low)
    low = _MOVE_RUN_ON_RE.sub(r"\1; ", low)
    low = _THEN_ASKED_RE.sub("; ", low)
    low = _COLON_QUESTION_RE.sub(_colon_split, low)
    low = _FACT_AND_RE.sub(r"\1; ", low)
    low = _PURPOSE_SPLIT_RE.sub("; ", low)
    low = _WHERE_SEEN_SPLIT_RE.sub("; ", low)
    low = _SLIDE_CALL_SPLIT_RE.sub("; ", low)
    parts = [p.strip(" ,.") for p in _SPLIT_RE.split(low)]
    clauses = [p for p in parts if WORD_RE.search(p or "")]
    if (
        len(clauses) > 1
        and low.startswith(f"{clauses[0]},")
        and (topic_first(*clauses[:2]) or PLACE_LEAD_RE.fullmatch(clauses[0]))
    ):
        clauses[:2] = [f"{clauses[0]}, {clauses[1]}"]
    return clauses or [low]


PLACE_LEAD_RE = re.compile(
    r"(?:(?:and|so|ok|okay|now|then|but)\s+)*(?:in\s+)?(?:here|there|this\s+one|that\s+one|"
    r"this\s+(?:view|field|region|area|spot)|(?:in\s+)?the\s+(?:same|next|new)\s+(?:view|field))|"
    r"(?:(?:and|so|ok|okay|now|then|but)\s+)*(?:in|on|for)\s+(?:the\s+)?(?:(?:view|region|roi|field|"
    r"fragment|piece|core)\s*(?:number\s+|#\s*)?\d+|(?:largest|biggest|smallest|\w+(?:st|nd|rd|th)"
    r"|second|third|fourth|fifth)(?:[\s-]+largest)?\s+(?:tissue\s+)?(?:fragment|piece|core))"
)
""""And here, any ganglion cells?", "in the fragment 3, how many nuclei are?": the place the
question that follows is about."""


def topic_first(first: str, then: str) -> bool:
    """``first`` is a topic put before the question about it (``then``), not a clause.

    "Necrosis, how much is there in this field?", "the mucus, is present in this slide?".
    """
    return bool(
        _TOPIC_RE.fullmatch(first)
        and not _TOPIC_VERB_RE.search(first)
        and _TOPIC_QUESTION_RE.match(then)
    )


_TOPIC_RE = re.compile(r"(?:the\s+|any\s+|some\s+)?[a-z-]+(?:\s+[a-z-]+){0,2}")
_TOPIC_VERB_RE = re.compile(
    r"\b(?:zoom|count|segment|classify|go|pan|show|move|take|outline|detect|measure|run|open|"
    r"compare|describe|tell|give|find|is|are|was|were|do|does|did|ok|okay|right|so|now|please|"
    r"thanks|hi|hello|well|yes|no|next|first|then|also|how|what|which|where|why|when|who|can|"
    r"could|would|will|should|may|might|has|have|had)\b"
)
_TOPIC_QUESTION_RE = re.compile(
    r"(?:how\s+much|how\s+many|is|are|any|present|where|what\s+(?:percent\w*|fraction|share|"
    r"proportion))\b"
)


def names_any(text: str, stems: Sequence[str]) -> bool:
    """A word of ``text`` starts with one of ``stems``."""
    prefixes = tuple(stems)
    return any(word.startswith(prefixes) for word in WORD_RE.findall(text))


def fix_typos(low: str, vocab: Sequence[str], real_words: frozenset[str]) -> str:
    """``low`` with each word close to one of ``vocab`` replaced by it ("segmnet" → "segment").

    A word of ``vocab`` or of ``real_words`` (the embedder's tokenizer vocabulary) is never
    changed, nor is an inflection ("centred") or a prefixed form ("acellular") of a known word.
    """

    def fix(m: re.Match[str]) -> str:
        word = m.group()
        if len(word) < 5 or word in _KEEP or word in vocab or word in real_words:
            return word
        near = difflib.get_close_matches(word, vocab, n=3, cutoff=0.8)
        near.sort(key=lambda known: _edits(word, known))  # "nuceli": nuclei, not nucleoli
        if not near or _edits(word, near[0]) > (1 if len(word) <= 6 else 2):
            return word  # "solid" is not a typo of "slide"
        if word[0] != near[0][0] and word[:2] != near[0][1::-1]:
            return word  # "inked" is not a typo of "linked": a slip keeps the start
        if len(word) > len(near[0]) + 1 or near[0].startswith(word):
            return word  # "nodules" is not "nodes" with two slips; "maligna" is not cut short
        if _inflection(word, near[0]) or word.endswith(near[0]):
            return word
        if any(
            word.endswith(ending) and word[: -len(ending)] in real_words
            for ending in _ENDINGS
            if len(word) - len(ending) >= 4
        ):
            return word  # "staining": a known word ("stain") with an ending, not "staring"
        return near[0]

    return WORD_RE.sub(fix, low)
