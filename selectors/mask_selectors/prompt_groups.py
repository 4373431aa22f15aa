"""Prompts that make several objects at once: one object per positive point, every object inside a box.

FastSAM's own rules merge: all masks under the foreground points become one
selection (:func:`mask_selectors.select_by_points`), and a box picks the one
mask that fills it best (:func:`mask_selectors.select_by_boxes`). Annotators
often want the opposite: two clicks on two nuclei are two objects, a box
around a block of tree crowns is every crown in it. The rules here answer
those prompts on box-cropped masks (the form of an everything-mode result,
see :mod:`mask_selectors.crops`) or on a full ``(N, H, W)`` stack.

Conventions as in the rest of the package: points ``(x, y)`` with pixel
centres at integers, boxes ``(x0, y0, x1, y1)`` in pixel edges with exclusive
ends, ``crops[i]`` the mask ``i`` inside ``boxes[i]``.
"""

from __future__ import annotations

import numpy as np

from ._validation import (
    as_areas,
    as_checked_crops,
    as_hw,
    as_indices,
    as_labels,
    as_masks,
    as_points,
    as_real,
    check_allocation,
    crop_areas,
)
from .boxes import normalize_boxes
from .masks import paint_order

#: default share of a mask's pixels that must lie inside a box for the mask to count as "inside"
MIN_INSIDE = 0.5
#: a mask holding at least this share of a smaller mask's pixels contains it (a group, or the whole of a part)
CONTAINS = 0.5


