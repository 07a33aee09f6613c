"""Composition's tiles on small or sparse regions: areas counted once, glass left out."""

from __future__ import annotations

import numpy as np

from tools.capricorn import region_tile_grid
from tools.composition import covered_px


def test_overlapping_tiles_cover_each_pixel_once() -> None:
    """Two 300-px tiles spread over a 500-px-wide region overlap by 100 px: the overlap goes
    half to each (nearest centre), and the classes' pixels add up to the region, not more."""
    covered = covered_px((300, 500), [(0, 0, 300, 300), (200, 0, 500, 300)], [0, 2], 3)
    assert covered.tolist() == [250 * 300, 0, 250 * 300]
    assert covered.sum() == 300 * 500


def test_a_fragment_on_glass_classifies_the_tiles_that_hold_it() -> None:
    """No tile is mostly tissue: the tiles holding the fragment are classified, not the glass."""
    image = np.full((448, 672, 3), 242, dtype=np.uint8)
    image[250:330, 480:560] = (150, 60, 130)  # an 80-px fragment inside the tile at row 1, col 2
    tiles, boxes, notes = region_tile_grid(image, mpp=0.5, tile_px=224, tile_mpp=0.5, max_tiles=64)
    assert boxes == [(448, 224, 672, 448)]
    assert len(tiles) == 1
    assert any("holding the most tissue" in n for n in notes), notes


def test_blank_glass_still_classifies_every_tile_and_says_so() -> None:
    image = np.full((448, 448, 3), 242, dtype=np.uint8)
    tiles, _, notes = region_tile_grid(image, mpp=0.5, tile_px=224, tile_mpp=0.5, max_tiles=64)
    assert len(tiles) == 4
    assert any("no tissue was found in any tile" in n for n in notes), notes


def _half_tissue(width: int, height: int) -> np.ndarray:
    """Stained, textured tissue on the left half of the image, bright glass on the right."""
    rng = np.random.default_rng(0)
    image = np.full((height, width, 3), 242, np.uint8)
    stain = rng.normal((190, 110, 170), 20, (height, width // 2, 3))
    image[:, : width // 2] = np.clip(stain, 0, 255).astype(np.uint8)
    return image


def test_a_large_region_keeps_the_tissue_tiles_without_resampling_it_whole() -> None:
    """A whole slide's worth of pixels: tissue found on a shrunk copy, only kept tiles read."""
    image = _half_tissue(6000, 3000)
    tiles, boxes, _ = region_tile_grid(image, mpp=0.5, tile_px=224, tile_mpp=0.5, max_tiles=500)
    assert len(tiles) == len(boxes) > 0
    assert all(x1 <= 3000 + 224 for _, _, x1, _ in boxes)  # the glass half is left out
    assert len(boxes) >= (3000 // 224) * (3000 // 224) - 13  # the tissue half is kept
    x0, y0, x1, y1 = boxes[0]
    assert np.array_equal(tiles[0], image[y0:y1, x0:x1])  # at the tile scale: the pixels
    # at twice the tile scale's resolution each tile covers 448 input pixels, resampled to 224
    tiles, boxes, _ = region_tile_grid(image, mpp=0.25, tile_px=224, tile_mpp=0.5, max_tiles=500)
    assert {t.shape for t in tiles} == {(224, 224, 3)}
    assert {(x1 - x0, y1 - y0) for x0, y0, x1, y1 in boxes} == {(448, 448)}
    assert all(x1 <= 3000 + 448 for _, _, x1, _ in boxes)
