from __future__ import annotations

from pathlib import Path

import numpy as np
import openslide
import pytest

from core.errors import SlideOpenError, SlideReadError
from tests.fixtures.slides import SyntheticSlide
from tools.slide import Slide
from tools.tile_reader import TileReader
from tools.tiling import Tile, tile_grid


def _plain(path: Path, tiles: list[Tile]) -> list[np.ndarray]:
    slide = openslide.OpenSlide(str(path))
    try:
        return [
            np.asarray(
                slide.read_region(
                    (t.box.x0, t.box.y0), t.read_level, (t.tile_px, t.tile_px)
                ).convert("RGB")
            )
            for t in tiles
        ]
    finally:
        slide.close()


@pytest.mark.shared_data
@pytest.mark.parametrize("workers", [1, 2])
def test_same_pixels_as_openslide(cmu_slide: Path, workers: int) -> None:
    with Slide.open(cmu_slide) as slide:
        tiles = tile_grid(slide.metadata, None, tile_px=256)
    expected = _plain(cmu_slide, tiles)
    with TileReader(cmu_slide, workers=workers) as reader:
        got = list(reader.read(tiles))
    assert [tile for tile, _ in got] == tiles
    for (_, rgb), reference in zip(got, expected, strict=True):
        assert rgb.dtype == np.uint8
        assert np.array_equal(rgb, reference)


@pytest.mark.parametrize("workers", [1, 2])
def test_pyramid_levels_and_transparency(synthetic_slide: SyntheticSlide, workers: int) -> None:
    with Slide.open(synthetic_slide.path) as slide:
        tiles = tile_grid(slide.metadata, None, tile_px=128, level=1)
    expected = _plain(synthetic_slide.path, tiles)
    with TileReader(synthetic_slide.path, workers=workers) as reader:
        got = [rgb for _, rgb in reader.read(tiles)]
    for tile, rgb, reference in zip(tiles, got, expected, strict=True):
        if tile.box.x1 <= synthetic_slide.transparent_from_x:
            assert np.array_equal(rgb, reference)
        else:  # transparent pixels: PIL drops alpha (black), we composite on white
            assert (rgb[:, -16:] == 255).all()


def test_resampled_tiles(synthetic_slide: SyntheticSlide) -> None:
    with Slide.open(synthetic_slide.path) as slide:
        tiles = tile_grid(slide.metadata, None, tile_px=100, mpp=1.5)
        reads = [slide.read_region(t.box, mpp=1.5, max_pixels=10**6).image for t in tiles[:5]]
    with TileReader(synthetic_slide.path, workers=2) as reader:
        got = [rgb for _, rgb in reader.read(tiles[:5])]
    for rgb, reference in zip(got, reads, strict=True):
        assert rgb.shape == (100, 100, 3)
        assert np.array_equal(rgb, reference)


def test_plain_image_tiles(png_file: Path) -> None:
    with Slide.open(png_file) as slide:
        tiles = tile_grid(slide.metadata, None, tile_px=64)
    with TileReader(png_file, workers=2) as reader:
        got = list(reader.read(tiles))
    assert len(got) == len(tiles) == 5 * 3
    assert (got[0][1] == 255).all()  # left quarter is transparent → white


@pytest.mark.shared_data
def test_reader_errors(shared_data: Path, tmp_path: Path) -> None:
    with pytest.raises(SlideOpenError):
        TileReader(tmp_path / "missing.svs")
    path = shared_data / "wsi_fixtures_openslide" / "unreadable.svs"
    with Slide.open(path) as slide:
        tiles = tile_grid(slide.metadata, None, tile_px=8)
    with (
        TileReader(path, workers=2) as reader,
        pytest.raises(SlideReadError, match="Bogus marker length"),
    ):
        list(reader.read(tiles))
