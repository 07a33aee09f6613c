"""Parse requests that refer back to the case: compare regions, recall what was found (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from agent.ordinals import ORDINAL_PATTERN, ordinal_number
from agent.references import CURRENT_RE, PREVIOUS_RE, expand_ranges

__all__ = [
    "CompareRequest",
    "RecallRequest",
    "RegionRef",
    "compare_of",
    "findings_asked",
    "parse_compare",
    "parse_recall",
    "region_refs",
    "views_named",
]

RegionRef = int | Literal["current", "previous"]
"""An earlier region (ROI) by number, the one the conversation is on ("it"), or the one before."""

_ORD = f"{ORDINAL_PATTERN}|last"
_SEP = r"\s*(?:,|and|&|with|to|vs\.?|versus|or)\s*(?:the\s+)?"
_NUMBERED_RE = re.compile(
    rf"(?<!tissue )\b(?:regions?|rois?|views?|fields?|hpfs?)\s*#?\s*(\d+)\b"
    rf"((?:{_SEP}(?:(?:regions?|rois?|views?|fields?|hpfs?)\s*)?#?\s*\d+\b(?!\s*(?:x|×|px)))*)"
)
_ORDINAL_RE = re.compile(
    rf"\b({_ORD})\b((?:{_SEP}(?:{_ORD})\b)*)\s+(?:regions?|rois?|areas?|views?|fields?|ones?)\b"
)
_BARE_ORDINAL_RE = re.compile(
    rf"\bthe\s+({ORDINAL_PATTERN})(?=\s*(?:$|[,?.;!]|(?:in|on|for|by|and|or|with|at)\b))"
)
""""Differ from the first in terms of tissue type": an ordinal with its noun left out."""
_FIRST_N_RE = re.compile(
    r"\b(?:the\s+)?(first|last)\s+(two|three|2|3)\s+(?:regions?|rois?|areas?|views?|fields?|ones?)\b"
)
_COUNT_WORDS = {"two": 2, "three": 3, "2": 2, "3": 3}
_COMPARE_RE = re.compile(
    r"\bcompar(?:e|ed|ing|ison)\b|\bversus\b|\bvs\.?(?!\w)|\bdiffer(?:s|ence|ences)?\b"
)
_RECALL_RE = re.compile(
    r"\bwhat\s+(?:did|have|had)\s+(?:we|you|i)\s+(?:\w+\s+)?(?:conclud|found|find|see|saw|"
    r"seen|say|said|learn|get|got|decid|observ|measur|determin|not(?:e|ed))\w*\b|"
    # "what do we conclude so far?"; "what do you see here?" asks of the view, now
    r"\bwhat\s+do\s+(?:we|you|i)\s+(?:\w+\s+)?(?:conclud|found|saw|seen|said|learn|got|decid|"
    r"observ|measur|determin|not(?:e|ed))\w*\b|"
    r"\bwhat\s+do\s+(?:we|you|i)\s+(?:\w+\s+)?(?:find|see|say|get)\w*\b(?=[^?.;]*\b(?:so\s+far|"
    r"earlier|before|already|in\s+(?:view|region)\s+\d))|"
    r"\bwhat\s+(?:was|were|has\s+been|have\s+been)\s+(?:\w+\s+)?(?:concluded|found|seen|"
    r"observed|measured|determined|the\s+(?:conclusion|finding|result)s?)\b|"
    r"\bwhat\s+did\s+the\s+(?:[\w-]+\s+){0,2}(?:show|say|find|give|report|call|label|make\s+of|"
    r"come\s+back\s+with)\b|"
    r"\b(?:list|show\s+me|name|what\s+(?:are|were))\s+(?:all\s+)?(?:the\s+)?"
    r"(?:regions?|views?|fields?|areas?|places?)\s+(?:that\s+)?(?:we|you|i)\s+(?:have\s+|'ve\s+)?"
    r"(?:looked\s+at|visited|seen|saw|viewed|analy[sz]ed)\b|"
    # "how many views have we done?": the places the case went to, counted
    r"\bhow\s+many\s+(?:regions?|views?|fields?|areas?|places?)\s+(?:have|did)\s+(?:we|you|i)\s+"
    r"(?:done|opened|looked\s+at|visited|seen|viewed|gone\s+through|covered)\b|"
    r"\bwhich\s+(?:regions?|views?|fields?|areas?|places?)\s+(?:have|did)\s+(?:we|you|i)\s+"
    r"(?:looked\s+at|look\s+at|visited|visit|seen|see|viewed|been\s+to)\b|"
    r"\bhow\s+(?:confident|sure|certain)\s+(?:is|was|were|are)\s+(?:it|that|the\s+[\w-]+|you)(?![\w-])"
    # "how confident is the tile classifier on this view?", "how confident is the slide-level
    # model that this is tumour?": its call on the view, or a claim's, asked now
    r"(?!(?:\s+[\w-]+){0,2}\s+(?:(?:on|for|about|with|in)\s+(?:this|the\s+current)|here|"
    r"that\s+(?:this|it|these|the\s+[\w-]+)\s+(?:is|are|has|have|shows?)\b)\b)|"
    r"\bremind\s+me\b|\brecap\b|\b(?:our|the|earlier|previous)\s+(?:earlier\s+|previous\s+)?"
    r"(?:conclusions?|findings?|results?)\s+(?:about|for|on|in|of)\b"
)
_LIST_VIEWS_RE = re.compile(
    r"\b(?:list|show\s+me|name|what\s+(?:are|were)|which|how\s+many)\s+(?:all\s+)?(?:the\s+)?"
    r"(?:regions?|views?|fields?|areas?|places?)\s+(?:that\s+)?(?:have\s+|did\s+)?(?:we|you|i)\s+"
    r"(?:have\s+|'ve\s+)?(?:looked\s+at|look\s+at|visited|visit|seen|see|saw|viewed|been\s+to|"
    r"done|opened|gone\s+through|covered)\b"
)
"""A request to list the places the case looked at (not what was found there)."""
_SEGMENT_RE = re.compile(
    r"\b(?:segment(?:ations?|ed|s)?|outlin(?:e|es|ed)|masks?|cover(?:age|ed)?)\b"
)
_DETECT_RE = re.compile(
    r"\b(?:detect(?:ions?|ed)?|counts?|densit(?:y|ies)|how\s+many|number\s+of)\b"
)
_CLASSIFY_RE = re.compile(
    r"\bclassif(?:y|ied|ications?|iers?)\b|\b(?:labels?|tissue\s+types?|class(?:es)?)\b|"
    r"\bsame\s+(?:\w+\s+)?type\b|\bsame\s+tissue\b|\btissue[\s-]+wise\b|\bkind\s+of\s+tissue\b"
)
_COMPOSITION_RE = re.compile(
    r"\b(?:tissue\s+)?composition\b|\b(?:class|tissue)\s+(?:shares?|proportions?|breakdown|"
    r"make-?up|percentages?)\b|"
    r"\b(?:more|less|most|least|fewer|higher|lower|bigger|larger|smaller)\s+(?:\w+\s+)?"
    r"(?:tumou?r|necro\w*|debris|muc(?:us|in)|fat|adipose|lymphocyt\w*|muscle)\b|"
    r"\b(?:tumou?r|necro\w*|debris|muc(?:us|in)|fat|adipose|lymphocyt\w*|muscle)\s+"
    r"(?:(?:content|burden|shares?|fractions?|proportions?|percent(?:ages?|s)?|by\s+area)\b|\s*%)|"
    r"\b(?:tissue\s+|class\s+)?(?:breakdowns?|make-?ups?)\b|"
    # "the tumour/stroma mix", "tumour vs stroma in view 2 and here": the tumour's share
    r"\btumou?r\s*(?:/|-|vs\.?\s|versus\s|and\s)\s*stroma(?:l)?\b(?!\s+(?:masks?|outlines?|"
    r"segmentation|areas?\s+in\s+(?:µm|um|mm)))|"
    r"\bhow\s+much\s+(?:\w+\s+)?(?:tumou?r|necro\w*|debris|muc(?:us|in)|fat|adipose|lymphocyt\w*|muscle)\b"
)
"""A comparison by the tile classifier's class shares ("which had more tumour?", "compare
the composition", "necrosis fraction in both")."""
_NUCLEI_RE = re.compile(r"\bnucle(?:i|us|ar)\b|\bcells?\b")
_PART_RE = re.compile(r"\b(epitheli(?:um|al)|stroma(?:l)?|cellular(?:ity)?|gland(?:s|ular)?)\b")
_AN_AREA_RE = re.compile(
    r"\b(?:cellular|gland(?:s|ular)?)\s+(?:vs\.?\s+(?:background|acellular)\s+)?(?:areas?|masks?|"
    r"fractions?|coverage)\b|\bcellular\s+(?:vs\.?|versus)\s+(?:background|acellular)\b"
)
"""An area asked of a compartment ("the cellular vs background area", "gland area"): its mask."""


