"""``SMARTPATH_PLANNER_TOOLS_IN_PROMPT``: the LLM planner's functions in its system message.

Some chat templates (SmolLM2's, many llama.cpp and Ollama ones) do not render a request's
``tools``, so the model never sees the functions. With the setting on, the system message also
carries them in the Hermes/Qwen convention (``<tools>`` with the signatures as JSON, the
``<tool_call>`` format), and the ``tools`` field is still sent. The message is checked with
injected replies, and against a real ``transformers serve`` hosting SmolLM2-135M-Instruct
(tests/fixtures/smollm2.py): the prompt it reports grows by exactly the functions' tokens.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.llm_planner import make_llm_planner, system_message, tool_functions
from app.runner import Copilot
from core.http import ModelClient
from core.settings import Settings
from tests.fixtures.model_server import ModelServer
from tools.registry import build_tools

URL = "http://planner.test/v1"


def _tools_block(text: str) -> list[dict[str, Any]]:
    """The JSON between the lines ``<tools>`` and ``</tools>`` (there must be one such block)."""
    (block,) = re.findall(r"^<tools>\n(.*?)\n</tools>$", text, re.MULTILINE | re.DOTALL)
    return json.loads(block)


def test_the_functions_are_written_into_the_system_message_when_asked(home: Path) -> None:
    registry = build_tools(Settings(home=home))
    try:
        functions = tool_functions(registry)
        names = [*registry.names(), "recall_knowledge", "answer_from_case"]
        on = system_message(registry.experts(), functions)
        off = system_message(registry.experts())
    finally:
        registry.close()
    signatures = _tools_block(on)
    assert [s["name"] for s in signatures] == names
    assert signatures == [
        {k: f["function"][k] for k in ("name", "description", "parameters")} for f in functions
    ]
    assert on.startswith(off + "\n")  # the instructions and the experts' lines come first
    assert '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n' in on
    assert "one call per message" in on
    for marker in ("<tools>", "</tools>", "<tool_call>"):
        assert marker not in off


class Replies:
    """A planner server that answers with the given messages in order and keeps the requests."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = list(messages)
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(json.loads(request.content))
        message = self.messages.pop(0)
        return httpx.Response(200, json={"choices": [{"message": message}], "model": "m"})


@pytest.mark.shared_data
@pytest.mark.parametrize("in_prompt", [True, False])
def test_the_setting_puts_the_functions_in_every_planning_request(
    home: Path, cmu_slide: Path, monkeypatch: pytest.MonkeyPatch, in_prompt: bool
) -> None:
    monkeypatch.setenv("SMARTPATH_PLANNER_TOOLS_IN_PROMPT", "1" if in_prompt else "0")
    call = {"id": "c1", "type": "function", "function": {"name": "slide_info", "arguments": "{}"}}
    replies = Replies(
        [
            {"role": "assistant", "content": "", "tool_calls": [call]},
            {"role": "assistant", "content": "It is measured."},
        ]
    )

    def factory(url: str) -> ModelClient:
        return ModelClient(url, transport=httpx.MockTransport(replies), retries=0)

    settings = Settings(home=home, planner_url=URL, planner_model="m")
    assert settings.planner_tools_in_prompt is in_prompt
    copilot = Copilot(settings, client_factory=factory)
    try:
        result = copilot.ask(cmu_slide, "how big is this slide?", "in-prompt")
    finally:
        copilot.close()
    assert [e["tool"] for e in result.evidence] == ["slide_info"]
    assert result.plan is not None
    assert result.plan["planner_reason"] == f"a planner endpoint is configured (m at {URL})"
    assert len(replies.requests) == 2
    first, second = (r["messages"][0] for r in replies.requests)
    assert first["role"] == "system"
    assert first == second  # the same system message on every pass (prefix cache)
    for body in replies.requests:  # the functions are in the tools field either way
        assert {f["function"]["name"] for f in body["tools"]} >= {"slide_info", "zoom"}
    if in_prompt:
        offered = [s["name"] for s in _tools_block(first["content"])]
        assert offered == [f["function"]["name"] for f in replies.requests[0]["tools"]]
    else:
        assert "<tools>" not in first["content"]


class Recorder(httpx.BaseTransport):
    """Forwards to the real server and keeps each response's JSON body."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.bodies: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.bodies.append(json.loads(response.content))
        return response

    def close(self) -> None:
        self.inner.close()


@pytest.mark.slow
def test_a_template_that_drops_tools_gets_them_in_the_system_message(
    smollm2_server: ModelServer, smollm2_dir: Path, home: Path
) -> None:
    from transformers import AutoTokenizer

    state: dict[str, Any] = {
        "request": "slide dimensions?",
        "slide": {"name": "CMU-1-Small-Region.svs", "width": 2220, "height": 2967},
        "rois": [],
        "evidence": [],
        "archive": [],
        "turn": 1,
    }
    registry = build_tools(Settings(home=home))
    prompt_tokens: dict[bool, int] = {}
    try:
        for on in (False, True):
            recorder = Recorder()
            client = ModelClient(
                smollm2_server.base_url, transport=recorder, retries=0, timeout_s=180
            )
            node = make_llm_planner(
                registry,
                client,
                smollm2_server.model,
                budget=6,
                reason="test",
                max_tokens=1,  # only the prompt is measured
                tools_in_prompt=on,
            )
            try:
                node(state)
            finally:
                client.close()
            prompt_tokens[on] = recorder.bodies[0]["usage"]["prompt_tokens"]
        functions = tool_functions(registry)
        added = system_message(registry.experts(), functions)
        added = added.removeprefix(system_message(registry.experts()))
    finally:
        registry.close()
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    expected = len(tokenizer(added, add_special_tokens=False)["input_ids"])
    assert expected > 2500  # 12 KB of signatures
    # SmolLM2's template ignores the tools field: only the system message brings them
    assert abs(prompt_tokens[True] - prompt_tokens[False] - expected) <= 2
