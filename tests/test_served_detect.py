"""A served detection expert: grounding boxes in model-input pixels become level-0 boxes.

The server here replays an answer; the model-input size it writes into the answer comes from
transformers' own `smart_resize`, the resize Qwen2.5-VL's processor applies (the project's
`model_input_size` reproduces it and is what is under test). tests/test_served_experts.py runs
the same path against a real `transformers serve`.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import httpx
import pytest
from PIL import Image

from app.runner import Copilot, TurnResult
from core.http import ModelClient
from core.settings import Settings

pytestmark = pytest.mark.shared_data

EXPERTS = """
[servers]
gpu = "http://gpu.test/v1"

[[experts]]
name = "nuclei-vlm"
task = "detect"
backend = "openai"
server = "gpu"
model = "nuclei-lora"
parser = "grounding_json"
labels = ["nucleus"]
"""


def grounding_server(answer: str) -> httpx.MockTransport:
    """Replays a Qwen2.5-VL answer; ``{W}``/``{H}`` become the model-input size it would see."""

    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "nuclei-lora"}]})
        body = json.loads(request.content)
        url = body["messages"][0]["content"][0]["image_url"]["url"]
        w, h = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size
        mh, mw = smart_resize(h, w, factor=28, min_pixels=56 * 56, max_pixels=16384 * 28 * 28)
        text = answer.replace("{W}", str(mw // 2)).replace("{H}", str(mh // 2))
        return httpx.Response(200, json={"choices": [{"message": {"content": text}}]})

    return httpx.MockTransport(handler)


def ask(home: Path, slide: Path, answer: str) -> tuple[TurnResult, TurnResult]:
    """The zoom turn and the detect turn, with the server replaying ``answer``."""
    path = home / "experts.toml"
    path.write_text(EXPERTS)
    transport = grounding_server(answer)
    copilot = Copilot(
        Settings(home=home, experts_file=path), lambda u: ModelClient(u, transport=transport)
    )
    try:
        zoom = copilot.ask(slide, "Zoom to the largest tissue region at 20x", "s1")
        r = copilot.ask(slide, "detect the nuclei in this region", "s1")
    finally:
        copilot.close()
    return zoom, r


def test_grounding_boxes_map_to_level0(home: Path, cmu_slide: Path) -> None:
    answer = (
        '```json\n[{"bbox_2d": [0, 0, {W}, {H}], "label": "nucleus"},\n'
        ' {"bbox_2d": [10, 10, 20, 20], "label": "nucleus"}]\n```'
    )
    zoom, r = ask(home, cmu_slide, answer)
    (ev,) = r.evidence
    assert ev["ok"], ev.get("error")
    assert ev["expert"] == "nuclei-vlm"
    out = ev["output"]
    x0, y0, x1, y1 = zoom.evidence[0]["output"]["box"]
    quarter = out["objects"][0]["box"]
    assert quarter[0] == x0
    assert quarter[1] == y0
    assert quarter[2] == pytest.approx(x0 + (x1 - x0) / 2, abs=3)
    assert quarter[3] == pytest.approx(y0 + (y1 - y0) / 2, abs=3)
    assert out["count"] == 2
    assert out["mean_area_um2"] is None
    assert r.exit_code == 0
    assert r.answer.startswith("2 nuclei detected in region #1.")
    assert r.verification["status"] == "verified"


def test_unreadable_grounding_answer_is_an_output_failure(home: Path, cmu_slide: Path) -> None:
    _, r = ask(home, cmu_slide, "I see several cells near the top left.")
    (ev,) = r.evidence
    assert not ev["ok"]
    assert ev["error_kind"] == "output"
    assert r.exit_code == 3
    assert "Could not run detect: expert nuclei-vlm answered unusably" in r.answer