@dataclass(frozen=True)
class CompareRequest:
    """Compare two (or more) earlier regions by an analysis (None: the case's latest one)."""

    regions: tuple[RegionRef, ...]
    tool: Literal["segment", "detect", "classify", "composition"] | None = None
    what: str | None = None
    nuclei: bool = False
    last: int | None = None
    """Compare the last ``last`` views the case looked at instead of ``regions`` ("the three
    views"); 0: every view ("all the views so far")."""
    parts: tuple[str, ...] = ()
    """Compare parts of the slide or of the current view instead ("which quadrant has the most
    nuclei?", "the left half with the right half"): ``tools.zoom.PARTS`` keys."""
    part_of: Literal["slide", "view"] | None = None
    """Whose parts: the slide's, the current view's, or (None) the view's when there is one."""
    rank_by: Literal["density", "mean_area"] | None = None
    """Parts or boxes ranked by their density ("per mm² of tissue", "more cellular") or mean
    nuclear area ("which has the largest nuclei?"); None: by the count."""
    within: tuple[int, int, int, int] | None = None
    """The parts are of this box (level-0 px) the request names: "halves of x555–1665,
    y1112–2596"."""
    boxes: tuple[tuple[int, int, int, int], ...] = ()
    """Compare boxes the request names instead (level-0 px, [x0, y0, x1, y1] each): "compare box
    [600,1200,1300,1800] with box [2600,2600,3300,3200]"."""
    after_move: bool = False
    """The request moves the view before it compares: "here" is the view the move shows ("zoom
    out 2x and compare the composition here with view 1")."""


