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
