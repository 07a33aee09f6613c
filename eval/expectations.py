"""Check one answered turn against its expectations: routing, answer keys, verification."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from eval.scorers import ChainScores, RoutingScore, box_iou, chain_scores, routing_score
from eval.suite import (
    AbsentKey,
    AnswerKey,
    BoxKey,
    EntitiesKey,
    Expect,
    LabelKey,
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


def score_turn(result: dict[str, Any], expect: Expect) -> TurnScores:
    """Score a ``TurnResult`` (as a dict) against ``expect``."""
    called = [e["tool"] for e in result.get("evidence", [])]
    verification = result.get("verification") or {}
    wanted = expect.verification
    verification_ok = None
    if wanted is not None:
        allowed = [wanted] if isinstance(wanted, str) else wanted
        verification_ok = verification.get("status") in allowed
    return TurnScores(
        routing=routing_score(called, expect.tools, expect.not_tools),
        keys=[_check(key, result) for key in expect.answer],
        verification_ok=verification_ok,
        chain=chain_scores(verification),
    )


def _check(key: AnswerKey, result: dict[str, Any]) -> KeyResult:
    if isinstance(key, TextKey):
        answer = result.get("answer", "")
        ok = key.contains.lower() in answer.lower()
        return KeyResult(kind=key.kind, ok=ok, expected=key.contains, got=answer, detail="answer")
    if isinstance(key, EntitiesKey):
        return _check_entities(key, result)
    where = f"{key.evidence}.{key.path}"
    value = _lookup(result, key.evidence, key.path)
    if value is _MISSING:
        return _failed(key, f"no successful {key.evidence} evidence with {key.path}")
    if isinstance(key, AbsentKey):
        return KeyResult(kind=key.kind, ok=value is None, expected=None, got=value, detail=where)
    if isinstance(key, NumberKey):
        ok = isinstance(value, int | float) and abs(float(value) - key.value) <= key.tol
        return KeyResult(kind=key.kind, ok=ok, expected=key.value, got=value, detail=where)
    if isinstance(key, BoxKey):
        return _check_box(key, value, where)
    if isinstance(key, ThresholdLabelKey):
        pred = None
        if isinstance(value, int | float):
            pred = key.above if value >= key.threshold else key.below
        return _labelled(key, pred, value, where)
    assert isinstance(key, LabelKey)
    pred = key.aliases.get(str(value), str(value)) if value is not None else None
    return _labelled(key, pred, value, where)


def _labelled(
    key: LabelKey | ThresholdLabelKey, pred: str | None, value: Any, where: str
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
