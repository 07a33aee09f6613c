"""Mixture of experts at the tool layer: gate experts by task, scale and availability; combine."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field

from core.errors import ToolInputError, ToolServerError
from tools.experts import ExpertsConfig, ExpertSpec, Scale, Task

__all__ = [
    "Contribution",
    "Router",
    "ScoredBox",
    "combine_boxes",
    "combine_labels",
]


_UNAVAILABLE = "unavailable"


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

    def __init__(
        self,
        config: ExpertsConfig,
        available: Callable[[ExpertSpec], bool],
        *,
        problem: Callable[[ExpertSpec], str | None] | None = None,
    ) -> None:
        self._config = config
        self._available = available
        self._problem = problem

    def select(
        self,
        task: Task,
        scale: Scale = "roi",
        *,
        prefer: str | None = None,
        limit: int = 0,
        accept: Callable[[ExpertSpec], bool] | None = None,
        purpose: str | None = None,
    ) -> list[ExpertSpec]:
        """Available experts for (task, scale), heaviest first; ``prefer`` gates to one by name.

        ``accept`` keeps only the experts that can do ``purpose`` (e.g. segment epithelium).

        Raises:
            ToolServerError: no expert is configured for the task, or a required one (or all)
                is unavailable (with the reason of each when the router knows it).
            ToolInputError: ``prefer`` names none of the configured experts.
        """
        declared = self._config.for_task(task, scale)
        if accept is not None:
            declared = [e for e in declared if accept(e)]
        if not declared:
            what = f"{task} ({purpose})" if purpose else task
            msg = (
                f"no expert is configured for {what} at {scale} scale; declare one in the "
                "experts file (SMARTPATH_EXPERTS_FILE)"
            )
            raise ToolServerError(msg)
        if prefer is not None:
            declared = [e for e in declared if e.name == prefer]
            if not declared:
                names = ", ".join(e.name for e in self._config.for_task(task, scale))
                msg = f"no {task} expert named {prefer!r}; configured: {names}"
                raise ToolInputError(msg)
        why = {e.name: self._why(e) for e in declared}
        up = [e for e in declared if why[e.name] is None]
        down = [e for e in declared if e not in up]
        required_down = [e for e in down if e.required]
        if required_down or not up:
            named = required_down or down
            msg = (
                f"{task} expert(s) unavailable: {', '.join(e.name for e in named)}; "
                "run 'smartpath experts check'"
            )
            reasons = [r for r in (why[e.name] for e in named) if r and r != _UNAVAILABLE]
            if reasons:
                msg += f" ({'; '.join(reasons)})"
            raise ToolServerError(msg)
        chosen = sorted(up, key=lambda e: -e.weight)
        return chosen[:limit] if limit else chosen

    def _why(self, expert: ExpertSpec) -> str | None:
        """Why the expert is unavailable (one line), or None when it is available."""
        if self._problem is not None:
            return self._problem(expert)
        return None if self._available(expert) else _UNAVAILABLE

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


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
