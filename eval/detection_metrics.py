"""Score nuclei detections against reference instances: IoU and centroid matching, AJI."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field
from scipy import ndimage as ndi
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

__all__ = [
    "label_centroids",
    "scores_from_matches",
    "DetectionScores",
    "aggregated_jaccard_index",
    "match_by_centroid",
    "match_by_iou",
    "overlap_table",
]


class DetectionScores(BaseModel):
    """Counts and rates of a one-to-one matching between predicted and reference objects.

    Conventions for empty inputs: a rate whose denominator is zero is 1.0 when both sides are
    empty (nothing to find, nothing found wrongly) and 0.0 otherwise. So no predictions against
    some truth gives precision 0, recall 0, F1 0; both empty gives 1, 1, 1.
    """

    method: str = Field(description="How objects were matched, e.g. 'iou>0.5' or 'centroid<=6px'.")
    tp: int = Field(ge=0, description="Matched pairs.")
    fp: int = Field(ge=0, description="Predictions left unmatched.")
    fn: int = Field(ge=0, description="Reference objects left unmatched.")
    precision: float = Field(ge=0.0, le=1.0, description="tp / count_pred.")
    recall: float = Field(ge=0.0, le=1.0, description="tp / count_truth.")
    f1: float = Field(ge=0.0, le=1.0, description="2 tp / (2 tp + fp + fn).")
    count_pred: int = Field(ge=0, description="Number of predicted objects.")
    count_truth: int = Field(ge=0, description="Number of reference objects.")
    count_error: int = Field(description="count_pred - count_truth.")
    relative_count_error: float | None = Field(
        description="count_error / count_truth; None when there is no reference object."
    )
    mean_iou: float | None = Field(
        default=None, description="Mean IoU of matched pairs (IoU matching only; None if tp=0)."
    )
    mean_distance: float | None = Field(
        default=None,
        description="Mean centroid distance of matched pairs, in the input's pixel units "
        "(centroid matching only; None if tp=0).",
    )


def _rate(num: int, den: int, other: int) -> float:
    """Return num/den; 1.0 when both den and other are zero, else 0.0 when den is zero."""
    if den == 0:
        return 1.0 if other == 0 else 0.0
    return num / den


def scores_from_matches(
    method: str, tp: int, n_pred: int, n_truth: int, **extra: float | None
) -> DetectionScores:
    """Build DetectionScores from the number of matches and the two object counts."""
    fp, fn = n_pred - tp, n_truth - tp
    den = 2 * tp + fp + fn
    return DetectionScores(
        method=method,
        tp=tp,
        fp=fp,
        fn=fn,
        precision=_rate(tp, n_pred, n_truth),
        recall=_rate(tp, n_truth, n_pred),
        f1=1.0 if den == 0 else 2 * tp / den,
        count_pred=n_pred,
        count_truth=n_truth,
        count_error=n_pred - n_truth,
        relative_count_error=None if n_truth == 0 else (n_pred - n_truth) / n_truth,
        **extra,
    )


def label_centroids(labels: np.ndarray) -> np.ndarray:
    """Return the (N, 2) x, y centroids, image pixels, of the instances of a label mask."""
    ids = np.unique(labels)
    ids = ids[ids != 0]
    if ids.size == 0:
        return np.empty((0, 2))
    yx = np.asarray(ndi.center_of_mass(np.ones(labels.shape), labels, ids), dtype=np.float64)
    return yx[:, ::-1]


def _dense_ids(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Relabel an instance mask to 0..n (0 stays background); return flat ids and n."""
    ids, inverse = np.unique(labels.ravel(), return_inverse=True)
    if ids[0] != 0:  # no background pixel: shift so that 0 remains free
        inverse = inverse + 1
    return inverse.astype(np.int64), int(np.count_nonzero(ids))


