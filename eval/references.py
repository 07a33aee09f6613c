"""Reference data that answer keys point at: instance masks, label tables, polygon rasters.

Reading is cached per file, so a suite whose cases share one reference reads it once.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

__all__ = [
    "ReferenceError",
    "csv_label",
    "instance_boxes",
    "instance_mask",
    "npz_arrays",
    "rasterise_polygons",
]


class ReferenceError(ValueError):
    """A reference file or the array or row a key names cannot be read."""


@lru_cache(maxsize=8)
def npz_arrays(path: Path) -> tuple[str, ...]:
    """Names of the arrays in an ``.npz`` file."""
    try:
        with np.load(path) as npz:
            return tuple(npz.files)
    except (OSError, ValueError) as exc:
        msg = f"{path}: not a readable .npz file: {exc}"
        raise ReferenceError(msg) from None


@lru_cache(maxsize=4)
def instance_mask(path: Path, array: str) -> np.ndarray:
    """The instance label mask ``array`` of an ``.npz`` file (0 = background), read-only."""
    if array not in npz_arrays(path):
        msg = f"{path}: no array {array!r}; it holds {', '.join(npz_arrays(path))}"
        raise ReferenceError(msg)
    with np.load(path) as npz:
        labels = np.asarray(npz[array])
    if labels.ndim != 2:
        msg = f"{path}: array {array!r} has shape {labels.shape}, not a 2-D label mask"
        raise ReferenceError(msg)
    labels.setflags(write=False)
    return labels


def instance_boxes(labels: np.ndarray) -> np.ndarray:
    """(N, 4) [x0, y0, x1, y1] boxes (x1, y1 exclusive) of the instances of a label mask."""
    _, dense = np.unique(labels, return_inverse=True)
    dense = dense.reshape(labels.shape)
    if not (labels == 0).any():
        dense = dense + 1
    boxes = [
        (s[1].start, s[0].start, s[1].stop, s[0].stop)
        for s in ndi.find_objects(dense)
        if s is not None
    ]
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def rasterise_polygons(
    polygons: Sequence[Sequence[Sequence[float]]], shape: tuple[int, int]
) -> np.ndarray:
    """Instance label mask (1..N in order; a later polygon wins an overlap) of pixel polygons.

    Vertices are [x, y] in the mask's pixel frame, at pixel centres (x + 0.5): a pixel belongs
    to a polygon when its centre lies inside.
    """
    from skimage.draw import polygon as fill

    labels = np.zeros(shape, dtype=np.int32)
    for index, poly in enumerate(polygons, start=1):
        pts = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
        if len(pts) < 3:
            continue
        rr, cc = fill(pts[:, 1] - 0.5, pts[:, 0] - 0.5, shape=shape)
        labels[rr, cc] = index
    return labels


@lru_cache(maxsize=8)
def _csv_rows(path: Path) -> tuple[dict[str, str], ...]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            return tuple(csv.DictReader(fh, delimiter="\t" if path.suffix == ".tsv" else ","))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        msg = f"{path}: not a readable table: {exc}"
        raise ReferenceError(msg) from None


def csv_label(path: Path, key_column: str, key: str, column: str) -> str:
    """The ``column`` value of the one row of a table whose ``key_column`` is ``key``.

    ``.tsv`` files are read tab-separated, others as CSV.
    """
    rows = _csv_rows(path)
    if rows and (key_column not in rows[0] or column not in rows[0]):
        missing = [c for c in (key_column, column) if c not in rows[0]]
        msg = f"{path}: no column {', '.join(map(repr, missing))}"
        raise ReferenceError(msg)
    found = [r[column] for r in rows if r.get(key_column) == key]
    if len(found) != 1:
        what = "no row" if not found else f"{len(found)} rows"
        msg = f"{path}: {what} with {key_column} = {key!r}"
        raise ReferenceError(msg)
    return found[0]
