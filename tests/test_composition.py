"""Tissue composition: capricorn's tile classes over a region's tissue tiles, asked in words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.runner import Copilot
from tools.capricorn import KATHER_LABELS
from tools.composition import CLASS_COLOURS

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
    assert out["asked"] == ["debris"]
    assert r.answer.startswith(
        "No: none of the 4 tissue tiles is debris (each tile takes its main class, so a focus "
        "smaller than a tile can be missed). The capricorn-tissue tile classifier labelled 4 "
        "tissue tiles of the analysed region: normal colon mucosa 100.0%. No tile was labelled "
        "adipose, background, debris, "
    )
    mucosa = copilot.ask(mucosa_mosaic, "any normal mucosa or mucin? yes or no", "c1")
    assert mucosa.evidence[0]["output"]["asked"] == ["mucus", "normal colon mucosa"]
    assert mucosa.answer.startswith(
        "Yes: normal colon mucosa is the class of 4 of the 4 tissue tiles (100.0%). "
        "No: none of the 4 tissue tiles is mucus"
    )
    assert mucosa.verification["status"] == "verified", mucosa.verification["reasons"]
    tumour = copilot.ask(mucosa_mosaic, "how much of it is tumour?", "c1")
    assert tumour.evidence[0]["output"]["asked"] == []  # an extent, not a presence question
    chain = " ".join(s["text"] for s in r.chain)
    assert "No tile was labelled" in chain
    assert "debris" in chain
    # the class map: the four tissue tiles in level-0 pixels, tinted with their class's colour
    assert out["tile_boxes"] == [
        [0, 0, 224, 224],
        [224, 0, 448, 224],
        [0, 224, 224, 448],
        [224, 224, 448, 448],
    ]
    assert out["tile_classes"] == ["normal colon mucosa"] * 4
    (artifact,) = ev["artifacts"]
    picture = np.asarray(Image.open(artifact).convert("RGB"), dtype=int)
    assert picture.shape == (448, 672, 3)
    source = np.asarray(Image.open(mucosa_mosaic).convert("RGB"), dtype=int)
    green = np.array(CLASS_COLOURS["normal colon mucosa"])
    inside = picture[100:120, 100:120] - source[100:120, 100:120]
    assert np.abs(inside).mean() > 5  # tinted
    assert np.abs(picture[223, 100] - green).max() <= 1  # the tile's outline
    assert np.array_equal(picture[300:320, 560:580], source[300:320, 560:580])  # glass untouched


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


@pytest.fixture
def mucosa_and_tumour(shared_data: Path, tmp_path: Path) -> Path:
    """Normal mucosa on the left half (2 × 2 tiles), colorectal carcinoma on the right half."""
    kather = shared_data / "kather_mopadi"
    normal = Image.open(kather / "CRC-VAL-HE-7K" / "NORM-TCGA-YLVCMEHK.tif").convert("RGB")
    carcinoma = Image.open(kather / "TCGA-AD-6964-01Z-00-DX1_COAD" / "Tile_(22016,11776).jpg")
    tiles = [  # both at the classifier's scale: the Kather tile as it is, a crop of the TCGA one
        np.asarray(normal.resize((TILE_PX, TILE_PX))),
        np.asarray(carcinoma.convert("RGB").crop((144, 144, 144 + TILE_PX, 144 + TILE_PX))),
    ]
    row = np.hstack([tiles[0], tiles[0], tiles[1], tiles[1]])
    path = tmp_path / "mucosa-and-tumour.png"
    Image.fromarray(np.vstack([row, row])).save(path)
    return path


def test_two_views_are_compared_by_their_class_shares(
    copilot: Copilot, models_home: Path, mucosa_and_tumour: Path
) -> None:
    """ "Which had more tumour?" runs the composition of each view and compares its shares."""
    copilot.ask(mucosa_and_tumour, "show the region from (0, 0) to (448, 448)", "cmp")
    copilot.ask(mucosa_and_tumour, "show the region from (448, 0) to (896, 448)", "cmp")
    r = copilot.ask(mucosa_and_tumour, "which had more tumour, view 1 or view 2?", "cmp")
    assert r.exit_code == 0
    assert [e["tool"] for e in r.evidence] == ["composition", "composition"]
    one, two = (e["output"] for e in r.evidence)
    assert (one["region_box"], two["region_box"]) == ([0, 0, 448, 448], [448, 0, 896, 448])
    tumour = "colorectal adenocarcinoma epithelium"
    a, b = round(100 * one["shares"][tumour]), round(100 * two["shares"][tumour])
    assert b > a
    # the class asked about first, the region with more of it first, every share cited
    assert (
        f"Comparison: The {tumour} share is {b - a} percentage points higher in region #2 than "
        f"in region #1 ({b}% vs {a}%)."
    ) in r.answer
    assert r.verification["status"] == "verified", r.verification["reasons"]