def _holds(crops: list[np.ndarray], b: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(N, P) bool: whether mask ``n`` holds point ``p`` (integer ``(x, y)`` pixels inside the image)."""
    inside = (b[:, None, 0] <= xy[None, :, 0]) & (xy[None, :, 0] < b[:, None, 2])
    inside &= (b[:, None, 1] <= xy[None, :, 1]) & (xy[None, :, 1] < b[:, None, 3])
    holds = np.zeros(inside.shape, bool)
    for i, p in zip(*np.nonzero(inside)):  # only masks whose box holds the point are read
        holds[i, p] = crops[i][xy[p, 1] - b[i, 1], xy[p, 0] - b[i, 0]]
    return holds


def _point_groups(xy: np.ndarray, candidates: np.ndarray) -> list[list[int]]:
    """Foreground points grouped by pixel (a point clicked twice is one object), first point first.

    Parameters
    ----------
    xy : (F, 2) int
        Pixels of the foreground points.
    candidates : (N, F) bool
        Which masks may belong to each point.

    Returns
    -------
    groups : list of list of int
        Indices into ``xy``; points with no candidate mask are in no group.
    """
    groups: dict[tuple[int, int], list[int]] = {}
    for j in range(len(xy)):
        if candidates[:, j].any():
            groups.setdefault((int(xy[j, 0]), int(xy[j, 1])), []).append(j)
    return list(groups.values())


def _split_between(crop: np.ndarray, box: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """(h, w) int: for each pixel of ``crop``, the index of the nearest of ``sites`` ((S, 2) int x, y); -1 outside."""
    h, w = crop.shape
    rows, cols = np.ogrid[:h, :w]
    best = np.full((h, w), np.inf)
    nearest = np.full((h, w), -1, np.int64)
    for k, (x, y) in enumerate(sites.tolist()):  # one (h, w) pass per site: memory stays one crop
        d = (cols - (x - box[0])) ** 2 + (rows - (y - box[1])) ** 2
        closer = d < best
        best[closer], nearest[closer] = d[closer], k
    nearest[~crop] = -1
    return nearest


def each_point_objects_in_crops(
    crops, boxes, hw: tuple[int, int], points, labels=None, *, areas=None, checked: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """One object per foreground point, background points shared by all (box-cropped masks).

    The rule, for foreground points ``P`` and background points ``B``:

    1. A mask is a *candidate* of a foreground point when it holds the point
       and no background point.
    2. Each foreground point is one object (a point clicked twice on the same
       pixel counts once).
    3. A point's object is the union of its candidates that hold no other
       foreground point (a mask under two points is their group, not either
       object). A point whose candidates all hold other points gets its
       smallest candidate, split with the other points that need that same
       mask: each pixel goes to the nearest of them (two touching nuclei the
       model sees as one mask become two objects).
    4. Masks are painted from the largest to the smallest, as FastSAM's point
       rule does: an object's pixels go to the smaller object where two
       overlap, and a mask holding a background point clears its pixels from
       every larger object.

    Parameters
    ----------
    crops : list of (h_i, w_i) bool
        Mask ``i`` inside ``boxes[i]``.
    boxes : (N, 4) int
        ``(x0, y0, x1, y1)``, exclusive ends, inside the image.
    hw : (int, int)
        Image height and width.
    points : (P, 2) float
        ``(x, y)`` pixel coordinates, inside the image (else :class:`SelectorInputError`).
    labels : (P,) int or bool, optional
        1 foreground, 0 background; all foreground when omitted.
    areas : (N,) int, optional
        Pixel counts of the masks (counted from the crops when omitted).
    checked : bool
        ``crops`` and ``boxes`` are as :func:`mask_selectors.check_crops` returned them.

    Returns
    -------
    objects : (H, W) int32
        Object ``k`` painted as ``k``, numbered ``1..K`` in the order of each object's first point; 0 elsewhere.
    owner : (P,) int64
        The object each point made (0 for background points and for foreground points on no mask).
    """
    hw = as_hw(hw)
    crops, b = as_checked_crops(crops, boxes, checked, hw)
    xy = as_points(points, hw)
    fg = as_labels(labels, len(xy))
    check_allocation(hw, np.int32, "hw")
    out = np.zeros(hw, np.int32)
    owner = np.zeros(len(xy), np.int64)
    if len(b) == 0:
        return out, owner
    a = crop_areas(crops, areas)
    holds = _holds(crops, b, xy)
    blocked = holds[:, ~fg].any(axis=1)
    fg_index = np.flatnonzero(fg)
    candidates = holds[:, fg] & ~blocked[:, None]
    groups = _point_groups(xy[fg], candidates)
    # what to paint, from the largest mask to the smallest: (mask, pixels of its crop, value)
    paint: list[tuple[int, np.ndarray, int]] = [(int(i), crops[i], 0) for i in np.flatnonzero(blocked)]
    needers: dict[int, list[int]] = {}  # shared mask -> objects (1-based) that get a part of it
    for k, group in enumerate(groups, start=1):
        mine = candidates[:, group[0]]
        others = [j for g in groups if g is not group for j in g]
        own = mine & ~candidates[:, others].any(axis=1) if others else mine
        if own.any():
            paint += [(int(i), crops[i], k) for i in np.flatnonzero(own)]
        else:  # every candidate holds another point: this point's part of its innermost candidate
            cand = np.flatnonzero(mine)
            needers.setdefault(int(cand[np.argmin(a[cand])]), []).append(k)
        owner[fg_index[group]] = k
    for i, objects in needers.items():
        sites = np.array([xy[fg_index[groups[k - 1][0]]] for k in objects], np.int64)
        nearest = _split_between(crops[i], b[i], sites)
        paint += [(i, nearest == n, k) for n, k in enumerate(objects)]
    order = paint_order(np.array([a[i] for i, _, _ in paint], np.float64))
    for n in order.tolist():
        i, pixels, value = paint[n]
        x0, y0, x1, y1 = b[i].tolist()
        np.copyto(out[y0:y1, x0:x1], np.int32(value), where=pixels)
    return out, owner


def each_point_objects(
    masks: np.ndarray, points, labels=None, *, areas=None
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`each_point_objects_in_crops` on a full ``(N, H, W)`` mask stack.

    Parameters
    ----------
    masks : (N, H, W) bool or 0/1 integer array
    points : (P, 2) float
        ``(x, y)`` pixel coordinates inside the image.
    labels : (P,) int or bool, optional
        1 foreground, 0 background; all foreground when omitted.
    areas : (N,) int, optional
        Precomputed pixel counts.

    Returns
    -------
    objects : (H, W) int32
    owner : (P,) int64
        As :func:`each_point_objects_in_crops`.
    """
    m = as_masks(masks)
    a = as_areas(areas, m)
    h, w = m.shape[1:]
    full = np.tile(np.array([[0, 0, w, h]], np.int64), (len(m), 1))
    return each_point_objects_in_crops(list(m), full, (h, w), points, labels, areas=a, checked=True)


def _overlap(crops: list[np.ndarray], b: np.ndarray, i: int, j: int) -> int:
    """Pixels shared by masks ``i`` and ``j`` (counted in the overlap of their boxes only)."""
    x0, y0 = max(b[i, 0], b[j, 0]), max(b[i, 1], b[j, 1])
    x1, y1 = min(b[i, 2], b[j, 2]), min(b[i, 3], b[j, 3])
    if x1 <= x0 or y1 <= y0:
        return 0
    ci = crops[i][y0 - b[i, 1]:y1 - b[i, 1], x0 - b[i, 0]:x1 - b[i, 0]]
    cj = crops[j][y0 - b[j, 1]:y1 - b[j, 1], x0 - b[j, 0]:x1 - b[j, 0]]
    return int(np.count_nonzero(ci & cj))


def innermost_objects(crops, boxes, indices, *, areas=None, checked: bool = False) -> np.ndarray:
    """Of a set of masks, leave out groups and parts: the objects a user means.

    A mask *contains* a smaller one when it holds at least :data:`CONTAINS`
    of the smaller one's pixels. A mask containing two or more of the others
    is their group (a block of trees around its crowns) and is left out;
    then a remaining mask contained by another remaining one is a part of it
    (a nucleus in its cell, a highlight on a crown) and is left out.

    Parameters
    ----------
    crops, boxes, checked
        As :func:`each_point_objects_in_crops`.
    indices : (K,) int
        The masks to sort out.
    areas : (N,) int, optional
        Pixel counts of the masks.

    Returns
    -------
    kept : (M,) int64
        The kept indices, from the largest mask to the smallest (the order to paint them in).
    """
    crops, b = as_checked_crops(crops, boxes, checked)
    a = crop_areas(crops, areas)
    idx = np.unique(as_indices(indices, len(b)))
    k = len(idx)
    contains = np.zeros((k, k), bool)
    for p in range(k):
        for q in range(k):
            i, j = int(idx[p]), int(idx[q])
            # ties in area: the lower index counts as the larger, so two equal masks do not contain each other
            if p != q and (a[i], -i) > (a[j], -j) and a[j] > 0:
                contains[p, q] = _overlap(crops, b, i, j) >= CONTAINS * a[j]
    group = contains.sum(axis=1) >= 2
    rest = ~group
    part = (contains[rest][:, rest]).any(axis=0)
    keep = np.flatnonzero(rest)[~part]
    kept = idx[keep]
    return kept[paint_order(a[kept])].astype(np.int64)


def objects_in_boxes_in_crops(
    crops, boxes, hw: tuple[int, int], prompt_boxes, *, min_inside: float = MIN_INSIDE, areas=None,
    checked: bool = False,
) -> list[np.ndarray]:
    """Every object inside each prompt box (box-cropped masks).

    A mask is inside a box when at least ``min_inside`` of its pixels lie in
    the box (an object the box edge cuts still counts when most of it is
    in). Of those, :func:`innermost_objects` leaves out groups and parts.

    Parameters
    ----------
    crops, boxes, hw, checked
        As :func:`each_point_objects_in_crops`.
    prompt_boxes : (B, 4) float
        ``(x0, y0, x1, y1)`` pixel edges; corners in any order, clipped to the image
        (:func:`mask_selectors.normalize_boxes`).
    min_inside : float
        Share of a mask's pixels in the box, in ``(0, 1]``.
    areas : (N,) int, optional
        Pixel counts of the masks.

    Returns
    -------
    objects : list of (K_b,) int64
        Per prompt box, the mask indices inside it, from the largest to the smallest.
    """
    min_inside = as_real(min_inside, "min_inside", low=0.0, high=1.0, low_open=True)
    hw = as_hw(hw)
    crops, b = as_checked_crops(crops, boxes, checked, hw)
    pb = normalize_boxes(prompt_boxes, hw)
    a = crop_areas(crops, areas)
    found = []
    for x0, y0, x1, y1 in pb.tolist():
        ix0, iy0 = np.maximum(b[:, 0], x0), np.maximum(b[:, 1], y0)
        ix1, iy1 = np.minimum(b[:, 2], x1), np.minimum(b[:, 3], y1)
        touch = np.flatnonzero((ix1 > ix0) & (iy1 > iy0) & (a > 0))
        inside = []
        for i in touch.tolist():
            part = crops[i][iy0[i] - b[i, 1]:iy1[i] - b[i, 1], ix0[i] - b[i, 0]:ix1[i] - b[i, 0]]
            if np.count_nonzero(part) >= min_inside * a[i]:
                inside.append(i)
        found.append(innermost_objects(crops, b, np.array(inside, np.int64), areas=a, checked=True))
    return found


def objects_in_boxes(masks: np.ndarray, boxes, *, min_inside: float = MIN_INSIDE, areas=None) -> list[np.ndarray]:
    """:func:`objects_in_boxes_in_crops` on a full ``(N, H, W)`` mask stack.

    Parameters
    ----------
    masks : (N, H, W) bool or 0/1 integer array
    boxes : (B, 4) float
        ``(x0, y0, x1, y1)`` prompt boxes.
    min_inside : float
        Share of a mask's pixels in the box, in ``(0, 1]``.
    areas : (N,) int, optional
        Precomputed pixel counts.

    Returns
    -------
    objects : list of (K_b,) int64
        Per box, the mask indices inside it, from the largest to the smallest.
    """
    m = as_masks(masks)
    a = as_areas(areas, m)
    h, w = m.shape[1:]
    full = np.tile(np.array([[0, 0, w, h]], np.int64), (len(m), 1))
    return objects_in_boxes_in_crops(list(m), full, (h, w), boxes, min_inside=min_inside, areas=a, checked=True)
