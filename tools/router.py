"""Mixture of experts at the tool layer: gate experts by task, scale and availability; combine."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from agent.errors import ToolInputError, ToolServerError
from tools.experts import ExpertsConfig, ExpertSpec, Scale, Task

__all__ = [
    "Contribution",
    "Router",
    "ScoredBox",
    "combine_boxes",
    "combine_labels",
    "combine_masks",
]


class Contribution(BaseModel):
    """Which expert contributed to a combined result, and with what normalised weight."""

    expert: str
    backend: str
    weight: float = Field(ge=0, le=1)


@dataclass(frozen=True)
class ScoredBox:
    """A box in level-0 pixels ``(x0, y0, x1, y1)`` with a score and the expert that found it."""

    box: tuple[float, float, float, float]
    score: float
    label: str
    expert: str


class Router:
    """Pick the experts for a task by gating rules and availability."""

    def __init__(self, config: ExpertsConfig, available: Callable[[ExpertSpec], bool]) -> None:
        self._config = config
        self._available = available

    def select(
        self, task: Task, scale: Scale = "roi", *, prefer: str | None = None, limit: int = 0
    ) -> list[ExpertSpec]:
        """Available experts for (task, scale), heaviest first; ``prefer`` gates to one by name.

        Raises:
            ToolServerError: no expert is configured for the task, or a required one (or all)
                is unavailable.
            ToolInputError: ``prefer`` names none of the configured experts.
        """
        declared = self._config.for_task(task, scale)
        if not declared:
            msg = (
                f"no expert is configured for {task} at {scale} scale; declare one in the "
                "experts file (SMARTPATH_EXPERTS_FILE)"
            )
            raise ToolServerError(msg)
        if prefer is not None:
            declared = [e for e in declared if e.name == prefer]
            if not declared:
                names = ", ".join(e.name for e in self._config.for_task(task, scale))
                msg = f"no {task} expert named {prefer!r}; configured: {names}"
                raise ToolInputError(msg)
        up = [e for e in declared if self._available(e)]
        down = [e for e in declared if e not in up]
        required_down = [e.name for e in down if e.required]
        if required_down or not up:
            names = ", ".join(required_down or [e.name for e in down])
            msg = f"{task} expert(s) unavailable: {names}; run 'smartpath experts check'"
            raise ToolServerError(msg)
        chosen = sorted(up, key=lambda e: -e.weight)
        return chosen[:limit] if limit else chosen

    @staticmethod
    def contributions(experts: Sequence[ExpertSpec]) -> list[Contribution]:
        """Normalised weights of the experts that were combined."""
        total = sum(e.weight for e in experts) or 1.0
        return [
            Contribution(expert=e.name, backend=e.backend, weight=round(e.weight / total, 4))
            for e in experts
        ]


def combine_labels(
    outputs: Sequence[dict[str, float] | str], weights: Sequence[float]
) -> tuple[str, dict[str, float]]:
    """Weighted average of class probabilities; a bare label counts as probability 1 (a vote).

    Returns the winning label (ties broken alphabetically) and the combined probabilities.
    """
    if not outputs or len(outputs) != len(weights):
        msg = "combine_labels needs one weight per output and at least one output"
        raise ValueError(msg)
    total: dict[str, float] = {}
    for out, w in zip(outputs, weights, strict=True):
        probs = {out: 1.0} if isinstance(out, str) else out
        for label, p in probs.items():
            total[label] = total.get(label, 0.0) + w * p
    norm = sum(total.values()) or 1.0
    combined = {k: round(v / norm, 6) for k, v in sorted(total.items())}
    winner = max(sorted(combined), key=lambda k: combined[k])
    return winner, combined


def combine_boxes(
    boxes: Sequence[ScoredBox], weights: dict[str, float], iou: float = 0.5
) -> list[ScoredBox]:
    """Union of all experts' boxes, then greedy NMS on weight × score within each label."""
    ranked = sorted(boxes, key=lambda b: -weights.get(b.expert, 1.0) * b.score)
    kept: list[ScoredBox] = []
    for cand in ranked:
        if all(b.label != cand.label or _iou(b.box, cand.box) < iou for b in kept):
            kept.append(cand)
    return kept


def combine_masks(masks: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """Weighted majority vote of boolean masks: a pixel is kept with over half the weight."""
    if not masks or len(masks) != len(weights):
        msg = "combine_masks needs one weight per mask and at least one mask"
        raise ValueError(msg)
    votes = sum(w * m.astype(float) for m, w in zip(masks, weights, strict=True))
    return np.asarray(votes > 0.5 * sum(weights))


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
