"""Each built-in tool narrates its own output and declares the numbers a chain may cite.

On real runs on the sample slide, every number the deterministic chain claims sits at a path the
tool declares claimable, and the verifier verifies the chain; a field the tool does not declare
(a nucleus's area, a polygon's vertex) is never claimable.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from agent.chain_parser import claimable_leaves, field_kind
from agent.reasoner import section_of
from agent.state import Evidence
from app.runner import Copilot
from core.claimable import pattern_matches
from core.http import ModelClient
from core.narration import Outcome
from core.settings import Settings
from tests.test_classify import replay
from tools.base import Tool
from tools.registry import TOOL_CLASSES, tool_class

pytestmark = pytest.mark.shared_data

EXPERTS = """
[servers]
gpu = "http://gpu.test/v1"

[[experts]]
name = "cpu-nuclei-watershed"
task = "detect"
scale = "roi"
backend = "cpu"
implementation = "nuclei_watershed"

[[experts]]
name = "cpu-segment-classical"
task = "segment"
scale = "roi"
backend = "cpu"
implementation = "classical_segmentation"

[[experts]]
name = "roi-a"
task = "roi_classify"
backend = "openai"
server = "gpu"
model = "roi-a-lora"
parser = "label"
labels = ["tumor", "stroma", "lymphocytes"]

[[experts]]
name = "roi-b"
task = "roi_classify"
backend = "openai"
server = "gpu"
model = "roi-b-lora"
parser = "label"
labels = ["tumor", "stroma", "lymphocytes"]
"""
TURNS = {
    "What is the size, magnification and resolution?": "slide_info",
    "What is the tissue fraction?": "tissue",
    "Zoom to the largest tissue region at 20x": "zoom",
    "count the nuclei here": "detect",
    "segment the nuclei here": "segment",
    "classify this region": "classify",
}


def _number_paths(ev: Evidence) -> list[str]:
    section = section_of(ev)
    writers = [w for _, w in section.steps] + [section.answer]
    return [c.path for w in writers for c in w.claims if c.kind == "number"]


def _undeclared(cls: type[Tool], paths: list[str]) -> list[str]:
    declared = cls.claimable or {}
    return [p for p in paths if not any(pattern_matches(pat, p) for pat in declared)]


def test_every_claimed_number_of_a_real_turn_is_declared_and_verified(
    home: Path, cmu_slide: Path
) -> None:
    experts = home / "experts.toml"
    home.mkdir(parents=True, exist_ok=True)
    experts.write_text(EXPERTS, encoding="utf-8")
    transport = httpx.MockTransport(replay)
    copilot = Copilot(
        Settings(home=home, experts_file=experts, expert_retries=0),
        lambda url: ModelClient(url, transport=transport),
    )
    seen: dict[str, Evidence] = {}
    try:
        for request, tool in TURNS.items():
            r = copilot.ask(cmu_slide, request, "narrate")
            assert [e["tool"] for e in r.evidence] == [tool], request
            assert r.verification["status"] == "verified", (request, r.verification["reasons"])
            ev = Evidence.model_validate(r.evidence[0])
            assert ev.ok, ev.error
            seen[tool] = ev
            # the chain shown is the tool's own narration, step for step
            texts = [w.render() for _, w in section_of(ev).steps]
            assert [s["text"] for s in r.chain[: len(texts)]] == texts
    finally:
        copilot.close()
    for tool, ev in seen.items():
        cls = tool_class(tool)
        assert cls is TOOL_CLASSES[tool]
        paths = _number_paths(ev)
        assert paths, tool
        assert _undeclared(cls, paths) == [], tool
    # what a chain may cite of a detection: its summary numbers, never one nucleus's
    detect = seen["detect"]
    assert detect.output["count"] > 10
    leaves = {path for path, _ in claimable_leaves(detect.output, "detect")}
    assert {"count", "mean_area_um2", "density_per_mm2", "region_box.0", "roi_number"} <= leaves
    assert not [p for p in leaves if p.startswith("objects")]
    assert not [p for p in claimable_leaves(seen["segment"].output, "segment") if "masks" in p[0]]
    probabilities = {p for p, _ in claimable_leaves(seen["classify"].output, "classify")}
    assert {"probabilities.stroma", "probabilities.tumor"} <= probabilities
    levels = {p for p, _ in claimable_leaves(seen["slide_info"].output, "slide_info")}
    assert "levels.0.width" in levels
    assert field_kind("tissue_fraction", "tissue") == "unit:%"
    assert field_kind("density_per_mm2", "detect") == "density"


@pytest.mark.slow
def test_the_slide_classifier_claims_only_declared_numbers(
    home: Path, cmu_slide: Path, tiny_mil: tuple[Path, Path]
) -> None:
    from tests.test_wsi_classify import experts_file

    copilot = Copilot(Settings(home=home, experts_file=experts_file(home, *tiny_mil)))
    try:
        r = copilot.ask(cmu_slide, "classify this slide", "w")
    finally:
        copilot.close()
    assert r.verification["status"] == "verified", r.verification["reasons"]
    ev = Evidence.model_validate(r.evidence[0])
    paths = _number_paths(ev)
    assert "tiles_used" in paths
    assert "top_tiles.0.box.0" in paths
    assert _undeclared(TOOL_CLASSES["wsi_classify"], paths) == []
    leaves = {p for p, _ in claimable_leaves(ev.output, "wsi_classify")}
    assert "top_tiles.1.attention" not in leaves  # only the most attended tile
    assert "top_tiles.0.attention" in leaves


def test_a_tool_without_a_narration_quotes_its_summary() -> None:
    out = Outcome(evidence_id="E1.1", tool="toy", output={"x": 3}, summary="three things")
    section = Tool.narrate(out)
    assert section.answer.render() == "toy: three things"
    assert [c.kind for c in section.answer.claims] == ["quote"]


def test_a_bad_claimable_declaration_fails_when_the_class_is_defined() -> None:
    from pydantic import BaseModel

    with pytest.raises(TypeError, match="kind 'furlongs'"):

        class Bad(Tool):  # noqa: F841
            name = "bad"
            description = "A tool with a unit nobody can check."
            Input = BaseModel
            Output = BaseModel
            claimable = {"length": "furlongs"}  # type: ignore[dict-item]

            def run(self, inp, ctx):  # type: ignore[no-untyped-def]
                raise NotImplementedError
