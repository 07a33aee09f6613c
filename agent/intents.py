"""Parse a free-text request into intents and zoom arguments (pure, no state)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from agent.ordinals import ORDINAL_PATTERN, ORDINAL_WORDS
from agent.review_intents import CompareRequest, RecallRequest, parse_compare, parse_recall

__all__ = ["ParsedRequest", "RegionRequest", "ZoomRequest", "parse_request"]

RoiRef = Literal["current", "previous", "number"]
_NUM = r"-?\d+(?:\.\d+)?"
_ORD = f"({ORDINAL_PATTERN})"
_AREA = r"(?:region|roi|area|view|spot|place|location|field)"

_SIZE_RE = re.compile(r"(\d+)\s*[x×]\s*(\d+)\s*(?:px|pixels?)\b")
_BOX_RE = re.compile(
    rf"from\s*\(\s*({_NUM})\s*,\s*({_NUM})\s*\)\s*to\s*\(\s*({_NUM})\s*,\s*({_NUM})\s*\)"
    rf"|\[\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*,\s*({_NUM})\s*\]"
)
_POINT_RE = re.compile(
    rf"\(\s*({_NUM})\s*,\s*({_NUM})\s*\)|\bx\s*[=:]\s*({_NUM})\s*,?\s*(?:and\s+)?y\s*[=:]\s*({_NUM})"
)
_MAG_RE = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:x|×)(?![\w=])(?:\s*(?:magnification|objective))?"
)
_MPP_RE = re.compile(
    r"(\d+(?:\.\d+)?)\s*(?:µm|μm|um|microns?|micrometers?)\s*(?:/|per)\s*(?:px|pixels?)"
)
_LEVEL_RE = re.compile(r"\blevel\s*(\d+)\b")
_ZOOM_VERB_RE = re.compile(
    r"\b(zoom|magnify|go\s+back|go\s+to|navigate|move\s+to|pan|cent(?:er|re)\s+on|show|view|"
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
    r"\bcellular\b|\bh(?:a)?ematoxylin[- ]?(?:rich|dense)\b|\bcell[- ]?(?:rich|dense)\b"
)
_COMPARTMENT_RE = re.compile(r"\bepitheli(?:um|al)\b|\bstroma(?:l)?\b")
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


@dataclass(frozen=True)
class ZoomRequest:
    """What a zoom request asks for; coordinates in level-0 pixels."""

    direction: Literal["in", "out"] | None = None
    magnification: float | None = None
    mpp: float | None = None
    level: int | None = None
    target: Literal["tissue_region", "roi", "point", "box", "slide", "default"] = "default"
    region_index: int | None = None
    roi_ref: RoiRef | None = None
    roi_number: int | None = None
    center: tuple[float, float] | None = None
    size_px: tuple[int, int] | None = None
    box: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class RegionRequest:
    """A request to analyse a region: which one (an earlier region by default)."""

    target: Literal["tissue_region", "roi", "slide", "default"] = "default"
    region_index: int | None = None
    roi_ref: RoiRef | None = None
    roi_number: int | None = None
    what: Literal["nuclei", "cellular", "epithelium", "stroma"] | None = None


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

    @property
    def empty(self) -> bool:
        """True when no intent was recognised."""
        return not (self.info or self.tissue or self.zoom or self.detect or self.classify) and not (
            self.classify_slide or self.compare or self.recall
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
    part = _COMPARTMENT_RE.search(low)
    if _SEGMENT_RE.search(low) and (_NUCLEI_RE.search(low) or _CELLULAR_RE.search(low) or part):
        what = "cellular" if _CELLULAR_RE.search(low) else "nuclei"
        if part and what == "nuclei" and not _NUCLEI_RE.search(low):
            what = "epithelium" if part.group().startswith("epitheli") else "stroma"
        segment = replace(_parse_region_request(low), what=what)
    detect = _parse_region_request(low) if _wants_detect(low) and segment is None else None
    classify_slide = bool(_CLASSIFY_RE.search(low) and _SLIDE_LEVEL_RE.search(low))
    classify = (
        _parse_region_request(low) if _CLASSIFY_RE.search(low) and not classify_slide else None
    )
    rest = low
    if zoom is not None:
        for pattern in (_SIZE_RE, _BOX_RE, _POINT_RE, _MAG_RE, _MPP_RE, _LEVEL_RE):
            rest = pattern.sub(" ", rest)
    info = bool(_INFO_RE.search(rest))
    has_tissue = bool(re.search(r"\btissue\b", low))
    alone = not (zoom or detect or classify or segment or classify_slide)
    tissue = has_tissue and (alone or bool(_TISSUE_METRIC_RE.search(rest)))
    return ParsedRequest(
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


def _wants_detect(low: str) -> bool:
    return bool(_DETECT_VERB_RE.search(low) and _NUCLEI_RE.search(low))


def _parse_region_request(low: str) -> RegionRequest:
    target, region_index, roi_ref, roi_number = _parse_target(low)
    if target not in ("tissue_region", "roi", "slide"):
        target = "default"
    return RegionRequest(
        target=target,  # type: ignore[arg-type]
        region_index=region_index,
        roi_ref=roi_ref,
        roi_number=roi_number,
    )


def _parse_zoom(low: str) -> ZoomRequest | None:
    size = _SIZE_RE.search(low)
    scan = _SIZE_RE.sub(" ", low)
    box = _parse_box(scan)
    if box is not None:
        scan = _BOX_RE.sub(" ", scan)
    point = _parse_point(scan)
    if point is not None:
        scan = _POINT_RE.sub(" ", scan)
    mag = _MAG_RE.search(scan)
    mpp = _MPP_RE.search(scan)
    level = _LEVEL_RE.search(scan)
    direction = (
        "out"
        if re.search(r"\bzoom(?:ed)?\s+out\b", low)
        else ("in" if re.search(r"\bzoom(?:ed)?\s+in\b", low) else None)
    )
    target, region_index, roi_ref, roi_number = _parse_target(scan)
    if box is not None:
        target = "box"
    elif point is not None:
        target = "point"
    has_verb = bool(_ZOOM_VERB_RE.search(low))
    has_scale = bool(mag or mpp or level)
    wants = "zoom" in low or (has_verb and (target != "default" or has_scale))
    if not wants and (box is not None or point is not None):
        wants = True
    if not wants:
        return None
    return ZoomRequest(
        direction=direction,
        magnification=float(mag.group(1)) if mag else None,
        mpp=float(mpp.group(1)) if mpp else None,
        level=int(level.group(1)) if level else None,
        target=target,
        region_index=region_index,
        roi_ref=roi_ref,
        roi_number=roi_number,
        center=point,
        size_px=(int(size.group(1)), int(size.group(2))) if size else None,
        box=box,
    )


def _parse_box(low: str) -> tuple[int, int, int, int] | None:
    m = _BOX_RE.search(low)
    if m is None:
        return None
    vals = [g for g in m.groups() if g is not None]
    x0, y0, x1, y1 = (round(float(v)) for v in vals)
    return (x0, y0, x1, y1)


def _parse_point(low: str) -> tuple[float, float] | None:
    m = _POINT_RE.search(low)
    if m is None:
        return None
    vals = [float(g) for g in m.groups() if g is not None]
    return (vals[0], vals[1])


def _parse_target(low: str) -> tuple[str, int | None, RoiRef | None, int | None]:
    """Return (target, tissue region index, ROI reference, ROI number)."""
    m = re.search(
        rf"\b{_ORD}\s+(?:largest|biggest)\s+(?:piece\s+of\s+)?(?:tissue\s+)?"
        r"(?:region|area|piece|fragment|section)?\b",
        low,
    )
    if m and m.group(1) not in ("first", "1st"):
        return "tissue_region", _ordinal(m.group(1)), None, None
    if re.search(
        r"\b(largest|biggest|main|largest)\s+(?:piece\s+of\s+)?tissue\b", low
    ) or re.search(
        r"\b(largest|biggest|main)\s+(?:tissue\s+)?(region|area|piece|fragment|section)\b", low
    ):
        return "tissue_region", 1, None, None
    m = re.search(rf"\btissue\s+{_AREA}\s*#?\s*(\d+)\b", low) or re.search(
        rf"\b{_ORD}\s+(?:largest\s+)?tissue\s+{_AREA}\b", low
    )
    if m:
        return "tissue_region", _ordinal(m.group(1)), None, None
    if re.search(rf"\b(same|this|current|that)\s+{_AREA}\b|\baround\s+here\b|\bhere\b", low):
        return "roi", None, "current", None
    m = re.search(rf"\b{_ORD}\s+{_AREA}\b", low) or re.search(
        r"\b(?:region|roi)\s*#?\s*(\d+)\b", low
    )
    if m:
        return "roi", None, "number", _ordinal(m.group(1))
    if re.search(rf"\b(previous|last|prior|earlier)\s+{_AREA}\b|\bgo\s+back\b", low):
        return "roi", None, "previous", None
    if re.search(r"\b(whole|entire|full)\s+slide\b|\boverview\b", low):
        return "slide", None, None, None
    return "default", None, None, None


def _ordinal(word: str) -> int:
    return ORDINAL_WORDS[word] if word in ORDINAL_WORDS else int(word)
