"""Which objects of a label image a user's gesture names: picked points, a cut line, a carved mask.

The rules behind an annotation editor's buttons (merge the clicked objects,
split the object the line crosses, carve a mask out of the object it lies
on), as pure functions on integer label arrays (0 = background).
"""

from __future__ import annotations

import numpy as np

from ._validation import SelectorInputError, as_array, as_binary, as_label_image
from .edit import line_pixels


def labels_at_points(labels: np.ndarray, points) -> list[int]:
    """Ids of the objects under points, first point first, each once; background and outside points skipped.

    Parameters
    ----------
    labels : (...) integer array, ids >= 0
    points : (P, labels.ndim) float
        Array indices (e.g. ``(row, col)`` or ``(z, row, col)``), rounded to the nearest pixel.

    Returns
    -------
    ids : list of int
    """
    lab = as_label_image(labels)
    pts = as_array(points, "points", kinds="biuf").astype(np.float64)
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
    lab = as_label_image(labels, ndim=(2,))
    under = np.unique(lab[line_pixels(line, lab.shape)])
    return [int(v) for v in under if v != 0]


def label_most_covered(labels: np.ndarray, mask) -> int:
    """The object holding most of ``mask``'s pixels (ties: the lower id), or 0 when the mask covers no object.

    Parameters
    ----------
    labels : (H, W) integer array
    mask : (H, W) bool
    """
    lab = as_label_image(labels, ndim=(2,))
    m = as_binary(mask, "mask")
    if m.shape != lab.shape:
        raise SelectorInputError(f"mask has shape {m.shape}, the labels {lab.shape}: they must match.")
    ids, counts = np.unique(lab[m], return_counts=True)
    counts = counts[ids != 0]
    ids = ids[ids != 0]
    return int(ids[np.argmax(counts)]) if len(ids) else 0
