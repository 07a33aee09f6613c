"""A scale the user states for an image that records none ("the image is 0.5 µm/px").

Plain images (JPEG, PNG) and some slides carry no µm/px, so areas stay in pixels and densities
per mm² cannot be given. A pathologist who knows the scan's scale says so, as a statement, not a
request for a view at that scale: "assume 0.25 mpp", "this tile is at 20x", "the pixel size is
0.5 µm", "it was scanned at 40x". A magnification stands for 10 / magnification µm/px (the usual
scanner convention: 20x ≈ 0.5 µm/px, 40x ≈ 0.25 µm/px), and the answer says so. A question
("was this scanned at 20x or 40x?") or a view asked at a scale ("show it at 0.5 mpp") states
nothing.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MPP_BOUNDS", "StatedScale", "read_stated_scale"]

MPP_BOUNDS = (0.05, 20.0)
"""The µm/px a stated scale may have (finer than any scanner, coarser than any thumbnail)."""

_NUM = r"(\d*\.?\d+)"
_UNIT = r"(?:µm|μm|um|microns?|micromet(?:er|re)s?)"
_MPP_VALUE = re.compile(
    rf"(?<![\w.-]){_NUM}\s*(?:{_UNIT}\s*(?:/|per)\s*(?:px|pixels?)|mpp\b)"
    rf"|\b(?:mpp|pixel\s+size|pixel\s+spacing|resolution|scale)\s*(?:is|of|=|:|to|at)?\s*"
    rf"(?:about\s+|roughly\s+|~\s*)?{_NUM}\s*(?:{_UNIT}(?:\s*(?:/|per)\s*(?:px|pixels?))?|mpp\b)?"
    r"(?!\s*(?:x|×|%|mm|px|pixels?)\b)"
)
_MAG_VALUE = re.compile(
    r"(?<![\w.])(\d{1,2}(?:\.\d+)?)\s*(?:x|×)(?![\w=])"
    r"(?!\s*(?:bigger|larger|smaller|more|less|higher|lower|greater|as|the|times)\b)"
)
_STATES = re.compile(
    r"\b(?:assume[sd]?|assuming|presume|treat\s+(?:it|this|the\s+\w+)\s+as|take\s+it\s+as|"
    r"(?:it|this|that)(?:'s|\s+is|\s+was)|"
    r"(?:it|this|that|the\s+\w+)\s+(?:should|must|would|will|might|ought\s+to)\s+be|"
    r"(?:we|i)\s+scanned\s+(?:it\s+|this\s+|them\s+)?at|"
    r"(?:scanner|objective|scope)\s+(?:is|was)|"
    r"(?:this|the|my|our)\s+(?:image|tile|slide|scan|picture|photo|crop|patch|section|file|jpe?g|png)"
    r"(?:'s|\s+is|\s+was|\s+has|\s+were)|"
    r"(?:is|was|were)\s+(?:scanned|taken|captured|acquired|digiti[sz]ed|imaged|photographed)|"
    r"(?:scanned|taken|captured|acquired|digiti[sz]ed|imaged)\s+at|"
    r"set\s+(?:the\s+)?(?:mpp|scale|pixel\s+size|resolution)|"
    r"(?:mpp|scale|pixel\s+size|pixel\s+spacing|resolution)\s*(?:is|of)|"
    r"use\s+(?:an?\s+)?(?:mpp|scale|pixel\s+size|resolution)|fyi|note)\b|"
    r"\b(?:mpp|scale|pixel\s+size|pixel\s+spacing|resolution)\s*[=:]|"
    r"\b(?:take|use|go\s+with|make\s+it|call\s+it)\s+(?=(?:about\s+|roughly\s+|~\s*)?\d|\.\d)"
)
"""Words that state a fact about the image (subject before verb) or set its scale."""
_VIEW = re.compile(
    r"\b(?:zoom|magnify|show|view|display|go|move|pan|look|navigate|take\s+me|open|render|"
    r"read|crop|switch|bring)\b"
)
_QUESTION = re.compile(
    r"^\s*(?:was|is|were|are|did|does|do|what|which|how|can|could|at\s+what)\b|\?\s*$|\bor\s+\d"
)
_SPLIT = re.compile(
    r"(?:\.(?!\d)|\?(?=\s)|[;!\n()\[\]]|,\s+|\s+-+\s+|\s+and\s+(?=(?:the|it|this|assume)\b))"
)
_BARE_SCALE = re.compile(
    rf"^\s*(?:about\s+|roughly\s+|~\s*)?{_NUM}\s*(?:{_UNIT}\s*(?:/|per)\s*(?:px|pixels?)|mpp|x|×)\s*$",
    re.IGNORECASE,
)
"""A clause that is only a scale ("0.5 mpp", "40x")."""
_FILLER = re.compile(
    r"^(?:ok(?:ay)?|so|well|also|btw|fyi|note|please|pls|thanks?|thank\s+you|and|then|"
    r"just|for\s+info(?:rmation)?|for\s+reference|by\s+the\s+way|\W)*$",
    re.IGNORECASE,
)


class StatedScale(BaseModel):
    """A scale the user gave for the open image."""

    model_config = ConfigDict(frozen=True)

    mpp: float = Field(description="µm per level-0 pixel")
    magnification: float | None = Field(
        default=None, description="the magnification it was given as, when it was one"
    )
    rest: str = Field(description="the request without the statement ('' when nothing else)")

    @property
    def words(self) -> str:
        """How the answer names its source ("0.5 µm/px as stated", "40x taken as 0.25 µm/px")."""
        if self.magnification is not None:
            return f"{self.magnification:g}x, taken as {self.mpp:g} µm/px"
        return f"{self.mpp:g} µm/px"


def read_stated_scale(request: str) -> StatedScale | None:
    """The scale ``request`` states for the image, or None when it states none."""
    clauses = [c for c in _SPLIT.split(request) if c and c.strip()]
    found: tuple[float, float | None] | None = None
    kept: list[str] = []
    for clause in clauses:
        if found is not None and _BARE_SCALE.match(clause):
            # "(this tile is at 20x, 0.5 mpp)": the value after the statement belongs to it
            mpp = _MPP_VALUE.search(clause.lower())
            value = _number(mpp.group(1) or mpp.group(2)) if mpp else None
            if value is not None and MPP_BOUNDS[0] <= value <= MPP_BOUNDS[1]:
                found = (value, None)
            continue
        scale = _clause_scale(clause)
        if scale is None:
            kept.append(clause.strip())
        else:
            found = scale  # "probably 0.25 µm/px … actually, take 2 µm/px": the last one said
    if found is None:
        return None
    rest = ", ".join(c for c in kept if not _FILLER.match(c))
    return StatedScale(mpp=found[0], magnification=found[1], rest=rest)


def _clause_scale(clause: str) -> tuple[float, float | None] | None:
    """(µm/px, magnification or None) stated by one clause."""
    low = " ".join(clause.lower().split())
    states = _STATES.search(low)
    if states is None or _QUESTION.search(low) or _VIEW.search(low[: states.start()]):
        return None
    if re.match(r"take|use|go|make|call", states.group(0)) and _VIEW.search(low):
        return None  # "use 0.5 mpp for the view": a view's scale, not the image's
    after = low[states.start() :]
    mpp = _MPP_VALUE.search(after)
    if mpp is not None:
        value = _number(mpp.group(1) or mpp.group(2))
        if value is not None and MPP_BOUNDS[0] <= value <= MPP_BOUNDS[1]:
            return value, None
        return None
    mag = _MAG_VALUE.search(after)
    if mag is not None:
        power = _number(mag.group(1))
        if power is not None and 1 <= power <= 100:
            return round(10.0 / power, 4), power
    return None


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
