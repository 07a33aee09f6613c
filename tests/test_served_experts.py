"""Served experts end to end against a real `transformers serve` process.

The server hosts the tiny Qwen2.5-VL with each trained adapter merged in
(tests/fixtures/tiny_lora.py): ``roi-a`` answers the classification prompt with "tumor",
``roi-b`` with "stroma", ``nuclei`` and ``nuclei-b`` the grounding prompt with one box each
(two boxes that do not overlap).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.runner import Copilot
from core.http import ModelClient
from core.settings import Settings
from tests.fixtures.model_server import ModelServer
from tests.fixtures.tiny_lora import (
    CLASSIFY_PROMPT,
    EXPERT_REPO_IDS,
    ROI_LABELS,
    nuclei_level0_box,
)
from tests.fixtures.tiny_vlm import MAX_PIXELS, MIN_PIXELS
from tests.test_cli import run

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


def classifier(name: str, model: str, weight: float = 1.0) -> str:
    return f"""
[[experts]]
name = "{name}"
task = "roi_classify"
backend = "openai"
server = "local"
model = "{model}"
parser = "label"
labels = {json.dumps(list(ROI_LABELS))}
weight = {weight}
required = true
"""


def detector(name: str, model: str, weight: float = 1.0) -> str:
    return f"""
