"""The local backend: one base model in-process, LoRA adapters switched per call."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.runner import Copilot
from core.settings import Settings
from tests.test_cli import run
from tools.local_backend import LocalVLM

pytestmark = pytest.mark.slow

IMAGE = np.random.default_rng(0).integers(0, 255, (224, 224, 3), dtype=np.uint8)


def test_adapters_switch_per_call(tiny_vlm_dir: Path, tiny_adapters: dict[str, Path]) -> None:
    vlm = LocalVLM(tiny_vlm_dir, tiny_adapters)
    answers = {
        name: vlm.chat(name, "Classify this tissue.", [IMAGE], max_tokens=8).text
        for name in ["roi-a", "roi-b", None]
    }
    assert len(set(answers.values())) == 3  # each adapter (and the base) answers differently
    again = vlm.chat("roi-a", "Classify this tissue.", [IMAGE], max_tokens=8)
    assert again.text == answers["roi-a"]  # switching back restores the adapter exactly
    assert again.completion_tokens is not None
    assert again.completion_tokens <= 8


def experts_file(home: Path, base: Path, adapters: dict[str, Path | str]) -> Path:
    text = f'local_base = "{base}"\n'
    for name, path in adapters.items():
        text += f"""
[[experts]]
name = "{name}"
task = "roi_classify"
backend = "local"
model = "{name}"
adapter_path = "{path}"
labels = ["tumor", "stroma", "lymphocytes"]
"""
    path = home / "experts.toml"
    path.write_text(text)
    return path


@pytest.mark.shared_data
def test_agent_classifies_with_local_experts(
    home: Path, cmu_slide: Path, tiny_vlm_dir: Path, tiny_adapters: dict[str, Path]
) -> None:
    path = experts_file(home, tiny_vlm_dir, tiny_adapters)
    copilot = Copilot(Settings(home=home, experts_file=path))
    try:
        r = copilot.ask(cmu_slide, "classify the largest tissue region", "l1")
    finally:
        copilot.close()
    (ev,) = r.evidence
    if ev["ok"]:
        assert ev["backend"] == "local"
        assert r.verification["status"] == "verified"
    else:  # random adapters answer no label: a clear output failure naming each expert
        assert ev["error_kind"] == "output"
        assert "roi-a answered unusably" in ev["error"]
        assert r.exit_code == 3


def test_missing_adapter_folder_is_one_line(home: Path, tiny_vlm_dir: Path) -> None:
    path = experts_file(home, tiny_vlm_dir, {"roi-x": home / "absent"})
    proc = run(home, "experts", "check", "--json", SMARTPATH_EXPERTS_FILE=str(path))
    (status,) = json.loads(proc.stdout)
    assert not status["ok"]
    absent = home / "absent"
    assert status["detail"] == (
        f"expert roi-x: 'adapter_path' {absent} is not a folder; set it in the experts file"
    )
