from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.fixtures.slides import TISSUE_RGB, SyntheticSlide
from tools.slide import Slide
from tools.tissue import detect_tissue, mask_iou, resize_mask, tissue_mask


def test_synthetic_tissue_fraction_and_region(synthetic_slide: SyntheticSlide) -> None:
    with Slide.open(synthetic_slide.path) as slide:
        tissue = detect_tissue(slide, thumbnail_px=512)
    assert tissue.mask.shape == (384, 512)
    assert tissue.mask.dtype == bool
    assert tissue.downsample == pytest.approx(4.0)
    assert tissue.tissue_fraction == pytest.approx(synthetic_slide.tissue_fraction, abs=0.01)
    assert len(tissue.regions) == 1
    region = tissue.regions[0]
    cx, cy, rx, ry = synthetic_slide.ellipse
    assert region.index == 1
    assert region.box.x0 == pytest.approx(cx - rx, abs=8)
    assert region.box.x1 == pytest.approx(cx + rx, abs=8)
    assert region.box.y0 == pytest.approx(cy - ry, abs=8)
    assert region.box.y1 == pytest.approx(cy + ry, abs=8)
    true_area = np.pi * rx * ry
    assert region.area_px == pytest.approx(true_area, rel=0.03)
    assert region.area_mm2 == pytest.approx(true_area * 0.25 / 1e6, rel=0.03)
    assert region.fraction == pytest.approx(tissue.tissue_fraction, rel=1e-6)


def test_regions_sorted_and_indexed() -> None:
    rgb = np.full((200, 300, 3), 255, np.uint8)
    rgb[20:60, 20:60] = TISSUE_RGB  # small
    rgb[100:190, 100:290] = TISSUE_RGB  # large
    mask = tissue_mask(rgb)
    assert mask[40, 40]
    assert mask[150, 200]
    assert not mask[5, 5]


def test_tissue_mask_blank_and_full() -> None:
    assert not tissue_mask(np.full((64, 64, 3), 250, np.uint8)).any()
    assert tissue_mask(np.full((64, 64, 3), TISSUE_RGB, np.uint8)).all()


def test_pen_marks_are_not_tissue() -> None:
    rgb = np.full((200, 200, 3), 255, np.uint8)
    rgb[20:80, 20:180] = TISSUE_RGB
    rgb[120:140, 10:190] = (30, 160, 60)  # green marker
    rgb[160:175, 10:190] = (20, 20, 25)  # black marker
    mask = tissue_mask(rgb)
    assert mask[50, 100]
    assert mask[120:140].mean() < 0.05
    assert mask[160:175].mean() < 0.05


def test_mask_iou() -> None:
    a = np.zeros((10, 10), bool)
    a[:5] = True
    b = np.zeros((10, 10), bool)
    b[:, :5] = True
    assert mask_iou(a, a) == 1.0
    assert mask_iou(a, b) == pytest.approx(25 / 75)
    assert mask_iou(np.zeros((4, 4), bool), np.zeros((2, 2), bool)) == 1.0
    assert resize_mask(np.ones((20, 20), bool), (10, 5)).shape == (10, 5)


# Floors measured on this data (IoU raw / after histolab's dilation + hole filling):
# CMU 0.771 / 0.978, TCGA 0.918 / 0.980, kidney 0.169 / 0.992.
HISTOLAB_FLOORS = {
    "cmu-1-small-region": ("wsi/CMU-1-Small-Region.svs", 0.72, 0.95),
    "tcga-cr-7395": ("wsi/tcga-cr-7395-01a-01-ts1.svs", 0.88, 0.95),
    "kidney-48-5": ("wsi/kidney-48-5.tif", 0.12, 0.95),
}


@pytest.mark.shared_data
@pytest.mark.parametrize("key", sorted(HISTOLAB_FLOORS))
def test_agreement_with_histolab(shared_data: Path, key: str) -> None:
    relative, raw_floor, dilated_floor = HISTOLAB_FLOORS[key]
    reference = np.load(shared_data / "histolab_masks" / f"tissue-mask-{key}.npy")
    with Slide.open(shared_data / relative) as slide:
        tissue = detect_tissue(slide)
    assert tissue.regions
    assert tissue.regions[0].index == 1
    areas = [region.area_px for region in tissue.regions]
    assert areas == sorted(areas, reverse=True)
    assert mask_iou(tissue.mask, reference) >= raw_floor
    assert mask_iou(tissue.mask, reference, dilate_px=5, fill_holes=True) >= dilated_floor


@pytest.mark.shared_data
def test_tcga_areas_without_mpp(shared_data: Path) -> None:
    with Slide.open(shared_data / "wsi" / "tcga-cr-7395-01a-01-ts1.svs") as slide:
        tissue = detect_tissue(slide)
    assert all(region.area_mm2 is None for region in tissue.regions)
    assert 0.5 < tissue.tissue_fraction < 0.8


@pytest.mark.shared_data
def test_histolab_tiles_labels(shared_data: Path) -> None:
    """Labelled real tiles: blank and pen-free no-tissue tiles stay (almost) empty."""
    folder = shared_data / "histolab_tiles"
    with (folder / "labels.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    by_label: dict[str, list[float]] = {}
    for row in rows:
        rgb = np.asarray(Image.open(folder / row["file"]).convert("RGB"))
        fraction = float(tissue_mask(rgb).mean())
        by_label.setdefault(row["tissue_label"], []).append(fraction)
        if row["tissue_label"] in ("almost_white", "no_tissue") and row["pen_mark"] != "red":
            assert fraction < 0.1, row["file"]
    assert np.mean(by_label["tissue"]) > 0.5
    assert np.mean(by_label["tissue"]) > 3 * np.mean(by_label["no_tissue"])
