"""Parse a free-text request into intents and zoom arguments (pure, no state)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Literal

from agent.ordinals import ORDINAL_PATTERN, ORDINAL_WORDS
from agent.references import CURRENT_RE, DEICTIC_RE, PREVIOUS_RE
from agent.review_intents import CompareRequest, RecallRequest, parse_compare, parse_recall

__all__ = [
    "LIMITS",
    "NumberError",
    "ParsedRequest",
    "RegionRequest",
    "Relative",
    "ZoomRequest",
    "parse_relative",
    "parse_request",
    "region_request",
    "segment_target",
    "segment_targets",
    "zoom_request",
]

RoiRef = Literal["current", "previous", "number"]
_NUM = r"-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|nan|inf(?:inity)?)"
"""A number where coordinates go; NaN, infinity and exponents are read so they can be refused."""

LIMITS: dict[str, tuple[float, float, str]] = {
    "coordinate": (-1e7, 1e7, "level-0 px"),
    "size": (1, 1e6, "level-0 px"),
    "level": (0, 64, ""),
    "region number": (0, 10_000, ""),
    "magnification": (0, 1000, "x"),
    "resolution": (0, 1000, "µm/px"),
}
"""Range of each kind of number a request may give: (lowest, highest, unit)."""


class NumberError(ValueError):
    """A number in a request is not finite or lies outside its range."""


def _bounded(text: str, what: str) -> float:
    """``text`` as a float within the range of ``what``; else NumberError naming both."""
    low, high, unit = LIMITS[what]
    value = float(text)  # 400 digits read as inf, "nan" as nan: both refused below
    if math.isfinite(value) and low <= value <= high:
        return value
    shown = text if len(text) <= 24 else f"{text[:12]}…({len(text)} characters)"
    if math.isnan(value):
        msg = f"{what} {shown} is not a number"
    else:
        msg = f"{what} {shown} is outside the range {low:g} to {high:g}{' ' + unit if unit else ''}"
    raise NumberError(msg)


def _size(match: re.Match[str]) -> tuple[int, int]:
    if match.group(4) is not None:  # "2048 x 2048"
        w, h = (round(_bounded(match.group(i), "size")) for i in (4, 5))
        return w, h
    if match.group(1) is None:  # "a 500 px square"
        side = round(_bounded(match.group(3), "size"))
        return side, side
    w, h = (round(_bounded(match.group(i), "size")) for i in (1, 2))
    return w, h


_ORD = f"({ORDINAL_PATTERN})"
_AREA = r"(?:region|roi|area|view|spot|place|location|field)"
_PIECE = r"(?:piece|fragment|core|section|island|chip|node)s?"
"""A tissue piece by its kind: on a lymph-node slide, each node's section is one."""

