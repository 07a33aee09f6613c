"""Pure scoring functions: classes, detections, tissue, routing, chains, latency."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from statistics import mean, median

import numpy as np
from pydantic import BaseModel, Field

from eval.detection_metrics import DetectionScores, match_by_centroid, match_by_iou
from tools.tissue import mask_iou

__all__ = [
    "ChainScores",
    "ClassificationScores",
    "LatencyScores",
    "RoutingScore",
    "box_iou",
    "chain_scores",
    "classification_scores",
    "detection_scores_from_masks",
    "detection_scores_from_points",
    "latency_scores",
    "routing_score",
    "tissue_iou",
]


class ClassificationScores(BaseModel):
    """Accuracy and macro-F1 of (truth, prediction) label pairs; None for no pairs."""

    n: int = Field(ge=0)
    accuracy: float | None
    macro_f1: float | None = Field(description="Mean F1 over the labels in truth or prediction.")
    per_class_f1: dict[str, float]
    confusion: dict[str, dict[str, int]] = Field(description="truth -> prediction -> count")


def classification_scores(truth: Sequence[str], pred: Sequence[str | None]) -> ClassificationScores:
    """Score paired labels; a missing prediction (None) counts as wrong."""
    if len(truth) != len(pred):
        msg = f"{len(truth)} true labels but {len(pred)} predictions"
        raise ValueError(msg)
    pairs = [(t, p if p is not None else "(none)") for t, p in zip(truth, pred, strict=True)]
    if not pairs:
        return ClassificationScores(
            n=0, accuracy=None, macro_f1=None, per_class_f1={}, confusion={}
        )
    labels = sorted({t for t, _ in pairs} | {p for _, p in pairs})
    per_class: dict[str, float] = {}
    for label in labels:
        tp = sum(t == label and p == label for t, p in pairs)
        fp = sum(t != label and p == label for t, p in pairs)
        fn = sum(t == label and p != label for t, p in pairs)
        per_class[label] = 2 * tp / (2 * tp + fp + fn)
    confusion: dict[str, dict[str, int]] = {}
    for t, p in pairs:
        confusion.setdefault(t, {}).setdefault(p, 0)
        confusion[t][p] += 1
    return ClassificationScores(
        n=len(pairs),
        accuracy=sum(t == p for t, p in pairs) / len(pairs),
        macro_f1=mean(per_class.values()),
        per_class_f1=per_class,
        confusion=confusion,
    )


def detection_scores_from_points(
    pred_xy: np.ndarray, truth_xy: np.ndarray, max_distance: float
) -> DetectionScores:
    """Precision, recall, F1 and count error of centroids matched within ``max_distance``."""
    return match_by_centroid(pred_xy, truth_xy, max_distance)


def detection_scores_from_masks(
    pred: np.ndarray, truth: np.ndarray, threshold: float = 0.5
) -> DetectionScores:
    """Precision, recall, F1 and count error of instance masks matched at IoU > threshold."""
    return match_by_iou(pred, truth, threshold)


def tissue_iou(pred: np.ndarray, reference: np.ndarray) -> float:
    """IoU of two bool tissue masks; ``pred`` is resized to the reference's shape."""
    return mask_iou(pred, reference)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two boxes [x0, y0, x1, y1] in one frame (1.0 for two empty boxes)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area_a = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])
    area_b = max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
    union = area_a + area_b - inter
    return 1.0 if union == 0 else inter / union


class RoutingScore(BaseModel):
    """Whether a turn called every required tool and none of the forbidden ones."""

    ok: bool
    called: list[str]
    missing: list[str] = Field(description="Required tools that were not called.")
    forbidden: list[str] = Field(description="Forbidden tools that were called.")


def routing_score(
    called: Iterable[str], required: Iterable[str], forbidden: Iterable[str]
) -> RoutingScore:
    """Compare the tools a turn called with the tools it had to and must not call."""
    done = list(dict.fromkeys(called))
    missing = [t for t in required if t not in done]
    bad = [t for t in forbidden if t in done]
    return RoutingScore(ok=not missing and not bad, called=done, missing=missing, forbidden=bad)


class ChainScores(BaseModel):
    """The verifier's scores of one turn's chain (None where it gave none)."""

    status: str | None
    steps_verified: float | None
    citation_precision: float | None
    citation_recall: float | None
    entity_dice: float | None


def chain_scores(verification: dict[str, object]) -> ChainScores:
    """Read the chain metrics from a ``TurnResult.verification`` mapping."""

    def num(key: str) -> float | None:
        value = verification.get(key)
        return float(value) if isinstance(value, int | float) else None

    status = verification.get("status")
    return ChainScores(
        status=status if isinstance(status, str) else None,
        steps_verified=num("steps_verified"),
        citation_precision=num("citation_precision"),
        citation_recall=num("citation_recall"),
        entity_dice=num("entity_dice"),
    )


class LatencyScores(BaseModel):
    """Latency over turns, in seconds, and the share of it spent in tools."""

    n: int = Field(ge=0)
    mean_s: float | None
    median_s: float | None
    p95_s: float | None
    max_s: float | None
    tools_share: float | None = Field(description="Sum of tool seconds / sum of turn seconds.")


def latency_scores(timings: Sequence[dict[str, float]]) -> LatencyScores:
    """Summarise ``TurnResult.timings`` (``total_s``, ``tools_s``) of several turns."""
    totals = [float(t["total_s"]) for t in timings]
    if not totals:
        return LatencyScores(
            n=0, mean_s=None, median_s=None, p95_s=None, max_s=None, tools_share=None
        )
    tools = sum(float(t.get("tools_s", 0.0)) for t in timings)
    whole = sum(totals)
    return LatencyScores(
        n=len(totals),
        mean_s=mean(totals),
        median_s=median(totals),
        p95_s=float(np.percentile(totals, 95)),
        max_s=max(totals),
        tools_share=min(1.0, tools / whole) if whole > 0 else None,
    )
