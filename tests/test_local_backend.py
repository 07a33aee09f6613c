"""The local backend: one base model in-process, LoRA adapters switched per call.

The adapters are trained by the fixture (tests/fixtures/tiny_lora.py) to answer the tools'
prompts: ``roi-a`` says "tumor", ``roi-b`` "stroma", ``nuclei`` one grounding box.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.runner import Copilot
from core.settings import Settings
from tests.fixtures.tiny_lora import (
    CLASSIFY_PROMPT,
    ROI_LABELS,
    nuclei_level0_box,
)
from tests.fixtures.tiny_vlm import MAX_PIXELS, MIN_PIXELS
from tests.test_cli import run
from tools.local_backend import LocalVLM

pytestmark = pytest.mark.slow

IMAGE = np.random.default_rng(0).integers(0, 255, (224, 224, 3), dtype=np.uint8)


def test_adapters_switch_per_call(tiny_vlm_dir: Path, tiny_adapters: dict[str, Path]) -> None:
    vlm = LocalVLM(tiny_vlm_dir, tiny_adapters)
    answers = {
        name: vlm.chat(name, CLASSIFY_PROMPT, [IMAGE], max_tokens=8).text
        for name in ["roi-a", "roi-b", None]
    }
    assert answers["roi-a"] == "tumor"
    assert answers["roi-b"] == "stroma"
    assert answers[None] not in ("tumor", "stroma")  # the base model was not trained
    again = vlm.chat("roi-a", CLASSIFY_PROMPT, [IMAGE], max_tokens=8)
    assert again.text == "tumor"  # switching back restores the adapter exactly
    assert again.completion_tokens is not None
    assert again.completion_tokens < 8  # stopped at <|im_end|>, before the limit
    assert again.finish_reason == "stop"


def experts_file(home: Path, base: Path, adapters: dict[str, Path | str]) -> Path:
    text = f'local_base = "{base}"\n'
    for name, path in adapters.items():
        weight = 2.0 if name == "roi-a" else 1.0
        text += f"""
[[experts]]
name = "{name}"
task = "roi_classify"
backend = "local"
model = "{name}"
adapter_path = "{path}"
labels = {json.dumps(list(ROI_LABELS))}
weight = {weight}
"""
    path = home / "experts.toml"
    path.write_text(text)
    return path


@pytest.mark.shared_data
def test_agent_classifies_with_local_experts(
    home: Path, cmu_slide: Path, tiny_vlm_dir: Path, tiny_adapters: dict[str, Path]
) -> None:
    adapters = {name: tiny_adapters[name] for name in ("roi-a", "roi-b")}
    path = experts_file(home, tiny_vlm_dir, adapters)
    copilot = Copilot(Settings(home=home, experts_file=path))
    try:
        r = copilot.ask(cmu_slide, "classify the largest tissue region", "l1")
    finally:
        copilot.close()
    (ev,) = r.evidence
    assert ev["ok"], ev.get("error")
    assert ev["backend"] == "local"
    out = ev["output"]
    assert [(a["expert"], a["label"]) for a in out["answers"]] == [
        ("roi-a", "tumor"),
        ("roi-b", "stroma"),
    ]
    # weights 2 and 1: tumor gets 2/3 of the vote
    assert out["label"] == "tumor"
    assert out["probabilities"] == {"stroma": pytest.approx(1 / 3), "tumor": pytest.approx(2 / 3)}
    assert [(c["expert"], c["weight"]) for c in out["contributions"]] == [
        ("roi-a", pytest.approx(2 / 3, abs=1e-4)),
        ("roi-b", pytest.approx(1 / 3, abs=1e-4)),
    ]
    assert r.verification["status"] == "verified"
    assert r.exit_code == 0


@pytest.mark.shared_data
def test_agent_detects_with_a_local_expert(
    home: Path, cmu_slide: Path, tiny_vlm_dir: Path, tiny_adapters: dict[str, Path]
) -> None:
    path = home / "experts.toml"
    path.write_text(f"""
local_base = "{tiny_vlm_dir}"

[[experts]]
name = "nuclei-local"
task = "detect"
backend = "local"
model = "nuclei"
adapter_path = "{tiny_adapters["nuclei"]}"
labels = ["nucleus"]
image_max_pixels = 100000000
min_pixels = {MIN_PIXELS}
max_pixels = {MAX_PIXELS}
""")
    copilot = Copilot(Settings(home=home, experts_file=path))
    try:
        copilot.ask(cmu_slide, "Zoom to the largest tissue region at 20x", "d1")
        r = copilot.ask(cmu_slide, "detect the nuclei in this region", "d1")
    finally:
        copilot.close()
    (ev,) = r.evidence
    assert ev["ok"], ev.get("error")
    assert (ev["expert"], ev["backend"]) == ("nuclei-local", "local")
    out = ev["output"]
    # the overlay is drawn on the image the expert was sent (no shrink at this pixel budget)
    (overlay,) = [a for a in r.artifacts if a.endswith("-nuclei.png")]
    with Image.open(overlay) as picture:
        sent = picture.size
    expected = nuclei_level0_box(out["region_box"], sent)
    assert out["count"] == 1
    (obj,) = out["objects"]
    assert obj["label"] == "nucleus"
    assert obj["box"] == pytest.approx(list(expected), abs=1.0)
    assert r.verification["status"] == "verified"
    assert r.exit_code == 0


def test_missing_adapter_folder_is_one_line(home: Path, tiny_vlm_dir: Path) -> None:
    path = experts_file(home, tiny_vlm_dir, {"roi-x": home / "absent"})
    proc = run(home, "experts", "check", "--json", SMARTPATH_EXPERTS_FILE=str(path))
    (status,) = json.loads(proc.stdout)
    assert not status["ok"]
    absent = home / "absent"
    assert status["detail"] == (
        f"expert roi-x: 'adapter_path' {absent} is not a folder; set it in the experts file"
    )
