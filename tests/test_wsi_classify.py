"""Slide classification: tissue tiles, a local encoder and an attention-MIL head."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.runner import Copilot
from core.settings import Settings
from tests.fixtures.tiny_mil import LABELS
from tests.test_cli import run

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


def experts_file(home: Path, encoder: Path | str, head: Path | str, domain: str = "") -> Path:
    path = home / "experts.toml"
    path.write_text(f"""
[[experts]]
name = "mil-tiny"
task = "wsi_classify"
scale = "wsi"
backend = "cpu"
implementation = "attention_mil"
encoder = "test_resnet"
encoder_checkpoint = "{encoder}"
head_checkpoint = "{head}"
tile_px = 224
tile_mpp = 1.0
max_tiles = 40
{domain}""")
    return path


def test_classify_this_slide(home: Path, cmu_slide: Path, tiny_mil: tuple[Path, Path]) -> None:
    settings = Settings(home=home, experts_file=experts_file(home, *tiny_mil))
    copilot = Copilot(settings)
    try:
        r = copilot.ask(cmu_slide, "classify this slide", "w1")
    finally:
        copilot.close()
    (ev,) = r.evidence
    assert ev["ok"], ev["error"]
    out = ev["output"]
    assert ev["expert"] == "mil-tiny"
    assert out["label"] in LABELS
    assert set(out["probabilities"]) == set(LABELS)
    assert sum(out["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert 0 < out["tiles_used"] <= 40
    assert out["tile_mpp"] == pytest.approx(1.0, rel=0.01)
    attention = [t["attention"] for t in out["top_tiles"]]
    assert attention == sorted(attention, reverse=True)
    x0, y0, x1, y1 = out["top_tiles"][0]["box"]
    assert 0 <= x0 < x1 <= 2220
    assert 0 <= y0 < y1 <= 2967
    assert Path(r.artifacts[0]).name.endswith("-attention.png")
    assert r.verification["status"] == "verified", r.verification["reasons"]
    assert f"classified the slide as {out['label']}" in r.answer


def test_missing_checkpoint_is_one_line_naming_the_setting(
    home: Path, cmu_slide: Path, tiny_mil: tuple[Path, Path]
) -> None:
    path = experts_file(home, home / "nowhere.pt", tiny_mil[1])
    proc = run(home, "experts", "check", "--json", SMARTPATH_EXPERTS_FILE=str(path))
    (status,) = json.loads(proc.stdout)
    assert not status["ok"]
    assert status["detail"] == (
        f"expert mil-tiny: 'encoder_checkpoint' {home / 'nowhere.pt'} does not exist; "
        "set it in the experts file"
    )
    proc = run(home, "ask", str(cmu_slide), "classify this slide", SMARTPATH_EXPERTS_FILE=str(path))
    assert proc.returncode == 3
    assert proc.stderr == (
        "error: wsi_classify expert(s) unavailable: mil-tiny; run 'smartpath experts check' "
        f"(expert mil-tiny: 'encoder_checkpoint' {home / 'nowhere.pt'} does not exist; "
        "set it in the experts file)\n"
    )


def test_a_slide_classifier_from_another_organ_says_so(
    home: Path, cmu_slide: Path, tiny_mil: tuple[Path, Path]
) -> None:
    domain = '[experts.domain]\norgans = ["colorectum"]\ntissue = "colorectal resections"\n'
    settings = Settings(home=home, experts_file=experts_file(home, *tiny_mil, domain=domain))
    copilot = Copilot(settings)
    try:
        lung = copilot.ask(cmu_slide, "classify this lung biopsy slide", "w-lung")
        colon = copilot.ask(cmu_slide, "classify this colon slide", "w-colon")
    finally:
        copilot.close()
    (ev,) = lung.evidence
    assert ev["tool"] == "wsi_classify", ev
    assert ev["output"]["domains"][0]["organs"] == ["colorectum"]
    caveats = [s for s in lung.chain if s["kind"] == "caveat"]
    assert len(caveats) == 1
    assert "mil-tiny" in caveats[0]["text"]
    assert "colorectal resections" in caveats[0]["text"]
    assert "may not apply" in caveats[0]["text"]
    assert caveats[0]["text"] in lung.answer
    assert caveats[0]["verified"]
    assert not [s for s in colon.chain if s["kind"] == "caveat"]
