"""Read many tiles fast: stored tiles decoded once, by worker threads, cut into ordered tiles."""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import openslide

from core.errors import SlideOpenError, SlideReadError, ToolInputError
from tools.cell_grid import CellCache, CellGrid, CellKey
from tools.pixel_budget import PixelBudget
from tools.pixels import read_openslide_rgb, resize_rgb
from tools.slide import Slide, check_slide_file, detect_openslide_format
from tools.tiff_cells import TiffCells
from tools.tiling import Tile

__all__ = ["TileReader"]

logger = logging.getLogger(__name__)

_PREFETCH_PER_WORKER = 4
"""Tiles in flight per worker: bounds memory while keeping every worker busy."""
_CACHE_BYTES = 64 * 2**20
"""Decoded stored tiles kept for neighbouring tiles that share them (RGB bytes)."""
_GRID_VENDORS = frozenset({"aperio", "generic-tiff"})
"""Vendors whose reads are plain copies of stored tiles clipped at the level's edge (tested)."""
_MAX_CELL_PIXELS = 1024 * 1024
"""Stored tiles larger than this are not read whole: such levels are read region by region."""

_Starter = Callable[[Callable[[CellKey], np.ndarray], CellKey], "Future[np.ndarray]"]
"""How a plan starts a cell's decode: now (one worker) or on the pool (``submit``)."""


@dataclass(frozen=True)
class _CellPlan:
    """A tile read as a region of ``grid``: origin and size in pixels of its level."""

    grid: CellGrid
    x: int
    y: int
    width: int
    height: int
    cells: dict[CellKey, Future[np.ndarray]]


