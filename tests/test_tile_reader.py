from __future__ import annotations

from pathlib import Path

import numpy as np
import openslide
import pytest

from core.errors import SlideOpenError, SlideReadError
from tests.fixtures.slides import SyntheticSlide
from tools.pixels import read_openslide_rgb
from tools.slide import Slide
from tools.tiff_cells import TiffCells
from tools.tile_reader import TileReader
from tools.tiling import Tile, tile_grid
from tools.types import Box

TCGA = "tcga-cr-7395-01a-01-ts1.svs"


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


def _composited(path: Path, tile: Tile) -> np.ndarray:
    """OpenSlide's ``read_region`` of the tile, RGB where opaque and white where transparent."""
    slide = openslide.OpenSlide(str(path))
    try:
        size = (tile.tile_px, tile.tile_px)
        rgba = np.asarray(slide.read_region((tile.box.x0, tile.box.y0), tile.read_level, size))
    finally:
        slide.close()
    alpha = rgba[..., 3]
    assert set(np.unique(alpha)) <= {0, 255}
    rgb = rgba[..., :3].copy()
    rgb[alpha == 0] = 255
    return rgb


def _tile(x: int, y: int, side: int, level: int = 0, level_ds: float = 1.0) -> Tile:
    read_px = round(side / level_ds)
    return Tile(Box.from_xywh(x, y, side, side), read_px, side / read_px, level, None, 1.0)


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["CMU-1-Small-Region.svs", TCGA])
@pytest.mark.parametrize("workers", [1, 2])
def test_same_pixels_as_openslide(shared_data: Path, name: str, workers: int) -> None:
    path = shared_data / "wsi" / name
    with Slide.open(path) as slide:
        tiles = tile_grid(slide.metadata, None, tile_px=256)
    expected = _plain(path, tiles)
    with TileReader(path, workers=workers) as reader:
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


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["CMU-1-Small-Region.svs", TCGA])
def test_stored_tiles_decoded_as_openslide_does(shared_data: Path, name: str) -> None:
    """Every stored tile imagecodecs decodes equals OpenSlide's read of it, edge tiles included."""
    path = shared_data / "wsi" / name
    slide = openslide.OpenSlide(str(path))
    props = slide.properties
    tiles = [
        (
            int(props[f"openslide.level[{i}].tile-width"]),
            int(props[f"openslide.level[{i}].tile-height"]),
        )
        for i in range(slide.level_count)
    ]
    cells = TiffCells.open(path, props["openslide.vendor"], slide.level_dimensions, tiles)
    assert cells is not None
    assert cells.serves(0)
    try:
        (width, height), (tile_w, tile_h) = slide.level_dimensions[0], tiles[0]
        for row in range(-(-height // tile_h)):
            for column in range(-(-width // tile_w)):
                got = cells.decode(0, column, row)
                x, y = column * tile_w, row * tile_h
                w, h = min(tile_w, width - x), min(tile_h, height - y)
                expected, transparent = read_openslide_rgb(slide, x, y, 0, w, h)
                assert transparent == 0.0
                assert got is not None, (column, row)
                assert np.array_equal(got, expected), (column, row)
    finally:
        cells.close()
        slide.close()


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["CMU-1-Small-Region.svs", TCGA])
@pytest.mark.parametrize("workers", [1, 2])
def test_edge_odd_and_off_slide_tiles(shared_data: Path, name: str, workers: int) -> None:
    path = shared_data / "wsi" / name
    with Slide.open(path) as slide:
        width, height = slide.metadata.width, slide.metadata.height
        level1 = len(slide.metadata.levels) > 1
    tiles = [
        _tile(width - 100, height - 37, 256),  # partly off the slide: transparent, so white
        _tile(width - 256, 0, 256),  # the last whole tile of the first row
        _tile(37, 241, 300),  # across four stored tiles, off their grid
        _tile(width + 10, 5, 64),  # wholly off the slide
    ]
    if level1:  # level 1 of the TCGA slide has a fractional downsample: read as a region
        tiles.append(_tile(101, 203, 512, level=1, level_ds=2.0005055500659967))
    with TileReader(path, workers=workers) as reader:
        got = [rgb for _, rgb in reader.read(tiles)]
    for tile, rgb in zip(tiles, got, strict=True):
        expected = _composited(path, tile)
        assert rgb.shape == expected.shape
        assert np.array_equal(rgb, expected), tile.box
    assert (got[0][37:] == 255).all()  # below the slide
    assert (got[0][:, 100:] == 255).all()  # right of the slide
    assert (got[0][:37, :100] != 255).any()  # the on-slide corner holds slide pixels
    assert (got[3] == 255).all()


@pytest.mark.shared_data
@pytest.mark.parametrize("workers", [1, 2])
def test_generic_tiff_levels(shared_data: Path, workers: int) -> None:
    """boxes.tiff: deflate tiles of 64 px, levels with whole (1, 2) and fractional downsamples."""
    path = shared_data / "wsi_fixtures_openslide" / "boxes.tiff"
    slide = openslide.OpenSlide(str(path))
    downsamples = slide.level_downsamples
    slide.close()
    tiles = [_tile(x, y, 96) for x, y in [(0, 0), (17, 70), (200, 150), (250, 230)]]
    tiles += [_tile(x, y, 100, 1, downsamples[1]) for x, y in [(0, 0), (34, 130), (220, 160)]]
    tiles += [_tile(8, 4, 60, 2, downsamples[2]), _tile(0, 0, 200, 3, downsamples[3])]
    with TileReader(path, workers=workers) as reader:
        got = [rgb for _, rgb in reader.read(tiles)]
    for tile, rgb in zip(tiles, got, strict=True):
        assert np.array_equal(rgb, _composited(path, tile)), (tile.box, tile.read_level)


@pytest.mark.shared_data
def test_each_stored_tile_decoded_once(cmu_slide: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """256-px tiles on a 240-px stored grid share stored tiles: each is decoded once anyway."""
    decoded: list[tuple[int, int, int]] = []
    original = TiffCells.decode

    def counting(self: TiffCells, level: int, column: int, row: int) -> np.ndarray | None:
        decoded.append((level, column, row))
        return original(self, level, column, row)

    monkeypatch.setattr(TiffCells, "decode", counting)
    with Slide.open(cmu_slide) as slide:
        tiles = tile_grid(slide.metadata, None, tile_px=256)
    with TileReader(cmu_slide, workers=2) as reader:
        assert sum(1 for _ in reader.read(tiles)) == len(tiles) == 88
    # 8×11 tiles cover 2048×2816 px: columns 0..8 and rows 0..11 of the 240-px grid
    assert sorted(decoded) == [(0, c, r) for c in range(9) for r in range(12)]


@pytest.mark.shared_data
def test_tiny_cache_same_pixels(cmu_slide: Path) -> None:
    """With no room to keep stored tiles, shared ones are decoded again: same pixels."""
    with Slide.open(cmu_slide) as slide:
        tiles = tile_grid(slide.metadata, None, tile_px=256)[:20]
    with TileReader(cmu_slide, workers=2, cache_bytes=1) as reader:
        got = [rgb for _, rgb in reader.read(tiles)]
    for rgb, reference in zip(got, _plain(cmu_slide, tiles), strict=True):
        assert np.array_equal(rgb, reference)