@dataclass(frozen=True)
class RecallRequest:
    """Recall what the case found about regions (empty: every region it analysed)."""

    regions: tuple[RegionRef, ...] = ()
    kinds: tuple[str, ...] = ()
    """Tools whose results the question asks for ("the count": detect); empty: all of them."""
    views: bool = False
    """The question asks which places the case looked at: every region, by its view."""


def region_refs(low: str) -> list[RegionRef]:
    """Every earlier-region reference in ``low``, in the order written (duplicates kept)."""
    low = expand_ranges(low)
    found: list[tuple[int, RegionRef]] = []
    for m in _FIRST_N_RE.finditer(low):
        n = _COUNT_WORDS[m.group(2)]
        if m.group(1) == "last" and n > 2:
            continue  # "the last three views": a group of the latest views (views_named)
        if m.group(1) == "first":
            found.extend((m.start() + k, k + 1) for k in range(n))
        else:  # the last two: the one before and the current one
            found.extend([(m.start(), "previous"), (m.start() + 1, "current")][-n:])
        low = low[: m.start()] + " " * (m.end() - m.start()) + low[m.end() :]
    for m in _NUMBERED_RE.finditer(low):
        found.append((m.start(1), int(m.group(1))))
        for k, extra in enumerate(re.findall(r"\d+", m.group(2) or "")):
            found.append((m.start(2) + k, int(extra)))
    listed: list[tuple[int, int]] = []
    ordinals = list(_ORDINAL_RE.finditer(low))
    counted = any(m.group(1) != "last" for m in ordinals)
    for m in ordinals:
        extras = re.findall(_ORD, m.group(2) or "")
        if m.group(1) == "last" and not extras and not counted:
            # "the last view" alone is the one before (PREVIOUS_RE); beside "the first one" it
            # is the latest ("is the first one more cellular than the last one")
            continue
        found.append((m.start(1), ordinal_number(m.group(1))))
        listed.append((m.start(), m.end()))
        for k, extra in enumerate(extras):
            found.append((m.start(2) + k, ordinal_number(extra)))
    for m in _BARE_ORDINAL_RE.finditer(low):
        if not any(a <= m.start(1) < b for a, b in listed):
            found.append((m.start(1), ordinal_number(m.group(1))))
    found.extend((m.start(), "current") for m in CURRENT_RE.finditer(low))
    found.extend(
        (m.start(), "previous")
        for m in PREVIOUS_RE.finditer(low)
        if not any(a <= m.start() < b for a, b in listed)
    )
    return [ref for _, ref in sorted(found, key=lambda x: x[0])]


