"""Open a whole-slide image or plain image and read validated regions from it in level-0 pixels."""

from __future__ import annotations

import copy
import errno
import hashlib
import logging
import math
import stat
import threading
from pathlib import Path
from types import TracebackType

import numpy as np
import openslide

from core.errors import RegionError, SlideOpenError, SlideReadError, ToolInputError
from tools.chunked_read import read_chunked
from tools.image_file import load_plain_image
from tools.pixel_budget import PixelBudget
from tools.pixels import composite_on_white, read_openslide_rgb, resize_rgb
from tools.scale import downsample_for
from tools.tiff_check import check_tiff_complete
from tools.types import Box, LevelInfo, RegionRead, SlideMetadata

__all__ = [
    "Slide",
    "best_level",
    "check_slide_file",
    "detect_openslide_format",
    "file_sha256",
]

logger = logging.getLogger(__name__)

"""Requests up to 1 % finer than level 0 are read at level 0 (rounding of µm/px values)."""

_DIGESTS: dict[tuple[str, int, int], str] = {}
"""sha256 per (resolved path, size in bytes, mtime in ns); filled lazily, never at import."""


def file_sha256(path: Path) -> str:
    """Return the sha256 hex digest of a file, streamed and cached by (path, size, mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def best_level(downsamples: list[float], target: float) -> int:
    """Return the level with the largest downsample not above ``target`` (level 0 at worst)."""
    best = 0
    for index, downsample in enumerate(downsamples):
        if downsample <= target * (1 + 1e-6) and downsample >= downsamples[best]:
            best = index
    return best


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


_SHOWN_PATH_CHARS = 160
"""Longer paths are shown in messages as their start, an ellipsis and the file name."""

_FILE_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def shown_path(path: Path) -> str:
    """``path`` for a one-line message: whole when short, else its start and its file name."""
    text = str(path)
    if len(text) <= _SHOWN_PATH_CHARS:
        return text
    return f"{text[:60]}…/{path.name[-80:]} ({len(text)} characters)"


def check_slide_file(path: Path) -> None:
    """Raise SlideOpenError unless ``path`` is a non-empty regular file that can be read.

    Missing files, directories, link loops, FIFOs and devices (which would block or never
    end), empty and unreadable files are each named in the message.
    """
    try:
        info = path.stat()
    except OSError as error:
        if error.errno == errno.ELOOP:
            msg = f"{shown_path(path)} is a loop of symbolic links, not a slide file"
        elif error.errno in (errno.ENOENT, errno.ENOTDIR):
            msg = f"slide file not found: {shown_path(path)}"
        else:
            msg = f"cannot open {shown_path(path)}: {error.strerror or _one_line(error)}"
        raise SlideOpenError(msg) from None
    if stat.S_ISDIR(info.st_mode):
        msg = f"{shown_path(path)} is a directory, not a slide file"
        raise SlideOpenError(msg)
    if not stat.S_ISREG(info.st_mode):
        kind = _FILE_KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        msg = f"{shown_path(path)} is {kind}, not a slide file"
        raise SlideOpenError(msg)
    if info.st_size == 0:
        msg = f"{path.name} is empty (0 bytes)"
        raise SlideOpenError(msg)
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as error:
        msg = f"cannot read {shown_path(path)}: {error.strerror or _one_line(error)}"
        raise SlideOpenError(msg) from None


def detect_openslide_format(path: Path) -> str | None:
    """Return OpenSlide's vendor name for the file (sniffed by content), None when not a slide."""
    try:
        return openslide.OpenSlide.detect_format(str(path))
    except openslide.OpenSlideError:
        return None


def _float_property(props: openslide._PropertyMap, key: str) -> float | None:
    try:
        value = float(props[key])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


