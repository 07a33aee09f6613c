"""Multi-turn case review on the real CMU slide: compare regions, recall findings, restarts.

One case is built once per module (two small 20x views, a nuclei segmentation of the second);
the tests then ask follow-ups through the real Copilot, some after a restart (a new Copilot over
the same home).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.state import Evidence, ReasoningChain
from agent.verifier import verify_chain
from app.runner import Copilot, TurnResult
from core.settings import Settings
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.shared_data

BOX1 = [600, 1000, 1112, 1512]
BOX2 = [1200, 1600, 1712, 2112]
CASE = "review"


@dataclass
class Review:
    home: Path
    slide: Path
    turns: list[TurnResult]


def _fresh_copilot(home: Path) -> Copilot:
    return Copilot(Settings(home=home))


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> Review:
    """Turns 1-5 of a case: two views, a segmentation, a comparison, a recall."""
    slide = SHARED_DATA / "wsi" / "CMU-1-Small-Region.svs"
    assert slide.is_file(), f"real slide {slide} is missing"
    home = tmp_path_factory.mktemp("review-home")
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("SMARTPATH_")]:
            mp.delenv(key)
        copilot = _fresh_copilot(home)
        try:
            turns = [
                copilot.ask(slide, f"zoom to the box {BOX1} at 20x", CASE),
                copilot.ask(slide, f"zoom to the box {BOX2} at 20x", CASE),
                copilot.ask(slide, "now segment the nuclei in region 2", CASE),
                copilot.ask(slide, "compare it with region 1", CASE),
                copilot.ask(slide, "what did we conclude about the first region?", CASE),
            ]
        finally:
            copilot.close()
    return Review(home=home, slide=slide, turns=turns)


def _by_id(result: TurnResult) -> dict[str, Evidence]:
    return {e["id"]: Evidence.model_validate(e) for e in [*result.evidence, *result.earlier]}


def test_segment_region_2_is_the_second_view(review: Review) -> None:
    seg = review.turns[2]
    (ev,) = seg.evidence
    assert ev["tool"] == "segment"
    assert ev["output"]["roi_number"] == 2
    assert ev["output"]["region_box"] == BOX2
    assert seg.verification["status"] == "verified"


def test_compare_runs_the_same_analysis_on_region_1_and_cites_both(review: Review) -> None:
    cmp = review.turns[3]
    assert cmp.verification["status"] == "verified", cmp.verification["reasons"]
    assert all(step["verified"] for step in cmp.chain)
    (new,) = cmp.evidence  # only region 1 is analysed now; region 2's result is reused
    assert new["tool"] == "segment"
    assert new["inputs"]["what"] == "nuclei"
    assert new["output"]["roi_number"] == 1
    assert new["output"]["region_box"] == BOX1
    assert [e["id"] for e in cmp.earlier] == ["E3.1"]
    assert cmp.plan is not None
    assert cmp.plan["lookup"]["rois"] == [2, 1]
    conclusion = cmp.chain[-1]
    assert set(conclusion["evidence"]) == {"E3.1", "E4.1"}
    n1 = new["output"]["count"]
    n2 = review.turns[2].evidence[0]["output"]["count"]
    assert n1 != n2
    word = "more" if n2 > n1 else "fewer"
    assert f"Region #2 has {abs(n2 - n1)} {word} nuclei than region #1 ({n2} vs {n1})" in cmp.answer
    pct1 = 100 * new["output"]["area_fraction"]
    pct2 = 100 * review.turns[2].evidence[0]["output"]["area_fraction"]
    assert f"({pct2:.1f}% vs {pct1:.1f}%)" in cmp.answer
    compares = [c for s in cmp.chain for c in s["claims"] if c["kind"] == "compare"]
    assert {c["path"] for c in compares} == {"count", "area_fraction"}


def test_a_wrong_difference_fails_verification(review: Review) -> None:
    cmp = review.turns[3]
    shown = [{k: v for k, v in s.items() if k != "verified"} for s in cmp.chain]
    chain = ReasoningChain.model_validate({"steps": shown})
    evidence = list(_by_id(cmp).values())
    assert verify_chain(chain, evidence, [], cmp.answer).status == "verified"
    steps = []
    for s in chain.steps:
        claims = [
            c.model_copy(update={"value": (c.value or 0) + 5}) if c.kind == "compare" else c
            for c in s.claims
        ]
        steps.append(s.model_copy(update={"claims": claims}))
    report = verify_chain(ReasoningChain(steps=steps), evidence, [], cmp.answer)
    assert report.status == "rejected"
    assert any("≠ E" in r for r in report.reasons)
    # and without the earlier evidence, the comparison cannot be verified at all
    only_new = [e for e in evidence if e.id != "E3.1"]
    assert verify_chain(chain, only_new, [], cmp.answer).status != "verified"


def test_recall_answers_from_stored_findings_without_tools(review: Review) -> None:
    rec = review.turns[4]
    assert rec.evidence == []  # nothing re-run
    assert rec.verification["status"] == "verified", rec.verification["reasons"]
    assert [e["id"] for e in rec.earlier] == ["E1.1", "E4.1"]
    count = review.turns[3].evidence[0]["output"]["count"]
    assert rec.answer.startswith("About the first region, earlier in this case:")
    assert f"outlined {count} nuclei in region #1" in rec.answer
    assert set(rec.chain[-1]["evidence"]) == {"E1.1", "E4.1"}


def test_case_review_survives_a_restart(review: Review) -> None:
    copilot = _fresh_copilot(review.home)
    try:
        found = copilot.ask(review.slide, "what did we find in region 2?", CASE)
        both = copilot.ask(review.slide, "compare region 1 with region 2", CASE)
        nuclei = copilot.ask(review.slide, "compare the nuclei in region 1 and region 2", CASE)
        _, state = copilot.case(CASE)
    finally:
        copilot.close()
    assert found.turn == 6
    assert found.evidence == []
    assert [e["id"] for e in found.earlier] == ["E2.1", "E3.1"]
    assert found.verification["status"] == "verified", found.verification["reasons"]
    n2 = review.turns[2].evidence[0]["output"]["count"]
    assert f"outlined {n2} nuclei in region #2" in found.answer
    # both regions already have a nuclei segmentation: nothing runs, both are cited
    assert both.evidence == []
    assert [e["id"] for e in both.earlier] == ["E4.1", "E3.1"]
    assert both.verification["status"] == "verified", both.verification["reasons"]
    assert "Region #1 has" in both.answer
    assert nuclei.evidence == []
    assert nuclei.verification["status"] == "verified"
    archived = {e["id"]: e for e in state["archive"]}
    assert "masks" in archived["E3.1"]["trimmed"]  # polygons left out of the case's memory
    assert archived["E3.1"]["output"]["count"] == n2


def test_unanalysed_and_unknown_regions_are_said_plainly(review: Review, home: Path) -> None:
    copilot = _fresh_copilot(home)
    try:
        copilot.ask(review.slide, f"zoom to the box {BOX1} at 20x", "plain")
        viewed = copilot.ask(review.slide, "what did we find in the first region?", "plain")
        unknown = copilot.ask(review.slide, "what did we conclude about region 7?", "plain")
        attempts = copilot.case("plain")[1]["attempts"]
        ask = "Zoom to the second largest tissue region at 20x"
        second = copilot.ask(review.slide, ask, "plain")
    finally:
        copilot.close()
    assert "it was viewed (box [600, 1000, 1112, 1512] in level-0 pixels) but not analysed" in (
        viewed.answer
    )
    assert viewed.verification["status"] == "verified"
    assert unknown.answer == "Region 7 does not exist; regions visited on this slide: 1."
    assert unknown.verification["status"] == "rejected"  # nothing to cite: shown unverified
    assert not any(step["verified"] for step in unknown.chain)
    assert attempts == 1  # no re-plan: nothing more can be found for it
    (ev,) = second.evidence
    assert ev["inputs"]["region_index"] == 2
    assert not ev["ok"]
    assert "tissue region 2 does not exist: the slide has 1" in second.answer


def test_analysis_of_a_box_analyses_that_box(copilot: Copilot, cmu_slide: Path) -> None:
    r = copilot.ask(
        cmu_slide, "segment the nuclei in the region from (600, 1000) to (1112, 1512)", "box"
    )
    zoom, seg = r.evidence
    assert zoom["tool"] == "zoom"
    assert seg["tool"] == "segment"
    assert seg["output"]["region_box"] == BOX1
    assert seg["output"]["roi_number"] == 1
    assert r.verification["status"] == "verified"
    here = copilot.ask(cmu_slide, "count the nuclei in a 400x400 px view around (900, 1300)", "box")
    view, det = here.evidence
    assert det["output"]["region_box"] == view["output"]["box"]
    assert det["output"]["roi_number"] == 2


def test_the_field_an_analysis_chose_becomes_the_view_to_move_from(
    copilot: Copilot, cmu_slide: Path
) -> None:
    counted = copilot.ask(cmu_slide, "count the nuclei", "field")
    (det,) = counted.evidence
    field = det["output"]["region_box"]
    assert det["inputs"].get("roi_number") is None  # no region was named: the tool chose one
    assert det["output"]["roi_number"] == 1
    assert "region #1" in counted.answer
    assert counted.verification["status"] == "verified"
    moved = copilot.ask(cmu_slide, "pan left a bit", "field")
    (view,) = moved.evidence
    assert view["tool"] == "zoom"
    assert view["ok"], view.get("error")
    box = view["output"]["box"]
    assert box[0] < field[0]
    assert box[1] == field[1]
    assert box[3] == field[3]
    again = copilot.ask(cmu_slide, "count the nuclei in region 1 again", "field")
    assert again.evidence[-1]["output"]["region_box"] == field
    recalled = copilot.ask(cmu_slide, "what did we find in region 1?", "field")
    assert recalled.verification["status"] == "verified"
    assert f"{det['output']['count']} nuclei" in recalled.answer
    listed = copilot.ask(cmu_slide, "list the regions we looked at", "field")
    assert f"box {field}" in listed.answer


def test_going_back_to_a_view_is_that_region_not_a_new_one(
    copilot: Copilot, cmu_slide: Path
) -> None:
    first = copilot.ask(cmu_slide, f"zoom to the box {BOX1} at 20x", "back")
    copilot.ask(cmu_slide, f"zoom to the box {BOX2} at 20x", "back")
    again = copilot.ask(cmu_slide, "go back to the first view and count the nuclei", "back")
    view, det = again.evidence
    assert view["output"]["box"] == first.evidence[0]["output"]["box"]
    assert det["output"]["roi_number"] == 1
    assert det["output"]["region_box"] == BOX1
    listed = copilot.ask(cmu_slide, "list the regions we looked at", "back")
    assert "third region" not in listed.answer
    assert "second region" in listed.answer
    copilot.ask(cmu_slide, "count the nuclei in region 2", "back")
    ranked = copilot.ask(cmu_slide, "which region had more nuclei?", "back")
    assert ranked.verification["status"] == "verified", ranked.verification["reasons"]
    counted = [e for e in ranked.earlier if e["tool"] == "detect"]
    counts = {e["output"]["roi_number"]: e["output"]["count"] for e in counted}
    most = max(counts, key=lambda n: counts[n])
    least = min(counts, key=lambda n: counts[n])
    assert most != least
    assert (
        f"region #{most} had the most nuclei ({counts[most]}) and region #{least} the fewest "
        f"({counts[least]})"
    ) in ranked.answer


def test_the_same_for_another_place_repeats_the_latest_analysis_there(
    copilot: Copilot, cmu_slide: Path
) -> None:
    copilot.ask(cmu_slide, f"zoom to the box {BOX1} at 20x", "same")
    copilot.ask(cmu_slide, "count the nuclei here", "same")
    half = copilot.ask(cmu_slide, "now the same for the bottom half of the slide", "same")
    (det,) = half.evidence
    assert det["tool"] == "detect"
    assert det["output"]["region_box"] == [0, 1484, 2220, 2967]
    back = copilot.ask(cmu_slide, "do the same in region 1", "same")
    assert [(e["tool"], e["output"]["region_box"]) for e in back.evidence] == [("detect", BOX1)]
    here = copilot.ask(cmu_slide, "segment the epithelium here", "same")
    assert here.evidence[-1]["inputs"]["box"] == BOX1  # region 1 was the last analysed


def test_the_scale_of_this_view_is_the_views_not_the_scans(
    copilot: Copilot, cmu_slide: Path
) -> None:
    copilot.ask(cmu_slide, "zoom to 1500, 2000 at 20x", "scale")
    copilot.ask(cmu_slide, "zoom out to 5x", "scale")
    r = copilot.ask(cmu_slide, "what's the mpp at this view?", "scale")
    info, view = r.evidence
    assert info["tool"] == "slide_info"
    assert view["tool"] == "zoom"
    assert view["output"]["magnification"] == 5
    assert f"({view['output']['mpp']:.3f} µm/px)" in r.answer
    assert r.verification["status"] == "verified"
    listed = copilot.ask(cmu_slide, "list the regions we looked at", "scale")
    assert "third region" not in listed.answer  # shown again, not a new region


def test_an_analysis_of_the_whole_image_is_no_new_region(copilot: Copilot) -> None:
    image = SHARED_DATA / "stardist_sample" / "histo.jpg"
    counted = copilot.ask(image, "count the nuclei", "whole")
    (det,) = counted.evidence
    assert det["ok"]
    assert det["output"]["roi_number"] is None
    moved = copilot.ask(image, "pan left a bit", "whole")
    assert "no current view" in moved.evidence[0]["error"]


def test_a_missing_expert_is_said_once_not_retried(copilot: Copilot, cmu_slide: Path) -> None:
    r = copilot.ask(cmu_slide, "what's the whole slide diagnosis?", "no-wsi")
    (failed,) = r.evidence  # the semantic planner would re-run the same call: it is not retried
    # no slide classifier: the tile classifier stands in, and its weights are not fetched here
    assert failed["tool"] == "classify"
    assert "weights not fetched" in failed["error"]
    assert "no whole-slide classifier is configured" in r.answer
    assert r.exit_code == 3


def test_findings_are_recalled_by_kind_and_summarised_for_the_whole_case(
    review: Review, home: Path
) -> None:
    copilot = _fresh_copilot(home)
    try:
        ask = [
            f"zoom to the box {BOX1} at 20x",
            "count the nuclei there",
            f"zoom to the box {BOX2} at 20x",
            "count the nuclei there",
            "segment the nuclei there",
            "how much tissue is on the slide?",
        ]
        done = [copilot.ask(review.slide, q, "memory") for q in ask]
        count = copilot.ask(
            review.slide, "remind me, what was the total nuclear count you got earlier?", "memory"
        )
        label = copilot.ask(review.slide, "what was the segmentation of region 2?", "memory")
        summary = copilot.ask(review.slide, "summarise everything we've found so far", "memory")
        none = copilot.ask(review.slide, "what was the tissue class earlier?", "memory")
        listed = copilot.ask(review.slide, "list the regions we looked at", "memory")
    finally:
        copilot.close()
    detect_ids = [done[1].evidence[0]["id"], done[3].evidence[0]["id"]]
    segment_id = done[4].evidence[0]["id"]
    tissue_id = done[5].evidence[0]["id"]
    n1, n2 = (done[k].evidence[0]["output"]["count"] for k in (1, 3))
    # the count only: both regions' detections, nothing else of the case
    assert count.evidence == []
    assert [e["id"] for e in count.earlier if e["tool"] != "zoom"] == detect_ids
    assert f"{n1} nuclei" in count.answer
    assert f"{n2} nuclei" in count.answer
    assert "outlined" not in count.answer
    assert count.verification["status"] == "verified", count.verification["reasons"]
    # the segmentation of region 2 only
    assert [e["id"] for e in label.earlier if e["tool"] != "zoom"] == [segment_id]
    assert "nuclei detected" not in label.answer
    assert label.verification["status"] == "verified", label.verification["reasons"]
    # the summary: the whole slide's tissue first, then every region's latest results
    cited = [e["id"] for e in summary.earlier]
    assert cited[0] == tissue_id
    assert {*detect_ids, segment_id} <= set(cited)
    assert summary.answer.startswith("For the whole slide, earlier in this case: Tissue covers")
    assert summary.verification["status"] == "verified", summary.verification["reasons"]
    # a kind the case never measured is said plainly, and checked against the case's archive
    assert none.answer == (
        "This case holds no tissue classification or tissue composition yet: ask for it and it "
        "will be measured."
    )
    assert none.verification["status"] == "verified"
    assert none.verification["checks"][0]["name"] == "case_memory"
    # the places the case looked at, by their views
    assert listed.answer == (
        f"The first region: box {BOX1} in level-0 pixels at 20x. The second region: box {BOX2} "
        "in level-0 pixels at 20x."
    )
    assert [e["tool"] for e in listed.earlier] == ["zoom", "zoom"]
    assert listed.verification["status"] == "verified", listed.verification["reasons"]


def test_a_recall_that_denies_a_held_result_is_rejected(review: Review) -> None:
    """The verifier reads the archive itself: 'no segmentation' is false in the review case."""
    from agent.verifier import verify

    copilot = _fresh_copilot(review.home)
    try:
        _, state = copilot.case(CASE)
    finally:
        copilot.close()
    line = "This case holds no segmentation yet: ask for it and it will be measured."
    chain = {"steps": [{"id": "S1", "kind": "conclude", "text": line, "evidence": []}]}
    lookup = {"kind": "recall", "missing": [line], "kinds": ["segment"], "none_held": True}
    report = verify(
        {"chain": chain, "plan": {"lookup": lookup}, "archive": state["archive"], "answer": line}
    )["verification"]
    assert report["status"] == "rejected"
    assert "the case does hold segment result E4.1" in report["reasons"][0]


def test_a_comparison_and_a_recall_in_one_request_answer_both(review: Review) -> None:
    copilot = _fresh_copilot(review.home)
    try:
        both = copilot.ask(
            review.slide,
            "compare regions 1 and 2 again, and remind me what we concluded about the first region",
            CASE,
        )
    finally:
        copilot.close()
    assert both.plan is not None
    assert both.plan["lookup"]["kind"] == "compare"
    assert both.plan["also"]["kind"] == "recall"
    assert both.evidence == []  # both regions' segmentations are reused, nothing re-run
    assert both.verification["status"] == "verified", both.verification["reasons"]
    n1 = review.turns[3].evidence[0]["output"]["count"]
    n2 = review.turns[2].evidence[0]["output"]["count"]
    assert f"({n1} vs {n2})" in both.answer
    # what the case concluded about the first region is its count, already compared: said once
    assert both.answer.count(f"outlined {n1} nuclei in region #1") == 1


def test_an_analysis_at_a_new_place_is_compared_with_the_one_before(
    copilot: Copilot, cmu_slide: Path
) -> None:
    """ "Now do the same for the top left corner and compare the two": the corner and the
    bottom right counted before it (before this fix: "no region was visited before region 1")."""
    copilot.ask(cmu_slide, "zoom into the bottom right corner", "new-place")  # region 1
    copilot.ask(cmu_slide, "count the nuclei there", "new-place")
    r = copilot.ask(
        cmu_slide, "now do the same for the top left corner and compare the two", "new-place"
    )
    (det,) = r.evidence  # the corner only: region 1's count is cited, not re-run
    assert det["tool"] == "detect"
    assert det["output"]["region_box"] == [0, 0, 1110, 1484]
    assert det["output"]["roi_number"] == 2
    assert [e["tool"] for e in r.earlier] == ["detect"]
    n1, n2 = r.earlier[0]["output"]["count"], det["output"]["count"]
    assert n1 > n2  # the bottom right corner holds more of the section than the top left
    assert f"Region #1 has {n1 - n2} more nuclei than region #2 ({n1} vs {n2})" in r.answer
    assert r.verification["status"] == "verified"
    # "and the bottom left one?" right after a count asks for the count there
    more = copilot.ask(cmu_slide, "and the bottom left one?", "new-place")
    assert [(e["tool"], e["output"].get("region_box")) for e in more.evidence] == [
        ("detect", [0, 1484, 1110, 2967])
    ]
    centre = copilot.ask(cmu_slide, "what about the centre?", "new-place")
    (det,) = centre.evidence  # the slide's centre, not the corner on screen
    x0, y0, x1, y1 = det["output"]["region_box"]
    assert (det["tool"], x0 < 1110 < x1, y0 < 1483 < y1) == ("detect", True, True)


def test_a_comparison_after_a_move_compares_the_view_the_move_shows(
    copilot: Copilot, cmu_slide: Path
) -> None:
    """ "Zoom out 2x and compare the nuclei here with view 1": "here" is the view the zoom shows,
    not the one on screen before it."""
    copilot.ask(cmu_slide, "zoom into the bottom right corner", "moved")  # region 1
    copilot.ask(cmu_slide, "count the nuclei there", "moved")
    r = copilot.ask(cmu_slide, "zoom out 2x and compare the nuclei count here with view 1", "moved")
    assert [e["tool"] for e in r.evidence] == ["zoom", "detect"]
    det = r.evidence[1]
    assert det["output"]["roi_number"] == 2  # the view the zoom showed
    assert [e["tool"] for e in r.earlier] == ["detect"]  # region 1's count, cited, not re-run
    assert r.plan is not None
    assert sorted(r.plan["lookup"]["rois"]) == [1, 2]
    n1, n2 = r.earlier[0]["output"]["count"], det["output"]["count"]
    assert n2 > n1  # twice the field holds more of the section
    assert f"({n2} vs {n1})" in r.answer or f"({n1} vs {n2})" in r.answer
    assert r.verification["status"] == "verified", r.verification["reasons"]


def test_going_back_to_a_view_to_compare_it_compares_that_region(
    copilot: Copilot, cmu_slide: Path
) -> None:
    """ "Go back to view 1 and compare it with view 2": the move shows region 1 again, and
    region 1 is what is compared (not a third region the plan numbered before the move)."""
    copilot.ask(cmu_slide, "zoom into the bottom right corner", "back-compare")  # region 1
    copilot.ask(cmu_slide, "zoom into the top left corner", "back-compare")  # region 2
    copilot.ask(cmu_slide, "count the nuclei there", "back-compare")
    r = copilot.ask(
        cmu_slide, "go back to view 1 and compare it with view 2 for nuclei", "back-compare"
    )
    assert [e["tool"] for e in r.evidence] == ["zoom", "detect"]
    det = r.evidence[1]
    assert det["output"]["roi_number"] == 1
    assert det["output"]["region_box"] == r.evidence[0]["output"]["box"]
    assert [e["tool"] for e in r.earlier] == ["detect"]  # region 2's count, cited, not re-run
    assert r.plan is not None
    assert sorted(r.plan["lookup"]["rois"]) == [1, 2]
    n1, n2 = det["output"]["count"], r.earlier[0]["output"]["count"]
    assert f"({n1} vs {n2})" in r.answer or f"({n2} vs {n1})" in r.answer
    assert r.verification["status"] == "verified", r.verification["reasons"]
    listed = copilot.ask(cmu_slide, "list the regions we looked at", "back-compare")
    assert "third region" not in listed.answer


def test_a_quadrant_already_shown_is_its_region_when_counted(
    copilot: Copilot, cmu_slide: Path
) -> None:
    copilot.ask(cmu_slide, "take me to the upper left quadrant", "quadrant")
    r = copilot.ask(cmu_slide, "count the nuclei in the upper left quadrant", "quadrant")
    (det,) = r.evidence
    assert det["output"]["roi_number"] == 1
    assert "region #1" in r.answer


def test_the_whole_slide_without_a_scale_fits_one_view(copilot: Copilot, cmu_slide: Path) -> None:
    r = copilot.ask(cmu_slide, "show me the whole thing at low power", "whole")
    (view,) = r.evidence
    assert view["output"]["box"] == [0, 0, 2220, 2967]
    assert max(view["output"]["output_width"], view["output"]["output_height"]) <= 2048
    assert "only its centre" not in r.answer


def test_the_slide_size_in_mm_is_given_and_claimed(copilot: Copilot, cmu_slide: Path) -> None:
    r = copilot.ask(cmu_slide, "what are the physical dimensions of the slide in mm?", "mm")
    info = next(e for e in r.evidence if e["tool"] == "slide_info")
    assert info["output"]["width_mm"] == pytest.approx(2220 * 0.499 / 1000, abs=0.01)
    assert "1.11 × 1.48 mm" in r.answer
    assert r.verification["status"] == "verified"


def test_which_quadrant_has_the_most_nuclei_counts_each_and_names_the_top_one(
    copilot: Copilot,
) -> None:
    image = SHARED_DATA / "histolytics_hgsc" / "hgsc_nest.jpg"
    r = copilot.ask(image, "which quadrant has the most nuclei?", "quadrants")
    boxes = [e["output"]["region_box"] for e in r.evidence]
    assert boxes == [
        [0, 0, 750, 750],
        [750, 0, 1500, 750],
        [0, 750, 750, 1500],
        [750, 750, 1500, 1500],
    ]
    assert [e["tool"] for e in r.evidence] == ["detect"] * 4
    counts = [int(e["output"]["count"]) for e in r.evidence]
    names = ["top left", "top right", "bottom left", "bottom right"]
    top = names[counts.index(max(counts))]
    low = names[counts.index(min(counts))]
    assert f"The {top} quadrant has the most nuclei ({max(counts)}); the {low} quadrant" in r.answer
    assert "cannot be compared" not in r.answer
    assert r.verification["status"] == "verified"
    halves = copilot.ask(image, "compare the left half with the right half", "quadrants")
    assert [e["output"]["region_box"] for e in halves.evidence] == [
        [0, 0, 750, 1500],
        [750, 0, 1500, 1500],
    ]  # of the image, not of the last quadrant counted
    left, right = (int(e["output"]["count"]) for e in halves.evidence)
    assert f"The left half (region #5): {left} nuclei, mean nuclear area" in halves.answer
    assert f"; the right half (region #6): {right} nuclei" in halves.answer


def test_quadrants_ranked_by_density_or_by_nuclear_size(copilot: Copilot) -> None:
    image = SHARED_DATA / "histolytics_hgsc" / "hgsc_nest.jpg"
    names = ["top left", "top right", "bottom left", "bottom right"]
    dense = copilot.ask(image, "rank the quadrants by nuclear density", "ranked")
    values = [e["output"]["per_tissue_10k_px"] for e in dense.evidence]  # no µm/px here
    top = names[values.index(max(values))]
    assert f"The {top} quadrant has the highest nuclear density per tissue area (" in dense.answer
    sizes = copilot.ask(image, "which quadrant has the largest nuclei?", "ranked")
    areas = [e["output"]["mean_area_px"] for e in sizes.evidence]
    top = names[areas.index(max(areas))]
    low = names[areas.index(min(areas))]
    assert f"The {top} quadrant has the largest mean nuclear area (" in sizes.answer
    assert f"the {low} quadrant the smallest (" in sizes.answer
    for r in (dense, sizes):
        assert len(r.evidence) == 4
        assert r.verification["status"] == "verified", r.verification["reasons"]


def test_the_other_half_is_the_opposite_one_and_which_half_compares_both(
    copilot: Copilot,
) -> None:
    image = SHARED_DATA / "tiatoolbox" / "target_image.png"
    copilot.ask(image, "count the nuclei in the left half", "halves")
    r = copilot.ask(image, "same for the other half, and which half is more cellular?", "halves")
    assert [e["output"]["region_box"] for e in r.evidence] == [
        [0, 0, 500, 1000],
        [500, 0, 1000, 1000],
    ]
    left, right = (e["output"]["per_tissue_10k_px"] for e in r.evidence)
    top = "left" if left > right else "right"
    assert f"The {top} half has the highest nuclear density per tissue area" in r.answer
    assert r.verification["status"] == "verified", r.verification["reasons"]


def test_an_export_asked_in_the_chat_says_how_without_running_anything(
    copilot: Copilot, cmu_slide: Path
) -> None:
    r = copilot.ask(
        cmu_slide,
        "Can you export the nuclei segmentation as a GeoJSON or CSV so I can load it in QuPath?",
        "exporting",
    )
    assert r.evidence == []
    assert r.exit_code == 0
    assert "`smartpath cases export exporting --geojson case.geojson" in r.answer
    counted = copilot.ask(
        cmu_slide, "count the nuclei in the top left quadrant and export them", "exporting"
    )
    assert [e["tool"] for e in counted.evidence] == ["detect"]
    assert "smartpath cases export exporting" in counted.answer


def test_a_summary_says_what_was_asked_but_could_not_be_done(copilot: Copilot) -> None:
    image = SHARED_DATA / "histolytics_hgsc" / "hgsc_nest.jpg"
    mitoses = copilot.ask(image, "any mitoses?", "undone")
    assert mitoses.exit_code == 3
    copilot.ask(image, "count the nuclei in the top left quadrant", "undone")
    r = copilot.ask(image, "summarise the case, and what you could not do", "undone")
    assert r.evidence == []
    assert "nuclei detected in region #1" in r.answer
    assert (
        "Asked in this case but not done, as no expert here could do it: free visual questions"
        in r.answer
    )
    assert r.verification["status"] == "verified", r.verification["reasons"]


def test_two_boxes_named_in_one_request_are_counted_and_compared(copilot: Copilot) -> None:
    slide = SHARED_DATA / "wsi" / "tcga-cr-7395-01a-01-ts1.svs"
    r = copilot.ask(
        slide,
        "Compare box [600,1200,1300,1800] with box [2600,2600,3300,3200]: nuclei count, mean "
        "nuclear size and which one is more cellular",
        "boxes",
    )
    assert [e["output"]["region_box"] for e in r.evidence] == [
        [600, 1200, 1300, 1800],
        [2600, 2600, 3300, 3200],
    ]
    a, b = (e["output"] for e in r.evidence)
    assert r.answer.startswith(
        f"Box [600, 1200, 1300, 1800] (region #1): {a['count']} nuclei, mean nuclear area "
        f"{a['mean_area_px']:.0f} pixels²; box [2600, 2600, 3300, 3200] (region #2): "
        f"{b['count']} nuclei"
    )
    assert "Comparison: Region #1 has" in r.answer
    assert r.verification["status"] == "verified", r.verification["reasons"]


def test_counts_named_by_their_order_are_recalled_and_compared(copilot: Copilot) -> None:
    """The first count was of the whole image (no region): it is still "the first count"."""
    image = SHARED_DATA / "histolytics_hgsc" / "hgsc_nest.jpg"
    whole = copilot.ask(image, "count the nuclei", "ordinal")
    part = copilot.ask(image, "count the nuclei in the top left quadrant", "ordinal")
    r = copilot.ask(
        image, "what were the first and second counts again, and how do they compare?", "ordinal"
    )
    assert r.evidence == []  # nothing re-run
    assert [e["id"] for e in r.earlier] == ["E1.1", "E2.1"]
    a, b = whole.evidence[0]["output"]["count"], part.evidence[0]["output"]["count"]
    assert f"The analysed region has {a - b} more nuclei than region #1 ({a} vs {b})" in r.answer
    assert "without µm/px the density per mm² cannot be given" in r.answer  # no density to cite
    assert r.verification["status"] == "verified"


def test_an_analysis_of_the_whole_slide_reads_all_of_it_when_it_fits(
    copilot: Copilot, cmu_slide: Path
) -> None:
    """2220 × 2967 px at the detector's scale is over one view (2048 px) but within one read:
    all of it, not its centre."""
    r = copilot.ask(cmu_slide, "count the nuclei on the whole slide", "whole-count")
    det = next(e for e in r.evidence if e["tool"] == "detect")
    assert det["output"]["region_box"] == [0, 0, 2220, 2967]
    assert "only its centre" not in r.answer


def test_a_box_against_the_whole_tile_counts_the_tile_and_compares(copilot: Copilot) -> None:
    tile = SHARED_DATA / "kather_mopadi" / "TCGA-AD-6964-01Z-00-DX1_COAD" / "Tile_(22016,11776).jpg"
    box = copilot.ask(tile, "count the nuclei in the box (100,100)-(356,356)", "vs-whole")
    r = copilot.ask(
        tile, "how does the nuclear density in that box compare with the whole tile?", "vs-whole"
    )
    (whole,) = r.evidence  # the box's count is cited, the tile's is new
    assert whole["output"]["region_box"] == [0, 0, 512, 512]
    assert [e["id"] for e in r.earlier] == [box.evidence[-1]["id"]]
    a, b = box.evidence[-1]["output"]["count"], whole["output"]["count"]
    assert f"Region #1 has {b - a} fewer nuclei than the analysed region ({a} vs {b})" in r.answer
    assert r.verification["status"] == "verified"


def test_how_variable_the_nuclei_are_is_their_areas_spread(copilot: Copilot) -> None:
    image = SHARED_DATA / "stardist_sample" / "histo.jpg"
    r = copilot.ask(image, "mean and median nuclear size? and how variable are they?", "spread")
    (det,) = r.evidence
    assert det["tool"] == "detect"
    areas = [o["area_px"] for o in det["output"]["objects"]]
    mean = sum(areas) / len(areas)
    sd = (sum((a - mean) ** 2 for a in areas) / len(areas)) ** 0.5
    assert det["output"]["area_cv"] == pytest.approx(sd / mean, abs=1e-3)
    assert f"coefficient of variation of {det['output']['area_cv']:.2f}" in r.answer
    assert "which no tool here grades" in r.answer
    assert r.verification["status"] == "verified"
    plain = copilot.ask(image, "count the nuclei", "spread")
    assert "coefficient of variation" not in plain.answer  # said only when asked


def test_that_quadrant_after_a_ranking_is_the_one_ranked_first(copilot: Copilot) -> None:
    image = SHARED_DATA / "histolytics_hgsc" / "hgsc_nest.jpg"
    r = copilot.ask(image, "which quadrant has the most nuclei?", "that-quadrant")
    counts = [int(e["output"]["count"]) for e in r.evidence]
    first = r.evidence[counts.index(max(counts))]["output"]["roi_number"]
    that = copilot.ask(image, "zoom into that quadrant and count the nuclei in it", "that-quadrant")
    assert [(e["tool"], e["output"].get("roi_number")) for e in that.evidence] == [
        ("zoom", first),
        ("detect", first),
    ]  # not the last quadrant counted


def test_a_table_of_the_regions_lists_each_regions_results(copilot: Copilot) -> None:
    """ "Make me a table of the regions": one row per region, each cell cited and verified."""
    tile = SHARED_DATA / "kather_mopadi" / "TCGA-AD-6964-01Z-00-DX1_COAD" / "Tile_(22016,11776).jpg"
    one = copilot.ask(tile, "count the nuclei in the box (0,0)-(256,256)", "table")
    two = copilot.ask(tile, "count the nuclei in the box (256,0)-(512,256)", "table")
    r = copilot.ask(tile, "make me a table of the regions", "table")
    assert r.evidence == []  # nothing re-run
    counts = [t.evidence[-1]["output"]["count"] for t in (one, two)]
    lines = r.answer.splitlines()
    assert lines[2:6] == [
        "| Region | Box (level-0 px) | Nuclei |",
        "|---|---|---|",
        f"| #1 | [0, 0, 256, 256] | {counts[0]} |",
        f"| #2 | [256, 0, 512, 256] | {counts[1]} |",
    ]
    assert r.verification["status"] == "verified", r.verification["reasons"]


def test_an_analysis_asked_beside_a_comparison_runs_once(copilot: Copilot, cmu_slide: Path) -> None:
    """ "Count the nuclei here and compare with view 1": this view is counted once (the count
    asked for), the comparison reads that count and region 1's earlier one."""
    copilot.ask(cmu_slide, "zoom into the bottom right corner", "once")  # region 1
    copilot.ask(cmu_slide, "count the nuclei there", "once")
    copilot.ask(cmu_slide, "zoom into the top left corner", "once")  # region 2
    r = copilot.ask(cmu_slide, "count the nuclei here and compare with view 1", "once")
    assert [e["tool"] for e in r.evidence] == ["detect"]
    det = r.evidence[0]
    assert det["output"]["roi_number"] == 2
    assert [e["tool"] for e in r.earlier] == ["detect"]  # region 1's count, cited, not re-run
    assert r.plan is not None
    assert sorted(r.plan["lookup"]["rois"]) == [1, 2]
    n1, n2 = r.earlier[0]["output"]["count"], det["output"]["count"]
    assert n1 > n2  # the bottom right corner holds more of the section than the top left
    assert f"Region #2 has {n1 - n2} fewer nuclei than region #1 ({n2} vs {n1})" in r.answer
    assert r.verification["status"] == "verified", r.verification["reasons"]


