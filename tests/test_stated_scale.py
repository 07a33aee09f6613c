"""A scale the user states for an image that records none: read, kept in the case, used."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.stated_scale import read_stated_scale
from app.runner import Copilot
from core.settings import Settings


@pytest.mark.parametrize(
    ("text", "mpp", "magnification", "rest"),
    [
        ("the image is 0.5 µm/px", 0.5, None, ""),
        ("assume 0.25 mpp", 0.25, None, ""),
        ("the scale is 0.5 microns per pixel", 0.5, None, ""),
        ("set the pixel size to 0.5 um", 0.5, None, ""),
        ("the mpp is 0.2527", 0.2527, None, ""),
        ("it was scanned at 40x", 0.25, 40.0, ""),
        ("this is a 20x image", 0.5, 20.0, ""),
        ("count nuclei (this tile is at 20x, 0.5 mpp)", 0.5, None, "count nuclei"),
        (
            "count the nuclei and give the density per mm2 - the image is 0.5 µm/px",
            0.5,
            None,
            "count the nuclei and give the density per mm2",
        ),
        (
            "ok, fyi the image is 0.25 mpp. now count the nuclei in the top left quadrant",
            0.25,
            None,
            "now count the nuclei in the top left quadrant",
        ),
        ("show it at 20x, it was scanned at 40x", 0.25, 40.0, "show it at 20x"),
        (
            "how many nuclei r there? the tile should be about 0.5 um per pixel",
            0.5,
            None,
            "how many nuclei r there",
        ),
        (
            "I told you it's 0.5 µm/px - so what is that mean area in µm²?",
            0.5,
            None,
            "so what is that mean area in µm²?",
        ),
        ("we scanned it at 40x", 0.25, 40.0, ""),
        (
            "probably 0.25 um/px at 40x... actually no, more like 2 um/px. take 2 um/px. now "
            "how many mm2 of tissue?",
            2.0,
            None,
            "probably 0.25 um/px at 40x, actually no, more like 2 um/px, now how many mm2 of "
            "tissue?",
        ),
        (
            "No - I corrected myself, use 2 um per pixel not 0.25",
            2.0,
            None,
            "No, I corrected myself",
        ),
        ("scale = 2 µm/px. tissue area in mm²?", 2.0, None, "tissue area in mm²?"),
    ],
)
def test_a_stated_scale_is_read_and_taken_out_of_the_request(
    text: str, mpp: float, magnification: float | None, rest: str
) -> None:
    stated = read_stated_scale(text)
    assert stated is not None
    assert (stated.mpp, stated.magnification, stated.rest) == (mpp, magnification, rest)


@pytest.mark.parametrize(
    "text",
    [
        "was this scanned at 20x or 40x?",
        "what magnification was it scanned at",
        "is it 0.5 mpp?",
        "show me the region at 0.5 mpp",
        "zoom to 10x",
        "zoom in 2x",
        "count the nuclei at 0.5 µm/px",
        "it is 2x bigger than the last one",
        "the tissue is 30% tumour",
        "assume 0.5",
        "use 0.5 mpp for the view",
        "take me to the centre at 0.5 mpp",
    ],
)
def test_questions_and_views_at_a_scale_state_none(text: str) -> None:
    assert read_stated_scale(text) is None


@pytest.mark.shared_data
def test_a_stated_scale_gives_physical_units_for_the_rest_of_the_case(
    home: Path, shared_data: Path
) -> None:
    image = shared_data / "histolytics_hgsc" / "hgsc_nest.jpg"
    copilot = Copilot(Settings(home=home))
    try:
        before = copilot.ask(image, "count the nuclei in the top left quadrant", "sc1")
        told = copilot.ask(image, "the image is 0.5 µm/px", "sc1")
        after = copilot.ask(image, "count the nuclei in the top left quadrant", "sc1")
    finally:
        copilot.close()
    # the JPEG records no µm/px: pixels only, and the answer says how to give the scale
    out = before.evidence[-1]["output"]
    assert out["mpp"] is None
    assert out["density_per_mm2"] is None
    assert any("state the scale" in n for n in out["notes"])
    # the statement alone: the slide's facts with the stated scale, said to be stated
    (info,) = told.evidence
    assert info["tool"] == "slide_info"
    assert info["output"]["mpp_x"] == 0.5
    assert info["output"]["mpp_stated"] is True
    assert info["output"]["width_mm"] == pytest.approx(0.75)
    assert "0.5 µm/px as stated in this case (the file records none)" in told.answer
    # later turns use it: the same quadrant, now with µm² and a density per mm²
    out = after.evidence[-1]["output"]
    assert out["region_box"] == [0, 0, 750, 750]
    assert out["mpp"] == 0.5
    assert out["mean_area_um2"] is not None
    # 750 × 750 px at 0.5 µm/px is 0.140625 mm²
    assert out["density_per_mm2"] == pytest.approx(out["count"] / 0.140625, rel=1e-3)
    assert "nuclei per mm²" in after.answer
    assert "stated in this case" in after.answer
    for r in (before, told, after):
        assert r.exit_code == 0
        assert r.verification["status"] == "verified", r.verification["reasons"]
    # a new process continues the case with the scale it was told
    again = Copilot(Settings(home=home))
    try:
        r = again.ask(image, "how big is the image in mm?", "sc1")
        other = again.ask(image, "how big is the image in mm?", "sc2")
    finally:
        again.close()
    assert r.evidence[-1]["output"]["width_mm"] == pytest.approx(0.75)
    assert other.evidence[-1]["output"]["mpp_x"] is None  # another case was told nothing


@pytest.mark.shared_data
def test_a_magnification_stated_with_a_request_sets_the_scale(
    copilot: Copilot, shared_data: Path
) -> None:
    image = shared_data / "histolytics_hgsc" / "hgsc_nest.jpg"
    r = copilot.ask(image, "this tile was scanned at 40x - count the nuclei in it", "sc3")
    (ev,) = r.evidence
    assert ev["tool"] == "detect"
    assert ev["output"]["region_box"] == [0, 0, 1500, 1500]
    assert ev["output"]["density_per_mm2"] is not None
    # 40x is taken as 0.25 µm/px; the detector reads it at its own 0.5 µm/px
    assert ev["output"]["mpp"] == 0.5
    assert ev["output"]["downsample"] == 2.0
    assert r.verification["status"] == "verified", r.verification["reasons"]


@pytest.mark.shared_data
def test_a_file_that_records_its_scale_keeps_it(copilot: Copilot, cmu_slide: Path) -> None:
    r = copilot.ask(cmu_slide, "assume 0.25 mpp", "sc4")
    (ev,) = r.evidence
    assert ev["output"]["mpp_x"] == pytest.approx(0.499)
    assert ev["output"]["mpp_stated"] is False
    assert "as stated" not in r.answer


def test_nuclei_are_not_counted_at_a_scale_too_coarse_for_them(
    copilot: Copilot, shared_data: Path
) -> None:
    """At 16 µm/px a nucleus is under a pixel: the count is declined with the reason, never
    reported as "0 nuclei"."""
    slide = shared_data / "wsi" / "kidney-48-5.tif"
    r = copilot.ask(
        slide, "the image is 16 µm/px. count the nuclei in box [284,503,401,568]", "coarse"
    )
    (detect,) = [e for e in r.evidence if e["tool"] == "detect"]
    assert not detect["ok"]
    assert detect["error"].startswith("nuclei cannot be counted at 16 µm/px")
    assert "0 nuclei" not in r.answer
    assert r.exit_code == 2
