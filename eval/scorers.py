"""Pure scoring functions: classes, detections, tissue, routing, chains, latency."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from statistics import mean, median

import numpy as np
from pydantic import BaseModel, Field

from eval.detection_metrics import (
    DetectionScores,
    match_by_centroid,
    match_by_iou,
    scores_from_matches,
)
from tools.tissue import mask_iou

__all__ = [
    "ChainScores",
    "ClassificationScores",
    "OverlapScores",
    "SetScores",
    "accuracy",
    "binary_auc",
    "LatencyScores",
    "RoutingScore",
    "box_iou",
    "chain_scores",
    "classification_scores",
    "detection_scores_from_boxes",
    "detection_scores_from_masks",
    "exact_match",
    "detection_scores_from_points",
    "latency_scores",
    "normalise_answer",
    "option_accuracy",
    "option_from_text",
    "overlap_scores",
    "ovr_auc",
    "routing_score",
    "set_scores",
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


def detection_scores_from_boxes(
    pred: np.ndarray, truth: np.ndarray, min_iou: float = 0.5
) -> DetectionScores:
    """Precision, recall, F1 and count error of boxes matched one-to-one at IoU >= ``min_iou``.

    Boxes are (N, 4) [x0, y0, x1, y1] in one frame. Pairs are taken greedily by decreasing IoU
    (as COCO-style detection matching does), each box in at most one pair.
    """
    p = np.asarray(pred, dtype=np.float64).reshape(-1, 4)
    t = np.asarray(truth, dtype=np.float64).reshape(-1, 4)
    method = f"box_iou>={min_iou:g}"
    if len(p) == 0 or len(t) == 0:
        return _detection(method, [], len(p), len(t))
    lo = np.maximum(p[:, None, :2], t[None, :, :2])
    hi = np.minimum(p[:, None, 2:], t[None, :, 2:])
    ix, iy = np.moveaxis(np.clip(hi - lo, 0, None), -1, 0)
    inter = ix * iy
    area_p = np.clip(p[:, 2] - p[:, 0], 0, None) * np.clip(p[:, 3] - p[:, 1], 0, None)
    area_t = np.clip(t[:, 2] - t[:, 0], 0, None) * np.clip(t[:, 3] - t[:, 1], 0, None)
    union = area_p[:, None] + area_t[None, :] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    rows, cols = np.nonzero(iou >= min_iou)
    order = np.argsort(-iou[rows, cols], kind="stable")
    used_p: set[int] = set()
    used_t: set[int] = set()
    matched: list[float] = []
    for k in order:
        i, j = int(rows[k]), int(cols[k])
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            matched.append(float(iou[i, j]))
    return _detection(method, matched, len(p), len(t))


def _detection(method: str, matched: list[float], n_pred: int, n_truth: int) -> DetectionScores:
    mean_iou = mean(matched) if matched else None
    return scores_from_matches(method, len(matched), n_pred, n_truth, mean_iou=mean_iou)


class OverlapScores(BaseModel):
    """Dice and IoU of two foreground masks (1.0 each when both are empty)."""

    dice: float = Field(ge=0.0, le=1.0)
    iou: float = Field(ge=0.0, le=1.0)
    pred_pixels: int = Field(ge=0)
    truth_pixels: int = Field(ge=0)


def overlap_scores(pred: np.ndarray, truth: np.ndarray) -> OverlapScores:
    """Dice and IoU of the foregrounds (non-zero pixels) of two masks of one shape."""
    a, b = np.asarray(pred) != 0, np.asarray(truth) != 0
    if a.shape != b.shape:
        msg = f"pred shape {a.shape} differs from truth shape {b.shape}"
        raise ValueError(msg)
    inter = int(np.count_nonzero(a & b))
    na, nb = int(np.count_nonzero(a)), int(np.count_nonzero(b))
    union = na + nb - inter
    return OverlapScores(
        dice=1.0 if na + nb == 0 else 2 * inter / (na + nb),
        iou=1.0 if union == 0 else inter / union,
        pred_pixels=na,
        truth_pixels=nb,
    )


class SetScores(BaseModel):
    """Precision, recall and Dice of a found set against an expected set."""

    precision: float
    recall: float
    dice: float
    missing: list[str]
    extra: list[str]


def set_scores(found: Iterable[str], expected: Iterable[str]) -> SetScores:
    """Compare two sets of ids; both empty scores 1.0 everywhere."""
    f, e = set(found), set(expected)
    both = len(f & e)
    return SetScores(
        precision=both / len(f) if f else (1.0 if not e else 0.0),
        recall=both / len(e) if e else 1.0,
        dice=2 * both / (len(f) + len(e)) if f or e else 1.0,
        missing=sorted(e - f),
        extra=sorted(f - e),
    )


def accuracy(truth: Sequence[str], pred: Sequence[str | None]) -> float | None:
    """Share of predictions equal to the truth (None counts as wrong); None for no pairs."""
    if len(truth) != len(pred):
        msg = f"{len(truth)} true labels but {len(pred)} predictions"
        raise ValueError(msg)
    return sum(t == p for t, p in zip(truth, pred, strict=True)) / len(truth) if truth else None


def binary_auc(positive: Sequence[bool], score: Sequence[float]) -> float | None:
    """ROC AUC (Mann-Whitney, ties count half); None without both classes."""
    if len(positive) != len(score):
        msg = f"{len(positive)} labels but {len(score)} scores"
        raise ValueError(msg)
    pos = [s for y, s in zip(positive, score, strict=True) if y]
    neg = [s for y, s in zip(positive, score, strict=True) if not y]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def ovr_auc(
    truth: Sequence[str], probabilities: Sequence[dict[str, float]]
) -> tuple[float | None, dict[str, float]]:
    """One-vs-rest ROC AUC per true class and their mean (macro).

    A class absent from a probability mapping scores 0 there. Classes with no negative example
    are left out.

    Returns:
        (macro AUC or None, class -> AUC)
    """
    if len(truth) != len(probabilities):
        msg = f"{len(truth)} labels but {len(probabilities)} probability mappings"
        raise ValueError(msg)
    per_class: dict[str, float] = {}
    for label in sorted(set(truth)):
        auc = binary_auc([t == label for t in truth], [p.get(label, 0.0) for p in probabilities])
        if auc is not None:
            per_class[label] = auc
    return (mean(per_class.values()) if per_class else None), per_class


_ARTICLES = {"a", "an", "the"}


def normalise_answer(text: str) -> str:
    """Lower case, punctuation to spaces (a decimal point kept), articles dropped (VQA style)."""
    low = text.lower().replace("µ", "u").replace("μ", "u")
    chars = [c if c.isalnum() or c in ".×" else " " for c in low]
    words = [w.strip(".") for w in "".join(chars).split()]
    return " ".join(w for w in words if w and w not in _ARTICLES)


def exact_match(pred: object, truth: str) -> bool:
    """True when ``pred`` (any value, str() of it) equals ``truth`` after normalising both."""
    if pred is None:
        return False
    if isinstance(pred, float) and pred.is_integer():
        pred = int(pred)
    return normalise_answer(str(pred)) == normalise_answer(truth)


def option_from_text(text: str, options: Sequence[str]) -> str | None:
    """The one option a free-text answer names (whole words after normalising), else None.

    An answer naming none of the options, or several, chooses none. An option that is part of
    another named one (``20x`` inside ``120x``) does not count twice: matching is on words.
    """
    words = f" {normalise_answer(text)} "
    named = [o for o in options if f" {normalise_answer(o)} " in words]
    return named[0] if len(named) == 1 else None


def option_accuracy(truth: Sequence[str], chosen: Sequence[str | None]) -> float | None:
    """Share of questions whose chosen option is the right one (no choice is wrong)."""
    return accuracy(truth, chosen)
