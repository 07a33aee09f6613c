"""ExpertPool: one client per expert server and a cached view of what each server lists."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelOutputError, ToolServerError
from core.http import ChatReply, ModelClient
from tools.cpu_experts import (
    CPU_IMPLEMENTATIONS,
    CPU_MODEL_LOADERS,
    cpu_problem,
    load_cpu_model,
)
from tools.experts import ExpertsConfig, ExpertSpec
from tools.local_backend import LocalVLM
from tools.pypi_models import weights_dir
from tools.router import Router

__all__ = ["CPU_IMPLEMENTATIONS", "ExpertPool", "local_problem"]


def local_problem(config: ExpertsConfig, expert: ExpertSpec) -> str | None:
    """Why a ``local`` expert cannot run (one line naming the setting), or None."""
    if not config.local_base or not Path(config.local_base).is_dir():
        where = f"{config.local_base} is not a folder" if config.local_base else "is not set"
        return f"expert {expert.name}: 'local_base' {where}; set it in the experts file"
    if expert.model and (not expert.adapter_path or not Path(expert.adapter_path).is_dir()):
        where = f"{expert.adapter_path} is not a folder" if expert.adapter_path else "is not set"
        return f"expert {expert.name}: 'adapter_path' {where}; set it in the experts file"
    return None


class ExpertPool:
    """Clients and availability for the configured experts; servers are asked lazily."""

    def __init__(
        self,
        config: ExpertsConfig,
        *,
        client_factory: Callable[[str], ModelClient],
        ttl_s: float = 30.0,
        models_dir: Path | None = None,
    ) -> None:
        self.config = config
        self.models_dir = models_dir
        self._factory = client_factory
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._clients: dict[str, ModelClient] = {}
        self._listed: dict[str, tuple[float, frozenset[str] | str]] = {}
        self._local: LocalVLM | None = None

    def client(self, server: str) -> ModelClient:
        """The client of a ``[servers]`` entry, created once."""
        with self._lock:
            if server not in self._clients:
                self._clients[server] = self._factory(self.config.servers[server])
            return self._clients[server]

    def listed(self, server: str) -> frozenset[str] | str:
        """Model ids the server lists (cached ``ttl_s`` seconds), or why it did not answer."""
        now = time.monotonic()
        with self._lock:
            cached = self._listed.get(server)
        if cached and now - cached[0] < self._ttl_s:
            return cached[1]
        try:
            models: frozenset[str] | str = frozenset(self.client(server).list_models())
        except (ToolServerError, ModelOutputError) as exc:
            models = str(exc)
        with self._lock:
            self._listed[server] = (now, models)
        return models

    def problem(self, expert: ExpertSpec) -> str | None:
        """Why the expert cannot be called now (one line), or None when it can."""
        if expert.backend == "cpu":
            return cpu_problem(expert, self.models_dir)
        if expert.backend == "local":
            return local_problem(self.config, expert)
        if expert.backend != "openai" or not expert.server:
            return f"expert {expert.name}: backend {expert.backend} needs a server"
        models = self.listed(expert.server)
        if isinstance(models, str):
            return models
        if expert.model not in models:
            return f"server {expert.server} does not list model {expert.model!r}"
        return None

    def available(self, expert: ExpertSpec) -> bool:
        """True when the expert can be called now."""
        return self.problem(expert) is None

    def ask(
        self,
        expert: ExpertSpec,
        prompt: str,
        images: Sequence[np.ndarray],
        *,
        max_tokens: int = 512,
    ) -> ChatReply:
        """Send one prompt with images to a served or local expert.

        Raises:
            ToolServerError: the expert's server or model is unavailable or failed.
        """
        if expert.backend == "local":
            problem = local_problem(self.config, expert)
            if problem:
                raise ToolServerError(problem)
            try:
                return self.local().chat(
                    expert.model,
                    prompt,
                    images,
                    max_tokens=max_tokens,
                    max_image_pixels=expert.image_max_pixels,
                )
            except (OSError, ValueError, RuntimeError) as exc:
                msg = f"local expert {expert.name} failed: {type(exc).__name__}: {exc}"
                raise ToolServerError(msg[:300]) from None
        if expert.backend != "openai" or not expert.server or not expert.model:
            msg = f"expert {expert.name} is not a model expert (backend {expert.backend})"
            raise ToolServerError(msg)
        return self.client(expert.server).chat(
            expert.model,
            prompt,
            images,
            max_tokens=max_tokens,
            max_image_pixels=expert.image_max_pixels,
        )

    def local(self) -> LocalVLM:
        """The in-process base model with every local expert's adapter (created once)."""
        with self._lock:
            if self._local is None:
                assert self.config.local_base is not None
                adapters = {
                    e.model: Path(e.adapter_path)
                    for e in self.config.experts
                    if e.backend == "local" and e.model and e.adapter_path
                }
                self._local = LocalVLM(Path(self.config.local_base), adapters)
            return self._local

    def cpu_model(self, expert: ExpertSpec) -> Any:
        """The in-process model of a CPU expert with PyPI weights (loaded once per process).

        Raises:
            ToolServerError: its weights or runtime are missing, or it cannot be loaded.
        """
        problem = cpu_problem(expert, self.models_dir)
        folder = weights_dir(expert, self.models_dir)
        if expert.implementation not in CPU_MODEL_LOADERS or problem or folder is None:
            raise ToolServerError(problem or f"expert {expert.name} loads no model")
        try:
            return load_cpu_model(expert.implementation, folder)
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            msg = f"expert {expert.name}: cannot load its model: {type(exc).__name__}: {exc}"
            raise ToolServerError(msg[:300]) from None

    def router(self) -> Router:
        """A router gated by this pool's availability, naming why an expert is down."""
        return Router(self.config, self.available, problem=self.problem)

    def close(self) -> None:
        """Close every client."""
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