def overlap_table(
    pred: np.ndarray, truth: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count the pixel overlap of every intersecting (pred, truth) pair by joint histogram.

    Args:
        pred: instance labels, 0 = background, any integer ids.
        truth: instance labels of the same shape.

    Returns:
        (pi, ti, inter, area_pred, area_truth): for each overlapping pair its 0-based dense
        pred and truth indices and intersection in pixels; areas per dense index.

    Raises:
        ValueError: when the shapes differ.
    """
    if pred.shape != truth.shape:
        msg = f"pred shape {pred.shape} differs from truth shape {truth.shape}"
        raise ValueError(msg)
    p, n_pred = _dense_ids(pred)
    t, n_truth = _dense_ids(truth)
    area_pred = np.bincount(p, minlength=n_pred + 1)[1:]
    area_truth = np.bincount(t, minlength=n_truth + 1)[1:]
    both = (p > 0) & (t > 0)
    pair, inter = np.unique(p[both] * (n_truth + 1) + t[both], return_counts=True)
    pi, ti = np.divmod(pair, n_truth + 1)
    return pi - 1, ti - 1, inter, area_pred, area_truth


def match_by_iou(pred: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> DetectionScores:
    """Match instances one-to-one where IoU > threshold.

    For threshold >= 0.5 a pair with IoU > threshold is the only candidate of both its
    members, so matching is direct; below 0.5 the assignment maximising total IoU is used.

    Args:
        pred: predicted instance labels, 0 = background.
        truth: reference instance labels of the same shape.
        threshold: IoU a pair must exceed to count as a match.
    """
    pi, ti, inter, area_pred, area_truth = overlap_table(pred, truth)
    iou = inter / (area_pred[pi] + area_truth[ti] - inter)
    keep = iou > threshold
    pi, ti, iou = pi[keep], ti[keep], iou[keep]
    if threshold < 0.5 and iou.size:
        matrix = coo_matrix((iou, (pi, ti)), shape=(area_pred.size, area_truth.size)).toarray()
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        iou = matrix[rows, cols]
        iou = iou[iou > threshold]
    tp = int(iou.size)
    mean_iou = float(iou.mean()) if tp else None
    return scores_from_matches(
        f"iou>{threshold:g}", tp, area_pred.size, area_truth.size, mean_iou=mean_iou
    )


def _as_points(xy: np.ndarray, name: str) -> np.ndarray:
    """Return xy as a float (N, 2) array; raise ValueError on another shape."""
    arr = np.asarray(xy, dtype=np.float64)
    if arr.size == 0:
        return arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        msg = f"{name} must have shape (N, 2), got {arr.shape}"
        raise ValueError(msg)
    return arr


def _assign_component(dist: np.ndarray, cutoff: float) -> np.ndarray:
    """Return matched distances of a dense block: most matches first, then least total distance."""
    big = cutoff * (min(dist.shape) + 1) + 1.0
    cost = np.where(np.isfinite(dist), dist, big)
    rows, cols = linear_sum_assignment(cost)
    found = dist[rows, cols]
    return found[np.isfinite(found)]


def match_by_centroid(
    pred_xy: np.ndarray, truth_xy: np.ndarray, max_distance: float
) -> DetectionScores:
    """Match points one-to-one within max_distance by optimal assignment.

    The bipartite graph of pairs closer than max_distance is split into connected components
    and each is solved with linear_sum_assignment, maximising the number of matches and then
    minimising their total distance. Memory stays proportional to the close pairs.

    Args:
        pred_xy: (N, 2) predicted centroids (x, y), any pixel frame shared with truth_xy.
        truth_xy: (M, 2) reference centroids in the same frame and unit.
        max_distance: largest distance of a match, in that unit (inclusive).
    """
    pred, truth = _as_points(pred_xy, "pred_xy"), _as_points(truth_xy, "truth_xy")
    n_pred, n_truth = len(pred), len(truth)
    method = f"centroid<={max_distance:g}"
    if n_pred == 0 or n_truth == 0:
        return scores_from_matches(method, 0, n_pred, n_truth)
    pairs = cKDTree(pred).sparse_distance_matrix(
        cKDTree(truth), max_distance, output_type="ndarray"
    )
    i, j, d = pairs["i"], pairs["j"], pairs["v"]
    graph = coo_matrix((np.ones(i.size), (i, n_pred + j)), shape=(n_pred + n_truth,) * 2)
    _, comp = connected_components(graph, directed=False)
    matched: list[np.ndarray] = []
    for c in np.unique(comp[i]):
        sel = comp[i] == c
        ri, rinv = np.unique(i[sel], return_inverse=True)
        cj, cinv = np.unique(j[sel], return_inverse=True)
        block = np.full((ri.size, cj.size), np.inf)
        block[rinv, cinv] = d[sel]
        matched.append(_assign_component(block, max_distance))
    dist = np.concatenate(matched) if matched else np.empty(0)
    tp = int(dist.size)
    mean_distance = float(dist.mean()) if tp else None
    return scores_from_matches(method, tp, n_pred, n_truth, mean_distance=mean_distance)


def aggregated_jaccard_index(pred: np.ndarray, truth: np.ndarray) -> float:
    """Return the Aggregated Jaccard Index (Kumar et al. 2017) of two instance masks.

    Each reference nucleus takes the prediction of highest IoU with it (a prediction may be
    taken more than once, as in the original definition); the intersections are summed over
    the unions, and every prediction never taken adds its area to the union. Both masks empty
    gives 1.0; exactly one empty gives 0.0.

    Args:
        pred: predicted instance labels, 0 = background.
        truth: reference instance labels of the same shape.
    """
    pi, ti, inter, area_pred, area_truth = overlap_table(pred, truth)
    if area_pred.size == 0 and area_truth.size == 0:
        return 1.0
    iou = inter / (area_pred[pi] + area_truth[ti] - inter)
    order = np.lexsort((-iou, ti))  # by truth index, best IoU first
    first = np.ones(order.size, dtype=bool)
    first[1:] = ti[order][1:] != ti[order][:-1]
    best = order[first]
    covered = np.zeros(area_truth.size, dtype=bool)
    covered[ti[best]] = True
    intersection = inter[best].sum()
    union = (area_pred[pi[best]] + area_truth[ti[best]] - inter[best]).sum()
    union += area_truth[~covered].sum()
    used = np.zeros(area_pred.size, dtype=bool)
    used[pi[best]] = True
    union += area_pred[~used].sum()
    return float(intersection / union) if union else 0.0
