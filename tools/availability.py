"""Which configured experts can answer now: reach each server once, check each CPU key."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from agent.errors import ToolServerError
from tools.client import ModelClient
from tools.cpu_experts import cpu_problem
from tools.expert_pool import local_problem
from tools.experts import ExpertsConfig, ExpertSpec
from tools.parsers import ModelOutputError

__all__ = ["ExpertStatus", "check_experts"]


class ExpertStatus(BaseModel):
    """Whether one expert is available, and why not."""

    name: str
    backend: str
    required: bool
    ok: bool
    detail: str


def check_experts(
    config: ExpertsConfig, client_for: Callable[[str], ModelClient]
) -> list[ExpertStatus]:
    """Status of every expert; each server's ``/models`` is asked once."""
    listed: dict[str, set[str] | str] = {}
    for name, url in config.servers.items():
        if not any(e.server == name for e in config.experts):
            continue
        client = client_for(url)
        try:
            listed[name] = set(client.list_models())
        except (ToolServerError, ModelOutputError) as exc:
            listed[name] = str(exc)
        finally:
            client.close()
    return [_status(config, e, listed) for e in config.experts]


def _status(
    config: ExpertsConfig, e: ExpertSpec, listed: dict[str, set[str] | str]
) -> ExpertStatus:
    def out(ok: bool, detail: str) -> ExpertStatus:
        return ExpertStatus(
            name=e.name, backend=e.backend, required=e.required, ok=ok, detail=detail
        )

    if e.backend == "cpu":
        problem = cpu_problem(e)
        return out(problem is None, problem or f"cpu implementation {e.implementation}")
    if e.backend == "local":
        problem = local_problem(config, e)
        return out(problem is None, problem or f"adapter {e.model or '(base model)'} on disk")
    models = listed.get(e.server or "")
    if isinstance(models, str):
        return out(False, models)
    if models is None or e.model not in models:
        return out(False, f"server {e.server} does not list model {e.model!r}")
    return out(True, f"server {e.server} lists {e.model}")