[[experts]]
name = "{name}"
task = "detect"
backend = "openai"
server = "local"
model = "{model}"
parser = "grounding_json"
labels = ["nucleus"]
image_max_pixels = 100000000
min_pixels = {MIN_PIXELS}
max_pixels = {MAX_PIXELS}
weight = {weight}
required = true
"""


def experts_file(home: Path, server: ModelServer, *experts: str) -> Path:
    path = home / "experts.toml"
    path.write_text(f'[servers]\nlocal = "{server.base_url}"\n' + "".join(experts))
    return path


def test_client_sends_a_real_image_request(tiny_expert_server: ModelServer) -> None:
    client = ModelClient(tiny_expert_server.base_url, timeout_s=120)
    try:
        assert set(EXPERT_REPO_IDS.values()) <= set(client.list_models())
        image = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
        reply = client.chat(
            EXPERT_REPO_IDS["roi-a"],
            CLASSIFY_PROMPT,
            [image],
            max_image_pixels=200 * 200,
            max_tokens=12,
        )
    finally:
        client.close()
    assert reply.text == "tumor"
    assert reply.finish_reason == "stop"
    assert reply.completion_tokens is not None
    assert 0 < reply.completion_tokens <= 12
    assert reply.image_sizes[0][0] * reply.image_sizes[0][1] <= 200 * 200


def test_agent_combines_two_served_classifiers(
    home: Path, cmu_slide: Path, tiny_expert_server: ModelServer
) -> None:
    path = experts_file(
        home,
        tiny_expert_server,
        classifier("roi-a", EXPERT_REPO_IDS["roi-a"], weight=3.0),
        classifier("roi-b", EXPERT_REPO_IDS["roi-b"], weight=1.0),
    )
    copilot = Copilot(Settings(home=home, experts_file=path, expert_timeout_s=120))
    try:
        r = copilot.ask(cmu_slide, "classify the largest tissue region", "real")
        after = copilot.ask(cmu_slide, "What is the size?", "real")
    finally:
        copilot.close()
    (ev,) = r.evidence
    assert ev["ok"], ev.get("error")
    assert ev["backend"] == "openai"
    out = ev["output"]
    assert [(a["expert"], a["label"], a["answer"]) for a in out["answers"]] == [
        ("roi-a", "tumor", "tumor"),
        ("roi-b", "stroma", "stroma"),
    ]
    assert out["label"] == "tumor"
    assert out["probabilities"] == {"stroma": 0.25, "tumor": 0.75}
    assert [(c["expert"], c["weight"]) for c in out["contributions"]] == [
        ("roi-a", 0.75),
        ("roi-b", 0.25),
    ]
    assert r.verification["status"] == "verified"
    assert r.exit_code == 0
    assert after.turn == 2
    assert after.exit_code == 0


def test_agent_detects_with_a_served_expert(
    home: Path, cmu_slide: Path, tiny_expert_server: ModelServer
) -> None:
    path = experts_file(home, tiny_expert_server, detector("nuclei-vlm", EXPERT_REPO_IDS["nuclei"]))
    copilot = Copilot(Settings(home=home, experts_file=path, expert_timeout_s=120))
    try:
        copilot.ask(cmu_slide, "Zoom to the largest tissue region at 20x", "s1")
        r = copilot.ask(cmu_slide, "detect the nuclei in this region", "s1")
    finally:
        copilot.close()
    (ev,) = r.evidence
    assert ev["ok"], ev.get("error")
    assert (ev["expert"], ev["backend"]) == ("nuclei-vlm", "openai")
    out = ev["output"]
    # the overlay is drawn on the image the expert was sent (no shrink at this pixel budget)
    (overlay,) = [a for a in r.artifacts if a.endswith("-nuclei.png")]
    with Image.open(overlay) as picture:
        sent = picture.size
    expected = nuclei_level0_box(out["region_box"], sent)
    (obj,) = out["objects"]
    assert obj["label"] == "nucleus"
    assert obj["box"] == pytest.approx(list(expected), abs=1.0)
    assert out["count"] == 1
    assert r.answer.startswith("1 nuclei detected in region #1.")
    assert r.verification["status"] == "verified"
    assert r.exit_code == 0


def test_agent_combines_served_detectors_by_union_and_nms(
    home: Path, cmu_slide: Path, tiny_expert_server: ModelServer
) -> None:
    path = experts_file(
        home,
        tiny_expert_server,
        detector("nuclei-a", EXPERT_REPO_IDS["nuclei"], weight=2.0),
        detector("nuclei-a2", EXPERT_REPO_IDS["nuclei"]),  # the same box: suppressed
        detector("nuclei-b", EXPERT_REPO_IDS["nuclei-b"]),  # another box: kept
    )
    copilot = Copilot(Settings(home=home, experts_file=path, expert_timeout_s=120))
    try:
        copilot.ask(cmu_slide, "Zoom to the largest tissue region at 20x", "m1")
        r = copilot.ask(cmu_slide, "detect the nuclei in this region", "m1")
    finally:
        copilot.close()
    (ev,) = r.evidence
    assert ev["ok"], ev.get("error")
    assert ev["expert"] == "nuclei-a, nuclei-a2, nuclei-b"
    out = ev["output"]
    (overlay,) = [a for a in r.artifacts if a.endswith("-nuclei.png")]
    with Image.open(overlay) as picture:
        sent = picture.size
    assert [(o["expert"], o["label"]) for o in out["objects"]] == [
        ("nuclei-a", "nucleus"),
        ("nuclei-b", "nucleus"),
    ]
    for obj, adapter in zip(out["objects"], ["nuclei", "nuclei-b"], strict=True):
        expected = nuclei_level0_box(out["region_box"], sent, adapter)
        assert obj["box"] == pytest.approx(list(expected), abs=1.0)
    assert out["count"] == 2
    assert [(c["expert"], c["weight"]) for c in out["contributions"]] == [
        ("nuclei-a", 0.5),
        ("nuclei-a2", 0.25),
        ("nuclei-b", 0.25),
    ]
    assert any("3 objects from the experts" in n and ": 2 kept" in n for n in out["notes"])
    assert r.answer.startswith("2 nuclei detected in region #1.")
    assert r.verification["status"] == "verified", r.verification["reasons"]
    assert r.exit_code == 0


def test_experts_check_against_the_real_server(home: Path, tiny_expert_server: ModelServer) -> None:
    path = experts_file(home, tiny_expert_server, classifier("roi-a", EXPERT_REPO_IDS["roi-a"]))
    proc = run(home, "experts", "check", "--json", SMARTPATH_EXPERTS_FILE=str(path))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["ok"]
    path = experts_file(
        home,
        tiny_expert_server,
        classifier("roi-a", EXPERT_REPO_IDS["roi-a"]),
        detector("nuclei-lora", "nuclei-lora"),
    )
    proc = run(home, "experts", "check", SMARTPATH_EXPERTS_FILE=str(path))
    assert proc.returncode == 3
    assert "does not list model 'nuclei-lora'" in proc.stdout
    assert proc.stderr == "error: required expert(s) unavailable: nuclei-lora\n"
