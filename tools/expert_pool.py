"""ExpertPool: one client per expert server and a cached view of what each server lists."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from agent.errors import ToolServerError
from tools.client import ModelClient
from tools.cpu_experts import CPU_IMPLEMENTATIONS, cpu_problem
from tools.experts import ExpertsConfig, ExpertSpec
from tools.parsers import ModelOutputError
from tools.router import Router

__all__ = ["CPU_IMPLEMENTATIONS", "ExpertPool"]


class ExpertPool:
    """Clients and availability for the configured experts; servers are asked lazily."""

    def __init__(
        self,
        config: ExpertsConfig,
        *,
        client_factory: Callable[[str], ModelClient],
        ttl_s: float = 30.0,
    ) -> None:
        self.config = config
        self._factory = client_factory
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._clients: dict[str, ModelClient] = {}
        self._listed: dict[str, tuple[float, frozenset[str] | None]] = {}

    def client(self, server: str) -> ModelClient:
        """The client of a ``[servers]`` entry, created once."""
        with self._lock:
            if server not in self._clients:
                self._clients[server] = self._factory(self.config.servers[server])
            return self._clients[server]

    def listed(self, server: str) -> frozenset[str] | None:
        """Model ids the server lists (cached ``ttl_s`` seconds); None when it does not answer."""
        now = time.monotonic()
        with self._lock:
            cached = self._listed.get(server)
        if cached and now - cached[0] < self._ttl_s:
            return cached[1]
        try:
            models: frozenset[str] | None = frozenset(self.client(server).list_models())
        except (ToolServerError, ModelOutputError):
            models = None
        with self._lock:
            self._listed[server] = (now, models)
        return models

    def available(self, expert: ExpertSpec) -> bool:
        """True when the expert can be called now."""
        if expert.backend == "cpu":
            return cpu_problem(expert) is None
        if expert.backend == "openai" and expert.server:
            models = self.listed(expert.server)
            return models is not None and expert.model in models
        return False

    def router(self) -> Router:
        """A router gated by this pool's availability."""
        return Router(self.config, self.available)

    def close(self) -> None:
        """Close every client."""
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