_SIZE_RE = re.compile(
    r"(\d+)\s*(?:[x×]|by)\s*(\d+)\s*(?:px|pixels?\b|(?=\s*(?:region|area|field|view|box|tile|patch|"
    r"window|crop|square)s?\b))"
    r"|\b(\d+)[\s-]*(?:px|pixels?)[\s-]+(?:square|box)\b"
    r"|(?<![\d.,])(\d{3,6})\s*[x×]\s*(\d{3,6})(?![\d.,])"
)
"""A field's size in pixels: "1024 x 1024 px", "2048 x 2048 region", "a 500 px square" or two
numbers of three digits or more ("2048 x 2048"): never a magnification."""
_CS = r"\s*(?:,\s*|\s)\s*"
"""Between two coordinates: a comma, or only spaces as dictated ("box 5000 5000 7000 7000")."""
_BOX_RE = re.compile(
    rf"\b(?:from|box)\s*\(?\s*({_NUM}){_CS}({_NUM})\s*\)?\s*(?:to|-|–)\s*\(?\s*({_NUM}){_CS}({_NUM})\s*\)?"
    rf"|\[\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*\]"
    rf"|\(\s*({_NUM})\s*,\s*({_NUM})\s+(?:to|-|–)\s+({_NUM})\s*,\s*({_NUM})\s*\)"
    rf"|\b(?:box|rectangle|bbox|bounding\s+box)\s*(?:at\s+|of\s+|=\s*|:\s*)?\(?\s*({_NUM}){_CS}"
    rf"({_NUM}){_CS}({_NUM}){_CS}({_NUM})\s*\)?"
    rf"|\bx0\s*[=:]\s*({_NUM})\s*,?\s*y0\s*[=:]\s*({_NUM})\s*,?\s*(?:and\s+)?"
    rf"x1\s*[=:]\s*({_NUM})\s*,?\s*y1\s*[=:]\s*({_NUM})"
)
_RANGE_TO = r"(?:to|-|–|\.{2,3})"
_XY_RANGE_RE = re.compile(
    rf"\bx\s*[=:]?\s*({_NUM})\s*{_RANGE_TO}\s*({_NUM})\s*,?\s*(?:and\s+)?y\s*[=:]?\s*({_NUM})\s*"
    rf"{_RANGE_TO}\s*({_NUM})\b|"
    rf"\b(?:from\s+)?({_NUM})\s*(?:to|-|–)\s*({_NUM})\s+(?:across|horizontally|in\s+x)\s*,?\s*"
    rf"(?:and\s+)?(?:from\s+)?({_NUM})\s*(?:to|-|–)\s*({_NUM})\s+(?:down|vertically|in\s+y)\b"
)
"""A box as two ranges, x first ("x 60000 to 68000, y 20000 to 26000", "from 70000 to 76000
across and 30000 to 35000 down")."""
_PAIR = rf"\(?\s*({_NUM})\s*,\s*({_NUM})\s*\)?"
_XY = rf"\bx\s*[=:]?\s*({_NUM})\s*,?\s*(?:and\s+)?y\s*[=:]?\s*({_NUM})"
_XY_CORNERS_RE = re.compile(rf"{_XY}\s*,?\s*(?:to|until|till|through|-|–)\s*{_XY}")
"""A box by two labelled corners: "from x=20480, y=15360 to x=24576, y=19456"."""
_CORNERS_RE = re.compile(
    rf"\b(?:top|upper)[\s-]*left(?:\s+corner)?\s*(?:at|=|:|of|is)?\s*{_PAIR}\s*"
    rf"(?:,|;|and|to|-|–)?\s*(?:the\s+)?(?:bottom|lower)[\s-]*right(?:\s+corner)?\s*"
    rf"(?:at|=|:|of|is)?\s*{_PAIR}"
)
"""A box by its named corners: "top-left (1600,700) bottom-right (2400,1200)"."""
_XYWH_RE = re.compile(
    rf"\bx\s*[=:]\s*({_NUM})\s*,?\s*y\s*[=:]\s*({_NUM})\s*,?\s*(?:and\s+)?"
    rf"(?:w|width)\s*[=:]\s*({_NUM})\s*,?\s*(?:and\s+)?(?:h|height)\s*[=:]\s*({_NUM})"
    rf"|\(?\s*x\s*,\s*y\s*,\s*w(?:idth)?\s*,\s*h(?:eight)?\s*\)?\s*(?:=|:)?\s*"
    rf"[\(\[]\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*[\)\]]"
)
"""A box as its corner and size: "x=100, y=600, width=300, height=300", "x,y,w,h (0,0,750,1500)"."""
_BARE_PAIRS_RE = re.compile(
    rf"(?<![\w.,])({_NUM})\s*,\s*({_NUM})\s+(?:to|-|–)\s+({_NUM})\s*,\s*({_NUM})(?![\w.]|,\s*\d)"
)
"""Two corners written bare: "count 1150,900 to 1400,1400"."""
_BOUNDED_RE = re.compile(
    rf"\b(?:bounded\s+by|between|(?:with\s+)?corners?\s+(?:at\s+)?)(?:the\s+points?\s+)?\s*"
    rf"\(?\s*({_NUM}){_CS}({_NUM})\s*\)?\s*(?:and|to|-|–)\s*\(?\s*({_NUM}){_CS}({_NUM})\s*\)?"
)
"""A box by two corners after a word that bounds it: "the region bounded by 44000, 31000 and
47000, 34000", "between (100, 200) and (900, 700)"."""
_POINT_RE = re.compile(
    rf"\(\s*({_NUM})\s*,\s*({_NUM})\s*\)|\bx\s*[=:]?\s*({_NUM})\s*,?\s*(?:and\s+)?y\s*[=:]?\s*({_NUM})"
    rf"|(?:^\s*|\b(?:to|into|at|on|around|near|centred\s+at|centered\s+at|pt|point|zoom|open|show|view|"
    rf"display)\s+)(\d{{2,7}})\s*,\s*"
    rf"(\d{{2,7}})\b"
    r"(?!\s*,\s*\d)"
    rf"|\b(?:to|at|on|around|near|centred\s+at|centered\s+at|point|position|coordinates?)\s+"
    rf"(\d{{3,7}})\s+(?:by\s+)?(\d{{3,7}})\b"
    r"(?!\s*(?:,\s*)?\d|\s*(?:x|×|px|pixels?|µm|um|microns?|mpp|region|field|area|window|"
    r"tile|patch|crop|square|box)\b)"
)
_SCALE_NUM = r"(\d+(?:\.\d+)?(?:e[+-]?\d+)?)"
"""A magnification or resolution; an exponent is read whole so that 1e999 is refused, not 999."""
_MAG_RE = re.compile(
    rf"(?<![\w.]){_SCALE_NUM}\s*(?:x|×)(?![\w=])(?:\s*(?:magnification|objective))?"
)
_MPP_RE = re.compile(
    rf"(?<![\w.-]){_SCALE_NUM}\s*"
    r"(?:(?:µm|μm|um|microns?|micromet(?:er|re)s?)\s*(?:/|per)\s*(?:px|pixels?)|mpp\b)"
)
_MPP_FIRST_RE = re.compile(rf"\bmpp\s*(?:of|=|:|at|to)?\s*{_SCALE_NUM}(?![\w.])")
"""The unit before the number: "go to mpp 0.25", "mpp=0.5"."""
_LEVEL_RE = re.compile(r"\blevel\s*(?:to\s+|=\s*|:\s*)?(\d+)\b")
_ZOOM_VERB_RE = re.compile(
    r"\b(zoom|magnify|go\s+back|go\s+to|navigate|move\s+to|pan|cent(?:er|re)\s+on|show|view|"
    r"(?:set|change|switch)\s+(?:the\s+)?(?:level|magnification|mag|zoom)|"
    r"look\s+at|return\s+to|take\s+me|open)\b"
)
_INFO_RE = re.compile(
    r"\b(size|dimensions?|how\s+(?:big|large)|width|height|wide|tall|magnification|objective|"
    r"resolution|mpp|microns?\s+per|µm\s*/\s*px|pixel\s+size|levels?|pyramid|vendor|scanner|"
    r"format|metadata|properties|scanned)\b"
)
_DETECT_VERB_RE = re.compile(r"\b(detect|count|find|identify|locate|how\s+many|number\s+of)\b")
_NUCLEI_RE = re.compile(r"\bnucle(?:i|us|ar)\b|\bcells?\b")
_CLASSIFY_RE = re.compile(
    r"\bclassif(?:y|ication)\b|\bwhat\s+(?:kind|type|sort)\s+of\s+tissue\b|"
    r"\bwhich\s+tissue\b|\btissue\s+(?:type|class)\b|\bwhat\s+tissue\b"
)
_SEGMENT_RE = re.compile(r"\b(?:segment(?:ation)?|outline|delineate)\b")
_CELLULAR_RE = re.compile(
    r"\bcellular(?:ity)?\b|\bh(?:a)?ematoxylin[- ]?(?:rich|dense)\b|\bcell[- ]?(?:rich|dense)\b|"
    r"\bcells?\b[^.;?]{0,20}\b(?:vs\.?|versus|from|and)\s+(?:the\s+)?(?:empty\s+)?(?:background|glass|"
    r"white\s+space)\b"
)
_COMPARTMENT_RE = re.compile(
    r"\bepitheli(?:um|al)\b|\bstroma(?:l)?\b|\bepiderm(?:is|al)\b|\bglands?\b|\bglandular\b|"
    r"\bnests?\b|\blamina\s+propria\b|\bconnective\s+tissue\b|\bderm(?:is|al)\b|"
    r"\burotheli(?:um|al)\b|"
    # lay words: "the cells lining the glands", "the top layer of cells", "the pink stuff in
    # between the glands"
    r"\b(?:cells\s+lining|lining\s+cells|(?:top|surface|outer)\s+layer)\b|\bbetween\s+the\s+glands\b|"
    # "paint the cancer cells", "the fibrous background stuff": the tumour epithelium, the stroma
    r"\b(?:cancer|tumou?r|carcinoma|malignant)\s+cells\b|\bfibrous\s+(?:background|stuff|tissue|bits?)\b"
)
"""A compartment a segmentation names; the epidermis, glands and tumour nests are epithelium,
the lamina propria, the dermis and connective tissue stroma."""
_STROMA_WORDS = ("stroma", "lamina", "connective", "derm", "between", "fibrous")


_LAY_COMPARTMENT_RE = re.compile(r"lining|layer|between|cancer|tumou?r|carcinoma|malignant|fibrous")
"""A compartment said in lay words that name cells ("the cells lining the glands")."""


def _compartment_of(word: str) -> Literal["epithelium", "stroma"]:
    return "stroma" if word.startswith(_STROMA_WORDS) else "epithelium"


_KNOWLEDGE_RE = re.compile(
    r"\blook\s+for\b|\bdefin(?:e|ition)\b|\bcell\s+of\s+origin\b|\bdifferential\b|"
    r"\bgrad(?:e|ed|ing)\b|\bparent\s+class\b|\bdiagnos[ie]s\b|\btell\s+me\s+about\b|"
    r"\bexplain\b|\bicd-?o\b|\bwhat\s+(?:is|are)\s+(?:this|these)\s+(?:tumou?r|lesion|"
    r"cancer|neoplasm|disease)s?\b"
)
_KNOWLEDGE_ALONE_RE = re.compile(
    r"\bwhat\s+(?:is|are)\b|\borigin\b|\bwhere\s+(?:does|do|is|are)\b|\bsite\b|"
    r"\bkind\s+of\b|\bfeatures?\b|\bcoded?\b|\bderive[sd]?\b|\barises?\b|\bcomes?\s+from\b|"
    r"\bwhich\s+(?:organ|cell|tissue)\b"
)
"""Knowledge words that count only when the request asks for no tool."""
_SLIDE_LEVEL_RE = re.compile(r"\b(?:this|the|whole|entire)\s+slide\b|\bslide[- ]level\b|\bwsi\b")
_TISSUE_METRIC_RE = re.compile(
    r"\btissue\s+(?:fraction|percent(?:age)?|proportion|coverage|area|amount|mask|outline|"
    r"detection)\b|\b(?:fraction|percent(?:age)?|proportion|share|how\s+much|amount)\b[^.?!]*"
    r"\btissue\b|\bhow\s+many\s+tissue\b|\bdetect\s+(?:the\s+)?tissue\b|"
    r"\btissue\s+regions?\s+(?:are|is)\s+there\b"
)