def views_named(low: str) -> int | None:
    """How many of the latest views ``low`` names as a group, or None when it names none.

    "the three views": 3; "all the views so far": 0, every one.
    """
    m = _VIEW_GROUP_RE.search(low)
    if m is None:
        return None
    count = m.group("count")
    if count is None:
        return 0
    return _GROUP_COUNTS.get(count) or int(count)


_GROUP_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_VIEW_GROUP_RE = re.compile(
    r"\b(?:(?:all|each|every)\s+(?:one\s+)?(?:of\s+)?(?:the\s+|our\s+|these\s+|those\s+)?|"
    r"(?:the|these|those)\s+(?:(?:last|latest|past|previous|most\s+recent)\s+)?"
    r"(?=(?:two|three|four|five|six|[2-6])\b)|"
    r"\b(?:last|latest|past|previous)\s+(?=(?:three|four|five|six|[3-6])\b))"
    r"(?:(?P<count>two|three|four|five|six|[2-6])\s+)?(?:regions|views|fields|areas|rois|ones)\b|"
    r"\ball\s+of\s+(?:them|these|those)\b|"
    r"\b(?:the\s+)?(?:regions|views|fields|areas|rois)\s+(?:so\s+far|we\s+(?:have\s+)?"
    r"(?:looked\s+at|visited|seen))\b"
)


def parse_compare(low: str) -> CompareRequest | None:
    """A comparison of earlier regions, or None when ``low`` asks for none."""
    if not _COMPARE_RE.search(low):
        return None
    refs = list(dict.fromkeys(region_refs(low)))
    if not refs or (refs == ["current"] and not re.search(r"\b(?:region|roi)s?\b", low)):
        return None
    if len(refs) == 1 and refs[0] != "current":
        refs = ["current", *refs]
    elif (
        "current" not in refs
        and (others := _WITH_OTHERS_RE.search(low)) is not None
        and not region_refs(low[: others.start()])  # not "how does view 2 compare with 3, 4"
    ):
        refs = [*refs, "current"]  # "compare the density here with views 1 and 2"
    return compare_of(low, tuple(refs))


_MEASURE_NOUN = (
    r"(?:(?:nuclear|nuclei|cell|tissue|epithelial|stromal)\s+)?(?:density|densities|counts?|"
    r"numbers?|nuclei|cellularity|composition|make-?up|results?|areas?|figures?|values?|class)"
)
_WITH_OTHERS_RE = re.compile(
    r"\b(?:compar\w*|contrast\w*|stack\w*\s+up|stand\w*\s+(?:up\s+)?|measur\w*\s+up|set)\s+"
    rf"(?:(?:it|this|that|these|those|the\s+{_MEASURE_NOUN}|(?:this|that|these|those)\s+"
    rf"{_MEASURE_NOUN}|the\s+{_MEASURE_NOUN}\s+(?:here|there))\s+)?"
    r"(?:with|to|against)\s+(?:both\s+)?(?:the\s+)?(?:views?|regions?|rois?|fields?)\s*#?\s*\d+\s*"
    r"(?:,\s*|and\s+|&\s*)+(?:views?\s*|regions?\s*|rois?\s*|fields?\s*)?#?\s*\d+|"
    rf"\bhow\s+(?:does|do)\s+(?:it|this|that|this\s+{_MEASURE_NOUN}|that\s+{_MEASURE_NOUN}|"
    rf"the\s+{_MEASURE_NOUN}\s+here)\s+(?:compare|stack\s+up|measure\s+up|stand)\b"
)
"""The view on screen (or the result just asked of it) set against two or more named views:
"count the nuclei here and compare the density with views 1 and 2", "how does that nuclear
count compare with views 3 and 4?"."""


