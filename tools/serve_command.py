"""The ``vllm serve`` command that hosts the configured base model and LoRA experts."""

from __future__ import annotations

import json
import shlex

from core.errors import ConfigError
from tools.experts import ExpertsConfig

__all__ = ["planner_command", "render", "vllm_command"]


def vllm_command(config: ExpertsConfig, *, host: str = "127.0.0.1", port: int = 8000) -> list[str]:
    """Argument list for ``vllm serve``: the base model plus one ``--lora-modules`` per expert.

    Raises:
        ConfigError: no base model, or an openai expert without an adapter folder.
    """
    if not config.base_model:
        msg = "the experts file sets no base_model; vLLM needs one to host LoRA experts"
        raise ConfigError(msg)
    served = [e for e in config.experts if e.backend == "openai"]
    adapters = [e for e in served if e.model != config.base_model]
    lacking = [e.name for e in adapters if not e.adapter_path]
    if lacking:
        msg = f"expert(s) {', '.join(lacking)} need 'adapter_path' (the LoRA folder) to be served"
        raise ConfigError(msg)
    cmd = ["vllm", "serve", config.base_model, "--host", host, "--port", str(port)]
    if adapters:
        cmd += ["--enable-lora", "--lora-modules"]
        cmd += [f"{e.model}={e.adapter_path}" for e in adapters]
        cmd += ["--max-loras", str(len(adapters)), "--max-lora-rank", str(config.max_lora_rank)]
    cmd += ["--limit-mm-per-prompt", json.dumps({"image": config.images_per_prompt})]
    return cmd


def render(cmd: list[str]) -> str:
    """The command as one shell line, quoted."""
    return " ".join(shlex.quote(part) for part in cmd)


def planner_command(model: str, *, host: str = "127.0.0.1", port: int = 8001) -> list[str]:
    """Argument list for ``vllm serve`` hosting the LLM planner with tool calling.

    vLLM parses Qwen-family Hermes ``<tool_call>`` output with ``--tool-call-parser hermes``;
    the planner asks for one call per message and never streams calls.
    """
    return [
        "vllm",
        "serve",
        model,
        "--host",
        host,
        "--port",
        str(port),
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        "hermes",
    ]
