from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import RegionError, ToolInputError
from tests.fixtures.slides import SyntheticSlide
from tools.slide import Slide
from tools.tiling import tile_grid
from tools.tissue import detect_tissue


def test_grid_without_tissue(synthetic_slide: SyntheticSlide) -> None:
    with Slide.open(synthetic_slide.path) as slide:
        meta = slide.metadata
    tiles = tile_grid(meta, None, tile_px=256)
    assert len(tiles) == 8 * 6
    assert tiles[0].box.as_list() == [0, 0, 256, 256]
    assert tiles[1].box.x0 == 256
    assert all(t.read_level == 0 and t.downsample == 1.0 and t.tissue == 1.0 for t in tiles)
    at_1um = tile_grid(meta, None, tile_px=256, mpp=1.0)
    assert len(at_1um) == 4 * 3
    assert at_1um[0].box.width == 512
    assert at_1um[0].read_level == 1
    assert at_1um[0].mpp == pytest.approx(1.0)
    by_level = tile_grid(meta, None, tile_px=128, level=2)
    assert len(by_level) == 4 * 3
    assert by_level[0].box.width == 512


def test_partial_edge_tiles_are_dropped(synthetic_slide: SyntheticSlide) -> None:
    with Slide.open(synthetic_slide.path) as slide:
        tiles = tile_grid(slide.metadata, None, tile_px=300)
    assert len(tiles) == (2048 // 300) * (1536 // 300)
    assert max(t.box.x1 for t in tiles) <= 2048
    assert max(t.box.y1 for t in tiles) <= 1536


def test_grid_with_tissue(synthetic_slide: SyntheticSlide) -> None:
    with Slide.open(synthetic_slide.path) as slide:
        tissue = detect_tissue(slide, thumbnail_px=512)
        meta = slide.metadata
    kept = tile_grid(meta, tissue, tile_px=128, min_tissue=0.5)
    everything = tile_grid(meta, None, tile_px=128)
    tissue_area = sum(t.box.width * t.box.height for t in kept) / (2048 * 1536)
    assert 0 < len(kept) < len(everything)
    assert tissue_area == pytest.approx(synthetic_slide.tissue_fraction, abs=0.03)
    assert all(t.tissue >= 0.5 for t in kept)
    full = tile_grid(meta, tissue, tile_px=128, min_tissue=1.0)
    assert 0 < len(full) < len(kept)


def test_grid_errors(synthetic_slide: SyntheticSlide) -> None:
    with Slide.open(synthetic_slide.path) as slide:
        meta = slide.metadata
    with pytest.raises(RegionError, match="valid levels"):
        tile_grid(meta, None, tile_px=256, level=5)
    with pytest.raises(RegionError, match="finer"):
        tile_grid(meta, None, tile_px=256, mpp=0.1)
    with pytest.raises(ToolInputError, match="not both"):
        tile_grid(meta, None, tile_px=256, mpp=1.0, level=1)


@pytest.mark.shared_data
def test_grid_on_real_slides(shared_data: Path, cmu_slide: Path) -> None:
    with Slide.open(cmu_slide) as slide:
        tissue = detect_tissue(slide)
        tiles = tile_grid(slide.metadata, tissue, tile_px=224, mpp=0.5)
    assert 0 < len(tiles) < (2220 // 224) * (2967 // 224)
    with Slide.open(shared_data / "wsi" / "tcga-cr-7395-01a-01-ts1.svs") as slide:
        meta = slide.metadata
    with pytest.raises(ToolInputError, match="records no µm/px"):
        tile_grid(meta, None, tile_px=256, mpp=1.0)
    level1 = tile_grid(meta, None, tile_px=256, level=1)
    assert level1[0].read_level == 1
    assert len(level1) == (4443 // 512) * (3567 // 512)