_PAN_RE = re.compile(
    r"\b(?:pan(?:ning)?|move|shift|scroll|slide|go|step|nudge|look|head|drift|over|scoot|"
    r"shuffle|budge|inch|bump|push|drag)\s+"
    r"(?:(?:it|this|the\s+(?:view|field|image))\s+)?(?:over\s+)?"
    r"(a\s+(?:tiny\s+|little\s+)?(?:bit|little|touch)\s+|slightly\s+|just\s+|a\s+(?:whole\s+|full\s+)?"
    r"(?:field|screen|view|frame)\s+|further\s+|more\s+|one\s+(?:field|screen|view)\s+)?"
    r"(?:(?:to\s+(?:the\s+)?|towards?\s+(?:the\s+)?)?)"
    r"(left|right|up|down|upwards?|downwards?|north|south|east|west|leftwards?|rightwards?)\b"
    r"(?![\s-]+(?:hand\s+)?(?:half|side)\s+of\b)"
    r"|\b(a\s+(?:tiny\s+|little\s+)?(?:bit|little|touch)\s+|(?:tiny\s+)?bit\s+|slightly\s+|"
    r"further\s+)(?:more\s+)?(?:to\s+the\s+)?(left|right|up|down)\b"
    r"|^\s*(?:(?:and|now|ok|okay|then)\s+)?(more)\s+(?:to\s+the\s+)?(left|right)\b"
    r"|\b(?:to\s+the\s+)?(left|right)\s+a\s+(?:bit|little)\b"
    r"|^\s*(?:(?:now|ok|okay|and|then|go)\s+)?(up|down)\s+(?:a\s+(?:tiny\s+)?(?:bit|little|touch)|slightly)\b"
    r"|\b(?:the\s+)?(next\s+(?:field|view|frame|screen))\s+(?:to\s+the\s+)?(left|right|up|down)\b"
)
_PAN_WORDS = {
    "upward": "up",
    "upwards": "up",
    "downward": "down",
    "downwards": "down",
    "north": "up",
    "south": "down",
    "east": "right",
    "west": "left",
    "leftward": "left",
    "leftwards": "left",
    "rightward": "right",
    "rightwards": "right",
}
_FACTOR_RE = re.compile(
    r"\bzoom(?:ed|ing)?\s+(in|out)\s*,?\s+(?:please\s*,?\s+)?(?:by\s+|of\s+)?(?:a\s+factor\s+of\s+)?"
    r"(\d+(?:\.\d+)?)\s*"
    r"(?:x|×|times|fold|-fold)?(?!\s*(?:µm|μm|um|microns?|px|pixels?))"
    r"|\b(\d+(?:\.\d+)?)\s*(?:x|×|times)\s+(closer|further|farther|more|less|out|"
    r"in(?!\s+(?:the|this|that|these|those|a|an|its|on|at|to)\b))\b"  # not "40x in the centre"
    r"|\b(twice|double|two\s+times)\s+(?:as\s+)?(?:close|closer|far|deep|much|the\s+(?:magnification|zoom)|"
    r"mag(?:nification)?|zoom)\b"
    r"|\b(halve|half)\s+(?:the\s+)?(?:magnification|mag|zoom)\b"
    r"|\bzoom(?:ed|ing)?\s+(out)\b[^.?;\d]{0,20}?\bby\s+(?:a\s+)?(half)\b"
    r"|\b(closer|further|farther)\s*[.,:;-]?\s*(?:by\s+)?(\d+(?:\.\d+)?)\s*(?:x|×|times)(?!\w)"
)
_OUT_RE = re.compile(
    r"\bzoom(?:ed)?\s+out\b|\b(?:step|pull|zoom)\s+back\b(?!\s+(?:to|into|in)\b)|"
    r"\b(?:back|pull|step)\s+out\b|\bfurther\s+out\b|\blower\s+(?:power|mag\w*)\b|"
    r"\bless\s+(?:zoom(?:ed)?|mag\w*)\b"
)
"""Farther from the tissue: "zoom out", "step back", "pull back", "lower power"."""
_IN_RE = re.compile(
    r"\bzoom(?:ed)?\s+in\b|^\s*(?:(?:a\s+)?(?:little|bit|touch)\s+|get\s+|go\s+|move\s+)?closer\b|"
    r"\bhigher\s+(?:power|mag\w*)\b|\bmore\s+(?:zoom(?:ed)?|mag\w*)\b"
)
"""Closer to the tissue: "zoom in", "closer", "higher power"."""
_TIMES_WORDS = {
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "eight": "8",
    "ten": "10",
}
_TIMES_WORD_RE = re.compile(
    r"\b(two|three|four|five|six|eight|ten)(?:\s*-?\s*fold\b|\s+times\b|\s*x\b)"
)
_FACTOR_OF_WORD_RE = re.compile(r"\bfactor\s+of\s+(two|three|four|five|six|eight|ten)\b")
_ZOOM_FILLER_RE = re.compile(
    r"\b(zoom(?:ed|ing)?\s+(?:in|out))\s+(?:like|about|roughly|around|maybe|approx(?:imately)?|~)\s+"
)
_MAGNIFY_BY_RE = re.compile(
    r"\b(?:magnify|enlarge|blow\s+up)\s+(?:it\s+|this\s+|that\s+|the\s+(?:view|field|image)\s+)?"
    r"(?:by\s+)?(?:a\s+factor\s+of\s+)?(\d+(?:\.\d+)?)\s*(?:times|fold|-fold|x(?=\W|$))"
)
_ZOOM_N_INTO_RE = re.compile(
    r"\bzoom\s+(\d+(?:\.\d+)?)\s*(?:x|×|times|fold|-fold)\s+(?:in|closer|(into))\b"
)
_BARE_IN_OUT_RE = re.compile(r"^\s*(in|out)\s*(?:x\s*(\d+(?:\.\d+)?)|(\d+(?:\.\d+)?)\s*x)\b")
_CLOSER_TWICE_RE = re.compile(r"\b(closer|further|farther)\b[\s.,;:-]{0,4}twice\b")


