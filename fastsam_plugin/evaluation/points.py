"""Detections scored against point annotations: one tree, one point.

Point-annotated datasets (the Urban Tree Detection tiles: one point per
visible tree, no outline) score a detector by *containment*: a tree is found
when its point lies inside a predicted object, each tree and each object
counting at most once. Which trees go with which objects is a one-to-one
assignment that finds as many pairs as possible (a greedy "first box that
contains the point" can miss pairs: a box taken by one tree may be the only
box of another). Among the assignments of that size, the one whose points lie
closest to their objects' centres is kept (a tie-break that changes which
pairs are matched, never how many).

Counts are pooled over tiles (:class:`PointCounts` adds up), as the dataset's
own evaluation does: precision = TP / objects, recall = TP / trees.

Coordinates: points and boxes share one frame. For points given as pixel
indices (column, row), as the dataset's CSV files give them, test their
pixel centres (index + 0.5) against boxes whose edges lie on pixel borders
(:func:`pixel_centres`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PointCounts:
    """Matched counts of one tile or, summed with ``+``, of many.

    Attributes
    ----------
    tiles, trees, objects, tp : int
        Tiles scored, annotated points, predicted objects, and matched pairs.
    """

    tiles: int = 0
    trees: int = 0
    objects: int = 0
    tp: int = 0

    def __add__(self, other: PointCounts) -> PointCounts:
        return PointCounts(self.tiles + other.tiles, self.trees + other.trees, self.objects + other.objects,
                           self.tp + other.tp)

    @property
    def precision(self) -> float:
        """TP / objects (nan without any object)."""
        return self.tp / self.objects if self.objects else float("nan")

    @property
    def recall(self) -> float:
        """TP / trees (nan without any tree)."""
        return self.tp / self.trees if self.trees else float("nan")

    @property
    def f1(self) -> float:
        """2 TP / (trees + objects): the harmonic mean of precision and recall (nan when both counts are 0)."""
        total = self.trees + self.objects
        return 2 * self.tp / total if total else float("nan")

    def scores(self) -> dict[str, float]:
        """Counts and scores as one flat dict (for tables and JSON)."""
        return {"tiles": self.tiles, "trees": self.trees, "objects": self.objects, "TP": self.tp,
                "precision": self.precision, "recall": self.recall, "F1": self.f1}


def pixel_centres(points: np.ndarray) -> np.ndarray:
    """(K, 2) float64 centres of pixels given by (column, row) indices: ``points + 0.5``."""
    return np.asarray(points, np.float64).reshape(-1, 2) + 0.5


def _check_points(points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, np.float64)
    if pts.size == 0:
        return pts.reshape(0, 2)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points must be a (K, 2) array of (x, y); got shape {pts.shape}.")
    if not np.isfinite(pts).all():
        raise ValueError("points must be finite numbers; drop the rows holding nan or inf.")
    return pts


def _check_boxes(boxes: np.ndarray) -> np.ndarray:
    b = np.asarray(boxes, np.float64)
    if b.size == 0:
        return b.reshape(0, 4)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"boxes must be an (N, 4) array of (x0, y0, x1, y1); got shape {b.shape}.")
    return b


def points_in_boxes(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Which point lies inside which box (edges included).

    Parameters
    ----------
    points : (K, 2) float
        ``(x, y)``.
    boxes : (N, 4) float
        ``(x0, y0, x1, y1)``.

    Returns
    -------
    (K, N) bool
    """
    pts, b = _check_points(points), _check_boxes(boxes)
    x, y = pts[:, :1], pts[:, 1:]
    return (x >= b[:, 0]) & (x <= b[:, 2]) & (y >= b[:, 1]) & (y <= b[:, 3])


def points_in_crops(points: np.ndarray, crops: list[np.ndarray], pixel_boxes: np.ndarray) -> np.ndarray:
    """Which pixel (given by its column, row index) lies inside which box-cropped mask.

    Parameters
    ----------
    points : (K, 2) int or float
        ``(column, row)`` pixel indices (rounded to the nearest pixel).
    crops : list of N (h_i, w_i) bool
        Mask ``i`` inside ``pixel_boxes[i]``, as :class:`~fastsam_plugin.engine.result.SegmentationResult` holds it.
    pixel_boxes : (N, 4) int
        ``(x0, y0, x1, y1)`` of each crop, exclusive ends.

    Returns
    -------
    (K, N) bool
    """
    pts = np.rint(_check_points(points)).astype(np.int64)
    boxes = np.asarray(pixel_boxes, np.int64).reshape(-1, 4)
    if len(boxes) != len(crops):
        raise ValueError(f"{len(crops)} masks but {len(boxes)} pixel boxes; give one box per mask.")
    inside = np.zeros((len(pts), len(crops)), bool)
    cols, rows = pts[:, 0], pts[:, 1]
    for j, (crop, (x0, y0, x1, y1)) in enumerate(zip(crops, boxes)):
        k = np.flatnonzero((cols >= x0) & (cols < x1) & (rows >= y0) & (rows < y1))
        if len(k):
            inside[k, j] = np.asarray(crop, bool)[rows[k] - y0, cols[k] - x0]
    return inside


