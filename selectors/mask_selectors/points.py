"""Point prompts: foreground points add masks, background points remove them.

Points are ``(x, y)`` = (column, row) in image pixels, pixel centres at
integers. A napari Points layer stores ``(row, col)``; convert with
``points_xy = napari_points[:, ::-1]`` (last two axes only for stacks).
"""

from __future__ import annotations

import numpy as np

from ._validation import as_areas, as_int_boxes, as_labels, as_masks, as_points, check_boxes_inside
from .masks import descending_order

ADD, NONE, REMOVE = 1, 0, -1


def point_actions(masks: np.ndarray, points: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """What each mask does for a set of prompt points.

    Parameters
    ----------
    masks : (N, H, W) bool or 0/1 integer array
    points : (P, 2) float
        ``(x, y)`` pixel coordinates, rounded to the nearest pixel.
    labels : (P,) int or bool, optional
        1 for foreground, 0 for background; all foreground when omitted.

    Returns
    -------
    actions : (N,) int8
        ``1`` (add) for a mask containing a foreground point and no background
        point, ``-1`` (remove) for a mask containing any background point, ``0``
        for a mask containing no point. Background wins where a mask holds both,
        so adding a background point can never grow a selection.
    """
    m = as_masks(masks)
    xy = as_points(points, m.shape[1:])
    fg = as_labels(labels, len(xy))
    hits = m[:, xy[:, 1], xy[:, 0]]  # (N, P): does mask n contain point p
    has_fg = (hits & fg).any(axis=1)
    has_bg = (hits & ~fg).any(axis=1)
    return np.where(has_bg, REMOVE, np.where(has_fg, ADD, NONE)).astype(np.int8)


def masks_containing_points(
    masks: np.ndarray, points: np.ndarray, labels: np.ndarray | None = None
) -> np.ndarray:
    """Indices of the masks that hold at least one foreground point and no background point.

    Parameters
    ----------
    masks : (N, H, W) bool or 0/1 integer array
    points : (P, 2) float
        ``(x, y)`` pixel coordinates.
    labels : (P,) int or bool, optional
        1 foreground, 0 background; all foreground when omitted.

    Returns
    -------
    indices : (K,) int64
        Ascending mask indices.
    """
    return np.flatnonzero(point_actions(masks, points, labels) == ADD)


def select_by_points(
    masks: np.ndarray,
    points: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    areas: np.ndarray | None = None,
    boxes: np.ndarray | None = None,
) -> np.ndarray:
    """Merge the masks picked by foreground/background points (FastSAM's point rule).

    Masks are visited from the largest area to the smallest. A mask with a
    foreground point (and no background point) sets its pixels in the result;
    a mask with a background point clears its pixels. Because smaller masks
    come later, a background click on a small object cuts it out of a larger
    selected one.

    Parameters
    ----------
    masks : (N, H, W) bool or 0/1 integer array
    points : (P, 2) float
        ``(x, y)`` pixel coordinates; a point outside the image is an error.
    labels : (P,) int or bool, optional
        1 foreground, 0 background; all foreground when omitted.
    areas : (N,) int, optional
        Precomputed pixel counts (:func:`mask_selectors.mask_areas`). Pass them
        when answering many prompts on one result: counting is the slow part.
    boxes : (N, 4) int, optional
        Precomputed :func:`mask_selectors.contour_boxes` (inside the image);
        painting is then limited to each box.

    Returns
    -------
    selection : (H, W) bool
    """
    m = as_masks(masks)
    actions = point_actions(m, points, labels)
    a = as_areas(areas, m)
    if boxes is not None:  # painting trusts the boxes to hold each mask: they must at least lie in the image
        boxes = as_int_boxes(boxes, "boxes", n=len(m))
        check_boxes_inside(boxes, m.shape[1:])
    result = np.zeros(m.shape[1:], dtype=bool)
    for i in descending_order(a):
        if actions[i] == NONE:
            continue
        value = actions[i] == ADD
        if boxes is None:
            result[m[i]] = value
        else:
            x0, y0, x1, y1 = (int(v) for v in boxes[i])
            region = result[y0:y1, x0:x1]
            region[m[i, y0:y1, x0:x1]] = value
    return result