def test_one_count_named_by_its_order_is_recalled_alone(copilot: Copilot) -> None:
    image = SHARED_DATA / "histolytics_hgsc" / "hgsc_nest.jpg"
    first = copilot.ask(image, "count the nuclei in the top left quadrant", "nth")
    second = copilot.ask(image, "count the nuclei in the bottom right quadrant", "nth")
    a, b = (t.evidence[0]["output"]["count"] for t in (first, second))
    r = copilot.ask(image, "remind me, what was the first count?", "nth")
    assert (r.evidence, [e["id"] for e in r.earlier]) == ([], ["E1.1"])
    assert f"{a} nuclei detected in region #1" in r.answer
    assert f"{b} nuclei" not in r.answer
    r = copilot.ask(image, "and the last count?", "nth")  # recalled, not counted again
    assert (r.evidence, [e["id"] for e in r.earlier]) == ([], ["E2.1"])
    assert r.verification["status"] == "verified"
    r = copilot.ask(
        image, "what was the second count and how does it compare with the first?", "nth"
    )
    assert r.evidence == []
    assert r.answer.count(f"{a} nuclei detected in region #1") == 1  # not repeated by a recall
    assert r.answer.count(f"{b} nuclei detected in region #2") == 1
    assert r.verification["status"] == "verified"
