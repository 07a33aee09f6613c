"""Check one answered turn against its expectations: routing, answer keys, verification."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from eval.detection_metrics import label_centroids
from eval.references import (
    ReferenceError,
    instance_boxes,
    instance_mask,
    rasterise_polygons,
)
from eval.scorers import (
    ChainScores,
    RoutingScore,
    box_iou,
    chain_scores,
    detection_scores_from_boxes,
    detection_scores_from_masks,
    detection_scores_from_points,
    exact_match,
    option_from_text,
    overlap_scores,
    routing_score,
    set_scores,
)
from eval.suite import (
    AbsentKey,
    AnswerKey,
    BoxKey,
    ChoiceKey,
    DetectionKey,
    EntitiesKey,
    ExactKey,
    Expect,
    FactsKey,
    LabelKey,
    MaskKey,
    NumberKey,
    TextKey,
    ThresholdLabelKey,
)

__all__ = ["KeyResult", "TurnScores", "score_turn"]

_MISSING = object()


class KeyResult(BaseModel):
    """One answer key: passed or not, what was expected and what the turn gave."""

    kind: str
    ok: bool
    expected: Any
    got: Any
    detail: str
    task: str | None = None
    truth: str | None = None
    pred: str | None = None
    probabilities: dict[str, float] | None = Field(
        default=None, description="Key label -> probability, where the evidence gives them."
    )
    metrics: dict[str, float | None] | None = Field(
        default=None, description="Measures of a detection, mask or facts key, pooled by task."
    )


class TurnScores(BaseModel):
    """Everything scored on one turn."""

    routing: RoutingScore
    keys: list[KeyResult]
    verification_ok: bool | None
    chain: ChainScores

    @property
    def ok(self) -> bool:
        """True when routing, every key and the verification requirement hold."""
        return (
            self.routing.ok and all(k.ok for k in self.keys) and self.verification_ok is not False
        )


def score_turn(result: dict[str, Any], expect: Expect, data_root: Path | None = None) -> TurnScores:
    """Score a ``TurnResult`` (as a dict) against ``expect``.

    ``data_root`` is where detection and mask keys' reference files are (the suite's data root).
    """
    called = [e["tool"] for e in result.get("evidence", [])]
    verification = result.get("verification") or {}
    wanted = expect.verification
    verification_ok = None
    if wanted is not None:
        allowed = [wanted] if isinstance(wanted, str) else wanted
        verification_ok = verification.get("status") in allowed
    return TurnScores(
        routing=routing_score(called, expect.tools, expect.not_tools),
        keys=[_check(key, result, data_root) for key in expect.answer],
        verification_ok=verification_ok,
        chain=chain_scores(verification),
    )


def _check(key: AnswerKey, result: dict[str, Any], data_root: Path | None) -> KeyResult:
    if isinstance(key, TextKey):
        answer = result.get("answer", "")
        ok = key.contains.lower() in answer.lower()
        return KeyResult(kind=key.kind, ok=ok, expected=key.contains, got=answer, detail="answer")
    if isinstance(key, EntitiesKey):
        return _check_entities(key, result)
    if isinstance(key, FactsKey):
        return _check_facts(key, result)
    if isinstance(key, ChoiceKey):
        return _check_choice(key, result)
    where = f"{key.evidence}.{key.path}"
    value = _lookup(result, key.evidence, key.path)
    if value is _MISSING:
        errors = [
            str(e.get("error"))
            for e in result.get("evidence", [])
            if e.get("tool") == key.evidence and not e.get("ok") and e.get("error")
        ]
        reason = f": {key.evidence} failed: {errors[0]}" if errors else ""
        return _failed(key, f"no successful {key.evidence} evidence with {key.path}{reason}")
    if isinstance(key, AbsentKey):
        return KeyResult(kind=key.kind, ok=value is None, expected=None, got=value, detail=where)
    if isinstance(key, NumberKey):
        ok = isinstance(value, int | float) and abs(float(value) - key.value) <= key.tol
        return KeyResult(kind=key.kind, ok=ok, expected=key.value, got=value, detail=where)
    if isinstance(key, BoxKey):
        return _check_box(key, value, where)
    if isinstance(key, DetectionKey | MaskKey):
        try:
            truth = instance_mask((data_root or Path()) / key.reference, key.array)
        except ReferenceError as exc:
            return _failed(key, str(exc))
        if isinstance(key, DetectionKey):
            return _check_detection(key, value, truth, where)
        return _check_mask(key, value, truth, where)
    if isinstance(key, ExactKey):
        ok = exact_match(value, key.value)
        return KeyResult(kind=key.kind, ok=ok, expected=key.value, got=value, detail=where,
                         task=key.task, truth=key.value if key.task else None,
                         pred=None if value is None else str(value))  # fmt: skip
    if isinstance(key, ThresholdLabelKey):
        pred = None
        if isinstance(value, int | float):
            pred = key.above if value >= key.threshold else key.below
        return _labelled(key, pred, value, where)
    assert isinstance(key, LabelKey)
    pred = _map_label(key, value) if value is not None else None
    probs = None
    if key.probabilities is not None:
        raw = _lookup(result, key.evidence, key.probabilities)
        if isinstance(raw, dict):
            probs = {}
            for label, p in raw.items():
                if isinstance(p, int | float):
                    mapped = _map_label(key, label)
                    probs[mapped] = probs.get(mapped, 0.0) + float(p)
    return _labelled(key, pred, value, where, probs)


def _map_label(key: LabelKey, value: Any) -> str:
    label = str(value)
    if label in key.aliases:
        return key.aliases[label]
    return key.otherwise if key.otherwise is not None else label


def _labelled(
    key: LabelKey | ThresholdLabelKey,
    pred: str | None,
    value: Any,
    where: str,
    probabilities: dict[str, float] | None = None,
) -> KeyResult:
    return KeyResult(
        kind=key.kind,
        ok=pred == key.value,
        expected=key.value,
        got=value if pred is None or pred == value else f"{pred} ({value})",
        detail=where,
        task=key.task,
        truth=key.value,
        pred=pred,
        probabilities=probabilities,
    )


def _check_box(key: BoxKey, value: Any, where: str) -> KeyResult:
    if not (isinstance(value, list | tuple) and len(value) == 4):
        return KeyResult(kind=key.kind, ok=False, expected=key.value, got=value, detail=where)
    iou = box_iou([float(v) for v in value], key.value)
    return KeyResult(
        kind=key.kind,
        ok=iou >= key.min_iou,
        expected=list(key.value),
        got=value,
        detail=f"{where}: IoU {iou:.3f} (at least {key.min_iou})",
    )


def _check_entities(key: EntitiesKey, result: dict[str, Any]) -> KeyResult:
    found: set[str] = set()
    for fact in result.get("facts", []):
        for field in ("subject", "entity"):
            if isinstance(fact.get(field), str):
                found.add(fact[field])
    wanted = set(key.ids)
    union = len(found) + len(wanted)
    dice = 2 * len(found & wanted) / union if union else 1.0
    return KeyResult(
        kind=key.kind,
        ok=dice >= key.min_dice,
        expected=sorted(wanted),
        got=sorted(found),
        detail=f"entity Dice {dice:.3f} (at least {key.min_dice})",
    )


def _points(items: Any, field: str, width: int) -> np.ndarray | None:
    """The ``field`` of every mapping in a list as an (N, width) array; None if malformed."""
    if not isinstance(items, list):
        return None
    rows = [i.get(field) if isinstance(i, dict) else None for i in items]
    if any(not (isinstance(r, list) and len(r) == width) for r in rows):
        return None
    return np.asarray(rows, dtype=np.float64).reshape(-1, width)


def _check_detection(key: DetectionKey, value: Any, truth: np.ndarray, where: str) -> KeyResult:
    if key.match == "centroid":
        pred = _points(value, "centroid", 2)
        if pred is not None:
            scores = detection_scores_from_points(pred, label_centroids(truth), key.max_distance)
    else:
        pred = _points(value, "box", 4)
        if pred is not None:
            scores = detection_scores_from_boxes(pred, instance_boxes(truth), key.min_iou)
    if pred is None:
        return _failed(key, f"{where}: not a list of objects with {key.match.split('_')[0]}")
    metrics = {
        "precision": scores.precision,
        "recall": scores.recall,
        "f1": scores.f1,
        "count_pred": float(scores.count_pred),
        "count_truth": float(scores.count_truth),
        "count_error": float(scores.count_error),
        "abs_relative_count_error": None
        if scores.relative_count_error is None
        else abs(scores.relative_count_error),
    }
    return KeyResult(
        kind=key.kind,
        ok=scores.f1 >= key.min_f1,
        expected=f"{key.reference}:{key.array}",
        got=f"{scores.count_pred} objects",
        detail=f"{where} vs {key.reference} ({scores.method}): precision {scores.precision:.3f}, "
        f"recall {scores.recall:.3f}, F1 {scores.f1:.3f} (at least {key.min_f1}), "
        f"count {scores.count_pred} vs {scores.count_truth}",
        task=key.task,
        metrics=metrics,
    )


def _check_mask(key: MaskKey, value: Any, truth: np.ndarray, where: str) -> KeyResult:
    if not isinstance(value, list) or any(
        not (isinstance(m, dict) and isinstance(m.get("polygon"), list)) for m in value
    ):
        return _failed(key, f"{where}: not a list of outlines with polygon")
    pred = rasterise_polygons([m["polygon"] for m in value], truth.shape)
    overlap = overlap_scores(pred, truth)
    inst = detection_scores_from_masks(pred, truth, key.min_iou)
    metrics = {
        "dice": overlap.dice,
        "iou": overlap.iou,
        "instance_precision": inst.precision,
        "instance_recall": inst.recall,
        "instance_f1": inst.f1,
        "count_pred": float(inst.count_pred),
        "count_truth": float(inst.count_truth),
    }
    return KeyResult(
        kind=key.kind,
        ok=overlap.dice >= key.min_dice,
        expected=f"{key.reference}:{key.array}",
        got=f"{len(value)} outlines",
        detail=f"{where} vs {key.reference}: Dice {overlap.dice:.3f} (at least {key.min_dice}), "
        f"IoU {overlap.iou:.3f}, instance F1 {inst.f1:.3f} at IoU>{key.min_iou:g}",
        task=key.task,
        metrics=metrics,
    )


def _check_facts(key: FactsKey, result: dict[str, Any]) -> KeyResult:
    found = {
        f["object"]
        for f in result.get("facts", [])
        if f.get("subject") == key.subject
        and f.get("predicate") == key.predicate
        and isinstance(f.get("object"), str)
    }
    scores = set_scores(found, key.objects)
    return KeyResult(
        kind=key.kind,
        ok=scores.dice >= key.min_dice,
        expected=sorted(key.objects),
        got=sorted(found),
        detail=f"{key.subject} {key.predicate}: Dice {scores.dice:.3f} (at least {key.min_dice})",
        task=key.task,
        metrics={"precision": scores.precision, "recall": scores.recall, "dice": scores.dice},
    )


def _check_choice(key: ChoiceKey, result: dict[str, Any]) -> KeyResult:
    if key.evidence is not None and key.path is not None:
        value = _lookup(result, key.evidence, key.path)
        where = f"{key.evidence}.{key.path}"
        got = None if value is _MISSING else value
        chosen = [o for o in key.options if _option_matches(got, o, key.tol)]
        pred = chosen[0] if len(chosen) == 1 else None
    else:
        where, got = "answer", result.get("answer", "")
        pred = option_from_text(got, key.options)
    return KeyResult(
        kind=key.kind,
        ok=pred == key.value,
        expected=key.value,
        got=got,
        detail=f"{where}: chose {pred!r} of {key.options}",
        task=key.task,
        truth=key.value,
        pred=pred,
    )


def _option_matches(value: Any, option: str, tol: float | None) -> bool:
    if tol is not None and isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return abs(float(option) - float(value)) <= tol
        except ValueError:
            return False
    return exact_match(value, option)


def _failed(key: AnswerKey, detail: str) -> KeyResult:
    task = getattr(key, "task", None)
    truth = getattr(key, "value", None) if task else None
    expected = getattr(key, "value", None)
    return KeyResult(
        kind=key.kind,
        ok=False,
        expected=list(expected) if isinstance(expected, tuple) else expected,
        got=None,
        detail=detail,
        task=task,
        truth=truth,
    )


def _lookup(result: dict[str, Any], tool: str, path: str) -> Any:
    """Return the value at ``path`` in the first successful ``tool`` evidence, or _MISSING."""
    for evidence in result.get("evidence", []):
        if evidence.get("tool") != tool or not evidence.get("ok"):
            continue
        value: Any = evidence.get("output", {})
        for part in path.split("."):
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.lstrip("-").isdigit() and value:
                index = int(part)
                if not -len(value) <= index < len(value):
                    return _MISSING
                value = value[index]
            else:
                return _MISSING
        return value
    return _MISSING