def factor_phrased(low: str) -> str:
    """``low`` with a relative zoom's other wordings as "zoom in 2x" / "zoom out 4x".

    "magnify three times", "zoom in twofold", "zoom in like 2x", "zoom 4x into the current
    field", "in x2", "closer. twice". "magnify 40x" stays a magnification: only a factor below 5
    with "x" alone reads as relative.
    """
    low = _TIMES_WORD_RE.sub(lambda m: f"{_TIMES_WORDS[m.group(1)]}x", low)
    low = _FACTOR_OF_WORD_RE.sub(lambda m: f"factor of {_TIMES_WORDS[m.group(1)]}", low)
    low = _ZOOM_FILLER_RE.sub(lambda m: f"{m.group(1)} ", low)

    def magnify(m: re.Match[str]) -> str:
        value = float(m.group(1))
        said_x = not re.search(r"times|fold", m.group())
        return m.group() if said_x and value >= 5 else f"zoom in {m.group(1)}x"

    low = _MAGNIFY_BY_RE.sub(magnify, low)
    low = _ZOOM_N_INTO_RE.sub(
        lambda m: f"zoom in {m.group(1)}x{' into' if m.group(2) else ''}", low
    )
    low = _BARE_IN_OUT_RE.sub(lambda m: f"zoom {m.group(1)} {m.group(2) or m.group(3)}x", low)
    return _CLOSER_TWICE_RE.sub(lambda m: f"{m.group(1)} 2x", low)


_CORNER_RE = re.compile(
    r"\b(top|upper|bottom|lower)[\s-]*(left|right)(?:[\s-]*(?:hand))?\b"
    r"|\b(left|right|top|bottom|upper|lower)(?:\s+half\b|[\s-]+(?:hand\s+)?side\s+(?=of\s+(?:the\s+|this\s+|"
    r"that\s+)?(?:current\s+)?(?:slide|view|field|image|section|tissue|glass|screen)\b))"
    r"|\b(?:the\s+)?(cent(?:er|re)|middle|central\s+(?:part|area|region|portion))\s+of\s+(?:the\s+)?"
    r"(?:current\s+|present\s+|this\s+|that\s+)?(slide|view|field|image|region|roi|area|it|this|that(?=\s*(?:[,.;?!]|$|and\b|please\b|then\b|at\b)))\b"
)
_PART_OF_VIEW_RE = re.compile(
    r"\b(?:of|in)\s+(?:the\s+|this\s+|that\s+)?(?:current\s+)?(?:view|field|region|roi|area|"
    r"image|frame)\b|\bof\s+(?:it|this|here)\b"
)
HOTSPOT_RE = re.compile(
    r"\b(?:most|highest)\s+cellular\w*|\b(?:densest|busiest)\s+(?:area|region|part|spot|field|"
    r"bit|place)\b|\bmost\s+(?:dense|crowded)\s+(?:area|region|part|spot|field)\b|"
    r"\bhot\s*-?\s*spots?\b|\bhighest\s+(?:cell|nuclear)\s+density\b"
)
"""The slide's most cellular field, asked for as a place to go ("take me to the hotspot")."""
WHICH_RE = re.compile(r"\bwhich\b")
_CENTRAL_RE = re.compile(r"\b(?:central|cent(?:er|re)|middle)\b")
_SLIDE_WORD_RE = re.compile(r"\bslide\b|\bwsi\b")
_CENTRE_ALONE_RE = re.compile(
    r"\b(?:crop|zoom(?:\s+in)?(?:\s+(?:by\s+)?(?:a\s+factor\s+of\s+)?\d+(?:\.\d+)?x?)?|cut|narrow(?:\s+it)?(?:\s+down)?)\s+"
    r"(?:to|on|into|onto)\s+the\s+"
    r"(?:centre|center|middle)\b(?!\s+of\b)|"
    r"^\s*(?:(?:now|ok|okay|then)\s*,?\s+)?(?:(?:go|move|jump|head)\s+(?:to\s+)?)?(?:the\s+)?"
    r"(?:centre|center|middle)\s*(?=,|;|$|at\s+\d|\d+x\b|please\b)|"
    r"\b\d+(?:\.\d+)?\s*x\s+(?:on|in|at)\s+the\s+(?:centre|center|middle)\b(?!\s+of\b)|"
    # "zoom at 0.5 mpp in the centre", "center crop of this view at 40x"
    r"\b(?:mpp|microns?\s+per\s+pixel|level\s+\d)\s+(?:on|in|at)\s+the\s+(?:centre|center|middle)\s*"
    r"(?=[,;.?!]|$)|\b(?:centre|center|central|middle)\s+crop\b"
)


@dataclass(frozen=True)
class Relative:
    """A move relative to the current view or a part of the slide or view."""

    pan: Literal["left", "right", "up", "down"] | None = None
    pan_fraction: float = 0.5
    factor: float | None = None
    part: str | None = None
    part_of: Literal["slide", "view"] | None = None
    slide_centre: bool = False
    """The request names the slide's centre (with a size): a point view at its middle."""


QUADRANTS = ("top_left", "top_right", "bottom_left", "bottom_right")
_WHICH_PARTS_RE = re.compile(
    r"\bwhich\s+(?:of\s+the\s+)?(?:four\s+|4\s+)?quadrants?\b|\bquadrant\s+by\s+quadrant\b|"
    r"\b(?:each|every|per)\s+quadrant\b|\b(?:all|the)\s+(?:four|4)\s+quadrants\b|"
    r"\ball\s+(?:of\s+)?(?:the\s+)?quadrants\b|\beach\s+of\s+the\s+quadrants\b|"
    r"\b(?:rank|order|sort)\s+(?:the\s+)?quadrants\b|\bquadrants\s+(?:ranked|in\s+order)\b|"
    r"\b(?:all|the|each\s+of\s+the)\s+(?:four|4)\s+quarters\b|\bother\s+(?:three|3)\s+"
    r"(?:quadrants|quarters)\b|\b(?:rank|compare)\s+all\s+(?:four|4)\b|\bwhich\s+quarter\b"
)
_WHICH_HALF_RE = re.compile(
    r"\bwhich\s+(?:of\s+the\s+(?:two\s+)?)?(?:half|halves|side)\b|\bboth\s+halves\b|"
    r"\b(?:each|either)\s+half\b"
)
_HALVES_PAIR_RE = re.compile(
    r"\b(left|right|top|bottom|upper|lower)\s*(?:and|vs\.?|versus|or|with|to|/|&|-)\s*(?:the\s+)?"
    r"(left|right|top|bottom|upper|lower)\s+(?:halves|half)\b"
)
_HALVES_RE = re.compile(
    r"\b(?:split|divide|cut)\b[^.?!;]*\b(?:halves|two)\b|\b(?:its|the|both|two)\s+halves\b|"
    r"\bhalves\s+of\b"
)
"""Halves asked without naming them ("split that view into halves", "halves of the view")."""
_SIDE = {"upper": "top", "lower": "bottom"}


