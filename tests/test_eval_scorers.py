"""Evaluation scorers: pure functions on hand-made inputs with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from eval.expectations import score_turn
from eval.scorers import (
    box_iou,
    chain_scores,
    classification_scores,
    detection_scores_from_masks,
    detection_scores_from_points,
    latency_scores,
    routing_score,
    tissue_iou,
)
from eval.suite import Expect


def test_classification_accuracy_macro_f1_and_confusion() -> None:
    truth = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "b", None]
    scores = classification_scores(truth, pred)
    assert scores.n == 6
    assert scores.accuracy == pytest.approx(4 / 6)
    # F1: a = 2·2/(4+0+1) = 0.8; b = 2·2/(4+1+0) = 0.8; c = 0; "(none)" = 0
    assert scores.per_class_f1["a"] == pytest.approx(0.8)
    assert scores.per_class_f1["b"] == pytest.approx(0.8)
    assert scores.per_class_f1["c"] == 0.0
    assert scores.macro_f1 == pytest.approx((0.8 + 0.8 + 0 + 0) / 4)
    assert scores.confusion == {"a": {"a": 2, "b": 1}, "b": {"b": 2}, "c": {"(none)": 1}}


def test_classification_empty_and_mismatched() -> None:
    assert classification_scores([], []).accuracy is None
    with pytest.raises(ValueError, match="2 true labels but 1"):
        classification_scores(["a", "b"], ["a"])


def test_detection_from_points_and_masks_uses_the_shared_matchers() -> None:
    truth = np.array([[0, 0], [10, 10], [20, 20]])
    pred = np.array([[1, 0], [10, 12], [50, 50], [60, 60]])
    scores = detection_scores_from_points(pred, truth, max_distance=3)
    assert (scores.tp, scores.fp, scores.fn) == (2, 2, 1)
    assert scores.precision == pytest.approx(0.5)
    assert scores.recall == pytest.approx(2 / 3)
    assert scores.count_error == 1
    labels = np.zeros((10, 10), int)
    labels[:4, :4] = 1
    labels[6:, 6:] = 2
    shifted = np.zeros_like(labels)
    shifted[:4, 1:5] = 7  # IoU 12/20 = 0.6 with instance 1
    masks = detection_scores_from_masks(shifted, labels)
    assert (masks.tp, masks.fp, masks.fn) == (1, 0, 1)


def test_tissue_and_box_iou() -> None:
    a = np.zeros((10, 10), bool)
    a[:5] = True
    b = np.zeros((10, 10), bool)
    b[:, :5] = True
    assert tissue_iou(a, a) == 1.0
    assert tissue_iou(a, b) == pytest.approx(25 / 75)
    assert box_iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(50 / 150)
    assert box_iou([0, 0, 10, 10], [20, 20, 30, 30]) == 0.0
    assert box_iou([0, 0, 0, 0], [0, 0, 0, 0]) == 1.0


def test_routing_score() -> None:
    ok = routing_score(["slide_info", "slide_info"], ["slide_info"], ["tissue"])
    assert ok.ok
    assert ok.called == ["slide_info"]
    bad = routing_score(["tissue"], ["slide_info"], ["tissue"])
    assert not bad.ok
    assert bad.missing == ["slide_info"]
    assert bad.forbidden == ["tissue"]


def test_chain_scores_read_the_verification() -> None:
    scores = chain_scores(
        {"status": "partial", "steps_verified": 0.5, "citation_precision": 1, "entity_dice": None}
    )
    assert scores.status == "partial"
    assert scores.steps_verified == 0.5
    assert scores.citation_precision == 1.0
    assert scores.citation_recall is None
    assert scores.entity_dice is None
    assert chain_scores({}).status is None


def test_latency_scores() -> None:
    scores = latency_scores(
        [{"total_s": 1.0, "tools_s": 0.5}, {"total_s": 3.0, "tools_s": 1.5}, {"total_s": 2.0}]
    )
    assert scores.n == 3
    assert scores.mean_s == pytest.approx(2.0)
    assert scores.median_s == pytest.approx(2.0)
    assert scores.max_s == 3.0
    assert scores.p95_s == pytest.approx(2.9)
    assert scores.tools_share == pytest.approx(2.0 / 6.0)
    assert latency_scores([]).mean_s is None


def _result() -> dict:
    return {
        "answer": "Tissue covers 36.2% of the slide; resolution unknown.",
        "verification": {"status": "verified", "steps_verified": 1.0},
        "facts": [{"id": "DOID:3910#definition", "subject": "DOID:3910"}],
        "evidence": [
            {"tool": "tissue", "ok": False, "output": {}},
            {
                "tool": "tissue",
                "ok": True,
                "output": {
                    "tissue_fraction": 0.362,
                    "mpp": None,
                    "label": "NORM",
                    "regions": [{"box": [72, 75, 1968, 2967]}],
                },
            },
        ],
    }


def test_score_turn_checks_every_key_kind() -> None:
    expect = Expect.model_validate(
        {
            "tools": ["tissue"],
            "not_tools": ["zoom"],
            "verification": ["verified", "partial"],
            "answer": [
                {"kind": "number", "evidence": "tissue", "path": "tissue_fraction",
                 "value": 0.36, "tol": 0.01},
                {"kind": "absent", "evidence": "tissue", "path": "mpp"},
                {"kind": "text", "contains": "RESOLUTION UNKNOWN"},
                {"kind": "box", "evidence": "tissue", "path": "regions.0.box",
                 "value": [20, 30, 2039, 2967], "min_iou": 0.85},
                {"kind": "threshold_label", "task": "t", "evidence": "tissue",
                 "path": "tissue_fraction", "threshold": 0.1, "above": "tissue",
                 "below": "background", "value": "tissue"},
                {"kind": "label", "task": "k", "evidence": "tissue", "path": "label",
                 "value": "normal", "aliases": {"NORM": "normal"}},
                {"kind": "entities", "ids": ["DOID:3910"]},
            ],
        }
    )  # fmt: skip
    scores = score_turn(_result(), expect)
    assert [k.ok for k in scores.keys] == [True] * 7, [k.detail for k in scores.keys]
    assert scores.ok
    assert scores.keys[4].pred == "tissue"
    assert scores.keys[5].truth == "normal"


def test_score_turn_reports_what_failed() -> None:
    expect = Expect.model_validate(
        {
            "tools": ["zoom"],
            "verification": "partial",
            "answer": [
                {"kind": "number", "evidence": "tissue", "path": "tissue_fraction", "value": 0.5},
                {"kind": "number", "evidence": "tissue", "path": "regions.3.box", "value": 1},
                {"kind": "number", "evidence": "zoom", "path": "box", "value": 1},
                {"kind": "absent", "evidence": "tissue", "path": "tissue_fraction"},
                {"kind": "entities", "ids": ["DOID:9256"], "min_dice": 0.5},
            ],
        }
    )
    scores = score_turn(_result(), expect)
    assert not scores.ok
    assert scores.routing.missing == ["zoom"]
    assert scores.verification_ok is False
    assert not any(k.ok for k in scores.keys)
    assert scores.keys[0].got == 0.362
    assert "no successful zoom evidence" in scores.keys[2].detail
