"""Read many tiles fast: one OpenSlide handle per worker thread, numpy pixels, ordered output."""

from __future__ import annotations

import collections
import logging
import math
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

import numpy as np
import openslide

from core.errors import SlideOpenError, SlideReadError, ToolInputError
from tools.pixel_budget import PixelBudget
from tools.pixels import read_openslide_rgb, resize_rgb
from tools.slide import Slide, check_slide_file, detect_openslide_format
from tools.tiling import Tile

__all__ = ["TileReader"]

logger = logging.getLogger(__name__)

_PREFETCH_PER_WORKER = 4
"""Tiles in flight per worker: bounds memory while keeping every worker busy."""


class TileReader:
    """Read tiles of one slide as RGB uint8 arrays, in the order given.

    OpenSlide's C library releases the GIL (ctypes) while it decodes, so ``workers`` threads,
    each with its own handle, decode in parallel. Plain images go through ``Slide``.
    """

    def __init__(
        self, path: str | Path, *, workers: int = 1, budget: PixelBudget | None = None
    ) -> None:
        if workers < 1:
            msg = f"workers must be at least 1, got {workers}"
            raise ToolInputError(msg)
        self.path = Path(path)
        self.workers = workers
        self.budget = budget or PixelBudget()
        self._local = threading.local()
        self._handles: list[openslide.OpenSlide] = []
        self._handles_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._slide: Slide | None = None
        self._downsamples: list[float] = [1.0]
        check_slide_file(self.path)
        if detect_openslide_format(self.path) is None:
            self._slide = Slide.open(self.path, self.budget)  # plain image, or SlideOpenError
        else:
            self._downsamples = list(self._first_handle().level_downsamples)

    def _first_handle(self) -> openslide.OpenSlide:
        try:
            return self._handle()
        except (openslide.OpenSlideError, OSError) as error:
            message = " ".join(str(error).split())
            msg = f"cannot open {self.path.name}: {message}"
            raise SlideOpenError(msg) from error

    def __enter__(self) -> TileReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker threads and close every handle they opened."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        with self._handles_lock:
            for handle in self._handles:
                handle.close()
            self._handles.clear()
        if self._slide is not None:
            self._slide.close()

    def _handle(self) -> openslide.OpenSlide:
        handle = getattr(self._local, "handle", None)
        if handle is None:
            handle = openslide.OpenSlide(str(self.path))
            self._local.handle = handle
            with self._handles_lock:
                self._handles.append(handle)
        return handle

    def _drop_handle(self) -> None:
        handle = self._local.handle
        self._local.handle = None
        with self._handles_lock:
            self._handles.remove(handle)
        handle.close()

    def read_one(self, tile: Tile) -> np.ndarray:
        """Read one tile as RGB uint8 (tile_px × tile_px × 3), composited on white.

        Raises:
            SlideReadError: the tile could not be decoded; this thread's handle is reopened.
        """
        if self._slide is not None:
            region = self._slide.read_region(
                tile.box, level=tile.read_level, max_pixels=tile.box.width * tile.box.height
            )
            return resize_rgb(region.image, tile.tile_px, tile.tile_px)
        level_ds = self._downsamples[tile.read_level]
        read_w = max(1, math.ceil(tile.box.width / level_ds - 1e-9))
        read_h = max(1, math.ceil(tile.box.height / level_ds - 1e-9))
        self.budget.check_decode(self.path.name, tile.read_level, read_w, read_h)
        try:
            rgb, _ = read_openslide_rgb(
                self._handle(), tile.box.x0, tile.box.y0, tile.read_level, read_w, read_h
            )
        except openslide.OpenSlideError as error:
            self._drop_handle()
            message = " ".join(str(error).split())
            msg = f"cannot decode {self.path.name} at {tile.box.as_list()}: {message}"
            raise SlideReadError(msg) from error
        return resize_rgb(rgb, tile.tile_px, tile.tile_px)

    def read(self, tiles: Iterable[Tile]) -> Iterator[tuple[Tile, np.ndarray]]:
        """Yield ``(tile, rgb)`` for every tile, in input order."""
        if self.workers == 1:
            for tile in tiles:
                yield tile, self.read_one(tile)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="tile-reader")
        window = self.workers * _PREFETCH_PER_WORKER
        pending: collections.deque[tuple[Tile, Future[np.ndarray]]] = collections.deque()
        try:
            for tile in tiles:
                pending.append((tile, self._pool.submit(self.read_one, tile)))
                if len(pending) >= window:
                    done_tile, future = pending.popleft()
                    yield done_tile, future.result()
            while pending:
                done_tile, future = pending.popleft()
                yield done_tile, future.result()
        finally:
            for _, future in pending:
                future.cancel()
