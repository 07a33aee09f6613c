"""Several places one analysis is asked at.

"count nuclei in views 1 to 4", "segment the stroma here and in fragment 2", "in view 1, in
this view, and in fragment 1".

Part of the shared grammar: each place is read as a lone analysis request reads its place
(``region_request``), so "here", "view 3", "the largest piece" and "the second smallest core"
mean what they mean everywhere else. A numbered list or range names views (``roi_number``) or
tissue pieces ranked by size (``region_index``), by the word before it.
"""

from __future__ import annotations

import re

from agent.intents import RegionRequest, region_request

__all__ = ["MAX_PLACES", "places_listed"]

MAX_PLACES = 12
"""Most places one request analyses; a longer list or range is read as no list."""

_LIST_RE = re.compile(
    r"\b(?P<tissue>tissue\s+)?(?P<kind>views?|regions?|rois?|fields?|fragments?|pieces?|cores?|"
    r"nodes?)\s*#?\s*(?P<first>\d+)(?P<rest>(?:\s*(?:,|and|&|or|,\s*and)\s*#?\s*\d+)+|"
    r"\s*(?:to|-|–|through|thru)\s*#?\s*\d+)"
)
"""A numbered list or range of views or pieces: "views 1, 2 and 3", "fragments 2-4"."""
_PIECE_KINDS = ("fragment", "piece", "core", "node")
_SEPARATOR_RE = re.compile(
    r"\s*[,;]\s*(?:and\s+)?(?:then\s+)?(?:also\s+)?|\s+(?:and|then|&|plus)\s+(?:then\s+)?(?:also\s+)?"
)
"""Where one place ends and the next begins."""
_COORDINATES_RE = re.compile(r"\d\s*,\s*\d|[\[(]\s*\d")
"""Coordinates: a box or a point, whose commas separate numbers, not places."""
_HERE_RE = re.compile(r"\b(?:here|this|current|present)\b")
"""The view on screen, said as a place (not a pronoun: "it", "them")."""


def places_listed(text: str) -> tuple[RegionRequest, ...]:
    """The places ``text`` (one analysis clause, lower case) names, when it names two or more.

    Empty when it names one place or none, or more than ``MAX_PLACES``.
    """
    listed = _numbered(text)
    if listed:
        return listed
    whole = region_request(text)
    if whole.box is not None or whole.centre_size is not None or _COORDINATES_RE.search(text):
        return ()  # "nuclei in box top-left (1000,1200) bottom-right (1400,1500), count": one box
    found: list[RegionRequest] = []
    for part in _SEPARATOR_RE.split(text):
        place = region_request(part)
        named = place.target != "default"  # quadrants and halves are the parts grammar's
        if place.roi_ref == "current" and not _HERE_RE.search(part):
            named = False  # "if it would not be too much trouble": "it" names no place
        if named and place.error is None and place not in found:
            found.append(place)
    return tuple(found) if 2 <= len(found) <= MAX_PLACES else ()


def _numbered(text: str) -> tuple[RegionRequest, ...]:
    """The places of a numbered list or range ("views 1 to 4"), or empty."""
    m = _LIST_RE.search(text)
    if m is None:
        return ()
    numbers = [int(m.group("first")), *map(int, re.findall(r"\d+", m.group("rest")))]
    if re.match(r"\s*(?:to|-|–|through|thru)", m.group("rest")):
        first, last = numbers
        numbers = list(range(first, last + 1)) if 0 < last - first < MAX_PLACES else []
    numbers = list(dict.fromkeys(n for n in numbers if n > 0))
    if not 2 <= len(numbers) <= MAX_PLACES:
        return ()
    if m.group("tissue") or m.group("kind").startswith(_PIECE_KINDS):
        return tuple(RegionRequest(target="tissue_region", region_index=n) for n in numbers)
    return tuple(RegionRequest(target="roi", roi_ref="number", roi_number=n) for n in numbers)
