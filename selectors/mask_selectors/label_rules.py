"""Which objects of a label image a user's gesture names: picked points, a cut line, a carved mask.

The rules behind an annotation editor's buttons (merge the clicked objects,
split the object the line crosses, carve a mask out of the object it lies
on), as pure functions on integer label arrays (0 = background).
"""

from __future__ import annotations

import numpy as np

from ._validation import SelectorInputError, SelectorTypeError, as_mask
from .edit import line_pixels


def _as_labels(labels: object, name: str = "labels") -> np.ndarray:
    arr = np.asarray(labels)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise SelectorTypeError(f"{name} must be an integer array (0 = background); got dtype {arr.dtype}.")
    if arr.ndim < 1:
        raise SelectorInputError(f"{name} must be an array with at least one axis.")
    return arr


def labels_at_points(labels: np.ndarray, points) -> list[int]:
    """Ids of the objects under points, first point first, each once; background and outside points skipped.

    Parameters
    ----------
    labels : (...) integer array
    points : (P, labels.ndim) float
        Array indices (e.g. ``(row, col)`` or ``(z, row, col)``), rounded to the nearest pixel.

    Returns
    -------
    ids : list of int
    """
    lab = _as_labels(labels)
    pts = np.asarray(points, dtype=float)
    if pts.size == 0:
        return []
    if pts.ndim != 2 or pts.shape[1] != lab.ndim:
        raise SelectorInputError(f"points must be (P, {lab.ndim}) array indices; got shape {pts.shape}.")
    finite = np.isfinite(pts).all(axis=1)
    with np.errstate(invalid="ignore"):
        index = np.floor(pts[finite] + 0.5)
    inside = ((index >= 0) & (index < np.array(lab.shape))).all(axis=1)
    values = lab[tuple(index[inside].astype(np.int64).T)]
    ids: list[int] = []
    for v in values.tolist():
        if v != 0 and v not in ids:
            ids.append(int(v))
    return ids


def labels_crossed(labels: np.ndarray, line) -> list[int]:
    """Ids of the objects a polyline passes through, ascending.

    Parameters
    ----------
    labels : (H, W) integer array
    line : (K, 2) float, K >= 2
        ``(x, y)`` vertices in pixel-edge coordinates (:func:`mask_selectors.line_pixels`).

    Returns
    -------
    ids : list of int
    """
    lab = _as_labels(labels)
    if lab.ndim != 2:
        raise SelectorInputError(f"labels must be 2D (one slice); got shape {lab.shape}.")
    under = np.unique(lab[line_pixels(line, lab.shape)])
    return [int(v) for v in under if v != 0]


def label_most_covered(labels: np.ndarray, mask) -> int:
    """The object holding most of ``mask``'s pixels (ties: the lower id), or 0 when the mask covers no object.

    Parameters
    ----------
    labels : (H, W) integer array
    mask : (H, W) bool
    """
    lab = _as_labels(labels)
    m = as_mask(mask, "mask")
    if m.shape != lab.shape:
        raise SelectorInputError(f"mask has shape {m.shape}, the labels {lab.shape}: they must match.")
    ids, counts = np.unique(lab[m], return_counts=True)
    counts = counts[ids != 0]
    ids = ids[ids != 0]
    return int(ids[np.argmax(counts)]) if len(ids) else 0
