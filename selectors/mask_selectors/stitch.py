"""Link 2D objects of consecutive slices (or time frames) into 3D objects (or tracks).

A stack segmented slice by slice has labels that restart in every slice. An
object of slice ``z`` continues an object of slice ``z - 1`` when their masks
overlap with an intersection over union above a threshold, as Cellpose's
``stitch_threshold`` does. Pairs are matched one to one, best IoU first, so
two touching objects never merge into one: each object of one slice continues
at most one object of the previous slice.
"""

from __future__ import annotations

import numpy as np


def label_iou(previous: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IoU of every pair of objects of two label images of the same shape.

    Parameters
    ----------
    previous, current : (H, W) int
        Label images, 0 = background.

    Returns
    -------
    iou : (P, C) float64
        ``iou[i, j]`` between object ``prev_ids[i]`` and object ``cur_ids[j]``.
    prev_ids, cur_ids : (P,), (C,) int64
        The non-zero ids present in each image, ascending.
    """
    a, b = np.asarray(previous), np.asarray(current)
    if a.shape != b.shape:
        raise ValueError(f"label images must have the same shape; got {a.shape} and {b.shape}.")
    prev_ids, a_idx = np.unique(a, return_inverse=True)
    cur_ids, b_idx = np.unique(b, return_inverse=True)
    a_idx, b_idx = a_idx.ravel(), b_idx.ravel()
    inter = np.bincount(a_idx * len(cur_ids) + b_idx, minlength=len(prev_ids) * len(cur_ids))
    inter = inter.reshape(len(prev_ids), len(cur_ids)).astype(np.float64)
    area_a, area_b = inter.sum(axis=1), inter.sum(axis=0)
    union = area_a[:, None] + area_b[None, :] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    # drop the background row and column
    pa, pb = prev_ids != 0, cur_ids != 0
    return iou[np.ix_(pa, pb)], prev_ids[pa].astype(np.int64), cur_ids[pb].astype(np.int64)


def match_objects(iou: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """One-to-one pairs ``(row, col)`` with IoU above ``threshold``, taken greedily best first."""
    rows, cols = np.nonzero(iou > threshold)
    order = np.argsort(-iou[rows, cols], kind="stable")
    used_r, used_c, pairs = set(), set(), []
    for k in order:
        r, c = int(rows[k]), int(cols[k])
        if r not in used_r and c not in used_c:
            used_r.add(r)
            used_c.add(c)
            pairs.append((r, c))
    return pairs


def split_at_narrowings(labels: np.ndarray, ratio: float = 0.5) -> np.ndarray:
    """Cut linked objects where their slice area narrows sharply: two objects stacked along Z.

    Linking by IoU joins an object that ends just above another one that
    begins (small cap over small cap). Such a chain has an area profile with a
    waist: a slice whose area is a local minimum below ``ratio`` times the
    largest area on *both* sides. Each object is cut at its deepest waist,
    repeatedly, until none is left; the waist slice stays with the side it
    overlaps more. Convex objects (one bulge) are never cut.

    Parameters
    ----------
    labels : (Z, H, W) int
        Linked 3D labels (from :func:`stitch_labels`).
    ratio : float
        In ``(0, 1)``: how narrow a waist must be, relative to both sides.

    Returns
    -------
    labels : (Z, H, W) int32
        New ids ``max + 1, ...`` for the cut-off parts.
    """
    out = np.asarray(labels).astype(np.int32, copy=True)
    if out.ndim != 3:
        raise ValueError(f"labels must be a (Z, H, W) volume; got shape {out.shape}.")
    if not 0.0 < float(ratio) < 1.0:
        raise ValueError(f"ratio must lie in (0, 1); got {ratio!r}.")
    next_id = int(out.max()) + 1
    queue = [int(i) for i in np.unique(out) if i != 0]
    while queue:
        k = queue.pop()
        zs = np.nonzero((out == k).any(axis=(1, 2)))[0]
        area = np.array([np.count_nonzero(out[z] == k) for z in zs], np.float64)
        best, depth = None, 1.0
        for i in range(1, len(zs) - 1):
            if area[i] <= area[i - 1] and area[i] <= area[i + 1]:
                rel = area[i] / min(area[:i].max(), area[i + 1 :].max())
                if rel < ratio and rel < depth:
                    best, depth = i, rel
        if best is None:
            continue
        waist = out[zs[best]] == k
        below = np.count_nonzero(waist & (out[zs[best - 1]] == k))
        above = np.count_nonzero(waist & (out[zs[best + 1]] == k))
        first_upper = best if above > below else best + 1  # the waist joins the side it overlaps more
        for z in zs[first_upper:]:
            out[z][out[z] == k] = next_id
        queue += [k, next_id]
        next_id += 1
    return out


def stitch_labels(stack: np.ndarray, threshold: float = 0.25) -> np.ndarray:
    """Relabel a stack of per-slice label images so linked objects share one id.

    Parameters
    ----------
    stack : (Z, H, W) int
        One label image per slice (or time frame); ids need not be unique across slices.
    threshold : float
        Smallest IoU, in ``[0, 1)``, between an object and one in the previous slice
        for it to continue that object. 0.25 is a common start; lower links more.

    Returns
    -------
    labels : (Z, H, W) int32
        3D labels (or track ids): ids ``1..K`` numbered in order of first appearance;
        an object not continuing one of the previous slice starts a new id.
    """
    arr = np.asarray(stack)
    if arr.ndim != 3:
        raise ValueError(f"stitching needs a (Z, H, W) stack of label images; got shape {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"label images must be integer; got {arr.dtype}.")
    if not 0.0 <= float(threshold) < 1.0:
        raise ValueError(f"threshold must lie in [0, 1); got {threshold!r}.")
    out = np.zeros(arr.shape, np.int32)
    next_id = 1
    previous_out = None
    for z in range(arr.shape[0]):
        ids = np.unique(arr[z])
        ids = ids[ids != 0]
        new_of = {}
        if previous_out is not None and len(ids):
            iou, prev_ids, cur_ids = label_iou(previous_out, arr[z])
            for r, c in match_objects(iou, threshold):
                new_of[int(cur_ids[c])] = int(prev_ids[r])
        for i in ids:
            if int(i) not in new_of:
                new_of[int(i)] = next_id
                next_id += 1
        if new_of:  # look-up table: sorted per-slice ids -> linked ids
            keys = np.array(sorted(new_of), np.int64)
            vals = np.array([new_of[k] for k in keys], np.int64)
            pos = np.clip(np.searchsorted(keys, arr[z]), 0, len(keys) - 1)
            out[z] = np.where(arr[z] != 0, vals[pos], 0)
        previous_out = out[z]
    return out