def match_points(allowed: np.ndarray, distance: np.ndarray | None = None) -> np.ndarray:
    """The largest one-to-one set of allowed (point, object) pairs, closest pairs among equals.

    Parameters
    ----------
    allowed : (K, N) bool
        ``allowed[k, j]``: point ``k`` may be matched to object ``j`` (it lies inside it).
    distance : (K, N) float, optional
        Tie-break: among the matchings with the most pairs, the one with the
        smallest total distance is returned. Non-negative and finite where allowed.

    Returns
    -------
    (M, 2) int64
        Matched ``(point, object)`` index pairs, sorted by point; ``M <= min(K, N)``.
    """
    allowed = np.asarray(allowed, bool)
    if allowed.ndim != 2:
        raise ValueError(f"allowed must be a (K, N) matrix; got shape {allowed.shape}.")
    rows_any, cols_any = np.flatnonzero(allowed.any(axis=1)), np.flatnonzero(allowed.any(axis=0))
    if not len(rows_any):
        return np.zeros((0, 2), np.int64)
    from scipy.optimize import linear_sum_assignment

    sub = allowed[np.ix_(rows_any, cols_any)]  # points and objects with no allowed pair play no part
    # each allowed pair is worth 1 minus a tie-break below 1 / (pairs + 1): one more pair always beats any
    # saving in distance, so the optimum has the most pairs and, among those, the least distance
    tie = np.zeros(sub.shape)
    if distance is not None:
        d = np.asarray(distance, np.float64)
        if d.shape != allowed.shape:
            raise ValueError(f"distance has shape {d.shape}; expected {allowed.shape}, as allowed.")
        d = d[np.ix_(rows_any, cols_any)]
        if not np.isfinite(d[sub]).all() or (d[sub] < 0).any():
            raise ValueError("distance must be finite and non-negative for the allowed pairs.")
        top = d[sub].max()
        if top > 0:
            tie = d / top / (min(sub.shape) + 1)
    gain = np.where(sub, 1.0 - tie, 0.0)
    r, c = linear_sum_assignment(gain, maximize=True)
    keep = sub[r, c]  # a rectangular assignment also pairs leftovers at gain 0: not matches
    pairs = np.column_stack([rows_any[r[keep]], cols_any[c[keep]]]).astype(np.int64)
    return pairs[np.argsort(pairs[:, 0], kind="stable")]


def centre_distance(points: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(K, N) float64 distance from each point to each box's centre."""
    pts, b = _check_points(points), _check_boxes(boxes)
    centres = (b[:, :2] + b[:, 2:]) / 2
    return np.hypot(pts[:, :1] - centres[:, 0], pts[:, 1:] - centres[:, 1])


def count_box_matches(points: np.ndarray, boxes: np.ndarray) -> PointCounts:
    """One tile scored by the point-in-box rule.

    Parameters
    ----------
    points : (K, 2) float
        Tree points ``(x, y)`` in the boxes' frame (see :func:`pixel_centres`).
    boxes : (N, 4) float
        Predicted ``(x0, y0, x1, y1)`` boxes.

    Returns
    -------
    PointCounts
        One tile, K trees, N objects, and the size of the optimal one-to-one matching.
    """
    pts, b = _check_points(points), _check_boxes(boxes)
    pairs = match_points(points_in_boxes(pts, b), centre_distance(pts, b))
    return PointCounts(1, len(pts), len(b), len(pairs))


def count_mask_matches(points: np.ndarray, crops: list[np.ndarray], pixel_boxes: np.ndarray) -> PointCounts:
    """One tile scored by the stricter point-in-mask rule (points as pixel indices, see :func:`points_in_crops`).

    The tie-break distance is to the centre of each mask's pixel box.
    """
    pts = _check_points(points)
    boxes = np.asarray(pixel_boxes, np.float64).reshape(-1, 4)
    pairs = match_points(points_in_crops(pts, crops, pixel_boxes), centre_distance(pixel_centres(pts), boxes))
    return PointCounts(1, len(pts), len(crops), len(pairs))