def parts_compared(low: str) -> tuple[tuple[str, ...], Literal["slide", "view"] | None] | None:
    """The parts a request sets side by side, and whose parts they are; None for fewer than two.

    "which quadrant has the most nuclei?" (all four), "compare the left half with the right
    half", "left vs right halves", "the top left and the bottom right quadrants".
    """
    low = without_boxes(low)  # "top-left (1600,700) bottom-right (2400,1200)" is one box
    if _WHICH_PARTS_RE.search(low):
        parts: list[str] = list(QUADRANTS)
    elif _WHICH_HALF_RE.search(low) or _HALVES_RE.search(low):  # "which half is denser?"
        vertical = re.search(r"\b(?:top|bottom|upper|lower)\b", low)
        parts = ["top_half", "bottom_half"] if vertical else ["left_half", "right_half"]
    else:
        parts = []
        pair = _HALVES_PAIR_RE.search(low)
        if pair is not None:
            parts += [f"{_SIDE.get(pair.group(k), pair.group(k))}_half" for k in (1, 2)]
        for c in _CORNER_RE.finditer(low):
            if c.group(1):
                vert = "top" if c.group(1) in ("top", "upper") else "bottom"
                parts.append(f"{vert}_{c.group(2)}")
            elif c.group(3):
                parts.append(f"{_SIDE.get(c.group(3), c.group(3))}_half")
        parts = list(dict.fromkeys(parts))
        if len(parts) < 2:
            return None
    whose: Literal["slide", "view"] | None = None
    if _PART_OF_VIEW_RE.search(low):
        whose = "view"
    elif _SLIDE_WORD_RE.search(low) or re.search(r"\b(?:image|tile|picture)\b", low):
        whose = "slide"
    return tuple(parts), whose


def parse_relative(low: str) -> Relative | None:
    """Pans, relative zooms, quadrants / halves / centre, from a normalised request."""
    low = factor_phrased(without_boxes(low))
    pan = None
    fraction = 0.5
    m = _PAN_RE.search(low)
    if m:
        groups = [g for g in m.groups() if g]
        word = groups[-1]
        pan = _PAN_WORDS.get(word, word)
        amount = " ".join(groups[:-1]) or m.group()  # "left a little": said after the way
        after = low[m.end() : m.end() + 24]
        if re.search(r"bit|little|slightly|just|touch", amount) or re.match(
            r"\s*(?:a\s+(?:tiny\s+|little\s+)?(?:bit|little|touch)|slightly)\b", after
        ):
            fraction = 0.25
        elif re.search(r"field|screen|view|frame", amount) or re.match(
            r"\s*(?:a|one)\s+(?:whole\s+|full\s+)?(?:field|screen|view|frame)\b", after
        ):
            fraction = 1.0
    factor = None
    f = _FACTOR_RE.search(low)
    if f:
        if f.group(1):
            value = float(f.group(2))
            factor = value if f.group(1) == "in" else 1.0 / value
            if value >= 10 and not re.search(r"\b(?:by|factor|times|fold)\b|-fold", f.group()):
                factor = None  # "zoom in, 20x": an objective's power, not twenty times closer
        elif f.group(3):
            value = float(f.group(3))
            closer = f.group(4) in ("closer", "more", "in")
            factor = value if closer else 1.0 / value
        elif f.group(5):
            factor = 2.0
        elif f.group(9):  # "closer. 2x"
            value = float(f.group(10))
            factor = value if f.group(9) == "closer" else 1.0 / value
        else:  # "halve the magnification", "zoom out by half"
            factor = 0.5
        if factor is not None and not (0 < factor <= 64):
            factor = None
    part = None
    part_of = None
    c = _CORNER_RE.search(low)
    if c:
        if c.group(1):
            vert = "top" if c.group(1) in ("top", "upper") else "bottom"
            part = f"{vert}_{c.group(2)}"
        elif c.group(3):
            side = {"upper": "top", "lower": "bottom"}.get(c.group(3), c.group(3))
            part = f"{side}_half"
        else:
            part = "center"
        whose = c.group(5) or ""
        if whose in ("slide",):
            part_of = "slide"
        elif whose and whose != "slide" or _PART_OF_VIEW_RE.search(low):
            part_of = "view"
        elif _SLIDE_WORD_RE.search(low):
            part_of = "slide"
    if part is None and _CENTRE_ALONE_RE.search(low):
        part, part_of = "center", "view"  # "crop to the centre": of what is on screen
    centre = bool(_CENTRAL_RE.search(low) and _SIZE_RE.search(low))
    if centre:
        part = None
    if pan is None and factor is None and part is None and not centre:
        return None
    return Relative(
        pan=pan,  # type: ignore[arg-type]
        pan_fraction=fraction,
        factor=factor,
        part=part,
        part_of=part_of,  # type: ignore[arg-type]
        slide_centre=centre,
    )


@dataclass(frozen=True)
class ZoomRequest:
    """What a zoom request asks for; coordinates in level-0 pixels."""

    direction: Literal["in", "out"] | None = None
    magnification: float | None = None
    mpp: float | None = None
    level: int | None = None
    target: Literal["tissue_region", "roi", "point", "box", "slide", "cellular", "default"] = (
        "default"
    )
    region_index: int | None = None
    roi_ref: RoiRef | None = None
    roi_number: int | None = None
    center: tuple[float, float] | None = None
    size_px: tuple[int, int] | None = None
    box: tuple[int, int, int, int] | None = None
    relative: Relative | None = None
    region_word: bool = False
    """The number was written "region N": tissue region N when the case has no view N."""
    for_analysis: bool = False
    """Shown only because an analysis names this box or point: the view it will analyse."""
    same_scale: bool = False
    """The scale is the current view's ("the largest core at the same magnification")."""
    error: str | None = None
    """A number of the request is out of range or not finite: the view is refused."""


@dataclass(frozen=True)
class RegionRequest:
    """A request to analyse a region: which one (an earlier region by default)."""

    target: Literal["tissue_region", "roi", "slide", "default"] = "default"
    region_index: int | None = None
    roi_ref: RoiRef | None = None
    roi_number: int | None = None
    region_word: bool = False
    """The number was written "region N": tissue region N when the case has no view N."""
    what: Literal["nuclei", "cellular", "epithelium", "stroma"] | None = None
    box: tuple[int, int, int, int] | None = None
    """An explicit level-0 box ([x0, y0, x1, y1] or from (x, y) to (x, y))."""
    centre_size: tuple[int, int] | None = None
    """The slide's centre was named: a box of this level-0 size around it."""
    part: str | None = None
    """A quadrant or half of the slide ("the top left corner of the slide")."""
    error: str | None = None
    """A number of the request is out of range or not finite: the analysis is refused."""


@dataclass(frozen=True)
class ParsedRequest:
    """The intents found in one request."""

    info: bool = False
    tissue: bool = False
    zoom: ZoomRequest | None = None
    detect: RegionRequest | None = None
    classify: RegionRequest | None = None
    classify_slide: bool = False
    segment: RegionRequest | None = None
    knowledge: bool = False
    compare: CompareRequest | None = None
    recall: RecallRequest | None = None
    segment_also: tuple[str, ...] = ()
    """More compartments to segment in the same region ("the epithelium and the stroma")."""
    other: tuple[tuple[str, RegionRequest | None], ...] = ()
    """Tools beyond the built-in ones (a one-file tool): name, and its region when it takes one."""
    also_at: tuple[RegionRequest, ...] = ()
    """Further places the request's one analysis is asked at ("count nuclei in views 1 to 4")."""

    @property
    def empty(self) -> bool:
        """True when no intent was recognised."""
        return not (self.info or self.tissue or self.zoom or self.detect or self.classify) and not (
            self.classify_slide or self.compare or self.recall or self.segment or self.other
        )


