"""The LLM planner's reading and refusing of calls, and its failures, with injected replies.

Replies are injected with httpx.MockTransport (fault injection: malformed calls, unknown tools,
invalid arguments, a server that is down); the working path against a real ``transformers
serve`` with a trained model is in tests/test_llm_planner.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.llm_planner import CallFormatError, ToolCall, parse_call, tool_functions
from app.runner import Copilot
from core.http import ModelClient
from core.settings import Settings
from tests.fixtures.model_server import find_free_port
from tools.registry import build_tools

URL = "http://planner.test/v1"


def _message(content: str = "", calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls is not None:
        message["tool_calls"] = calls
    return message


def _call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "c1",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


class Replies:
    """A planner server that answers with the given messages in order and keeps the requests."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = list(messages)
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        message = self.messages.pop(0) if self.messages else _message("done")
        return httpx.Response(200, json={"choices": [{"message": message}], "model": "m"})


@pytest.fixture
def planner_copilot(home: Path) -> Iterator[tuple[Copilot, Replies]]:
    replies = Replies([])

    def factory(url: str) -> ModelClient:
        return ModelClient(url, transport=httpx.MockTransport(replies), retries=0)

    settings = Settings(home=home, planner_url=URL, planner_model="m", max_tool_calls=3)
    copilot = Copilot(settings, client_factory=factory)
    yield copilot, replies
    copilot.close()


def test_structured_and_hermes_calls_are_read_alike() -> None:
    structured = parse_call(_message(calls=[_call("zoom", {"target": "slide"})]))
    hermes = parse_call(
        _message('<tool_call>\n{"name": "zoom", "arguments": {"target": "slide"}}\n</tool_call>')
    )
    assert structured == hermes == ToolCall("zoom", {"target": "slide"})
    assert parse_call(_message("The slide is 2220 px wide.")) == "The slide is 2220 px wide."


def test_an_unreadable_call_is_a_format_error() -> None:
    with pytest.raises(CallFormatError, match="not JSON"):
        parse_call(_message("<tool_call>{name: zoom}</tool_call>"))
    with pytest.raises(CallFormatError, match="names no function"):
        parse_call(_message(calls=[{"function": {"arguments": "{}"}}]))


def test_every_tool_is_offered_with_its_own_schema(home: Path) -> None:
    registry = build_tools(Settings(home=home))
    functions = {f["function"]["name"]: f["function"] for f in tool_functions(registry)}
    registry.close()
    assert set(functions) >= {"zoom", "detect", "segment", "recall_knowledge", "answer_from_case"}
    zoom = functions["zoom"]
    assert zoom["description"].startswith("Show a region of the open slide")
    assert set(zoom["parameters"]["properties"]) >= {"target", "pan", "factor", "part"}
    assert "title" not in zoom["parameters"]


def test_an_unknown_tool_is_refused_by_name_then_repaired(
    planner_copilot: tuple[Copilot, Replies], cmu_slide: Path
) -> None:
    copilot, replies = planner_copilot
    replies.messages = [
        _message(calls=[_call("teleport", {})]),
        _message(calls=[_call("slide_info", {})]),
        _message("The slide is 2220 x 2967 px."),
    ]
    result = copilot.ask(cmu_slide, "how big is it?", "unknown")
    assert [e["tool"] for e in result.evidence] == ["slide_info"]
    repair = replies.requests[1]["messages"][-1]["content"]
    assert "unknown function 'teleport'" in repair
    assert result.plan is not None
    assert result.plan["planner"] == "llm"
    assert result.verification["status"] == "verified"


def test_invalid_arguments_get_one_repair_round_quoting_the_error(
    planner_copilot: tuple[Copilot, Replies], cmu_slide: Path
) -> None:
    copilot, replies = planner_copilot
    replies.messages = [
        _message(calls=[_call("zoom", {"target": "galaxy"})]),
        _message(calls=[_call("zoom", {"target": "galaxy"})]),
    ]
    result = copilot.ask(cmu_slide, "show me something", "invalid")
    assert result.evidence == []
    repair = replies.requests[1]["messages"][-1]["content"]
    assert "invalid arguments for zoom: target" in repair
    assert result.plan is not None
    assert any("the planner's call was refused" in n for n in result.plan["notes"])
    # one repair round, no more; the chain without evidence is rejected and the verifier's
    # reasons come back to the planner as the next message
    assert len(replies.requests) == 3
    feedback = replies.requests[2]["messages"][-1]["content"]
    assert feedback.startswith("The verifier rejected the answer built from these results: ")
    assert "citations" in feedback


def test_the_budget_stops_the_loop_with_a_note(
    planner_copilot: tuple[Copilot, Replies], cmu_slide: Path
) -> None:
    copilot, replies = planner_copilot
    replies.messages = [_message(calls=[_call("slide_info", {})]) for _ in range(5)]
    result = copilot.ask(cmu_slide, "keep looking", "budget")
    assert [e["tool"] for e in result.evidence] == ["slide_info"] * 3
    assert result.plan is not None
    assert result.plan["calls"] == 3
    assert any("stopped after 3 tool calls" in n for n in result.plan["notes"])
    assert "stopped after 3 tool calls" in result.answer
    # each pass sends the earlier calls and their results back
    last = replies.requests[-1]["messages"]
    assert [m["role"] for m in last[-2:]] == ["assistant", "tool"]
    assert "E1.2" in last[-1]["content"]


def test_a_planner_server_that_is_down_is_exit_3_with_one_line(home: Path, cmu_slide: Path) -> None:
    url = f"http://127.0.0.1:{find_free_port()}/v1"
    settings = Settings(home=home, planner_url=url, planner_model="m", expert_retries=0)
    copilot = Copilot(settings)
    try:
        result = copilot.ask(cmu_slide, "count the nuclei", "down")
    finally:
        copilot.close()
    assert result.exit_code == 3
    assert result.error is not None
    assert result.error.startswith(f"LLM planner server {url} unreachable")
    assert "\n" not in result.error


def test_the_system_message_states_each_configured_experts_domain(tmp_path: Path) -> None:
    from agent.llm_planner import system_message

    registry = build_tools(Settings(home=tmp_path))
    try:
        text = system_message(registry.experts())
    finally:
        registry.close()
    # read from experts.toml's [experts.domain], not fixed words
    assert "capricorn-tissue (roi_classify): colorectal tissue; organs: colorectum" in text
    assert "Cannot: does not type nuclei" in text
    assert "no vqa expert" in text
    experts = tmp_path / "experts.toml"
    experts.write_text(
        '[servers]\nlocal = "http://127.0.0.1:9/v1"\n'
        '[[experts]]\nname = "vqa-skin"\ntask = "vqa"\nbackend = "openai"\nserver = "local"\n'
        'model = "skin-adapter"\n[experts.domain]\norgans = ["skin"]\ntissue = "skin biopsies"\n'
        '[[experts.domain.cannot]]\ntext = "does not grade melanoma"\n'
    )
    registry = build_tools(Settings(home=tmp_path, experts_file=experts))
    try:
        text = system_message(registry.experts())
    finally:
        registry.close()
    assert "- vqa-skin (vqa): skin biopsies; organs: skin. Cannot: does not grade melanoma" in text
    assert "no vqa expert" not in text
