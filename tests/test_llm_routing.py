"""``smartpath eval routing --planner llm``: the LLM planner's first call on the routing suite.

The working path runs against a real ``transformers serve`` hosting the tiny Qwen2 of
tests/fixtures/tiny_planner_lm.py, trained (in the fixture) on the exact conversations the
command sends for six requests of the suite's test half: each is first scored against a scripted
stand-in server that records the planner's requests, then the model is trained to give the
scripted reply to each recorded request, and the command runs again against the real server.
The replies cover a right call, a text answer to a request that needs a question back, a repair
round, a comparison and a recall from the case, a wrong function and a call refused twice.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.main import main
from core.http import ModelClient
from core.settings import Settings
from eval import routing_report
from eval.routing import Paraphrase, load_paraphrases
from tests.fixtures.model_server import find_free_port
from tests.fixtures.tiny_planner_lm import (
    TrainingExample,
    build_tool_calling_lm,
    serve_tool_calling_lm,
)


def _call(name: str, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The model's Hermes text, and the message `transformers serve` parses it into."""
    text = "<tool_call>\n" + json.dumps({"name": name, "arguments": arguments}) + "\n</tool_call>"
    function = {"name": name, "arguments": json.dumps(arguments)}
    call = {"id": "call_0", "type": "function", "function": function}
    return text, {"role": "assistant", "content": "", "tool_calls": [call]}


def _text(answer: str) -> tuple[str, dict[str, Any]]:
    return answer, {"role": "assistant", "content": answer}


REPLIES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    # request of the suite (in suite order) -> the model's replies, the repair round's second
    "slide dimensions?": [_call("slide_info", {})],  # slide_info: right
    "show me the whole slide": [],  # dev half: never asked
    "please do something with this": [_text("Which analysis, and where?")],  # clarify: right
    "find the tissue then zoom into the biggest piece": [  # tissue + zoom: one of them
        _call("zoom", {"target": "galaxy"}),
        _call("tissue", {}),
    ],
    "compare region 1 and region 2": [  # compare: right
        _call("answer_from_case", {"kind": "compare", "regions": [1, 2]})
    ],
    "what is HGSC?": [_call("answer_from_case", {"kind": "recall"})],  # knowledge: wrong
    "detect nuclei in tissue region 2": [  # detect: refused twice, no valid call
        _call("zoom", {"target": "galaxy"}),
        _call("teleport", {}),
    ],
    "count the nuclei in the largest tissue piece": [],  # past --limit 6: never asked
}


def _items() -> list[Paraphrase]:
    suite = {item.request: item for item in load_paraphrases()}
    return [suite[request] for request in REPLIES]


class Script:
    """A stand-in planner server: each request's scripted replies in order, the requests kept."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, int, dict[str, Any]]] = []
        self.seen: dict[str, int] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        asked = body["messages"][1]["content"].rsplit("Request: ", 1)[1]
        k = self.seen.get(asked, 0)
        self.seen[asked] = k + 1
        self.requests.append((asked, k, body))
        return httpx.Response(200, json={"choices": [{"message": REPLIES[asked][k][1]}]})

    def examples(self) -> list[TrainingExample]:
        return [
            TrainingExample(messages=body["messages"], tools=body["tools"], target=REPLIES[r][k][0])
            for r, k, body in self.requests
        ]


def _args(**kw: Any) -> argparse.Namespace:
    base = {"split": "test", "planner": ["llm"], "misses": True, "min_accuracy": None}
    return argparse.Namespace(**{**base, "batch": None, "limit": 6, **kw})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Script]]:
    script = Script()

    def factory(url: str) -> ModelClient:
        return ModelClient(url, transport=httpx.MockTransport(script), retries=0)

    home = tmp_path_factory.mktemp("dry-routing")
    settings = Settings(home=home, planner_url="http://planner.test/v1", planner_model="planner")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(routing_report, "load_paraphrases", lambda batch=None: _items())
        assert routing_report.run_routing(_args(), settings, factory) == 0
    model = build_tool_calling_lm(
        tmp_path_factory.mktemp("routing-lm") / "model", script.examples()
    )
    with serve_tool_calling_lm(model, tmp_path_factory.mktemp("routing-serve")) as server:
        yield server.base_url, server.model, script


@pytest.mark.slow
def test_the_first_calls_of_a_served_model_are_scored(
    served: tuple[str, str, Script],
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, model, script = served
    asked = [r for r, k, _ in script.requests if k == 0]
    assert asked == [r for r in REPLIES if REPLIES[r]]  # the dev item and the 7th never asked
    monkeypatch.setattr(routing_report, "load_paraphrases", lambda batch=None: _items())
    for key, value in {"HOME": home, "PLANNER_URL": url, "PLANNER_MODEL": model}.items():
        monkeypatch.setenv(f"SMARTPATH_{key}", str(value))
    code = main(["eval", "routing", "--planner", "llm", "--limit", "6", "--misses"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "First call only (no tool runs; not full-plan routing accuracy):" in out
    header = next(line for line in out.splitlines() if line.startswith("| planner |"))
    assert "single-capability requests: first call right" in header
    assert "multi-capability requests: first call among expected" in header
    row = next(line for line in out.splitlines() if line.startswith("| llm |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:6] == ["llm", "test", "6", "60.0% (3/5)", "100.0% (1/1)", "1"]
    for cap, tally in {
        "slide_info": "1/1",
        "clarify": "1/1",
        "compare": "1/1",
        "knowledge": "0/1",
        "detect": "0/1",
    }.items():
        assert f"| {cap} | {tally} |" in out
    made = "clarify 1, compare 1, no valid call 1, recall 1, slide_info 1, tissue 1"
    assert f"First calls made: {made}." in out
    assert "- 'what is HGSC?': want ['knowledge'], first call recall" in out
    assert (
        "- 'detect nuclei in tissue region 2': want ['detect'], first call no valid call "
        "(unknown function 'teleport'; the functions are:" in out
    )


def test_the_llm_planner_without_an_endpoint_is_one_line_and_exit_2(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SMARTPATH_HOME", str(home))
    monkeypatch.setenv("SMARTPATH_PLANNER_MODEL", "m")  # the URL is missing
    assert main(["eval", "routing", "--planner", "llm", "--limit", "3"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "error: eval routing --planner llm needs SMARTPATH_PLANNER_URL and "
        "SMARTPATH_PLANNER_MODEL (an OpenAI-compatible endpoint with tool calling)\n"
    )


def test_a_planner_server_that_is_down_is_exit_3_with_one_line(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{find_free_port()}/v1"
    env = {"HOME": home, "PLANNER_URL": url, "PLANNER_MODEL": "m", "EXPERT_RETRIES": 0}
    for key, value in env.items():
        monkeypatch.setenv(f"SMARTPATH_{key}", str(value))
    assert main(["eval", "routing", "--planner", "llm", "--limit", "2"]) == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = [x for x in captured.err.splitlines() if x.startswith("error:")]
    assert line.startswith(f"error: LLM planner server {url} unreachable")
