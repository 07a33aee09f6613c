"""Check that a TIFF-based file is whole: every directory and pixel block lies inside the file.

A TIFF cut short (an interrupted copy or upload) may still open: OpenSlide rejects it, then a
plain-image reader decodes the first page and the missing directories go unnoticed. Walking the
directory chain and the strip/tile offsets, without decoding any pixel, finds the cut.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

from core.errors import SlideOpenError

__all__ = ["check_tiff_complete", "is_tiff"]

_MAGIC = {b"II*\x00": ("<", False), b"MM\x00*": (">", False)}
_BIG_MAGIC = {b"II+\x00": ("<", True), b"MM\x00+": (">", True)}
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_TYPE_SIZE |= {16: 8, 17: 8, 18: 8}
_INT_DTYPES = {3: "u2", 4: "u4", 13: "u4", 16: "u8", 18: "u8"}
_OFFSETS = {273: 279, 324: 325}
"""StripOffsets → StripByteCounts, TileOffsets → TileByteCounts."""
_MAX_DIRECTORIES = 4096
"""Directories walked at most: a longer chain is a loop or garbage."""


def is_tiff(path: Path) -> bool:
    """True when the file starts with a TIFF or BigTIFF header."""
    with path.open("rb") as handle:
        head = handle.read(4)
    return head in _MAGIC or head in _BIG_MAGIC


def check_tiff_complete(path: Path) -> None:
    """Raise SlideOpenError when a TIFF's directories or pixel blocks run past the end of file.

    Files that are not TIFF are left alone. Blocks with a zero byte count (sparse files) pass.
    Hamamatsu NDPI stores 64-bit offsets in 32-bit fields: do not pass such files here.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(16)
        if head[:4] in _MAGIC:
            order, big = _MAGIC[head[:4]]
        elif head[:4] in _BIG_MAGIC:
            order, big = _BIG_MAGIC[head[:4]]
        else:
            return
        header = 16 if big else 8
        _within(path.name, size, 0, header, "the TIFF header")
        first = struct.unpack(order + ("Q" if big else "I"), head[header // 2 : header])[0]
        try:
            _walk(handle, path.name, size, order, big, first)
        except (struct.error, OverflowError, ValueError) as error:  # a field read short or garbled
            msg = f"{path.name} is a corrupt TIFF: {error}"
            raise SlideOpenError(msg) from error


def _walk(handle: BinaryIO, name: str, size: int, order: str, big: bool, offset: int) -> None:
    count_fmt, entry_size, next_fmt = ("Q", 20, "Q") if big else ("H", 12, "I")
    seen: dict[int, int] = {}
    """Offset → number (from 1) of each directory walked."""
    while offset and len(seen) < _MAX_DIRECTORIES:
        if offset in seen:
            msg = (
                f"{name} is corrupt: its directory chain loops (directory {len(seen) + 1} is "
                f"directory {seen[offset]} again)"
            )
            raise SlideOpenError(msg)
        seen[offset] = len(seen) + 1
        count_size = struct.calcsize(count_fmt)
        _within(name, size, offset, count_size, f"directory {len(seen)}")
        handle.seek(offset)
        count = struct.unpack(order + count_fmt, handle.read(count_size))[0]
        table = count * entry_size + struct.calcsize(next_fmt)
        _within(name, size, offset + count_size, table, f"directory {len(seen)}")
        raw = handle.read(table)
        entries = _entries(raw[: count * entry_size], order, big, count)
        _check_blocks(handle, name, size, order, big, entries, len(seen))
        _check_block_count(handle, name, size, order, big, entries, len(seen))
        offset = struct.unpack(order + next_fmt, raw[count * entry_size :])[0]


def _entries(raw: bytes, order: str, big: bool, count: int) -> dict[int, tuple[int, int, bytes]]:
    """Tag → (type, count, value-or-offset field) of one directory."""
    fmt, size = (order + "HHQ8s", 20) if big else (order + "HHI4s", 12)
    found = {}
    for i in range(count):
        tag, kind, n, field = struct.unpack(fmt, raw[i * size : (i + 1) * size])
        found[tag] = (kind, n, field)
    return found


def _values(
    handle: BinaryIO,
    name: str,
    size: int,
    order: str,
    big: bool,
    entry: tuple[int, int, bytes],
    what: str,
) -> np.ndarray:
    kind, n, field = entry
    dtype = _INT_DTYPES.get(kind)
    if dtype is None:
        msg = f"{name}: {what} has an unexpected TIFF type {kind}"
        raise SlideOpenError(msg)
    nbytes = n * _TYPE_SIZE[kind]
    if nbytes <= len(field):
        data = field[:nbytes]
    else:
        where = struct.unpack(order + ("Q" if big else "I"), field)[0]
        _within(name, size, where, nbytes, what)
        handle.seek(where)
        data = handle.read(nbytes)
    return np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder(order)).astype(np.uint64)


def _check_blocks(
    handle: BinaryIO,
    name: str,
    size: int,
    order: str,
    big: bool,
    entries: dict[int, tuple[int, int, bytes]],
    index: int,
) -> None:
    for offsets_tag, counts_tag in _OFFSETS.items():
        if offsets_tag not in entries or counts_tag not in entries:
            continue
        what = f"the pixel blocks of directory {index}"
        offsets = _values(handle, name, size, order, big, entries[offsets_tag], what)
        counts = _values(handle, name, size, order, big, entries[counts_tag], what)
        if offsets.shape != counts.shape:
            msg = f"{name}: directory {index} lists {offsets.size} blocks but {counts.size} sizes"
            raise SlideOpenError(msg)
        ends = np.where(counts > 0, offsets + counts, 0)
        if ends.size and int(ends.max()) > size:
            msg = (
                f"{name} is truncated or corrupt: a pixel block of directory {index} ends at "
                f"byte {int(ends.max())}, past the end of the file ({size} bytes)"
            )
            raise SlideOpenError(msg)


def _first(
    handle: BinaryIO,
    name: str,
    size: int,
    order: str,
    big: bool,
    entries: dict[int, tuple[int, int, bytes]],
    tag: int,
    default: int | None,
) -> int | None:
    """The first value of an integer tag, ``default`` when the directory lacks it."""
    if tag not in entries:
        return default
    values = _values(handle, name, size, order, big, entries[tag], f"tag {tag}")
    return int(values[0]) if values.size else default


def _check_block_count(
    handle: BinaryIO,
    name: str,
    size: int,
    order: str,
    big: bool,
    entries: dict[int, tuple[int, int, bytes]],
    index: int,
) -> None:
    """Refuse a directory that lists fewer tiles or strips than its declared size needs.

    A width or height garbled upwards (bit rot, a hostile file) otherwise opens as an image
    whose blocks beyond the listed ones do not exist.
    """

    def tag(code: int, default: int | None = None) -> int | None:
        return _first(handle, name, size, order, big, entries, code, default)

    width, height = tag(256), tag(257)
    if width is None or height is None or width < 1 or height < 1:
        return  # no image in this directory, or an empty one: the readers refuse it
    planes = tag(277, 1) if tag(284, 1) == 2 else 1
    if 324 in entries:
        tile_w, tile_h = tag(322, 0), tag(323, 0)
        if not tile_w or not tile_h:
            msg = f"{name} is corrupt: directory {index} has tiles of size {tile_w}×{tile_h}"
            raise SlideOpenError(msg)
        needed = -(-width // tile_w) * -(-height // tile_h) * (planes or 1)
        listed, what = entries[324][1], f"{tile_w}×{tile_h} tiles"
    elif 273 in entries:
        rows = tag(278, height) or height
        needed = -(-height // min(rows, height)) * (planes or 1)
        listed, what = entries[273][1], f"strips of {min(rows, height)} rows"
    else:
        return
    if listed < needed:
        msg = (
            f"{name} is corrupt: directory {index} declares {width}×{height} pixels in {what}, "
            f"which takes {needed} blocks, but lists {listed}"
        )
        raise SlideOpenError(msg)


def _within(name: str, size: int, start: int, length: int, what: str) -> None:
    if start + length > size:
        msg = (
            f"{name} is truncated or corrupt: {what} lies at bytes {start}-{start + length}, "
            f"past the end of the file ({size} bytes)"
        )
        raise SlideOpenError(msg)
