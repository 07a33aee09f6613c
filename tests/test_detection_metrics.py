from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from scipy import ndimage as ndi

from eval.detection_metrics import (
    aggregated_jaccard_index,
    match_by_centroid,
    match_by_iou,
)
from eval.nuclei_hgsc import label_centroids


def _squares() -> np.ndarray:
    """Three 10x10 squares labelled 1, 2, 3 on a 40x40 canvas."""
    truth = np.zeros((40, 40), dtype=np.int32)
    truth[0:10, 0:10] = 1
    truth[0:10, 20:30] = 2
    truth[20:30, 0:10] = 3
    return truth


def test_iou_hand_made_counts() -> None:
    truth = _squares()
    pred = np.zeros_like(truth)
    pred[0:10, 0:10] = 7  # exact match, arbitrary id
    pred[0:10, 24:30] = 9  # IoU 0.6 with truth 2 -> match
    pred[20:30, 0:4] = 4  # IoU 0.4 with truth 3 -> no match
    pred[35:40, 35:40] = 5  # no overlap -> fp
    s = match_by_iou(pred, truth)
    assert (s.tp, s.fp, s.fn) == (2, 2, 1)
    assert (s.count_pred, s.count_truth, s.count_error) == (4, 3, 1)
    assert s.precision == pytest.approx(0.5)
    assert s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(4 / 7)
    assert s.relative_count_error == pytest.approx(1 / 3)
    assert s.mean_iou == pytest.approx(0.8)


def test_iou_threshold_below_half_uses_assignment() -> None:
    truth = _squares()
    pred = np.zeros_like(truth)
    pred[20:30, 0:4] = 1  # IoU 0.4
    assert match_by_iou(pred, truth, threshold=0.3).tp == 1
    assert match_by_iou(pred, truth, threshold=0.5).tp == 0


@pytest.mark.parametrize(
    ("n_pred", "n_truth", "expected"),
    [(0, 0, (1.0, 1.0, 1.0)), (0, 3, (0.0, 0.0, 0.0)), (3, 0, (0.0, 0.0, 0.0))],
)
def test_iou_empty_conventions(n_pred: int, n_truth: int, expected: tuple) -> None:
    empty = np.zeros((40, 40), dtype=np.int32)
    pred = _squares() if n_pred else empty
    truth = _squares() if n_truth else empty
    s = match_by_iou(pred, truth)
    assert (s.precision, s.recall, s.f1) == expected
    assert s.mean_iou is None
    assert s.relative_count_error == (None if n_truth == 0 else -1.0)


def test_iou_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="shape"):
        match_by_iou(np.zeros((4, 4), int), np.zeros((5, 4), int))


def test_centroid_hand_made() -> None:
    truth = np.array([[10.0, 10.0], [20.0, 10.0], [50.0, 50.0]])
    # one pred sits between the first two truths; optimal assignment must still match both
    pred = np.array([[14.0, 10.0], [21.0, 10.0], [90.0, 90.0]])
    s = match_by_centroid(pred, truth, max_distance=5.0)
    assert (s.tp, s.fp, s.fn) == (2, 1, 1)
    assert s.mean_distance == pytest.approx(2.5)
    assert match_by_centroid(pred, truth, max_distance=3.9).tp == 1


def test_centroid_cutoff_inclusive_and_empty() -> None:
    assert match_by_centroid([[0.0, 0.0]], [[3.0, 4.0]], max_distance=5.0).tp == 1
    s = match_by_centroid(np.empty((0, 2)), [[1.0, 1.0]], max_distance=5.0)
    assert (s.tp, s.fn, s.precision, s.recall) == (0, 1, 0.0, 0.0)
    both = match_by_centroid([], [], max_distance=5.0)
    assert both.f1 == 1.0
    with pytest.raises(ValueError, match="shape"):
        match_by_centroid(np.zeros((3, 3)), np.zeros((1, 2)), 1.0)


def test_aji_hand_made() -> None:
    truth = _squares()
    assert aggregated_jaccard_index(truth, truth) == 1.0
    pred = np.zeros_like(truth)
    pred[0:10, 0:5] = 1  # half of truth 1: C=50, U=100
    pred[35:40, 35:40] = 2  # unused pred: U += 25; truths 2, 3 missed: U += 200
    assert aggregated_jaccard_index(pred, truth) == pytest.approx(50 / 325)
    empty = np.zeros_like(truth)
    assert aggregated_jaccard_index(empty, empty) == 1.0
    assert aggregated_jaccard_index(empty, truth) == 0.0


@pytest.fixture
def stardist_mask(shared_data: Path) -> np.ndarray:
    return tifffile.imread(shared_data / "stardist_sample" / "mask2d.tif").astype(np.int32)


@pytest.mark.shared_data
def test_stardist_mask_against_itself(stardist_mask: np.ndarray) -> None:
    n = len(np.unique(stardist_mask)) - 1
    assert n == 125
    s = match_by_iou(stardist_mask, stardist_mask)
    assert (s.tp, s.fp, s.fn, s.f1, s.mean_iou) == (125, 0, 0, 1.0, 1.0)
    xy = label_centroids(stardist_mask)
    c = match_by_centroid(xy, xy, max_distance=1.0)
    assert (c.tp, c.fp, c.fn, c.mean_distance) == (125, 0, 0, 0.0)
    assert aggregated_jaccard_index(stardist_mask, stardist_mask) == 1.0


def _largest_ids(mask: np.ndarray, k: int) -> np.ndarray:
    area = np.bincount(mask.ravel())
    area[0] = 0
    return np.argsort(area, kind="stable")[::-1][:k]


@pytest.mark.shared_data
def test_stardist_mask_perturbed(stardist_mask: np.ndarray) -> None:
    truth = stardist_mask
    pred = truth.copy()
    ids = _largest_ids(truth, 14)
    removed, split, merged, eroded = ids[:3], ids[3:6], ids[6:9], ids[9:14]
    pred[np.isin(pred, removed)] = 0  # 3 fn
    fresh = int(truth.max()) + 1
    for lab in split:  # three strips, each IoU ~1/3: 1 fn + 3 fp per nucleus
        ys, xs = np.nonzero(pred == lab)
        order = np.lexsort((ys, xs))
        for k, part in enumerate(np.array_split(order, 3)):
            pred[ys[part], xs[part]] = fresh + k
        fresh += 3
    pred[np.isin(pred, merged)] = merged[0]  # one union, IoU ~1/3 with each: 3 fn + 1 fp
    for lab in eroded:  # a 1-px erosion of a large nucleus keeps IoU > 0.5: still tp
        inside = ndi.binary_erosion(truth == lab)
        pred[(truth == lab) & ~inside] = 0
    s = match_by_iou(pred, truth)
    assert (s.tp, s.fp, s.fn) == (116, 9 + 1, 3 + 3 + 3)
    assert (s.count_pred, s.count_truth, s.count_error) == (126, 125, 1)
    assert 0.5 < s.mean_iou < 1.0
    c = match_by_centroid(label_centroids(truth), label_centroids(truth)[3:], max_distance=1.0)
    assert (c.tp, c.fp, c.fn) == (122, 3, 0)