class TileReader:
    """Read tiles of one slide as RGB uint8 arrays, in the order given.

    Tiles at a level whose downsample is a whole number, with an origin on that level's pixel
    grid, are cut from the slide's stored tiles: each stored tile is decoded once (straight from
    the TIFF with imagecodecs where the encoding allows, else by OpenSlide), and ``workers``
    threads decode different stored tiles at once (neither decoder holds the GIL). Pixels are
    those of OpenSlide's ``read_region`` composited on white. Other tiles are read region by
    region with OpenSlide; plain images go through ``Slide``.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        workers: int = 1,
        budget: PixelBudget | None = None,
        cache_bytes: int = _CACHE_BYTES,
    ) -> None:
        if workers < 1:
            msg = f"workers must be at least 1, got {workers}"
            raise ToolInputError(msg)
        self.path = Path(path)
        self.workers = workers
        self.budget = budget or PixelBudget()
        self._idle: list[openslide.OpenSlide] = []
        self._handles_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._slide: Slide | None = None
        self._tiff: TiffCells | None = None
        self._grids: dict[int, CellGrid] = {}
        self._cells = CellCache(cache_bytes)
        self._downsamples: list[float] = [1.0]
        check_slide_file(self.path)
        if detect_openslide_format(self.path) is None:
            self._slide = Slide.open(self.path, self.budget)  # plain image, or SlideOpenError
        else:
            self._open_grids()

    def _open_grids(self) -> None:
        try:
            handle = openslide.OpenSlide(str(self.path))
        except (openslide.OpenSlideError, OSError) as error:
            message = " ".join(str(error).split())
            msg = f"cannot open {self.path.name}: {message}"
            raise SlideOpenError(msg) from error
        self._idle.append(handle)
        self._downsamples = [float(ds) for ds in handle.level_downsamples]
        props = handle.properties
        vendor = props.get("openslide.vendor")
        tiles: list[tuple[int, int] | None] = []
        for level, (width, height) in enumerate(handle.level_dimensions):
            tile = _tile_size(props, level)
            tiles.append(tile)
            ds = self._downsamples[level]
            if vendor in _GRID_VENDORS and tile is not None and ds.is_integer():
                self._grids[level] = CellGrid(level, width, height, *tile)
        if self._grids:
            self._tiff = TiffCells.open(self.path, vendor, handle.level_dimensions, tiles)

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
            for handle in self._idle:
                handle.close()
            self._idle.clear()
        if self._tiff is not None:
            self._tiff.close()
            self._tiff = None
        self._cells.clear()
        if self._slide is not None:
            self._slide.close()

    @contextlib.contextmanager
    def _borrow(self) -> Iterator[openslide.OpenSlide]:
        """An idle OpenSlide handle (or a new one); one that failed a read is closed, not reused."""
        with self._handles_lock:
            handle = self._idle.pop() if self._idle else None
        if handle is None:
            handle = openslide.OpenSlide(str(self.path))
        reusable = True
        try:
            yield handle
        except openslide.OpenSlideError:
            reusable = False
            handle.close()  # after a corrupt tile every later read on a handle fails
            raise
        finally:
            if reusable:
                with self._handles_lock:
                    self._idle.append(handle)

    def _read_size(self, tile: Tile) -> tuple[int, int]:
        level_ds = self._downsamples[tile.read_level]
        read_w = max(1, math.ceil(tile.box.width / level_ds - 1e-9))
        read_h = max(1, math.ceil(tile.box.height / level_ds - 1e-9))
        self.budget.check_decode(self.path.name, tile.read_level, read_w, read_h)
        return read_w, read_h

    def _grid_for(self, tile: Tile) -> CellGrid | None:
        """The grid a tile is cut from, None when OpenSlide must read it as a region."""
        grid = self._grids.get(tile.read_level)
        if grid is None or tile.box.x0 < 0 or tile.box.y0 < 0:
            return None
        level_ds = self._downsamples[tile.read_level]
        # OpenSlide reads at level coordinates x / downsample: only whole ones copy pixels as stored
        if not ((tile.box.x0 / level_ds).is_integer() and (tile.box.y0 / level_ds).is_integer()):
            return None
        return grid

    def _decode_cell(self, key: CellKey) -> np.ndarray:
        level, column, row = key
        if self._tiff is not None and self._tiff.serves(level):
            pixels = self._tiff.decode(level, column, row)
            if pixels is not None:
                return pixels
        grid = self._grids[level]
        x, y = column * grid.cell_w, row * grid.cell_h
        width, height = min(grid.cell_w, grid.width - x), min(grid.cell_h, grid.height - y)
        scale = int(self._downsamples[level])
        with self._borrow() as handle:
            rgb, _ = read_openslide_rgb(handle, x * scale, y * scale, level, width, height)
        return rgb

    def _read_region(self, tile: Tile, read_w: int, read_h: int) -> np.ndarray:
        with self._borrow() as handle:
            rgb, _ = read_openslide_rgb(
                handle, tile.box.x0, tile.box.y0, tile.read_level, read_w, read_h
            )
        return rgb

    def _plan(self, tile: Tile, start: _Starter) -> _CellPlan | None:
        read_w, read_h = self._read_size(tile)
        grid = self._grid_for(tile)
        if grid is None:
            return None
        level_ds = int(self._downsamples[tile.read_level])
        x, y = tile.box.x0 // level_ds, tile.box.y0 // level_ds
        size = grid.cell_w * grid.cell_h * 3
        cells = {
            key: self._cells.get(key, size, lambda key=key: start(self._decode_cell, key))
            for key in grid.cells(x, y, read_w, read_h)
        }
        return _CellPlan(grid, x, y, read_w, read_h, cells)

    def _finish(self, tile: Tile, plan: _CellPlan) -> np.ndarray:
        pixels: dict[CellKey, np.ndarray] = {}
        for key, future in plan.cells.items():
            try:
                pixels[key] = future.result()
            except openslide.OpenSlideError as error:
                self._cells.discard(key)
                raise _read_error(self.path, tile, error) from error
        rgb = plan.grid.assemble(plan.x, plan.y, plan.width, plan.height, pixels)
        return resize_rgb(rgb, tile.tile_px, tile.tile_px)

    def _read_direct(self, tile: Tile) -> np.ndarray:
        read_w, read_h = self._read_size(tile)
        try:
            rgb = self._read_region(tile, read_w, read_h)
        except openslide.OpenSlideError as error:
            raise _read_error(self.path, tile, error) from error
        return resize_rgb(rgb, tile.tile_px, tile.tile_px)

    def read_one(self, tile: Tile) -> np.ndarray:
        """Read one tile as RGB uint8 (tile_px × tile_px × 3), composited on white.

        Raises:
            SlideReadError: the tile could not be decoded; the handle that failed is reopened.
        """
        if self._slide is not None:
            region = self._slide.read_region(
                tile.box, level=tile.read_level, max_pixels=tile.box.width * tile.box.height
            )
            return resize_rgb(region.image, tile.tile_px, tile.tile_px)
        plan = self._plan(tile, _run_now)
        if plan is None:
            return self._read_direct(tile)
        return self._finish(tile, plan)

    def _submit(self, tile: Tile) -> Future[np.ndarray] | _CellPlan:
        assert self._pool is not None
        if self._slide is not None:
            return self._pool.submit(self.read_one, tile)
        try:
            plan = self._plan(tile, self._pool.submit)
        except Exception as error:  # noqa: BLE001 - raised in order, when the tile is reached
            failed: Future[np.ndarray] = Future()
            failed.set_exception(error)
            return failed
        return self._pool.submit(self._read_direct, tile) if plan is None else plan

    def read(self, tiles: Iterable[Tile]) -> Iterator[tuple[Tile, np.ndarray]]:
        """Yield ``(tile, rgb)`` for every tile, in input order."""
        if self.workers == 1:
            for tile in tiles:
                yield tile, self.read_one(tile)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="tile-reader")
        window = self.workers * _PREFETCH_PER_WORKER
        pending: collections.deque[tuple[Tile, Future[np.ndarray] | _CellPlan]] = (
            collections.deque()
        )

        def done(tile: Tile, job: Future[np.ndarray] | _CellPlan) -> np.ndarray:
            return self._finish(tile, job) if isinstance(job, _CellPlan) else job.result()

        try:
            for tile in tiles:
                pending.append((tile, self._submit(tile)))
                if len(pending) >= window:
                    yield pending[0][0], done(*pending.popleft())
            while pending:
                yield pending[0][0], done(*pending.popleft())
        finally:
            for _, job in pending:
                if isinstance(job, Future):
                    job.cancel()


def _run_now(fn: Callable[[CellKey], np.ndarray], key: CellKey) -> Future[np.ndarray]:
    """Decode in the calling thread; the result (or the error) in a finished future."""
    future: Future[np.ndarray] = Future()
    try:
        future.set_result(fn(key))
    except openslide.OpenSlideError as error:
        future.set_exception(error)
    return future


def _tile_size(props: openslide._PropertyMap, level: int) -> tuple[int, int] | None:
    """The stored tile size OpenSlide reports for a level, None when unknown or too large."""
    try:
        width = int(props[f"openslide.level[{level}].tile-width"])
        height = int(props[f"openslide.level[{level}].tile-height"])
    except (KeyError, ValueError):
        return None
    if width < 1 or height < 1 or width * height > _MAX_CELL_PIXELS:
        return None
    return width, height


def _read_error(path: Path, tile: Tile, error: Exception) -> SlideReadError:
    message = " ".join(str(error).split())
    return SlideReadError(f"cannot decode {path.name} at {tile.box.as_list()}: {message}")
