"""Pick the graph's reasoner from the settings: deterministic, or an LLM over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.llm_reasoner import make_llm_reasoner
from agent.reasoner import reason
from agent.state import CaseState
from core.errors import ConfigError
from core.http import ModelClient
from core.settings import Settings

__all__ = ["ReasonerChoice", "choose_reasoner"]


@dataclass(frozen=True)
class ReasonerChoice:
    """The ``reason`` node, whether failed chains go back to it, and the client to close."""

    node: Callable[[CaseState], dict[str, Any]]
    rewrite_on_failure: bool
    client: ModelClient | None = None

    def close(self) -> None:
        """Close the LLM client, if any."""
        if self.client is not None:
            self.client.close()


def choose_reasoner(
    settings: Settings, client_factory: Callable[[str], ModelClient] | None = None
) -> ReasonerChoice:
    """The reasoner ``settings.reasoner`` names; an LLM one may rewrite a failed chain.

    Raises:
        ConfigError: the LLM reasoner is chosen without its URL or model.
    """
    if settings.reasoner == "deterministic":
        return ReasonerChoice(node=reason, rewrite_on_failure=False)
    url, model = settings.reasoner_url, settings.reasoner_model
    if not url or not model:
        missing = [
            name
            for name, value in (
                ("SMARTPATH_REASONER_URL", url),
                ("SMARTPATH_REASONER_MODEL", model),
            )
            if not value
        ]
        msg = f"the LLM reasoner needs {' and '.join(missing)} (SMARTPATH_REASONER=llm)"
        raise ConfigError(msg)
    factory = client_factory or (
        lambda url: ModelClient(
            url,
            timeout_s=settings.expert_timeout_s,
            retries=settings.expert_retries,
            role="LLM reasoner server",
        )
    )
    client = factory(url)
    node = make_llm_reasoner(client, model, max_tokens=settings.reasoner_max_tokens)
    return ReasonerChoice(node=node, rewrite_on_failure=True, client=client)