class Slide:
    """An opened slide: OpenSlide for pyramidal formats, an in-memory array for plain images.

    Every box is in level-0 pixels. Reads are serialised by a lock, so a Slide may be shared
    between threads; parallel tile reading uses ``tools.tile_reader.TileReader`` instead.
    Every read is checked against the pixel budget before any pixel is decoded.
    """

    def __init__(
        self,
        path: Path,
        handle: openslide.OpenSlide | None,
        pixels: np.ndarray | None,
        budget: PixelBudget | None = None,
    ) -> None:
        self.path = path
        self._handle = handle
        self._pixels = pixels
        self.budget = budget or PixelBudget()
        self._lock = threading.Lock()
        self._metadata: SlideMetadata | None = None
        self._closed = False

    @classmethod
    def open(cls, path: str | Path, budget: PixelBudget | None = None) -> Slide:
        """Open any format OpenSlide reads, or a plain image as a single-level slide.

        A TIFF-based file is first checked to be whole (no directory or pixel block past its
        end); a plain image's declared size is checked against ``budget`` before decoding.

        Raises:
            SlideOpenError: missing, empty, directory, unknown, truncated, unsupported or too
                large file.
        """
        path = Path(path)
        budget = budget or PixelBudget()
        check_slide_file(path)
        vendor = detect_openslide_format(path)
        if vendor != "hamamatsu":  # NDPI keeps 64-bit offsets in 32-bit TIFF fields
            check_tiff_complete(path)
        if vendor is None:
            logger.debug("%s: not an OpenSlide format, opening as a plain image", path)
            return cls(path, None, load_plain_image(path, budget), budget)
        try:
            handle = openslide.OpenSlide(str(path))
        except (openslide.OpenSlideError, OSError) as error:
            msg = f"cannot open {path.name} as a {vendor} slide: {_one_line(error)}"
            raise SlideOpenError(msg) from error
        return cls(path, handle, None, budget)

    def __enter__(self) -> Slide:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the OpenSlide handle or the decoded image."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
            self._handle = None
            self._pixels = None
            self._closed = True

    @property
    def backend(self) -> str:
        """``"openslide"`` or ``"image"``."""
        return "image" if self._pixels is not None or self._handle is None else "openslide"

    @property
    def metadata(self) -> SlideMetadata:
        """Sizes, pyramid, resolution and associated image names (never their pixels)."""
        if self._metadata is None:
            self._metadata = self._build_metadata()
        return self._metadata

    def _build_metadata(self) -> SlideMetadata:
        handle = self._require_open()
        common = {
            "slide_id": file_sha256(self.path),
            "path": str(self.path),
            "name": self.path.name,
        }
        if handle is None:
            assert self._pixels is not None
            height, width = self._pixels.shape[:2]
            level = LevelInfo(level=0, width=width, height=height, downsample=1.0, mpp=None)
            return SlideMetadata(
                **common,
                backend="image",
                vendor=None,
                width=width,
                height=height,
                levels=[level],
                mpp_x=None,
                mpp_y=None,
                objective_power=None,
            )
        props = handle.properties
        mpp_x = _float_property(props, openslide.PROPERTY_NAME_MPP_X)
        mpp_y = _float_property(props, openslide.PROPERTY_NAME_MPP_Y)
        levels = [
            LevelInfo(
                level=i,
                width=w,
                height=h,
                downsample=float(ds),
                mpp=None if mpp_x is None else mpp_x * float(ds),
            )
            for i, ((w, h), ds) in enumerate(
                zip(handle.level_dimensions, handle.level_downsamples, strict=True)
            )
        ]
        return SlideMetadata(
            **common,
            backend="openslide",
            vendor=props.get(openslide.PROPERTY_NAME_VENDOR),
            width=levels[0].width,
            height=levels[0].height,
            levels=levels,
            mpp_x=mpp_x,
            mpp_y=mpp_y,
            objective_power=_float_property(props, openslide.PROPERTY_NAME_OBJECTIVE_POWER),
            associated_images=sorted(handle.associated_images.keys()),
        )

    def with_stated_mpp(self, mpp: float, magnification: float | None = None) -> Slide:
        """This slide read at a µm/px the user stated; itself when the file records one.

        The view shares the open handle (and its lock) with this slide; only the metadata
        differs: µm/px on every level, and ``mpp_stated`` set so that answers say where the
        scale came from; a stated magnification is the objective power when the file records
        none. Closing stays with the slide cache's own object.
        """
        meta = self.metadata
        if meta.mpp_x is not None or not (math.isfinite(mpp) and mpp > 0):
            return self
        view = copy.copy(self)
        view._metadata = meta.model_copy(
            update={
                "mpp_x": mpp,
                "mpp_y": mpp,
                "mpp_stated": True,
                "objective_power": meta.objective_power or magnification,
                "levels": [
                    lv.model_copy(update={"mpp": mpp * lv.downsample}) for lv in meta.levels
                ],
            }
        )
        return view

    def _require_open(self) -> openslide.OpenSlide | None:
        if self._closed:
            msg = f"slide {self.path.name} is closed"
            raise SlideReadError(msg)
        if self._handle is None and self._pixels is None:
            self._reopen()
        return self._handle

    def target_downsample(
        self,
        *,
        level: int | None = None,
        mpp: float | None = None,
        magnification: float | None = None,
        downsample: float | None = None,
    ) -> float:
        """Level-0 pixels per output pixel for one of level / µm/px / magnification / downsample.

        Raises:
            ToolInputError: several given, or the slide records no mpp / objective power.
            RegionError: the level does not exist, or the request would upsample level 0.
        """
        return downsample_for(
            self.metadata,
            level=level,
            mpp=mpp,
            magnification=magnification,
            downsample=downsample,
        )

    def read_region(
        self,
        box: Box,
        *,
        level: int | None = None,
        mpp: float | None = None,
        magnification: float | None = None,
        downsample: float | None = None,
        max_pixels: int,
    ) -> RegionRead:
        """Read ``box`` (level-0 px) at a level, µm/px or magnification (level 0 when none).

        Args:
            box: region in level-0 pixels; must lie entirely on the slide.
            level: pyramid level whose resolution the output has.
            mpp: µm per output pixel.
            magnification: objective magnification of the output (e.g. 10 for 10x).
            downsample: level-0 pixels per output pixel.
            max_pixels: largest output allowed, in output pixels (width × height).

        Returns:
            RGB uint8 pixels composited on white, with the share of transparent pixels.

        Raises:
            RegionError: off-slide box, unknown level, upsampling, output over ``max_pixels``,
                or more pixels to decode than the budget allows.
            ToolInputError: mpp or magnification requested from a slide that lacks it.
            SlideReadError: the pixels could not be decoded; the handle is reopened.
        """
        downsample = self.target_downsample(
            level=level, mpp=mpp, magnification=magnification, downsample=downsample
        )
        out_w, out_h = self._check_box(box, downsample, max_pixels)
        with self._lock:
            image, read_level, transparent = self._decode(box, downsample, out_w, out_h)
        meta = self.metadata
        actual = box.width / out_w
        return RegionRead(
            image=image,
            box=box,
            level=read_level,
            downsample=actual,
            mpp=None if meta.mpp_x is None else meta.mpp_x * actual,
            transparent_fraction=transparent,
        )

    def _check_box(self, box: Box, downsample: float, max_pixels: int) -> tuple[int, int]:
        meta = self.metadata
        if box.x0 < 0 or box.y0 < 0 or box.x1 > meta.width or box.y1 > meta.height:
            msg = (
                f"box {box.as_list()} (level-0 px) is not entirely on the slide, "
                f"whose level-0 size is {meta.width}×{meta.height}"
            )
            raise RegionError(msg)
        out_w = max(1, round(box.width / downsample))
        out_h = max(1, round(box.height / downsample))
        if out_w * out_h > max_pixels:
            msg = (
                f"region of {out_w}×{out_h} = {out_w * out_h} output pixels exceeds the "
                f"budget of {max_pixels} pixels; ask for a smaller box or a coarser resolution"
            )
            raise RegionError(msg)
        return out_w, out_h

    def _decode(
        self, box: Box, downsample: float, out_w: int, out_h: int
    ) -> tuple[np.ndarray, int, float]:
        handle = self._require_open()
        if handle is None:
            assert self._pixels is not None
            crop = self._pixels[box.y0 : box.y1, box.x0 : box.x1]
            rgb, transparent = composite_on_white(crop)
            return resize_rgb(rgb, out_w, out_h), 0, transparent
        level = best_level(list(handle.level_downsamples), downsample)
        level_ds = handle.level_downsamples[level]
        read_w = max(1, math.ceil(box.width / level_ds))
        read_h = max(1, math.ceil(box.height / level_ds))
        self.budget.check_decode(self.path.name, level, read_w, read_h)
        chunk = self.budget.chunk_pixels
        try:
            if read_w * read_h > chunk:
                image, transparent = read_chunked(
                    handle, box, level, out_w, out_h, chunk_pixels=chunk
                )
                return image, level, transparent
            rgb, transparent = read_openslide_rgb(handle, box.x0, box.y0, level, read_w, read_h)
        except openslide.OpenSlideError as error:
            self._reopen()
            msg = f"cannot decode {self.path.name} at {box.as_list()}: {_one_line(error)}"
            raise SlideReadError(msg) from error
        return resize_rgb(rgb, out_w, out_h), level, transparent

    def _reopen(self) -> None:
        """Close and reopen the OpenSlide handle: after one decode error every read fails."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        try:
            self._handle = openslide.OpenSlide(str(self.path))
        except (openslide.OpenSlideError, OSError) as error:
            msg = f"cannot reopen {self.path.name}: {_one_line(error)}"
            raise SlideReadError(msg) from error
        logger.info("reopened %s after a decode error", self.path)

    def thumbnail(self, max_px: int) -> tuple[np.ndarray, float]:
        """Return an RGB thumbnail of the whole slide, longest side <= ``max_px``, from the pyramid.

        Returns:
            The RGB uint8 image and its downsample (level-0 px per thumbnail px, along x).

        Raises:
            RegionError: the slide has no pyramid level coarse enough to decode within the
                pixel budget.
        """
        meta = self.metadata
        if max_px < 1:
            msg = f"max_px must be positive, got {max_px}"
            raise ToolInputError(msg)
        downsample = max(1.0, max(meta.width, meta.height) / max_px)
        out_w = min(max_px, max(1, math.floor(meta.width / downsample + 1e-9)))
        out_h = min(max_px, max(1, math.floor(meta.height / downsample + 1e-9)))
        box = Box(x0=0, y0=0, x1=meta.width, y1=meta.height)
        with self._lock:
            image, _, _ = self._decode(box, downsample, out_w, out_h)
        return image, meta.width / out_w
