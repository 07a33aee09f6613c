"""A number a model writes binds only to a claimable field of the cited output, in its unit.

The detection below has 60 nuclei; one nucleus's box has a coordinate of 212 and one nucleus an
area of 45 µm². "212 nuclei, mean area 45 µm²" used to be verified (212 matched the box, 45 the
one nucleus); neither number may stand for a value inside the per-object list.
"""

from __future__ import annotations

from typing import Any

from agent.chain_parser import claimable_leaves, claims_for, parse_steps, to_chain
from agent.state import Evidence
from agent.verifier import verify_chain


def _detection() -> Evidence:
    objects: list[dict[str, Any]] = []
    for k in range(60):
        x = 10 * k
        objects.append(
            {
                "box": [x, 212 if k == 7 else 30, x + 8, 40],
                "centroid": [x + 4.0, 35.0],
                "area_um2": 45.0 if k == 3 else 30.0 + k / 10,
                "area_px": 120.0,
                "label": "nucleus",
                "score": None,
                "eccentricity": 0.5,
                "hematoxylin": 0.3,
            }
        )
    output = {
        "object": "nuclei",
        "count": 60,
        "objects": objects,
        "region_box": [0, 0, 1024, 1024],
        "roi_number": 1,
        "region_index": None,
        "downsample": 1.0,
        "mpp": 0.5,
        "mean_area_um2": 33.2,
        "median_area_um2": 33.0,
        "mean_area_px": 132.8,
        "median_area_px": 132.0,
        "density_per_mm2": 229.0,
        "mean_eccentricity": 0.5,
        "notes": [],
    }
    return Evidence(id="E1.1", tool="detect", ok=True, summary="60 nuclei", output=output)


def _verify(text: str) -> tuple[list[Any], str]:
    ev = _detection()
    parsed = parse_steps(f"measure: {text} [E1.1]\nconclude: {text} [E1.1]")
    chain = to_chain(parsed, [ev], [])
    report = verify_chain(chain, [ev], [], chain.steps[-1].text)
    return chain.steps[0].claims, report.status


def test_numbers_inside_per_object_lists_are_not_claimable() -> None:
    paths = {path for path, _ in claimable_leaves(_detection().output, "detect")}
    assert {"count", "mean_area_um2", "density_per_mm2", "region_box.0", "mpp"} <= paths
    assert not [path for path in paths if path.startswith("objects")]  # detect declares none


def test_a_tool_that_declares_nothing_gets_the_shape_heuristics() -> None:
    paths = {path for path, _ in claimable_leaves(_detection().output, "no_such_tool")}
    assert {"count", "mean_area_um2", "density_per_mm2", "region_box.0", "mpp"} <= paths
    inside = sorted(path for path in paths if path.startswith("objects"))
    names = ("area_px", "area_um2", "eccentricity", "hematoxylin")
    assert inside == [f"objects.0.{name}" for name in names]  # the first entry's own numbers


def test_212_nuclei_with_mean_area_45_is_not_verified_for_60_nuclei() -> None:
    claims, status = _verify("212 nuclei, mean area 45 µm²")
    assert claims == []
    assert status == "rejected"


def test_the_true_numbers_bind_to_their_fields() -> None:
    claims, status = _verify("60 nuclei, mean area 33.2 µm²")
    assert [(c.path, c.value, c.unit) for c in claims] == [
        ("count", 60.0, None),
        ("mean_area_um2", 33.2, "µm²"),
    ]
    assert status == "verified"


def test_a_written_unit_must_be_the_fields_unit() -> None:
    ev = _detection()
    # 60 is the count; "60 µm²" is not an area of 60 µm²
    assert claims_for("an area of 60 µm²", ["E1.1"], {"E1.1": ev}, {}) == []
    (claim,) = claims_for("an area of 33.2 µm²", ["E1.1"], {"E1.1": ev}, {})
    assert claim.path == "mean_area_um2"


def test_a_number_binds_only_to_a_field_of_its_kind() -> None:
    ev = _detection()
    # 1 is the region's number, not a count of nuclei; 60 is the count, not a region number
    assert claims_for("1 nuclei detected in region #60", ["E1.1"], {"E1.1": ev}, {}) == []
    claims = claims_for("60 nuclei detected in region #1", ["E1.1"], {"E1.1": ev}, {})
    assert [(c.path, c.value) for c in claims] == [("count", 60.0), ("roi_number", 1.0)]


def test_a_step_naming_another_class_of_the_cited_classifier_is_flagged() -> None:
    ev = Evidence(
        id="E2.1",
        tool="classify",
        ok=True,
        summary="smooth muscle",
        output={"label": "smooth muscle", "probabilities": {"smooth muscle": 0.6, "adipose": 0.3}},
    )
    for text, ok in (
        ("observe: The expert classified it as smooth muscle. [E2.1]", True),
        ("observe: The expert classified it as adipose. [E2.1]", False),
    ):
        chain = to_chain(parse_steps(text + "\nconclude: done."), [ev], [])
        report = verify_chain(chain, [ev], [], "done.")
        assert report.step_status["S1"] is ok, text
