"""A level's grid of stored tiles ("cells"): which cells a region covers, and the region from them.

Reading whole stored tiles and cutting regions out of them decodes every stored tile once, however
the requested tiles fall on the slide's own grid, and lets workers decode different cells at once.
Cells are RGB uint8 arrays clipped to the level; pixels outside the level are white, as a read
composited on white gives them.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

__all__ = ["CellCache", "CellGrid", "CellKey"]

CellKey = tuple[int, int, int]
"""(level, column, row)."""


@dataclass(frozen=True)
class CellGrid:
    """The stored-tile grid of one level, in pixels of that level."""

    level: int
    width: int
    height: int
    cell_w: int
    cell_h: int

    def cells(self, x: int, y: int, width: int, height: int) -> Iterator[CellKey]:
        """Keys of the cells that overlap the region (cells off the level are left out)."""
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(self.width, x + width), min(self.height, y + height)
        if x0 >= x1 or y0 >= y1:
            return
        for row in range(y0 // self.cell_h, (y1 - 1) // self.cell_h + 1):
            for column in range(x0 // self.cell_w, (x1 - 1) // self.cell_w + 1):
                yield self.level, column, row

    def assemble(
        self, x: int, y: int, width: int, height: int, cells: dict[CellKey, np.ndarray]
    ) -> np.ndarray:
        """Cut the region out of its cells (from :meth:`cells`); white where it leaves the level."""
        out = np.empty((height, width, 3), dtype=np.uint8)
        filled = 0
        for key, pixels in cells.items():
            _, column, row = key
            cx, cy = column * self.cell_w, row * self.cell_h
            sx0, sy0 = max(x, cx), max(y, cy)
            sx1 = min(x + width, cx + pixels.shape[1])
            sy1 = min(y + height, cy + pixels.shape[0])
            if sx0 < sx1 and sy0 < sy1:
                part = pixels[sy0 - cy : sy1 - cy, sx0 - cx : sx1 - cx]
                out[sy0 - y : sy1 - y, sx0 - x : sx1 - x] = part
                filled += (sx1 - sx0) * (sy1 - sy0)
        if filled < width * height:  # part of the region lies off the level
            inside_w = max(0, min(x + width, self.width) - max(x, 0))
            inside_h = max(0, min(y + height, self.height) - max(y, 0))
            mask = np.ones((height, width), dtype=bool)
            if inside_w and inside_h:
                top, left = max(0, -y), max(0, -x)
                mask[top : top + inside_h, left : left + inside_w] = False
            out[mask] = 255
        return out


class CellCache:
    """Decoded cells (or their pending decodes), least recently used dropped beyond a byte cap.

    A cell asked for while its decode is pending gets the same future, so each cell is decoded
    once while it stays cached.
    """

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self._lock = threading.Lock()
        self._entries: collections.OrderedDict[CellKey, tuple[Future[np.ndarray], int]] = (
            collections.OrderedDict()
        )
        self._bytes = 0

    def get(
        self, key: CellKey, size_bytes: int, start: Callable[[], Future[np.ndarray]]
    ) -> Future[np.ndarray]:
        """The cached future for ``key``, or the one ``start()`` returns, now cached."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry[0]
        future = start()
        with self._lock:
            if key not in self._entries:
                self._entries[key] = (future, size_bytes)
                self._bytes += size_bytes
                while self._bytes > self.capacity_bytes and len(self._entries) > 1:
                    _, (_, dropped) = self._entries.popitem(last=False)
                    self._bytes -= dropped
        return future

    def discard(self, key: CellKey) -> None:
        """Forget ``key`` (a failed decode), so that the next request decodes it again."""
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self._bytes -= entry[1]

    def clear(self) -> None:
        """Forget every cell."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0
