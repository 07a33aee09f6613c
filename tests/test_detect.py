"""The detection tool through the agent: real images, expert named, numbers verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.runner import Copilot
from core.settings import Settings

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

QUESTION = "detect the nuclei in this region and give their count and mean area"


def test_nuclei_in_a_zoomed_region_of_a_slide(copilot: Copilot, cmu_slide: Path) -> None:
    zoom = copilot.ask(cmu_slide, "Zoom to the largest tissue region at 20x", "d1")
    r = copilot.ask(cmu_slide, QUESTION, "d1")
    (ev,) = r.evidence
    out = ev["output"]
    assert (ev["tool"], ev["expert"], ev["backend"]) == ("detect", "cpu-nuclei-watershed", "cpu")
    assert out["region_box"] == zoom.evidence[0]["output"]["box"]
    assert out["roi_number"] == 1
    assert out["count"] == len(out["objects"]) > 100
    x0, y0, x1, y1 = out["region_box"]
    for obj in out["objects"]:
        bx0, by0, bx1, by1 = obj["box"]
        assert x0 <= bx0 < bx1 <= x1
        assert y0 <= by0 < by1 <= y1
        assert bx0 <= obj["centroid"][0] <= bx1
        assert by0 <= obj["centroid"][1] <= by1
    assert 15 <= out["mean_area_um2"] <= 150
    assert out["mpp"] == pytest.approx(0.499)
    assert f"{out['count']} nuclei" in r.answer
    assert f"{out['mean_area_um2']:.1f} µm²" in r.answer
    assert r.verification["status"] == "verified", r.verification["reasons"]
    assert Path(r.artifacts[0]).is_file()


def test_nuclei_on_a_plain_image_without_mpp(copilot: Copilot, shared_data: Path) -> None:
    image = shared_data / "histolytics_hgsc" / "hgsc_nest.jpg"
    r = copilot.ask(image, QUESTION, "d2")
    out = r.evidence[0]["output"]
    assert out["mpp"] is None
    assert out["mean_area_um2"] is None
    assert out["count"] > 1000
    assert "pixels²" in r.answer
    assert "µm² (median" not in r.answer  # only the hint names µm²: "state the scale … for µm²"
    assert "state the scale" in r.answer
    assert r.verification["status"] == "verified", r.verification["reasons"]


def test_a_slide_without_mpp_is_counted_at_a_scale_its_nuclei_give(
    copilot: Copilot, shared_data: Path
) -> None:
    # the TCGA frozen section records no µm/px and stains faintly; its cellular fields hold
    # hundreds of nuclei per 512 px (once counted as 1 in a 2048 px field)
    slide = shared_data / "wsi" / "tcga-cr-7395-01a-01-ts1.svs"
    r = copilot.ask(slide, "count the nuclei from (1800, 1300) to (2824, 2324)", "d4")
    out = r.evidence[-1]["output"]
    assert out["region_box"] == [1800, 1300, 2824, 2324]
    assert out["count"] > 1000
    assert out["mpp"] is None
    assert any("estimated from the nuclei themselves" in n for n in out["notes"])
    assert r.verification["status"] == "verified", r.verification["reasons"]


def test_density_is_given_per_area_of_tissue_when_the_region_holds_glass(
    copilot: Copilot, cmu_slide: Path
) -> None:
    r = copilot.ask(cmu_slide, "count the nuclei in the largest tissue region", "d5")
    out = r.evidence[-1]["output"]
    assert 0.3 < out["tissue_fraction"] < 0.6  # measured 0.46: the field is half glass
    assert out["density_per_tissue_mm2"] == pytest.approx(
        out["density_per_mm2"] / out["tissue_fraction"], rel=0.01
    )
    x0, y0, x1, y1 = out["region_box"]
    tissue_px = out["tissue_fraction"] * (x1 - x0) * (y1 - y0)  # level-0 px²
    assert out["per_tissue_10k_px"] == pytest.approx(out["count"] / tissue_px * 1e4, rel=0.01)
    assert f"so {out['density_per_tissue_mm2']:.0f} per mm² of tissue" in r.answer
    assert r.verification["status"] == "verified", r.verification["reasons"]
    # asked for the density, the answer leads with it, per mm² of tissue
    asked = copilot.ask(cmu_slide, "nuclear density per mm² of tissue there?", "d5")
    o = asked.evidence[-1]["output"]
    assert o["density_asked"]
    assert asked.answer.startswith(
        f"{o['density_per_tissue_mm2']:.0f} nuclei per mm² of tissue in region #1 "
        f"({o['count']} nuclei; tissue covers {100 * o['tissue_fraction']:.1f}% of the region, "
        f"{o['density_per_mm2']:.0f} per mm² of the whole region)."
    )
    assert asked.verification["status"] == "verified", asked.verification["reasons"]


def test_background_region_has_no_nuclei(copilot: Copilot, cmu_slide: Path) -> None:
    r = copilot.ask(cmu_slide, "show the region from (2000, 0) to (2200, 200)", "d3")
    assert r.evidence[0]["ok"]
    r = copilot.ask(cmu_slide, "count the nuclei in this region", "d3")
    out = r.evidence[0]["output"]
    assert out["count"] == 0
    assert "no nuclei were found" in r.answer
    assert r.verification["status"] == "verified"


def test_detection_in_a_region_that_does_not_exist(copilot: Copilot, cmu_slide: Path) -> None:
    r = copilot.ask(cmu_slide, "how many nuclei are in region 4?", "d4")
    assert r.exit_code == 2
    assert "region 4 does not exist" in r.answer


def test_expert_without_an_implementation_is_a_backend_failure(home: Path, cmu_slide: Path) -> None:
    experts = home / "experts.toml"
    experts.write_text(
        '[[experts]]\nname = "mystery"\ntask = "detect"\nbackend = "cpu"\n'
        'implementation = "not_written_yet"\n'
    )
    copilot = Copilot(Settings(home=home, experts_file=experts))
    try:
        r = copilot.ask(cmu_slide, "count the nuclei in the largest tissue region", "d5")
    finally:
        copilot.close()
    assert r.exit_code == 3
    assert r.evidence[-1]["error_kind"] == "backend"
    assert "detect expert(s) unavailable: mystery" in r.answer


def test_unreadable_experts_file_is_a_one_line_error(home: Path, cmu_slide: Path) -> None:
    from tests.test_cli import run

    proc = run(
        home,
        "ask",
        str(cmu_slide),
        "count the nuclei",
        SMARTPATH_EXPERTS_FILE=str(home / "missing.toml"),
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: cannot read the experts file")
    assert proc.stderr.count("\n") == 1
