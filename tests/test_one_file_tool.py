"""A tool is one file: a toy tool registered from a module written here is offered to, and
planned by, all three planners, runs through the graph like the built-in tools, narrates its own
output into the chain, and declares which of its numbers a chain may cite."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.chain_parser import claimable_leaves, claims_for, parse_steps, to_chain
from agent.llm_planner import tool_functions
from agent.state import Evidence, Plan
from agent.verifier import verify_chain
from app.runner import Copilot
from core.errors import ConfigError
from core.http import ModelClient
from core.settings import Settings
from tools.registry import build_tools

TOY = textwrap.dedent(
    '''
    """Focus check: the variance of the Laplacian of a region, a standard sharpness measure."""

    from __future__ import annotations

    import numpy as np
    from pydantic import BaseModel, Field
    from scipy import ndimage

    from core.narration import Outcome, Section, Writer
    from tools.base import Tool, ToolContext, ToolResult
    from tools.phrasing import where
    from tools.regions import RegionInput, read_analysis_region


    class FocusInput(RegionInput):
        """Where to measure; every coordinate in level-0 pixels."""


    class FocusOutput(BaseModel):
        """The sharpness of the region."""

        region_box: list[int] = Field(description="[x0, y0, x1, y1] in level-0 pixels")
        roi_number: int | None
        laplacian_variance: float


    class FocusTool(Tool):
        """Measure how sharp (in focus) a region of the slide is."""

        name = "focus_check"
        description = "Measure the focus (sharpness) of a region: variance of the Laplacian."
        examples = (
            "is this region in focus",
            "check the focus quality",
            "is the scan blurry here",
            "measure the sharpness of this area",
        )
        Input = FocusInput
        Output = FocusOutput
        claimable = {"laplacian_variance": "quantity", "roi_number": "index"}
        """What a chain may cite; the region's box is not a finding of this tool."""

        @classmethod
        def narrate(cls, out: Outcome) -> Section:
            o, e = out.output, out.evidence_id
            w = Writer().text("The variance of the Laplacian of ").extend(where(o, e))
            w.text(" is ").num(o["laplacian_variance"], e, "laplacian_variance", decimals=1)
            w.text(" (the higher, the sharper).")
            return Section([("measure", w)], Writer().extend(w))

        def run(self, inp: BaseModel, ctx: ToolContext) -> ToolResult:
            assert isinstance(inp, FocusInput)
            box, read = read_analysis_region(inp, ctx, [])
            grey = read.image[..., :3].mean(axis=2)
            value = float(np.var(ndimage.laplace(grey)))
            out = FocusOutput(
                region_box=box.as_list(), roi_number=inp.roi_number, laplacian_variance=value
            )
            return ToolResult(output=out, summary=f"variance of the Laplacian {value:.1f}")
    '''
)
SPEC = "toy_focus_tool:FocusTool"


@pytest.fixture
def toy_module(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "toy_focus_tool.py").write_text(TOY, encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    yield SPEC
    sys.path.remove(str(tmp_path))
    sys.modules.pop("toy_focus_tool", None)


def _ask(home: Path, slide: Path, request: str, **settings: Any) -> Any:
    copilot = Copilot(Settings(home=home, extra_tools=[SPEC], **settings))
    try:
        copilot.ask(slide, "zoom to the largest tissue region at 10x", "toy")
        return copilot.ask(slide, request, "toy")
    finally:
        copilot.close()


@pytest.mark.shared_data
def test_the_semantic_planner_plans_it_and_its_own_narration_is_verified(
    toy_module: str, home: Path, cmu_slide: Path
) -> None:
    result = _ask(home, cmu_slide, "is that area out of focus?")
    (ev,) = result.evidence
    assert ev["tool"] == "focus_check"
    assert ev["ok"], ev["error"]
    assert ev["output"]["roi_number"] == 1
    variance = ev["output"]["laplacian_variance"]
    assert variance > 0
    assert result.plan["planner"] == "semantic"
    assert result.verification["status"] == "verified", result.verification["reasons"]
    shown = f"The variance of the Laplacian of region #1 is {variance:.1f} (the higher,"
    assert result.chain[0]["text"].startswith(shown)
    claimed = [(c["path"], c["value"]) for c in result.chain[0]["claims"]]
    assert claimed == [("roi_number", 1.0), ("laplacian_variance", round(variance, 1))]
    assert result.answer.startswith(shown)
    _a_model_may_cite_only_its_claimable_numbers(Evidence.model_validate(ev))


def _a_model_may_cite_only_its_claimable_numbers(ev: Evidence) -> None:
    """Written by a model: the variance binds; the box's first coordinate does not."""
    x0 = ev.output["region_box"][0]
    variance = f"{ev.output['laplacian_variance']:.1f}"
    assert {p for p, _ in claimable_leaves(ev.output, ev.tool)} == {
        "roi_number",
        "laplacian_variance",
    }
    # with no declaration the box would be claimable, so the declaration is what refuses it
    assert "region_box.0" in {p for p, _ in claimable_leaves(ev.output)}
    for text, ok in (
        (f"The variance of the Laplacian of region #1 is {variance}.", True),
        (f"The analysed box starts at x {x0} in level-0 pixels.", False),
    ):
        parsed = parse_steps(f"measure: {text} [{ev.id}]\nconclude: Done. [{ev.id}]")
        chain = to_chain(parsed, [ev], [])
        report = verify_chain(chain, [ev], [], "Done.")
        assert report.step_status["S1"] is ok, (text, report.reasons)
    assert claims_for(f"x {x0}", [ev.id], {ev.id: ev}, {}) == []


@pytest.mark.shared_data
def test_the_rules_plan_it_from_an_example_word_for_word(
    toy_module: str, home: Path, cmu_slide: Path
) -> None:
    result = _ask(home, cmu_slide, "please check the focus quality", planner="rules")
    assert [e["tool"] for e in result.evidence] == ["focus_check"]
    assert result.evidence[0]["inputs"]["roi_number"] == 1


@pytest.mark.shared_data
def test_the_llm_planner_is_offered_its_schema_and_runs_its_call(
    toy_module: str, home: Path, cmu_slide: Path
) -> None:
    seen: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        call = {"name": "focus_check", "arguments": {"target": "box", "roi_number": 1}}
        if "Request: zoom" in body["messages"][1]["content"]:
            args = {"target": "tissue_region", "region_index": 1, "magnification": 10}
            call = {"name": "zoom", "arguments": args}
        done = any(m["role"] == "tool" for m in body["messages"])
        content = "It is sharp." if done else f"<tool_call>{json.dumps(call)}</tool_call>"
        message = {"role": "assistant", "content": content}
        return httpx.Response(200, json={"choices": [{"message": message}]})

    settings = Settings(
        home=home,
        extra_tools=[SPEC],
        planner_url="http://planner.test/v1",
        planner_model="m",
    )

    def factory(url: str) -> ModelClient:
        return ModelClient(url, transport=httpx.MockTransport(answer), retries=0)

    copilot = Copilot(settings, client_factory=factory)
    try:
        copilot.ask(cmu_slide, "zoom to the largest tissue region at 10x", "toy")
        result = copilot.ask(cmu_slide, "is region 1 sharp?", "toy")
    finally:
        copilot.close()
    offered = {t["function"]["name"]: t["function"] for t in seen[-1]["tools"]}
    params = offered["focus_check"]["parameters"]
    assert set(params["properties"]) >= {"target", "box", "roi_number"}
    assert result.evidence[-1]["tool"] == "focus_check"
    assert result.evidence[-1]["ok"]
    # the planner gave the region by number; its level-0 box was filled in from the case
    assert result.evidence[-1]["inputs"]["box"] == result.evidence[-1]["output"]["region_box"]
    assert Plan.model_validate(result.plan).answer_text == "It is sharp."


def test_the_registry_builds_it_and_lists_it_for_the_llm(toy_module: str, home: Path) -> None:
    registry = build_tools(Settings(home=home, extra_tools=[SPEC]))
    try:
        assert "focus_check" in registry.names()
        names = [f["function"]["name"] for f in tool_functions(registry)]
        assert "focus_check" in names
    finally:
        registry.close()


def test_a_bad_extra_tool_is_one_config_error(home: Path) -> None:
    with pytest.raises(ConfigError, match="cannot import no_such_module"):
        build_tools(Settings(home=home, extra_tools=["no_such_module:Tool"]))
    with pytest.raises(ConfigError, match="not a tool class"):
        build_tools(Settings(home=home, extra_tools=["json:JSONDecoder"]))
