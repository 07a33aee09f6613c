"""Decode the stored tiles of a plain pyramidal TIFF directly (tifffile + imagecodecs).

OpenSlide decodes an Aperio or generic TIFF tile into premultiplied ARGB through cairo; for the
common encodings (JPEG, Aperio JPEG 2000 RGB, deflate, LZW, none) decoding the stored tile with
imagecodecs gives the same RGB pixels several times faster and without the GIL. Only levels
whose TIFF page matches OpenSlide's level exactly (size and tile size) and whose encoding is in
the tested set are served; every other cell (a missing tile, a decode error) is left to
OpenSlide, so the caller keeps OpenSlide's behaviour and messages.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["TiffCells"]

logger = logging.getLogger(__name__)

_COMPRESSIONS = frozenset({1, 5, 7, 8, 32946, 33005})
"""None, LZW, JPEG, deflate (Adobe and old), Aperio JPEG 2000 with RGB samples."""
_PHOTOMETRIC_RGB = 2
_VENDORS = frozenset({"aperio", "generic-tiff"})
"""OpenSlide vendors whose levels are the TIFF's tiled pages, clipped at the level's edge."""


@dataclass(frozen=True)
class _Level:
    decode: Any  # the page's tifffile decoder: (data, index, jpegtables=) -> (segment, ...)
    jpegtables: bytes | None
    offsets: tuple[int, ...]
    counts: tuple[int, ...]
    width: int
    height: int
    tile_w: int
    tile_h: int
    columns: int


class TiffCells:
    """Stored tiles of the OpenSlide levels that a plain TIFF page holds, as RGB arrays.

    Reads use ``os.pread`` on a descriptor of their own and imagecodecs decoders, so several
    threads may call :meth:`decode` at once.
    """

    def __init__(self, path: Path, tiff: Any, levels: dict[int, _Level]) -> None:
        self._tiff = tiff
        self._levels = levels
        self._fd: int | None = os.open(path, os.O_RDONLY)

    @classmethod
    def open(
        cls,
        path: Path,
        vendor: str | None,
        level_sizes: Sequence[tuple[int, int]],
        tile_sizes: Sequence[tuple[int, int] | None],
    ) -> TiffCells | None:
        """Map OpenSlide's levels to TIFF pages; None when no level can be decoded here.

        Args:
            path: the slide file.
            vendor: OpenSlide's ``openslide.vendor`` property.
            level_sizes: (width, height) of each OpenSlide level, in pixels of that level.
            tile_sizes: (tile width, tile height) OpenSlide reports for each level, or None.
        """
        if vendor not in _VENDORS:
            return None
        import tifffile

        try:
            tiff = tifffile.TiffFile(path)
            pages = list(tiff.pages)
        except Exception as error:  # noqa: BLE001 - any parse failure: OpenSlide reads it all
            logger.debug("tifffile cannot parse %s: %s", path.name, error)
            return None
        levels: dict[int, _Level] = {}
        for index, ((width, height), tile) in enumerate(zip(level_sizes, tile_sizes, strict=True)):
            if tile is None:
                continue
            matches = [p for p in pages if _same_level(p, width, height, tile)]
            if len(matches) == 1 and _decodable(matches[0]):
                page = matches[0]
                levels[index] = _Level(
                    page.decode,  # built once here, not by racing threads
                    page.jpegtables,
                    tuple(int(v) for v in page.dataoffsets),
                    tuple(int(v) for v in page.databytecounts),
                    width,
                    height,
                    tile[0],
                    tile[1],
                    -(-width // tile[0]),
                )
        if not levels:
            tiff.close()
            return None
        return cls(path, tiff, levels)

    def serves(self, level: int) -> bool:
        """Whether cells of ``level`` are decoded here."""
        return level in self._levels

    def decode(self, level: int, column: int, row: int) -> np.ndarray | None:
        """RGB uint8 pixels of one stored tile, clipped to the level; None to leave it to OpenSlide.

        Args:
            level: OpenSlide level (one that :meth:`serves`).
            column: tile column in the level's grid.
            row: tile row in the level's grid.
        """
        fd = self._fd
        info = self._levels[level]
        index = row * info.columns + column
        if fd is None or index >= len(info.offsets):
            return None
        count = info.counts[index]
        if count == 0:  # a missing tile: OpenSlide paints it transparent
            return None
        try:
            data = os.pread(fd, count, info.offsets[index])
            segment, _, _ = info.decode(data, index, jpegtables=info.jpegtables)
        except Exception as error:  # noqa: BLE001 - OpenSlide reports a corrupt tile its own way
            logger.debug("tile %d of level %d not decoded here: %s", index, level, error)
            return None
        if segment is None:
            return None
        pixels = np.asarray(segment)
        pixels = pixels.reshape(pixels.shape[-3:])
        clip_w = min(info.tile_w, info.width - column * info.tile_w)
        clip_h = min(info.tile_h, info.height - row * info.tile_h)
        if pixels.shape[0] < clip_h or pixels.shape[1] < clip_w or pixels.shape[2] != 3:
            return None
        return np.ascontiguousarray(pixels[:clip_h, :clip_w])

    def close(self) -> None:
        """Close the descriptor and the parsed file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._tiff.close()


def _same_level(page: Any, width: int, height: int, tile: tuple[int, int]) -> bool:
    return bool(
        page.is_tiled
        and page.imagewidth == width
        and page.imagelength == height
        and (page.tilewidth, page.tilelength) == tile
    )


def _decodable(page: Any) -> bool:
    return bool(
        int(page.compression) in _COMPRESSIONS
        and int(page.photometric) == _PHOTOMETRIC_RGB
        and page.samplesperpixel == 3
        and page.bitspersample == 8
        and page.imagedepth == 1
        and page.tiledepth == 1
        and int(page.planarconfig) == 1
        and len(page.dataoffsets)
        == -(-page.imagewidth // page.tilewidth) * -(-page.imagelength // page.tilelength)
    )
