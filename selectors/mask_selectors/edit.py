"""Edit label images: merge, split (by a line or by a mask), delete and renumber objects.

Pure functions on integer label arrays (``0`` = background), made for
correcting labels from any tool (Cellpose, StarDist, a hand annotation).
Each returns a new array and changes only the pixels of the objects it names:
every other pixel keeps its value. Lines are polylines of ``(x, y)`` vertices
in pixel-edge coordinates (pixel ``(row, col)`` spans ``[col, col + 1) x
[row, row + 1)``), as the points and boxes of the selection rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

import numpy as np
from skimage.draw import line as draw_line
from skimage.measure import label as connected
from skimage.segmentation import expand_labels

from ._validation import (
    MAX_COORD,
    SelectorInputError,
    SelectorTypeError,
    as_array,
    as_binary,
    as_count,
    as_hw,
    as_label_image,
    check_allocation,
)

__all__ = [
    "carve_mask",
    "delete_labels",
    "line_pixels",
    "merge_labels",
    "object_ids",
    "relabel_consecutive",
    "set_label",
    "split_by_line",
]


def _as_labels(labels: object, *, ndim: int | None = None) -> np.ndarray:
    """An integer label image (ids of any width kept; negative ids refused), ``ndim``-D when given."""
    return as_label_image(labels, "labels", ndim=None if ndim is None else (ndim,))


def object_ids(labels: np.ndarray) -> np.ndarray:
    """(N,) sorted ids of the objects in ``labels`` (every value except 0)."""
    ids = np.unique(_as_labels(labels))
    return ids[ids != 0]


def _existing(labels: np.ndarray, ids: Iterable[object], name: str = "ids") -> list[int]:
    """``ids`` as distinct ints (first-seen order), each an object of ``labels``, else a message naming them."""
    if isinstance(ids, (str, bytes, dict)) or not hasattr(ids, "__iter__") or getattr(ids, "ndim", 1) == 0:
        raise SelectorTypeError(f"{name} must be a list of object ids; got {ids!r:.80}.")
    out: list[int] = []
    for value in ids:
        i = as_count(value, name, minimum=1)
        if i not in out:
            out.append(i)
    present = set(object_ids(labels).tolist())
    missing = [i for i in out if i not in present]
    if missing:
        some = sorted(present)
        shown = ", ".join(map(str, some[:8])) + (", ..." if len(some) > 8 else "")
        raise SelectorInputError(f"no object with id {', '.join(map(str, missing))} in the labels "
                                 f"(ids present: {shown or 'none'}).")
    return out


def _fits(labels: np.ndarray, value: int) -> int:
    if value > np.iinfo(labels.dtype).max:
        raise SelectorInputError(f"id {value} does not fit the labels' dtype {labels.dtype}: "
                                 "renumber the objects first or convert the labels to a wider integer type.")
    return value


def merge_labels(labels: np.ndarray, ids: Iterable[int], into: int | None = None) -> np.ndarray:
    """Join objects ``ids`` into one object.

    Parameters
    ----------
    labels : (...) integer array
    ids : iterable of int
        Two or more distinct ids present in ``labels``.
    into : int, optional
        The id of the merged object, one of ``ids`` (default the smallest).

    Returns
    -------
    (...) array of ``labels.dtype``
        Every pixel of ``ids`` set to ``into``; all other pixels unchanged.
    """
    labels = _as_labels(labels)
    chosen = _existing(labels, ids)
    if len(chosen) < 2:
        raise SelectorInputError(f"merge needs two or more different objects; got {chosen}.")
    target = min(chosen) if into is None else as_count(into, "into", minimum=1)
    if target not in chosen:
        raise SelectorInputError(f"into must be one of the merged ids {chosen}; got {target}.")
    out = labels.copy()
    out[np.isin(labels, np.array(chosen, labels.dtype))] = target  # ids in the labels' own dtype: exact
    return out


def delete_labels(labels: np.ndarray, ids: Iterable[int]) -> np.ndarray:
    """(...) copy of ``labels`` with objects ``ids`` (present in it) set to background 0."""
    labels = _as_labels(labels)
    chosen = _existing(labels, ids)
    if not chosen:
        raise SelectorInputError("delete needs at least one object id.")
    out = labels.copy()
    out[np.isin(labels, np.array(chosen, labels.dtype))] = 0
    return out


def set_label(labels: np.ndarray, old: int, new: int) -> np.ndarray:
    """(...) copy of ``labels`` with object ``old`` renamed ``new`` (an id no object has yet)."""
    labels = _as_labels(labels)
    (old,) = _existing(labels, [old], "old")
    new = _fits(labels, as_count(new, "new", minimum=1))
    if new == old:
        raise SelectorInputError(f"object {old} already has id {new}.")
    if np.any(labels == new):
        raise SelectorInputError(f"id {new} is taken by another object: merge the two objects instead.")
    out = labels.copy()
    out[labels == old] = new
    return out


def relabel_consecutive(labels: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """Renumber the objects 1..N in the order of their old ids.

    Returns
    -------
    relabelled : (...) array of ``labels.dtype``
    mapping : dict of int to int
        Old id -> new id, for every object.
    """
    labels = _as_labels(labels)
    ids = object_ids(labels)
    out = np.zeros_like(labels)
    inside = labels != 0
    out[inside] = np.searchsorted(ids, labels[inside]) + 1
    return out, {int(i): k for k, i in enumerate(ids.tolist(), start=1)}


def _clip_segment(p: np.ndarray, q: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """The part of segment ``p``-``q`` inside the box ``lo``..``hi`` (Liang-Barsky), or None."""
    t0, t1, d = 0.0, 1.0, q - p
    for k in range(2):
        for num, den in ((p[k] - lo[k], -d[k]), (hi[k] - p[k], d[k])):
            if den == 0:
                if num < 0:
                    return None
                continue
            t = num / den
            if den < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
    return None if t0 > t1 else (p + t0 * d, p + t1 * d)


def line_pixels(line: object, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the pixels a polyline passes through, as a 4-connected path.

    A 4-connected cut separates what lies on its two sides even for
    8-connected objects (a plain 8-connected line would let them touch
    diagonally across it).

    Parameters
    ----------
    line : (K, 2) float, K >= 2
        ``(x, y)`` vertices in pixel-edge coordinates; parts outside the image are dropped.
    shape : (H, W)
    """
    pts = as_array(line, "line", dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 2:
        raise SelectorInputError(f"line must be (K, 2) (x, y) vertices with K >= 2; got shape {pts.shape}.")
    if not np.isfinite(pts).all():
        raise SelectorInputError("line vertices must be finite numbers.")
    if np.abs(pts).max() > MAX_COORD:  # beyond 2**53 a difference of two vertices can overflow to inf
        raise SelectorInputError(f"line vertices must lie within +-{MAX_COORD:.0f} pixels of the image.")
    h, w = as_hw(shape, "shape")
    check_allocation((h, w), bool, "shape")
    out = np.zeros((h, w), bool)
    lo, hi = np.array([-0.5, -0.5]), np.array([w + 0.5, h + 0.5])  # a margin, so the cut reaches the border
    for p, q in pairwise(pts):
        seg = _clip_segment(p, q, lo, hi)
        if seg is None:
            continue
        (x0, y0), (x1, y1) = np.floor(seg[0]).astype(int), np.floor(seg[1]).astype(int)
        rr, cc = draw_line(y0, x0, y1, x1)
        diagonal = (np.diff(rr) != 0) & (np.diff(cc) != 0)
        rr = np.concatenate([rr, rr[:-1][diagonal]])  # fill each diagonal step with its corner pixel
        cc = np.concatenate([cc, cc[1:][diagonal]])
        keep = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        out[rr[keep], cc[keep]] = True
    return out


def _free_ids(labels: np.ndarray, first: int | None, n: int, name: str = "first_new_id") -> list[int]:
    start = int(labels.max(initial=0)) + 1 if first is None else as_count(first, name, minimum=1)
    ids = list(range(start, start + n))
    if n:
        _fits(labels, ids[-1])
        taken = np.intersect1d(np.array(ids, labels.dtype), object_ids(labels))  # same dtype: no float round trip
        if taken.size:
            raise SelectorInputError(f"{name}: id {int(taken[0])} is already an object.")
    return ids


def split_by_line(
    labels: np.ndarray, label_id: int, line: object, *, first_new_id: int | None = None
) -> tuple[np.ndarray, list[int]]:
    """Cut object ``label_id`` along a line: each part the line cuts off becomes a new object.

    The line must cross the object (from outside to outside, or through it
    far enough to cut it into parts). The largest part of each cut piece keeps
    ``label_id``; the others get new ids, largest first. Pixels under the line
    go to the nearest part, so the parts together are exactly the old object.

    Parameters
    ----------
    labels : (H, W) integer array
    label_id : int
        An object of ``labels``.
    line : (K, 2) float
        Polyline ``(x, y)`` vertices in pixel-edge coordinates.
    first_new_id : int, optional
        First id for the new parts (default ``labels.max() + 1``); no object may have the ids given.

    Returns
    -------
    split : (H, W) array of ``labels.dtype``
    new_ids : list of int
        The ids of the new parts (at least one).
    """
    labels = _as_labels(labels, ndim=2)
    (label_id,) = _existing(labels, [label_id], "label_id")
    cut_all = line_pixels(line, labels.shape)
    obj = labels == label_id
    rows, cols = np.nonzero(obj)
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    window = (slice(r0, r1), slice(c0, c1))
    obj, cut = obj[window], cut_all[window] & obj[window]
    whole = connected(obj, connectivity=2)  # the object's own parts, before the cut
    parts = connected(obj & ~cut, connectivity=2)
    # a part touches the cut when one of its pixels is next to (or diagonal to) a cut pixel
    near = np.zeros_like(cut)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            near |= np.roll(np.roll(np.pad(cut, 1), dr, 0), dc, 1)[1:-1, 1:-1]
    split_pieces = []
    for piece in np.unique(whole[cut]):
        touched = np.unique(parts[(whole == piece) & near & (parts > 0)])
        if len(touched) >= 2:
            split_pieces.append(touched)
    if not split_pieces:
        raise SelectorInputError(f"the line does not cut object {label_id} into parts: "
                                 "draw it across the object, from outside to outside.")
    sizes = np.bincount(parts.ravel())
    renamed = []  # part ids (in ``parts``) that become new objects, largest first
    for touched in split_pieces:
        by_size = sorted(touched.tolist(), key=lambda p: -sizes[p])
        renamed += by_size[1:]
    renamed.sort(key=lambda p: -sizes[p])
    new_ids = _free_ids(labels, first_new_id, len(renamed))
    # pixels under the line join their nearest part (every object pixel ends up in exactly one part)
    filled = expand_labels(parts, distance=max(parts.shape) + 1)
    parts = np.where(cut, filled, parts)
    lut = np.full(parts.max() + 1, label_id, dtype=labels.dtype)  # the labels' dtype holds every id exactly
    lut[renamed] = new_ids
    out = labels.copy()
    out[window][obj] = lut[parts[obj]].astype(labels.dtype)
    return out, new_ids


def carve_mask(
    labels: np.ndarray, label_id: int, mask: np.ndarray, *, new_id: int | None = None
) -> tuple[np.ndarray, int]:
    """Make the pixels of object ``label_id`` inside ``mask`` a new object.

    Parameters
    ----------
    labels : (...) integer array
    label_id : int
        An object of ``labels``.
    mask : (...) bool (or 0/1 integers), same shape as ``labels``
        E.g. the model's best mask for a box; it must cover part, not all, of the object.
    new_id : int, optional
        Default ``labels.max() + 1``; must be free.

    Returns
    -------
    carved : (...) array of ``labels.dtype``
    new_id : int
    """
    labels = _as_labels(labels)
    (label_id,) = _existing(labels, [label_id], "label_id")
    mask = as_binary(mask, "mask")
    if mask.shape != labels.shape:
        raise SelectorInputError(f"mask shape {mask.shape} differs from the labels' shape {labels.shape}.")
    obj = labels == label_id
    inside = obj & mask
    if not inside.any():
        raise SelectorInputError(f"the mask does not overlap object {label_id}.")
    if inside.sum() == obj.sum():
        raise SelectorInputError(f"the mask covers all of object {label_id}: nothing of it would remain.")
    (new_id,) = _free_ids(labels, new_id, 1, "new_id")
    out = labels.copy()
    out[inside] = new_id
    return out, new_id