def parse_request(text: str) -> ParsedRequest:
    """Find the intents of ``text`` and the arguments of a zoom."""
    low = " ".join(text.lower().split())
    recall = parse_recall(low)
    if recall is not None:  # answered from the case's memory: no tool runs
        return ParsedRequest(recall=recall)
    compare = parse_compare(low)
    if compare is not None:  # the comparison plans its own analysis steps
        return ParsedRequest(compare=compare)
    zoom = _parse_zoom(low)
    segment = None
    verb = _SEGMENT_RE.search(low)
    # "move down to see that gland, then segment the stroma": the compartment the verb names
    part = (_COMPARTMENT_RE.search(low, verb.start()) if verb else None) or _COMPARTMENT_RE.search(
        low
    )
    if verb and (_NUCLEI_RE.search(low) or _CELLULAR_RE.search(low) or part):
        what = "cellular" if _CELLULAR_RE.search(low) else "nuclei"
        if part and what == "nuclei" and not _NUCLEI_RE.search(low):
            what = _compartment_of(part.group())
        segment = replace(_parse_region_request(low), what=what)
    detect = _parse_region_request(low) if _wants_detect(low) and segment is None else None
    if zoom is not None and not _asks_to_zoom(low) and zoom.target in ("box", "point"):
        zoom = replace(zoom, for_analysis=True)
    classify_slide = bool(_CLASSIFY_RE.search(low) and _SLIDE_LEVEL_RE.search(low))
    classify = (
        _parse_region_request(low) if _CLASSIFY_RE.search(low) and not classify_slide else None
    )
    rest = low
    if zoom is not None:
        rest = without_boxes(rest)
        for pattern in (_SIZE_RE, _POINT_RE, _MAG_RE, _MPP_RE, _LEVEL_RE):
            rest = pattern.sub(" ", rest)
    info = bool(_INFO_RE.search(rest))
    has_tissue = bool(re.search(r"\btissue\b", low))
    alone = not (zoom or detect or classify or segment or classify_slide)
    tissue = has_tissue and (alone or bool(_TISSUE_METRIC_RE.search(rest)))
    return ParsedRequest(
        segment_also=segment_targets(low)[1:] if segment is not None else (),
        info=info,
        tissue=tissue,
        zoom=zoom,
        detect=detect,
        classify=classify,
        classify_slide=classify_slide,
        segment=segment,
        knowledge=bool(
            _KNOWLEDGE_RE.search(low)
            or (alone and not (info or tissue) and _KNOWLEDGE_ALONE_RE.search(low))
        ),
    )


def _asks_to_zoom(low: str) -> bool:
    """The request says to show or move (not only where to analyse)."""
    return bool(_ZOOM_VERB_RE.search(low)) or "zoom" in low


def zoom_request(low: str) -> ZoomRequest:
    """The zoom arguments of a request known to ask for a view (the meaning-based planner)."""
    found = _parse_zoom(low, force=True)
    assert found is not None
    return found


def region_request(low: str) -> RegionRequest:
    """Which region an analysis request names (an earlier region by default)."""
    return _parse_region_request(low)


def segment_target(low: str) -> Literal["nuclei", "cellular", "epithelium", "stroma"]:
    """What a segmentation request asks to outline: nuclei unless a compartment is named."""
    if _CELLULAR_RE.search(low):
        return "cellular"
    part = _COMPARTMENT_RE.search(low)
    if part and (not _NUCLEI_RE.search(low) or _LAY_COMPARTMENT_RE.search(part.group())):
        return _compartment_of(part.group())
    if _NUCLEI_RE.search(low):
        return "nuclei"
    if part is None:
        return "nuclei"
    return _compartment_of(part.group())


COMPARTMENT_WORD_RE = re.compile(
    r"\b(nucle(?:i|us|ar)|epitheli(?:um|al)|epiderm(?:is|al)|urotheli(?:um|al)|glands?|glandular|"
    r"nests?|stroma(?:l)?|derm(?:is|al)|lamina\s+propria|connective\s+tissue|cellular(?:ity)?|"
    r"cell[- ]rich|cells\s+lining|lining\s+cells|(?:top|surface|outer)\s+layer|"
    r"between\s+the\s+glands)\b"
)
"""A word that names what a segmentation outlines."""


def segment_targets(low: str) -> tuple[str, ...]:
    """Every compartment a segmentation request names, in order (at least one)."""
    named = []
    for m in COMPARTMENT_WORD_RE.finditer(low):
        word = m.group(1)
        what = (
            "nuclei"
            if word.startswith("nucle")
            else "epithelium"
            if word.startswith(
                ("epitheli", "epiderm", "urotheli", "gland", "nest", "cells lining", "lining")
            )
            or word.endswith("layer")
            else "stroma"
            if word.startswith(_STROMA_WORDS)
            else "cellular"
        )
        if what not in named:
            named.append(what)
    compartments = [w for w in named if w in ("epithelium", "stroma")]
    if len(compartments) == 2:
        return tuple(compartments)
    return (segment_target(low),)


def _wants_detect(low: str) -> bool:
    return bool(_DETECT_VERB_RE.search(low) and _NUCLEI_RE.search(low))


_DEFAULT_CENTRE_PX = 1024
"""Side, in level-0 px, of the box analysed at "the centre of the slide" when no size is given."""


def _parse_region_request(low: str) -> RegionRequest:
    try:
        return _region_request(low)
    except NumberError as error:
        return RegionRequest(error=str(error))


def _region_request(low: str) -> RegionRequest:
    box = _parse_box(_SIZE_RE.sub(" ", low))
    centre = None
    size = _SIZE_RE.search(low)
    sized = size is not None and not re.search(r"\d", _SIZE_RE.sub(" ", low))
    # "a 1000 x 1000 px box at the centre": a size and the centre, as a zoom reads them
    if box is None and _CENTRAL_RE.search(low) and (_SLIDE_WORD_RE.search(low) or sized):
        side = _size(size) if size else None
        centre = side or (_DEFAULT_CENTRE_PX, _DEFAULT_CENTRE_PX)
    if box is not None or centre is not None:
        return RegionRequest(target="default", box=box, centre_size=centre)
    rel = parse_relative(low)
    if rel is not None and rel.part and rel.part != "center" and rel.part_of != "view":
        # "in the top left quadrant": of the slide, as a zoom reads it
        return RegionRequest(target="default", part=rel.part)
    target, region_index, roi_ref, roi_number = _parse_target(low)
    if target not in ("tissue_region", "roi", "slide"):
        target = "default"
    return RegionRequest(
        target=target,  # type: ignore[arg-type]
        region_index=region_index,
        roi_ref=roi_ref,
        roi_number=roi_number,
        region_word=_region_word(low, roi_ref),
    )


def _parse_zoom(low: str, *, force: bool = False) -> ZoomRequest | None:
    """The zoom ``low`` asks for; ``force``: the request is known to be a zoom (semantic).

    A number out of its range (``LIMITS``) or not finite gives a request with an ``error``.
    """
    try:
        return _zoom(low, force=force)
    except NumberError as error:
        return ZoomRequest(error=str(error))