def compare_of(low: str, regions: tuple[RegionRef, ...]) -> CompareRequest:
    """The comparison of ``regions`` by the analysis ``low`` names (None: the latest one)."""
    tool: Literal["segment", "detect", "classify", "composition"] | None = None
    what = None
    part = _PART_RE.search(low)
    if _SEGMENT_RE.search(low):
        tool = "segment"
        what = _part_name(part.group(1)) if part else "nuclei"
    elif _DETECT_RE.search(low):
        tool = "detect"
    elif _COMPOSITION_RE.search(low):
        tool = "composition"
    elif _CLASSIFY_RE.search(low):
        tool = "classify"
    elif part and _AN_AREA_RE.search(low):
        tool, what = "segment", _part_name(part.group(1))  # "compare … for gland area"
    elif part and part.group(1).startswith("cellular"):
        tool = "detect"  # "which is more cellular?": pathologists compare nuclear counts
    elif part:
        tool, what = "segment", _part_name(part.group(1))
    rank_by: Literal["density", "mean_area"] | None = None
    said = _RANK_SAID_RE.search(low)
    if tool in (None, "detect") and said is not None:
        # "rank the quadrants by count", whatever else the request measures
        word = said.group(1)
        if word.startswith("densit"):
            rank_by = "density"
        elif word in ("size", "area"):
            rank_by = "mean_area"
    elif tool in (None, "detect"):
        if _SIZE_RANK_RE.search(low):
            rank_by = "mean_area"
        elif _DENSITY_RANK_RE.search(low):
            rank_by = "density"
    return CompareRequest(
        regions=regions,
        tool=tool,
        what=what,
        nuclei=bool(_NUCLEI_RE.search(low)),
        rank_by=rank_by,
    )


_RANK_SAID_RE = re.compile(
    r"\b(?:rank\w*|order\w*|sort\w*)\b[^.;?!]{0,40}?\bby\s+(?:(?:the|their|nuclear|nuclei|"
    r"nucleus|raw|total|mean|average)\s+)*(count|number|densit\w*|size|area)\b"
)
"""The measure a ranking names outright ("rank the quadrants by count")."""
_DENSITY_RANK_RE = re.compile(
    r"\bdensit\w*|\bper\s+(?:mm|tissue|area|unit|µm|um|square)|\bnormali[sz]\w*|"
    r"\b(?:more|most|less|least)\s+cellular\b|\bcellularity\b|\bdenser\b|\bdensest\b"
)
"""A comparison by density: per area of tissue, not the raw count."""
_SIZE_RANK_RE = re.compile(
    r"\b(?:mean|average|avg|median)\s+(?:nuclear\s+|nucleus\s+)?(?:area|size)\b|"
    r"\b(?:largest|biggest|smallest|bigger|larger|smaller)\s+(?:nuclei|nucleus)\b|"
    r"\bby\s+(?:nuclear\s+)?(?:area|size)\b"
)
"""A ranking by the mean nuclear area."""


def ranks_nuclei(low: str) -> bool:
    """The request ranks places by a nuclear measure ("by density", "the largest nuclei")."""
    return bool(
        _DENSITY_RANK_RE.search(low)
        or _SIZE_RANK_RE.search(low)
        or re.search(r"\b(?:more|most|fewer|fewest)\s+(?:\w+\s+)?(?:cells|nuclei)\b", low)
    )


def parse_recall(low: str) -> RecallRequest | None:
    """A question about what the case found earlier, or None."""
    if not _RECALL_RE.search(low):
        return None
    refs = [r for r in dict.fromkeys(region_refs(low))]
    if _LIST_VIEWS_RE.search(low):
        return RecallRequest(regions=tuple(refs), views=True)
    return RecallRequest(regions=tuple(refs), kinds=findings_asked(low))


def findings_asked(low: str) -> tuple[str, ...]:
    """The tools whose earlier results ``low`` asks for, by each tool's ``findings_terms``."""
    from tools.registry import tool_classes  # the registry imports every tool: on first use

    return tuple(
        cls.name
        for cls in tool_classes()
        if cls.findings_terms and re.search(cls.findings_terms, low)
    )


def _part_name(word: str) -> str:
    if word.startswith(("epitheli", "gland")):
        return "epithelium"
    return "stroma" if word.startswith("stroma") else "cellular"
