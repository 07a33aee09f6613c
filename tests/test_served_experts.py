"""Served experts end to end against a real transformers serve process (tiny local model)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.runner import Copilot
from core.http import ModelClient
from core.settings import Settings
from tests.fixtures.model_server import ModelServer
from tests.test_cli import run

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


def experts_file(home: Path, server: ModelServer, *, extra_model: str | None = None) -> Path:
    text = f"""
[servers]
local = "{server.base_url}"

[[experts]]
name = "roi-tiny"
task = "roi_classify"
backend = "openai"
server = "local"
model = "{server.model}"
parser = "label"
labels = ["tumor", "stroma", "lymphocytes", "necrosis"]
required = true
"""
    if extra_model:
        text += f"""
[[experts]]
name = "nuclei-lora"
task = "detect"
backend = "openai"
server = "local"
model = "{extra_model}"
required = true
"""
    path = home / "experts.toml"
    path.write_text(text)
    return path


def test_client_sends_a_real_image_request(model_server: ModelServer) -> None:
    client = ModelClient(model_server.base_url, timeout_s=120)
    try:
        assert model_server.model in client.list_models()
        image = np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8)
        reply = client.chat(
            model_server.model,
            "Classify this tissue.",
            [image],
            max_image_pixels=200 * 200,
            max_tokens=12,
        )
    finally:
        client.close()
    assert isinstance(reply.text, str)
    assert reply.completion_tokens is not None
    assert 0 < reply.completion_tokens <= 12
    assert reply.image_sizes[0][0] * reply.image_sizes[0][1] <= 200 * 200


def test_agent_handles_whatever_the_model_answers(
    home: Path, cmu_slide: Path, model_server: ModelServer
) -> None:
    settings = Settings(
        home=home, experts_file=experts_file(home, model_server), expert_timeout_s=120
    )
    copilot = Copilot(settings)
    try:
        r = copilot.ask(cmu_slide, "classify the largest tissue region", "real")
        after = copilot.ask(cmu_slide, "What is the size?", "real")
    finally:
        copilot.close()
    (ev,) = r.evidence
    if ev["ok"]:  # the random model happened to name a label: combined and verified
        assert ev["output"]["label"] in ev["output"]["probabilities"]
        assert r.verification["status"] == "verified"
    else:  # random text: a clear failure quoting the expert, exit 3
        assert ev["error_kind"] == "output"
        assert "roi-tiny answered unusably" in ev["error"]
        assert r.exit_code == 3
    assert after.turn == 2
    assert after.exit_code == 0


def test_experts_check_against_the_real_server(home: Path, model_server: ModelServer) -> None:
    path = experts_file(home, model_server)
    proc = run(home, "experts", "check", "--json", SMARTPATH_EXPERTS_FILE=str(path))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)[0]["ok"]
    path = experts_file(home, model_server, extra_model="nuclei-lora")
    proc = run(home, "experts", "check", SMARTPATH_EXPERTS_FILE=str(path))
    assert proc.returncode == 3
    assert "does not list model 'nuclei-lora'" in proc.stdout
    assert proc.stderr == "error: required expert(s) unavailable: nuclei-lora\n"
