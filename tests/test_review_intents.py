"""Parsing and planning of look-back requests: compare regions, recall findings (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from agent.case_memory import MAX_LIST, analyses_of, compact
from agent.intents import parse_request
from agent.planner import plan_request
from agent.review_chain import compose_review
from agent.review_intents import CompareRequest, region_refs, views_named
from agent.review_planner import ordinal_result, plan_compare, plan_provenance
from agent.state import CaseLookup, Evidence, Plan, Roi
from agent.verifier import verify_chain

SLIDE = "s1"


@pytest.mark.parametrize(
    ("text", "regions", "tool", "what"),
    [
        ("compare it with region 1", ("current", 1), None, None),
        ("compare region 1 with region 2", (1, 2), None, None),
        ("compare the nuclei in region 1 and region 2", (1, 2), None, None),
        ("compare regions 1 and 3", (1, 3), None, None),
        ("compare the first and second regions", (1, 2), None, None),
        ("how does region 2 differ from region 1?", (2, 1), None, None),
        ("compare it with the previous region", ("current", "previous"), None, None),
        ("compare the classification of region 1 and region 2", (1, 2), "classify", None),
        ("compare the nuclei counts of region 2 vs region 1", (2, 1), "detect", None),
        ("compare the epithelium in regions 1 and 3", (1, 3), "segment", "epithelium"),
        ("compare how cellular region 2 and region 1 are", (2, 1), "detect", None),
        ("compare the cellularity of views 1 to 3", (1, 2, 3), "detect", None),
        ("how does it differ from the first in tissue type?", ("current", 1), "classify", None),
        ("compare it with the previous one", ("current", "previous"), None, None),
        ("compare region 1 with region 2 on the classifier", (1, 2), "classify", None),
    ],
)
def test_compare_requests(text: str, regions: tuple[Any, ...], tool: str, what: str) -> None:
    parsed = parse_request(text)
    assert parsed.compare is not None
    assert parsed.compare.regions == regions
    assert parsed.compare.tool == tool
    assert parsed.compare.what == what
    assert [parsed.zoom, parsed.detect, parsed.segment, parsed.classify] == [None] * 4


@pytest.mark.parametrize(
    ("text", "regions"),
    [
        ("what did we conclude about the first region?", (1,)),
        ("what did we find in region 2?", (2,)),
        ("remind me what we found in the second region", (2,)),
        ("what was found in it?", ("current",)),
        ("what did we conclude?", ()),
    ],
)
def test_recall_requests(text: str, regions: tuple[Any, ...]) -> None:
    parsed = parse_request(text)
    assert parsed.recall is not None
    assert parsed.recall.regions == regions
    assert not parsed.empty


@pytest.mark.parametrize(
    "text",
    [
        "compare adenocarcinoma and squamous cell carcinoma",
        "count the nuclei in region 2",
        "zoom to the second largest tissue region at 20x",
    ],
)
def test_not_look_back_requests(text: str) -> None:
    parsed = parse_request(text)
    assert parsed.compare is None
    assert parsed.recall is None


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("Zoom to the second largest tissue region at 20x", 2),
        ("zoom to the third biggest piece of tissue", 3),
        ("Zoom to the largest tissue region at 20x", 1),
        ("show the 2nd tissue region", 2),
    ],
)
def test_tissue_region_ordinals(text: str, index: int) -> None:
    zoom = parse_request(text).zoom
    assert zoom is not None
    assert (zoom.target, zoom.region_index) == ("tissue_region", index)


def _roi(n: int, box: list[int]) -> Roi:
    return Roi(
        number=n,
        slide_id=SLIDE,
        box=box,
        downsample=1.0,
        magnification=20.0,
        mpp=0.499,
        level=0,
        output_size=[box[2] - box[0], box[3] - box[1]],
        artifact=None,
        evidence=f"E{n}.1",
        turn=n,
    )


def _segment(ev_id: str, roi: Roi, count: int) -> dict[str, Any]:
    masks = [{"polygon": [[0, 0], [1, 0], [1, 1]], "area_px": 1.0}] * (MAX_LIST + 1)
    return {
        "id": ev_id,
        "tool": "segment",
        "ok": True,
        "summary": f"{count} nuclei",
        "inputs": {"target": "box", "box": roi.box, "roi_number": roi.number, "what": "nuclei"},
        "output": {"count": count, "roi_number": roi.number, "what": "nuclei", "masks": masks},
    }


ROIS = [_roi(1, [0, 0, 500, 500]), _roi(2, [500, 500, 1000, 1000])]


def test_archive_keeps_scalars_and_drops_long_lists() -> None:
    rec = compact(_segment("E3.1", ROIS[1], 77))
    assert rec["trimmed"] == ["masks"]
    assert rec["output"] == {"count": 77, "roi_number": 2, "what": "nuclei"}
    (a,) = analyses_of([rec])
    assert (a.tool, a.roi, a.what, a.turn) == ("segment", 2, "nuclei", 3)
    assert a.args == {"what": "nuclei"}


def test_compare_plans_the_missing_region_and_reuses_the_other() -> None:
    archive = [compact(_segment("E3.1", ROIS[1], 77))]
    plan = plan_request("compare it with region 1", ROIS, 2, SLIDE, archive=archive)
    (step,) = plan.steps
    assert step.tool == "segment"
    assert step.args == {
        "what": "nuclei",
        "target": "box",
        "box": [0, 0, 500, 500],
        "roi_number": 1,
    }
    assert plan.lookup is not None
    assert (plan.lookup.kind, plan.lookup.rois, plan.lookup.earlier) == (
        "compare",
        [2, 1],
        ["E3.1"],
    )


def test_compare_with_the_previous_region() -> None:
    archive = [compact(_segment("E3.1", ROIS[1], 77))]
    plan = plan_request("compare it with the previous region", ROIS, 2, SLIDE, archive=archive)
    assert plan.lookup is not None
    assert plan.lookup.rois == [2, 1]
    assert [s.args["roi_number"] for s in plan.steps] == [1]


def test_compare_without_earlier_analysis_counts_nuclei() -> None:
    plan = plan_request("compare region 1 with region 2", ROIS, 2, SLIDE, archive=[])
    assert [s.tool for s in plan.steps] == ["detect", "detect"]
    assert [s.args["roi_number"] for s in plan.steps] == [1, 2]


def test_compare_with_an_unknown_region_is_an_input_error() -> None:
    plan = plan_request("compare region 1 with region 5", ROIS, 2, SLIDE, archive=[])
    (step,) = plan.steps
    assert step.error == "region 5 does not exist; regions visited on this slide: 1, 2"
    one = plan_request("compare it with region 2", ROIS, 2, SLIDE, archive=[])
    assert one.steps[0].error is not None
    assert "only one region" in one.steps[0].error


def test_recall_cites_the_view_and_latest_analyses() -> None:
    archive = [
        compact(_segment("E3.1", ROIS[1], 70)),
        compact(_segment("E4.1", ROIS[1], 77)),  # the same analysis again: the latest counts
    ]
    plan = plan_request("what did we find in region 2?", ROIS, 2, SLIDE, archive=archive)
    assert plan.steps == []
    assert plan.lookup is not None
    assert plan.lookup.earlier == ["E2.1", "E4.1"]
    nothing = plan_request("what did we conclude?", ROIS, 2, SLIDE, archive=[])
    assert nothing.lookup is not None
    assert nothing.lookup.missing == [
        "Nothing has been analysed in this case yet, so nothing was concluded."
    ]


def test_analysis_after_a_zoom_targets_the_new_view() -> None:
    plan = plan_request("count the nuclei around (900, 1300)", ROIS, 2, SLIDE)
    zoom, detect = plan.steps
    assert zoom.args["target"] == "point"
    assert detect.args == {"target": "box", "roi_number": 3}


def _classified(ev_id: str, roi: int, label: str) -> Evidence:
    other = "stroma" if label != "stroma" else "tumour"
    return Evidence(
        id=ev_id,
        tool="classify",
        ok=True,
        summary=f"{label}",
        expert="capricorn-tissue",
        output={"label": label, "probabilities": {label: 0.8, other: 0.2}, "roi_number": roi},
    )


@pytest.mark.parametrize(
    ("second", "phrase"), [("stroma", "the classes differ"), ("tumour", "the same class")]
)
def test_compared_classes_are_checked(second: str, phrase: str) -> None:
    earlier = [_classified("E3.1", 2, "tumour")]
    new = [_classified("E4.1", 1, second)]
    lookup = CaseLookup(kind="compare", rois=[2, 1], earlier=["E3.1"], tool="classify")
    plan = Plan(request="compare it with region 1", lookup=lookup)
    chain = compose_review(new, earlier, plan, lookup, ROIS, [])
    answer = chain.steps[-1].text
    assert f"Region #2 was classified as tumour and region #1 as {second}: {phrase}." in answer
    report = verify_chain(chain, [*new, *earlier], [], answer)
    assert report.status == "verified", report.reasons
    flipped = [_classified("E4.1", 1, "stroma" if second == "tumour" else "tumour")]
    assert verify_chain(chain, [*flipped, *earlier], [], answer).status == "rejected"


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("compare all the views so far", 0),
        ("which of the three views has the most nuclei", 3),
        ("compare each of the four regions", 4),
        ("compare these two fields", 2),
        ("compare region 1 with region 2", None),
    ],
)
def test_a_group_of_views_is_named_by_its_size(text: str, count: int | None) -> None:
    assert views_named(text) == count


def test_going_back_to_a_named_view_is_that_view_not_the_previous_one() -> None:
    assert region_refs("go back to the second one") == [2]
    assert region_refs("go back please") == ["previous"]


def test_a_comparison_of_the_last_views_uses_them_all() -> None:
    every = CompareRequest(regions=(), tool="detect", last=0)
    steps, lookup = plan_compare(every, ROIS, 2, archive=[])
    assert lookup is not None
    assert lookup.rois == [1, 2]
    assert [s.args["roi_number"] for s in steps] == [1, 2]


@pytest.mark.parametrize(
    "text",
    [
        "what does the tissue figure rest on?",
        "what is that count based on?",
        "did you make that number up?",
    ],
)
def test_where_a_result_came_from_recalls_the_latest_results_with_their_provenance(
    text: str,
) -> None:
    archive = [_segment("E2.1", ROIS[0], 7)]
    lookup = plan_provenance(text, ROIS, archive)
    assert lookup is not None
    assert (lookup.kind, lookup.earlier, lookup.provenance) == ("recall", ["E2.1"], True)


def test_a_question_of_method_without_a_result_is_not_provenance() -> None:
    assert plan_provenance("what does the tissue figure rest on?", ROIS, []) is None
    assert (
        plan_provenance("what is grading based on?", ROIS, [_segment("E2.1", ROIS[0], 7)]) is None
    )


def test_the_nth_result_of_a_kind_is_found_by_its_order() -> None:
    archive = [
        {**_segment("E1.1", ROIS[0], 7), "tool": "detect"},
        {**_segment("E2.1", ROIS[1], 9), "tool": "detect"},
    ]
    assert ordinal_result("what was the first count?", archive) == ("detect", 1)
    assert ordinal_result("and the last count?", archive) == ("detect", 2)
    assert ordinal_result("the third count", archive) is None  # only two held
    assert ordinal_result("the first classification", archive) is None  # none held
