"""Tissue composition: capricorn's tile classes over a region's tissue tiles, asked in words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.runner import Copilot
from tools.capricorn import KATHER_LABELS

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]

TILE_PX = 224


@pytest.fixture
def mucosa_mosaic(shared_data: Path, tmp_path: Path) -> Path:
    """Four copies of a Kather normal-mucosa tile beside two blank (glass) tiles, 3 × 2 tiles."""
    tile = np.asarray(
        Image.open(shared_data / "kather_mopadi" / "CRC-VAL-HE-7K" / "NORM-TCGA-YLVCMEHK.tif")
        .convert("RGB")
        .resize((TILE_PX, TILE_PX))
    )
    glass = np.full_like(tile, 242)
    rows = [np.hstack([tile, tile, glass]), np.hstack([tile, tile, glass])]
    path = tmp_path / "mucosa-mosaic.png"
    Image.fromarray(np.vstack(rows)).save(path)
    return path


def test_a_presence_question_measures_every_tissue_tile(
    copilot: Copilot, models_home: Path, mucosa_mosaic: Path
) -> None:
    r = copilot.ask(mucosa_mosaic, "is there necrosis?", "c1")
    assert r.exit_code == 0
    (ev,) = r.evidence
    assert ev["tool"] == "composition", ev
    assert ev["ok"], ev["error"]
    out = ev["output"]
    assert out["tiles_used"] == 4  # the two glass tiles are not tissue
    assert out["tiles"]["normal colon mucosa"] == 4
    assert out["shares"]["normal colon mucosa"] == 1.0
    assert out["tiles"]["debris"] == 0
    assert set(out["classes"]) == set(KATHER_LABELS)
    assert out["areas_mm2"] is None  # a PNG records no µm/px
    assert any("necrosis appears as its debris class" in n for n in out["notes"])
    assert r.verification["status"] == "verified", r.verification["reasons"]
    assert r.answer.startswith(
        "The capricorn-tissue tile classifier labelled 4 tissue tiles of the analysed region: "
        "normal colon mucosa 100.0%. No tile was labelled adipose, background, debris, "
    )
    chain = " ".join(s["text"] for s in r.chain)
    assert "No tile was labelled" in chain
    assert "debris" in chain


def test_an_extent_question_on_an_earlier_region_uses_its_box(
    copilot: Copilot, models_home: Path, mucosa_mosaic: Path
) -> None:
    copilot.ask(mucosa_mosaic, "show the region from (0, 0) to (448, 224)", "c2")
    r = copilot.ask(mucosa_mosaic, "how much of region 1 is tumour?", "c2")
    (ev,) = r.evidence
    assert (ev["tool"], ev["ok"]) == ("composition", True), ev
    assert ev["output"]["region_box"] == [0, 0, 448, 224]
    assert ev["output"]["tiles_used"] == 2
    assert ev["output"]["shares"]["colorectal adenocarcinoma epithelium"] == 0.0
    assert r.verification["status"] == "verified", r.verification["reasons"]
