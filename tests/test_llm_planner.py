"""The LLM planner against a real ``transformers serve`` hosting a model trained to plan.

A tiny Qwen2 (tests/fixtures/tiny_planner_lm.py) is trained in the fixture on the exact
conversations the planner sends: each scenario is first run against a scripted stand-in server
that records the planner's requests, then the model is trained to give the scripted reply to
each recorded request, and the same turns are run again against the real server. So the working
path runs for real: request → valid call → tool → answer; an invalid call → repair round →
success; an unknown function → refused by name; the budget → a stop with a note; a verifier
rejection → a re-plan whose call differs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.runner import Copilot, TurnResult
from core.http import ModelClient
from core.settings import Settings
from tests.fixtures.tiny_planner_lm import (
    TrainingExample,
    build_tool_calling_lm,
    serve_tool_calling_lm,
)

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


def _call(name: str, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    text = "<tool_call>\n" + json.dumps({"name": name, "arguments": arguments}) + "\n</tool_call>"
    message = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_0",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
        ],
    }
    return text, message


def _text(answer: str) -> tuple[str, dict[str, Any]]:
    return answer, {"role": "assistant", "content": answer}


SCENARIOS: dict[str, tuple[str, int, list[tuple[str, dict[str, Any]]]]] = {
    # name: (request, SMARTPATH_MAX_TOOL_CALLS, the replies in order)
    "working": ("how big is this slide?", 6, [_call("slide_info", {}), _text("It is measured.")]),
    "repair": (
        "show me the whole thing",
        6,
        [
            _call("zoom", {"target": "galaxy"}),
            _call("zoom", {"target": "slide", "magnification": 1.25}),
            _text("Shown."),
        ],
    ),
    "unknown": ("beam me up", 6, [_call("teleport", {}), _text("I cannot do that.")]),
    "budget": ("keep measuring", 1, [_call("slide_info", {})]),
    "replan": ("is it all right?", 6, [_text("Looks fine."), _call("tissue", {}), _text("Done.")]),
}


class Script:
    """A stand-in planner server: the scripted replies in order, the requests recorded."""

    def __init__(self, replies: list[tuple[str, dict[str, Any]]]) -> None:
        self.replies = replies
        self.requests: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(json.loads(request.content))
        k = min(len(self.requests), len(self.replies)) - 1
        return httpx.Response(200, json={"choices": [{"message": self.replies[k][1]}]})

    def examples(self) -> list[TrainingExample]:
        out = []
        for k, body in enumerate(self.requests):
            target = self.replies[min(k, len(self.replies) - 1)][0]
            out.append(
                TrainingExample(messages=body["messages"], tools=body["tools"], target=target)
            )
        return out


def _settings(home: Path, url: str, budget: int, model: str = "planner") -> Settings:
    return Settings(home=home, planner_url=url, planner_model=model, max_tool_calls=budget)


def _ask(settings: Settings, slide: Path, request: str, factory: Any = None) -> TurnResult:
    copilot = Copilot(settings, client_factory=factory)
    try:
        return copilot.ask(slide, request, "llm-planner")
    finally:
        copilot.close()


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str, dict[str, Script]]]:
    slide = (
        Path(__file__).resolve().parents[2] / "shared" / "data" / "wsi" / "CMU-1-Small-Region.svs"
    )
    if not slide.is_file():
        pytest.skip(f"real slide {slide} is absent")
    scripts: dict[str, Script] = {}
    for name, (request, budget, replies) in SCENARIOS.items():
        script = Script(replies)

        def factory(url: str, script: Script = script) -> ModelClient:
            return ModelClient(url, transport=httpx.MockTransport(script), retries=0)

        home = tmp_path_factory.mktemp(f"dry-{name}")
        _ask(_settings(home, "http://planner.test/v1", budget), slide, request, factory)
        scripts[name] = script
    examples = [e for s in scripts.values() for e in s.examples()]
    model = build_tool_calling_lm(tmp_path_factory.mktemp("planner-lm") / "model", examples)
    with serve_tool_calling_lm(model, tmp_path_factory.mktemp("planner-serve")) as server:
        yield f"{server.base_url} {server.model}", str(slide), scripts


def _run(served: tuple[str, str, dict[str, Script]], name: str, home: Path) -> TurnResult:
    where, slide, _ = served
    url, model = where.split(" ")
    request, budget, _ = SCENARIOS[name]
    return _ask(_settings(home, url, budget, model), Path(slide), request)


def test_a_request_becomes_a_valid_call_a_tool_run_and_an_answer(
    served: tuple[str, str, dict[str, Script]], home: Path
) -> None:
    result = _run(served, "working", home)
    assert [(e["tool"], e["ok"]) for e in result.evidence] == [("slide_info", True)]
    assert result.plan is not None
    assert result.plan["planner"] == "llm"
    assert result.plan["answer_text"] == "It is measured."
    assert result.plan["trace"][0]["name"] == "slide_info"
    assert result.verification["status"] == "verified"
    assert result.answer.startswith("The slide “CMU-1-Small-Region.svs”: 2220 × 2967 pixels")


def test_an_invalid_call_is_repaired_once_and_then_runs(
    served: tuple[str, str, dict[str, Script]], home: Path
) -> None:
    result = _run(served, "repair", home)
    assert result.plan is not None
    (refusal,) = result.plan["refused"]
    assert refusal.startswith("invalid arguments for zoom: target")
    (ev,) = result.evidence
    assert ev["tool"] == "zoom"
    assert ev["ok"]
    assert ev["inputs"] == {"target": "slide", "magnification": 1.25}
    assert ev["output"]["magnification"] == pytest.approx(1.25, rel=0.01)


def test_an_unknown_function_is_refused_by_name(
    served: tuple[str, str, dict[str, Script]], home: Path
) -> None:
    result = _run(served, "unknown", home)
    assert result.evidence == []
    assert result.plan is not None
    assert result.plan["refused"][0].startswith("unknown function 'teleport'; the functions are:")


def test_the_budget_stops_the_loop_with_a_note(
    served: tuple[str, str, dict[str, Script]], home: Path
) -> None:
    result = _run(served, "budget", home)
    assert [e["tool"] for e in result.evidence] == ["slide_info"]
    assert result.plan is not None
    assert "stopped after 1 tool calls (SMARTPATH_MAX_TOOL_CALLS=1)" in result.plan["notes"]


def test_a_rejected_chain_is_planned_again_with_the_verifiers_reasons(
    served: tuple[str, str, dict[str, Script]], home: Path
) -> None:
    result = _run(served, "replan", home)
    _, _, scripts = served
    second = scripts["replan"].requests[1]["messages"][-1]["content"]
    assert second.startswith("The verifier rejected the answer built from these results: ")
    assert [(e["tool"], e["ok"]) for e in result.evidence] == [("tissue", True)]
    assert result.plan is not None
    assert [t["name"] for t in result.plan["trace"]] == ["tissue"]
    assert result.verification["status"] == "verified"
