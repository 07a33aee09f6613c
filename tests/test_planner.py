"""The planner resolves references to earlier regions into concrete zoom arguments."""

from __future__ import annotations

from agent.planner import plan_request
from agent.state import Roi


def _roi(n: int, box: list[int], ds: float, slide: str = "s1") -> Roi:
    return Roi(
        number=n,
        slide_id=slide,
        box=box,
        downsample=ds,
        magnification=20 / ds,
        mpp=None,
        level=0,
        output_size=[box[2] - box[0], box[3] - box[1]],
        artifact=None,
        evidence=f"E{n}.1",
        turn=n,
    )


def test_same_region_keeps_the_view_and_changes_the_scale() -> None:
    rois = [_roi(1, [0, 0, 1000, 800], 1.0), _roi(2, [100, 100, 300, 300], 1.0)]
    plan = plan_request("zoom out to 5x around the same region", rois, current=2, slide_id="s1")
    (step,) = plan.steps
    assert step.tool == "zoom"
    assert step.args["target"] == "roi"
    assert step.args["roi_number"] == 2
    assert step.args["box"] == [100, 100, 300, 300]
    assert step.args["view_px"] == [200, 200]
    assert step.args["magnification"] == 5.0


def test_first_region_is_shown_again_as_it_was() -> None:
    rois = [_roi(1, [0, 0, 1000, 800], 2.0), _roi(2, [100, 100, 300, 300], 1.0)]
    (step,) = plan_request("go back to the first region", rois, current=2, slide_id="s1").steps
    assert step.args == {
        "roi_number": 1,
        "target": "box",
        "box": [0, 0, 1000, 800],
        "downsample": 2.0,
    }


def test_zoom_out_without_a_scale_doubles_the_downsample() -> None:
    rois = [_roi(1, [0, 0, 100, 100], 2.0)]
    (step,) = plan_request("zoom out", rois, current=1, slide_id="s1").steps
    assert step.args["downsample"] == 4.0


def test_unknown_region_becomes_an_input_error_step() -> None:
    rois = [_roi(1, [0, 0, 100, 100], 1.0)]
    (step,) = plan_request("go to region 3", rois, current=1, slide_id="s1").steps
    assert step.error is not None
    assert "region 3 does not exist" in step.error


def test_regions_of_another_slide_are_not_used() -> None:
    rois = [_roi(1, [0, 0, 100, 100], 1.0, slide="other")]
    plan = plan_request("zoom out to 5x around the same region", rois, current=1, slide_id="s1")
    assert plan.steps[0].args["target"] == "slide"
    assert plan.notes


def test_unroutable_request_has_no_steps() -> None:
    plan = plan_request("tell me a joke", [], current=None, slide_id="s1")
    assert plan.steps == []
    assert plan.notes == ["no tool matched the request"]


def test_region_n_before_any_view_is_tissue_region_n() -> None:
    plan = plan_request("go to region 3", [], current=None, slide_id="s1")
    (step,) = plan.steps
    assert step.error is None
    assert step.args == {"target": "tissue_region", "region_index": 3}
    assert plan.notes == [
        "the case has no views on this slide yet; region 3 is read as tissue region 3"
    ]