def _zoom(low: str, *, force: bool) -> ZoomRequest | None:
    relative = parse_relative(low)
    size = _SIZE_RE.search(low)
    scan = _SIZE_RE.sub(" ", low)
    if relative is not None and relative.factor is not None:
        scan = factor_phrased(scan)
        scan = _FACTOR_RE.sub(" ", scan)
    box = _parse_box(scan)
    if box is not None:
        scan = without_boxes(scan)
    point = _parse_point(scan)
    if point is not None:
        scan = _POINT_RE.sub(" ", scan)
    mag = _MAG_RE.search(scan)
    mpp = _MPP_RE.search(scan) or _MPP_FIRST_RE.search(scan)
    level = _LEVEL_RE.search(scan)
    direction = "out" if _OUT_RE.search(low) else ("in" if _IN_RE.search(low) else None)
    target, region_index, roi_ref, roi_number = _parse_target(scan)
    if box is not None:
        target = "box"
    elif point is not None:
        target = "point"
    elif HOTSPOT_RE.search(scan) and not WHICH_RE.search(scan) and target in ("default", "roi"):
        target, roi_ref = "cellular", None  # "take me to the most cellular area"
    has_verb = bool(_ZOOM_VERB_RE.search(low))
    has_scale = bool(mag or mpp or level)
    wants = force or "zoom" in low or (has_verb and (target != "default" or has_scale))
    if not wants and (box is not None or point is not None):
        wants = True
    if not wants and relative is not None and (relative.pan or relative.part or has_verb):
        wants = True
    if not wants:
        return None
    if relative is not None and relative.factor is not None:
        direction = "in" if relative.factor >= 1 else "out"
    return ZoomRequest(
        direction=direction,
        magnification=_bounded(mag.group(1), "magnification") if mag else None,
        mpp=_bounded(mpp.group(1), "resolution") if mpp else None,
        level=round(_bounded(level.group(1), "level")) if level else None,
        target=target,
        region_index=region_index,
        roi_ref=roi_ref,
        roi_number=roi_number,
        region_word=_region_word(scan, roi_ref),
        center=point,
        size_px=_size(size) if size else None,
        box=box,
        relative=relative,
        same_scale=bool(_SAME_SCALE_RE.search(low)) and not has_scale,
    )


_SAME_SCALE_RE = re.compile(
    r"\b(?:at\s+|with\s+|keeping\s+|keep\s+)?(?:the\s+)?same\s+(?:magnification|mag|power|zoom(?:\s+level)?|"
    r"scale|resolution|objective)\b"
)
"""The current view's scale kept for the next one ("now the largest core at the same power")."""


def box_named(low: str) -> tuple[int, int, int, int] | None:
    """The one box (level-0 px) a request names, ordered; None for none."""
    box = _parse_box(low)
    if box is None:
        return None
    x0, y0, x1, y1 = box
    ordered = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    return ordered if ordered[2] > ordered[0] and ordered[3] > ordered[1] else None


def _parse_box(low: str) -> tuple[int, int, int, int] | None:
    """The first box a request names, in any form (``box_spans``), corners in order.

    "[2400,1200,1600,700]" is the box [1600, 700, 2400, 1200]: corners written in either
    order name one box.
    """
    found = box_spans(low)
    if not found:
        return None
    x0, y0, x1, y1 = found[0][2]
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def box_spans(low: str) -> list[tuple[int, int, tuple[int, int, int, int]]]:
    """Every box a request names, as (start, end, (x0, y0, x1, y1)) in the order written.

    Forms: "[x0, y0, x1, y1]", "box x0 y0 x1 y1", "from (x0,y0) to (x1,y1)", "(x0,y0)-(x1,y1)",
    "x 60000 to 68000, y 20000 to 26000" and "x=1600..2400, y=700..1200", "top-left (x0,y0)
    bottom-right (x1,y1)", "x=100, y=600, width=300, height=300", "x0,y0 to x1,y1". Where two
    forms overlap, the one that starts first and is longest wins.
    """
    out: list[tuple[int, int, tuple[int, int, int, int]]] = []
    for m, kind in _box_matches(low):
        v = [round(_bounded(g, "coordinate")) for g in m.groups() if g is not None]
        if kind == "ranges":  # x0, x1, then y0, y1
            box = (v[0], v[2], v[1], v[3])
        elif kind == "size":  # x, y, width, height
            box = (v[0], v[1], v[0] + v[2], v[1] + v[3])
        elif kind == "centred":  # width, height, centre x, centre y
            x0, y0 = v[2] - v[0] // 2, v[3] - v[1] // 2
            box = (x0, y0, x0 + v[0], y0 + v[1])
        else:
            box = (v[0], v[1], v[2], v[3])
        out.append((m.start(), m.end(), box))
    return out


def _box_matches(low: str) -> list[tuple[re.Match[str], str]]:
    """The box forms' matches, overlaps resolved: the earliest, then the longest, wins."""
    found: list[tuple[re.Match[str], str]] = [(m, "ranges") for m in _XY_RANGE_RE.finditer(low)]
    found += [(m, "size") for m in _XYWH_RE.finditer(low)]
    for pattern in (
        _CORNERS_RE,
        _XY_CORNERS_RE,
        _BOX_RE,
        _PAIR_BOX_RE,
        _BARE_PAIRS_RE,
        _BOUNDED_RE,
    ):
        found += [(m, "corners") for m in pattern.finditer(low)]
    if found:  # "… and a 300 x 300 box centred at (800, 800)": a second box beside the first
        found += [(m, "centred") for m in _CENTRED_BOX_RE.finditer(low)]
    kept: list[tuple[re.Match[str], str]] = []
    for m, kind in sorted(found, key=lambda f: (f[0].start(), -f[0].end())):
        if kept and m.start() < kept[-1][0].end():
            continue  # inside a box already read
        kept.append((m, kind))
    return kept


def without_boxes(low: str) -> str:
    """``low`` with every box it names blanked out (so no corner reads as a point)."""
    for m, _ in reversed(_box_matches(low)):
        low = low[: m.start()] + " " * (m.end() - m.start()) + low[m.end() :]
    return low


_CENTRED_BOX_RE = re.compile(
    rf"\b({_NUM})\s*(?:x|×|by)\s*({_NUM})\s*(?:px|pixels?)?\s*(?:[a-z]+\s+){{0,2}}?"
    rf"(?:cent(?:er|re)d|around)\s+(?:at|on)?\s*\(?\s*({_NUM}){_CS}({_NUM})\s*\)?"
)
"""A box by its size and centre (level-0 px): read only beside another box, since a field of a
size centred on a point alone is a view at that point."""
_PAIR_BOX_RE = re.compile(
    rf"\(\s*({_NUM}){_CS}({_NUM})\s*\)\s*(?:to|-|–)\s*\(\s*({_NUM}){_CS}({_NUM})\s*\)"
)
"""A box as two bracketed corners without a lead word: "(600,1200)-(1300,1800)"."""


def boxes_compared(low: str) -> tuple[tuple[int, int, int, int], ...] | None:
    """Two or more boxes a request names ("compare box [600,1200,1300,1800] with box […]").

    None for fewer than two; each box is ordered (x0 < x1, y0 < y1) and given once.
    """
    boxes: list[tuple[int, int, int, int]] = []
    for _, _, (x0, y0, x1, y1) in box_spans(low):
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        if box[2] > box[0] and box[3] > box[1] and box not in boxes:
            boxes.append(box)
    return tuple(boxes) if len(boxes) >= 2 else None


