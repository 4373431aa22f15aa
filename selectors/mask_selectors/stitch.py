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

from ._validation import SelectorInputError, as_array, as_label_image, as_real, check_allocation


def _ids_dtype(dtype: np.dtype) -> type:
    """The dtype that holds every id of a label image exactly: uint64 for uint64 labels, else int64."""
    return np.uint64 if dtype == np.uint64 else np.int64


def _pair_overlaps(
    a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """IoU of the pairs of objects that overlap, as sparse triples.

    Costs O(pixels log pixels) whatever the ids are, and memory proportional
    to the overlapping pairs, never to (objects of ``a``) x (objects of ``b``).

    Returns
    -------
    prev_ids, cur_ids : (P,), (C,)
        The non-zero ids of ``a`` and ``b``, ascending, in their own dtype.
    rows, cols : (K,) int64
        Pair ``k`` is ``prev_ids[rows[k]]`` with ``cur_ids[cols[k]]``.
    iou : (K,) float64
        Intersection over union of the pair, > 0.
    """
    prev_ids, a_idx = np.unique(a, return_inverse=True)
    cur_ids, b_idx = np.unique(b, return_inverse=True)
    a_idx, b_idx = a_idx.ravel().astype(np.int64), b_idx.ravel().astype(np.int64)
    codes, inter = np.unique(a_idx * len(cur_ids) + b_idx, return_counts=True)
    rows, cols = np.divmod(codes, max(len(cur_ids), 1))
    area_a = np.bincount(a_idx, minlength=len(prev_ids))
    area_b = np.bincount(b_idx, minlength=len(cur_ids))
    iou = inter / (area_a[rows] + area_b[cols] - inter)
    # drop pairs with the background, then index the non-zero ids only
    a0 = int(prev_ids.size > 0 and prev_ids[0] == 0)
    b0 = int(cur_ids.size > 0 and cur_ids[0] == 0)
    keep = (rows >= a0) & (cols >= b0)
    return prev_ids[a0:], cur_ids[b0:], rows[keep] - a0, cols[keep] - b0, iou[keep]


def label_iou(previous: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IoU of every pair of objects of two label images of the same shape.

    Parameters
    ----------
    previous, current : (...) int
        Label images of one shape, 0 = background, ids > 0 of any integer width.

    Returns
    -------
    iou : (P, C) float64
        ``iou[i, j]`` between object ``prev_ids[i]`` and object ``cur_ids[j]``.
    prev_ids, cur_ids : (P,), (C,) int64 (uint64 for uint64 labels)
        The non-zero ids present in each image, ascending, exactly as given.

    Raises
    ------
    SelectorInputError
        Labels that are not integer, hold negative ids or differ in shape; a
        ``(P, C)`` matrix larger than this machine's memory (use
        :func:`stitch_labels`, which keeps only the overlapping pairs).
    """
    a = as_label_image(previous, "previous")
    b = as_label_image(current, "current")
    if a.shape != b.shape:
        raise SelectorInputError(f"label images must have the same shape; got {a.shape} and {b.shape}.")
    prev_ids, cur_ids, rows, cols, values = _pair_overlaps(a, b)
    check_allocation((len(prev_ids), len(cur_ids)), np.float64, "the IoU matrix of (previous, current) objects")
    iou = np.zeros((len(prev_ids), len(cur_ids)), np.float64)
    iou[rows, cols] = values
    return iou, prev_ids.astype(_ids_dtype(a.dtype)), cur_ids.astype(_ids_dtype(b.dtype))


def _greedy_pairs(rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> list[tuple[int, int]]:
    """One-to-one ``(row, col)`` pairs from candidate pairs, best value first (ties: first candidate)."""
    order = np.argsort(-values, kind="stable")
    used_r, used_c, pairs = set(), set(), []
    for r, c in zip(rows[order].tolist(), cols[order].tolist()):
        if r not in used_r and c not in used_c:
            used_r.add(r)
            used_c.add(c)
            pairs.append((r, c))
    return pairs


def match_objects(iou: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """One-to-one pairs ``(row, col)`` with IoU above ``threshold``, taken greedily best first.

    Parameters
    ----------
    iou : (P, C) float
        Finite scores, e.g. from :func:`label_iou`.
    threshold : float
        A pair needs ``iou > threshold``.

    Returns
    -------
    pairs : list of (int, int)
        Best pair first; ties in row-major order.
    """
    scores = as_array(iou, "iou", dtype=np.float64)
    if scores.ndim != 2:
        raise SelectorInputError(f"iou must be a (P, C) matrix; got shape {scores.shape}.")
    if not np.isfinite(scores).all():
        raise SelectorInputError("iou holds NaN or infinite values.")
    t = as_real(threshold, "threshold")
    rows, cols = np.nonzero(scores > t)
    return _greedy_pairs(rows, cols, scores[rows, cols])


def _wide_dtype(dtype: np.dtype) -> np.dtype:
    """An integer dtype at least as wide as ``dtype`` and int32 (uint64 stays uint64): ids are never narrowed."""
    return np.dtype(np.uint64) if dtype == np.uint64 else np.promote_types(dtype, np.int32)


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
    labels : (Z, H, W) int
        The input's integer dtype widened to at least int32 (int32 stays int32,
        int64 and uint64 stay as they are): every id is kept exactly, ids
        above 2**31 included. New ids ``max + 1, ...`` for the cut-off parts.

    Raises
    ------
    SelectorInputError
        Labels that are not a 3D integer volume or hold negative ids, ``ratio``
        outside ``(0, 1)``, or new ids that would not fit the dtype.
    """
    lab = as_label_image(labels, "labels", ndim=(3,))
    ratio = as_real(ratio, "ratio", low=0.0, high=1.0, low_open=True, high_open=True)
    out = lab.astype(_wide_dtype(lab.dtype), copy=True)
    top = int(np.iinfo(out.dtype).max)
    next_id = int(out.max(initial=0)) + 1
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
        if next_id > top:
            raise SelectorInputError(
                f"labels: a cut-off part needs the new id {next_id}, beyond {out.dtype}'s largest value; "
                "renumber the objects first (relabel_consecutive)."
            )
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
        Ids of any integer width (uint64 included) are told apart exactly; negative ids are an error.
    threshold : float
        Smallest IoU, in ``[0, 1)``, between an object and one in the previous slice
        for it to continue that object. 0.25 is a common start; lower links more.

    Returns
    -------
    labels : (Z, H, W) int32
        3D labels (or track ids): ids ``1..K`` numbered in order of first appearance;
        an object not continuing one of the previous slice starts a new id.
    """
    arr = as_label_image(stack, "stack", ndim=(3,))
    threshold = as_real(threshold, "threshold", low=0.0, high=1.0, high_open=True)
    out = np.zeros(arr.shape, np.int32)
    top = int(np.iinfo(np.int32).max)
    next_id = 1
    previous_out = None
    for z in range(arr.shape[0]):
        ids, inverse = np.unique(arr[z], return_inverse=True)
        linked = np.zeros(len(ids), np.int64)  # linked id per entry of ``ids`` (0 for the background)
        first = int(ids.size > 0 and ids[0] == 0)
        if previous_out is not None and len(ids) > first:
            prev_ids, _, rows, cols, values = _pair_overlaps(previous_out, arr[z])
            above = values > threshold
            for r, c in _greedy_pairs(rows[above], cols[above], values[above]):
                linked[first + c] = prev_ids[r]
        fresh = np.flatnonzero(linked[first:] == 0) + first
        if next_id + len(fresh) - 1 > top:
            raise SelectorInputError(f"stack holds more than {top} linked objects: more than int32 labels can hold.")
        linked[fresh] = np.arange(next_id, next_id + len(fresh))
        next_id += len(fresh)
        out[z] = linked[inverse.reshape(arr[z].shape)]
        previous_out = out[z]
    return out
