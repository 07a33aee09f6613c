"""The grammar of several places one analysis is asked at (agent/places.py)."""

from __future__ import annotations

import pytest

from agent.places import MAX_PLACES, places_listed


def _where(text: str) -> list[tuple[str, int | str | None]]:
    found = []
    for place in places_listed(text):
        if place.target == "tissue_region":
            found.append(("piece", place.region_index))
        elif place.roi_ref == "current":
            found.append(("view", "current"))
        else:
            found.append((place.target, place.roi_number))
    return found


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("count nuclei in views 1 to 4", [("roi", 1), ("roi", 2), ("roi", 3), ("roi", 4)]),
        ("classify views 2, 3 and 5", [("roi", 2), ("roi", 3), ("roi", 5)]),
        ("repeat the count on fragments 2 and 3", [("piece", 2), ("piece", 3)]),
        ("segment stroma in tissue regions 1-2", [("piece", 1), ("piece", 2)]),
        ("segment stroma here and in fragment 2", [("view", "current"), ("piece", 2)]),
        ("count nuclei here; on the largest piece", [("view", "current"), ("piece", 1)]),
        (
            "count nuclei in view 1, in this view, and in fragment 1",
            [("roi", 1), ("view", "current"), ("piece", 1)],
        ),
        ("count nuclei in the largest piece and the smallest one", [("piece", 1), ("piece", -1)]),
    ],
)
def test_each_place_is_read_as_a_lone_request_reads_it(
    text: str, where: list[tuple[str, int | str | None]]
) -> None:
    assert _where(text) == where


@pytest.mark.parametrize(
    "text",
    [
        "count nuclei in view 2",
        "count nuclei in view 2 and tell me the density",
        "segment the epithelium and the stroma here",
        "if it would not be too much trouble, run the classifier over view 2",
        "count nuclei in views 1 to 40",  # more than MAX_PLACES: no list
        "count nuclei here, here",
    ],
)
def test_one_place_a_pronoun_or_too_many_is_no_list(text: str) -> None:
    assert places_listed(text) == ()


def test_the_limit_is_a_dozen_places() -> None:
    assert len(places_listed(f"count nuclei in views 1 to {MAX_PLACES}")) == MAX_PLACES


@pytest.mark.parametrize(
    "text",
    [
        "nuclei in box top-left (1000,1200) bottom-right (1400,1500), count",
        "count nuclei in box [100, 200, 900, 1000] and here",
        "count nuclei in the top left and the bottom right",  # parts: the parts grammar's
    ],
)
def test_coordinates_and_parts_of_the_slide_are_no_list_of_places(text: str) -> None:
    assert places_listed(text) == ()