def _parse_point(low: str) -> tuple[float, float] | None:
    m = _POINT_RE.search(low)
    if m is None:
        return None
    vals = [_bounded(g, "coordinate") for g in m.groups() if g is not None]
    return (vals[0], vals[1])


_VIEW_DESCRIBED_RE = re.compile(
    r"(?:\b(?:view|region|roi|field)\s*#?\s*(\d+)|\bthe\s+(?:very\s+)?(first|second|third|fourth|fifth|1st|"
    r"2nd|3rd|4th|5th)\s+(?:view|region|roi|field))\s*[,(–-]\s*the\s+[^,;.()]*?\b(?:of|on|around|at|"
    r"in|over)\s+the\s+(?:[\w-]+\s+){0,2}(?:fragment|piece|core|tissue|section)\b"
)
"""A numbered view and, beside it, what it showed: the number names it."""


_SMALLEST_RE = re.compile(
    rf"\b(?:{_ORD}[\s-]+)?(?:smallest|tiniest)\s+(?:(?P<piece>(?:piece\s+of\s+)?(?:tissue\s+)?"
    r"(?:region|piece|fragment|section|bit|chunk|core|chip|island|biopsy)s?\b)|one\b|"
    r"of\s+(?:them|the\s+(?:tissue\s+)?(?:pieces|fragments|cores|bits|chips|islands|regions))\b)"
)
"""'the smallest fragment', 'the second smallest piece': a tissue region counted from the
smallest (-1, -2, ...)."""
_VIEW_WORD_RE = re.compile(r"\b(?:views?|fields?|rois?|counts?|density)\b")


_ON_THE_SLIDE_RE = re.compile(
    r"\b(?:on|in|across|over|throughout|from)\s+(?:the|this)\s+(?:whole\s+|entire\s+)?slide\b"
    r"(?!\s*(?:'s|info|metadata|level|label|model|classif|scanner|file))"
)
"""The slide named as where to look ("is there tumour on this slide?")."""


def _parse_target(low: str) -> tuple[str, int | None, RoiRef | None, int | None]:
    """Return (target, tissue region index, ROI reference, ROI number).

    A tissue region counted from the smallest has a negative index (-1: the smallest).
    """
    m = _VIEW_DESCRIBED_RE.search(low)
    if m:  # "view 1, the low-power view of the largest fragment": the view, described
        return "roi", None, "number", int(m.group(1)) if m.group(1) else _ordinal(m.group(2))
    m = _SMALLEST_RE.search(low)
    if m and (m.group("piece") or not _VIEW_WORD_RE.search(low)):
        return "tissue_region", -(_ordinal(m.group(1)) if m.group(1) else 1), None, None
    m = re.search(
        rf"\b{_ORD}\s+(?:largest|biggest)\b(?:\s+(?:piece\s+of\s+)?(?:tissue\s+)?"
        r"(?:region|area|piece|fragment|section)\b)?",
        low,
    )
    if m and m.group(1) not in ("first", "1st"):
        return "tissue_region", _ordinal(m.group(1)), None, None
    if (
        re.search(r"\b(largest|biggest|main|largest)\s+(?:piece\s+of\s+)?tissue\b", low)
        or re.search(
            r"\b(?:into|onto|on|to|at)\s+the\s+tissue\b(?!\s*(?:regions?|pieces?|fragments?|"
            r"sections?|cores?)?\s*#?\s*\d)",
            low,
        )
        or re.search(
            r"\b(largest|biggest|main)\s+(?:tissue\s+)?(region|area|piece|fragment|section|bit|chunk|core|"
            r"chip|island|biopsy|node)\b",
            low,
        )
        or (
            re.search(r"\b(?:largest|biggest)\s+one\b", low)
            and not re.search(r"\b(?:views?|regions?|fields?|rois?)\b", low)
        )
    ):
        return "tissue_region", 1, None, None
    m = (
        # "tissue region 3"; not "what tissue view 3 was"
        re.search(r"\btissue\s+(?:region|area|spot|place|location)\s*#?\s*(\d+)\b", low)
        or re.search(rf"\b{_ORD}\s+(?:largest\s+)?tissue\s+{_AREA}\b", low)
        or re.search(rf"\b(?:tissue\s+)?{_PIECE}\s*(?:no\.?\s*|number\s+|#\s*)?(\d+)\b", low)
        or re.search(r"\btissue\s*#?\s*(\d+)\b(?!\s*(?:x|×|px|µm|um|%))", low)
        or re.search(rf"\b{_ORD}\s+(?:largest\s+)?(?:[a-z]+\s+){{0,2}}{_PIECE}\b", low)
        or re.search(rf"\b{_ORD}\s+(?:piece|bit)\s+of\s+tissue\b", low)
    )
    if m:
        return "tissue_region", _ordinal(m.group(1)), None, None
    if (
        _ON_THE_SLIDE_RE.search(low)
        and not DEICTIC_RE.search(low)
        and not re.search(rf"\b{_AREA}s?\s*#?\s*\d", low)
    ):
        return "slide", None, None, None  # "any lymphocytes on this slide, or is it all mucosa?"
    if CURRENT_RE.search(low):
        return "roi", None, "current", None
    m = re.search(rf"\b{_ORD}\s+(?:{_AREA}|one)\b", low) or re.search(
        r"(?<!tissue )\b(?:region|roi|view|field)\s*#?\s*(\d+)\b(?!\s*(?:x|×|px|µm|um))", low
    )
    if m:
        return "roi", None, "number", _ordinal(m.group(1))
    if re.search(
        r"\b(whole|entire|full)[\s-]slide\b(?![\s-]+(?:classifi|model|label|diagnos|predict))|"
        r"\b(?:whole|entire|full)\s+(?:image|tile|picture|section|field\s+of\s+the\s+image)\b|"
        r"\banywhere\b|\bthroughout\b|\b(?:all|any)\s+(?:of\s+)?(?:the|this)\s+(?:image|tile)\b|"
        r"\b(?:whole|entire|total)\s+(?:of\s+)?(?:the\s+)?tissue\b|\ball\s+(?:of\s+)?the\s+tissue\b|"
        r"\boverview\b|\bthumbnail\b|\b(?:across|(?:on|in|over|for)\s+all|all\s+over)\s+(?:(?:the|this)\s+)?"
        r"slide\b|"
        r"\b(?:much|all|most|percent(?:age)?|fraction|proportion|share)\s+of\s+(?:the|this)\s+slide\b|"
        r"\b(?:breakdown|composition|make-?up|mix|map|class(?:es)?|shares?|percentages?)\s+"
        r"(?:of|for|on|in|over)\s+(?:the|this)\s+slide\b",
        low,
    ):
        return "slide", None, None, None
    if PREVIOUS_RE.search(low):
        return "roi", None, "previous", None
    return "default", None, None, None


def _region_word(low: str, roi_ref: RoiRef | None) -> bool:
    """The earlier region was named "region N" (which can also mean tissue region N)."""
    return roi_ref == "number" and bool(_REGION_WORD_RE.search(low))


_REGION_WORD_RE = re.compile(r"(?<!tissue )\bregion\s*#?\s*\d+\b")


def _ordinal(word: str) -> int:
    if word in ORDINAL_WORDS:
        return ORDINAL_WORDS[word]
    digits = re.sub(r"(?:st|nd|rd|th)$", "", word)
    return round(_bounded(digits, "region number"))
