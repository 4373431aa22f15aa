"""Point and box rules on masks stored cropped to their boxes.

An everything-mode result keeps each mask only inside its pixel box
(``crops[i]`` covers ``boxes[i] = (x0, y0, x1, y1)``, exclusive ends). These
functions answer prompts on that form directly, with the same answers as
:func:`mask_selectors.select_by_points` and :func:`mask_selectors.select_by_boxes`
on the full ``(N, H, W)`` stack, but without building it:

* a point reads one pixel of each crop whose box holds it;
* painting touches only the chosen masks' crops;
* a box counts, for each crop its box touches, only the pixels inside the
  overlap (OpenCV's vectorised ``countNonZero``).

* a text prompt's pictures are cut from the image inside each crop's box
  (:func:`crop_pictures`, the crop form of :func:`mask_selectors.mask_crops`).

Time and memory follow the masks that can matter, not N x H x W.
"""

from __future__ import annotations

import cv2
import numpy as np

from ._validation import (
    SelectorInputError,
    SelectorTypeError,
    as_array,
    as_checked_crops,
    as_crop_list,
    as_flag,
    as_hw,
    as_indices,
    as_labels,
    as_points,
    as_real,
    check_allocation,
    crop_areas,
)
from .boxes import normalize_boxes
from .masks import descending_order
from .points import ADD, NONE, REMOVE
from .text import DEFAULT_MIN_AREA, MaskCrops


def check_crops(crops, boxes) -> tuple[list[np.ndarray], np.ndarray]:
    """Check that ``crops[i]`` is a mask of the shape of ``boxes[i]``.

    The functions below run this on every call, which costs a Python loop over
    all N crops; a caller that keeps the same crops for many prompts checks
    once with this function and passes ``checked=True`` afterwards.

    Parameters
    ----------
    crops : sequence of (h_i, w_i) bool or 0/1 arrays
    boxes : (N, 4) int
        ``(x0, y0, x1, y1)``, exclusive ends; whole numbers (integral floats accepted).

    Returns
    -------
    crops : list of (h_i, w_i) bool
    boxes : (N, 4) int64
    """
    return as_crop_list(crops, boxes)


def crop_point_actions(crops, boxes, hw: tuple[int, int], points, labels=None, *, checked: bool = False) -> np.ndarray:
    """:func:`mask_selectors.point_actions` on box-cropped masks.

    Parameters
    ----------
    crops : list of (h_i, w_i) bool
        Mask ``i`` inside ``boxes[i]``.
    boxes : (N, 4) int
        ``(x0, y0, x1, y1)``, exclusive ends, inside the image.
    hw : (int, int)
        Image height and width.
    points : (P, 2) float
        ``(x, y)`` pixel coordinates.
    labels : (P,) int or bool, optional
        1 foreground, 0 background; all foreground when omitted.
    checked : bool
        ``crops`` and ``boxes`` are as :func:`check_crops` returned them (a
        list of bool arrays and ``(N, 4)`` int64 boxes); skips the per-call check.

    Returns
    -------
    actions : (N,) int8
        1 add, -1 remove, 0 no point inside the mask.
    """
    hw = as_hw(hw)
    crops, b = as_checked_crops(crops, boxes, checked, hw)
    return _point_actions(crops, b, hw, points, labels)


def _point_actions(crops, b, hw, points, labels) -> np.ndarray:
    xy = as_points(points, hw)
    fg = as_labels(labels, len(xy))
    holds = (b[:, None, 0] <= xy[None, :, 0]) & (xy[None, :, 0] < b[:, None, 2])
    holds &= (b[:, None, 1] <= xy[None, :, 1]) & (xy[None, :, 1] < b[:, None, 3])
    actions = np.zeros(len(b), np.int8)
    mi, pi = np.nonzero(holds)  # only masks whose box holds the point are read
    # one pixel per (mask, point) pair, read with Python ints (numpy scalar indexing costs ~1 us each)
    rows = (xy[pi, 1] - b[mi, 1]).tolist()
    cols = (xy[pi, 0] - b[mi, 0]).tolist()
    fgl = fg[pi].tolist()
    for i, r, c, f in zip(mi.tolist(), rows, cols, fgl):
        if crops[i][r, c]:
            if not f:
                actions[i] = REMOVE  # a background point wins over any foreground one
            elif actions[i] == NONE:
                actions[i] = ADD
    return actions


def select_by_points_in_crops(
    crops, boxes, hw: tuple[int, int], points, labels=None, *, areas=None, checked: bool = False
) -> np.ndarray:
    """:func:`mask_selectors.select_by_points` on box-cropped masks.

    Masks with a point are painted from the largest area to the smallest,
    each only inside its own box.

    Parameters
    ----------
    crops, boxes, hw, points, labels, checked
        As :func:`crop_point_actions`.
    areas : (N,) int, optional
        Pixel counts of the masks (counted from the crops when omitted).

    Returns
    -------
    selection : (H, W) bool
    """
    hw = as_hw(hw)
    crops, b = as_checked_crops(crops, boxes, checked, hw)
    actions = _point_actions(crops, b, hw, points, labels)
    a = None if areas is None else crop_areas(crops, areas)  # checked before the output is allocated
    check_allocation(hw, bool, "hw")
    out = np.zeros(hw, bool)
    acting = np.flatnonzero(actions != NONE)
    if len(acting) == 0:
        return out
    a = crop_areas(crops, None) if a is None else a
    order = acting[descending_order(a[acting])]
    painted = False
    for i, (x0, y0, x1, y1), act in zip(order.tolist(), b[order].tolist(), actions[order].tolist()):
        region = out[y0:y1, x0:x1]
        if not painted:  # ``out`` is still all False: removing is a no-op, adding a plain copy
            if act == ADD:
                # a copy writes each fresh page once; an OR would read it first (two page faults)
                np.copyto(region, crops[i])
                painted = True
        elif act == ADD:  # element-wise OR on the box (OpenCV SIMD), not a boolean-index assignment
            r8 = region.view(np.uint8)
            cv2.bitwise_or(r8, crops[i].view(np.uint8), dst=r8)
        else:
            np.greater(region, crops[i], out=region)  # region and not crop
    return out


def crop_box_iou(crops, boxes, hw: tuple[int, int], prompt_boxes, *, areas=None, checked: bool = False) -> np.ndarray:
    """:func:`mask_selectors.box_mask_iou` on box-cropped masks.

    Only masks whose box touches a prompt box are looked at, and only inside
    the overlap of the two boxes.

    Parameters
    ----------
    crops, boxes, hw, checked
        As :func:`crop_point_actions`.
    prompt_boxes : (B, 4) float
        ``(x0, y0, x1, y1)``; normalised with :func:`mask_selectors.normalize_boxes`.
    areas : (N,) int, optional
        Pixel counts of the masks.

    Returns
    -------
    iou : (B, N) float64
    """
    hw = as_hw(hw)
    crops, b = as_checked_crops(crops, boxes, checked, hw)
    pb = normalize_boxes(prompt_boxes, hw)
    a = crop_areas(crops, areas).astype(np.float64)
    iou = np.zeros((len(pb), len(b)), np.float64)
    for k, (x0, y0, x1, y1) in enumerate(pb):
        ix0, iy0 = np.maximum(b[:, 0], x0), np.maximum(b[:, 1], y0)
        ix1, iy1 = np.minimum(b[:, 2], x1), np.minimum(b[:, 3], y1)
        box_area = float((x1 - x0) * (y1 - y0))
        touch = np.flatnonzero((ix1 > ix0) & (iy1 > iy0))
        # overlap of each touching crop with the box, in the crop's own pixels (Python ints for slicing)
        rows = np.stack([iy0[touch], iy1[touch]], 1) - b[touch, 1:2]
        cols = np.stack([ix0[touch], ix1[touch]], 1) - b[touch, 0:1]
        for i, (r0, r1), (c0, c1), ai in zip(touch.tolist(), rows.tolist(), cols.tolist(), a[touch].tolist()):
            inside = cv2.countNonZero(crops[i][r0:r1, c0:c1].view(np.uint8))
            iou[k, i] = inside / (box_area + ai - inside)
    return iou


def select_by_boxes_in_crops(
    crops, boxes, hw: tuple[int, int], prompt_boxes, *, areas=None, checked: bool = False
) -> np.ndarray:
    """:func:`mask_selectors.select_by_boxes` on box-cropped masks (arguments as :func:`crop_box_iou`).

    Returns
    -------
    indices : (B,) int64
        Mask with the highest box IoU per prompt box (ties: lower index), or
        ``-1`` where no mask overlaps the box.
    """
    iou = crop_box_iou(crops, boxes, hw, prompt_boxes, areas=areas, checked=checked)
    if iou.shape[1] == 0:
        return np.full(len(iou), -1, np.int64)
    return np.where(iou.max(axis=1) > 0, iou.argmax(axis=1), -1).astype(np.int64)


def paint_crops(out: np.ndarray, crops, boxes, indices, values, *, checked: bool = False) -> np.ndarray:
    """Write ``values[k]`` into ``out`` on the pixels of mask ``indices[k]``, in that order, touching only its crop.

    Parameters
    ----------
    out : (H, W) array
        Painted in place (and returned); every box must lie inside it.
    crops, boxes, checked
        As :func:`crop_point_actions`.
    indices : (K,) int
        Masks to paint, each in ``[0, N)``; negative indices are skipped.
    values : scalar or (K,) array
        Value per painted mask; each must fit ``out``'s dtype exactly (an id
        2**31 is refused for an int32 ``out``, never wrapped).

    Raises
    ------
    SelectorInputError
        An index that names no mask, a value that does not fit ``out``, a read-only
        ``out``, or a box outside it.
    """
    if not isinstance(out, np.ndarray) or out.ndim != 2:
        raise SelectorTypeError(f"out must be a 2D numpy array painted in place; got {type(out).__name__} "
                                f"{getattr(out, 'shape', '')}.")
    if not out.flags.writeable:
        raise SelectorInputError("out is read-only; pass a writeable array (e.g. out.copy()).")
    if out.dtype.kind not in "biuf":
        raise SelectorTypeError(f"out must be a bool, integer or float array; got dtype {out.dtype}.")
    crops, b = as_checked_crops(crops, boxes, checked, out.shape)
    idx = as_indices(indices, len(b), allow_negative=True)
    vals = _paint_values(values, len(idx), out.dtype)
    for i, v in zip(idx.tolist(), vals):
        if i >= 0:
            x0, y0, x1, y1 = b[i].tolist()
            np.copyto(out[y0:y1, x0:x1], v, where=crops[i])
    return out


def _paint_values(values, k: int, dtype: np.dtype) -> np.ndarray:
    """``values`` as ``(k,)`` of ``dtype``, refused when a value would change on the way (wrap, round, NaN)."""
    vals = as_array(values, "values", kinds="biuf")
    if vals.ndim == 0:
        vals = np.broadcast_to(vals, (k,))
    if vals.shape != (k,):
        raise SelectorInputError(f"values must be one scalar or one value per index, shape ({k},); "
                                 f"got shape {vals.shape}.")
    if dtype.kind in "iub" and vals.size:
        if vals.dtype.kind == "f" and (not np.isfinite(vals).all() or (vals != np.floor(vals)).any()):
            raise SelectorInputError(f"values must be whole numbers to paint into {dtype} labels.")
        low, high = (0, 1) if dtype.kind == "b" else (int(np.iinfo(dtype).min), int(np.iinfo(dtype).max))
        if vals.dtype.kind == "f":
            fits = float(vals.min()) >= low and float(vals.max()) <= high
        else:
            fits = int(vals.min()) >= low and int(vals.max()) <= high
        if not fits:
            raise SelectorInputError(f"values {vals.min()}..{vals.max()} do not fit out's dtype {dtype} "
                                     f"([{low}, {high}]); use a wider integer type for out.")
    return vals.astype(dtype)


def crop_pictures(
    image,
    crops,
    boxes,
    *,
    min_area: int = DEFAULT_MIN_AREA,
    fill_background: bool = True,
    areas=None,
    checked: bool = False,
) -> MaskCrops:
    """:func:`mask_selectors.mask_crops` on box-cropped masks: one picture per mask for an image encoder.

    Parameters
    ----------
    image : (H, W, 3) uint8
    crops, boxes, checked
        As :func:`crop_point_actions` (``boxes`` inside the image).
    min_area : int
        Masks with at most this many pixels are skipped (default 100); a finite number >= 0.
    fill_background : bool
        Paint the pixels outside the mask white (this project's tight style;
        FastSAM itself keeps the full frame and whites out only outside the box).
    areas : (N,) int, optional
        Pixel counts of the masks.

    Returns
    -------
    MaskCrops
        ``crops[j]`` is the image inside the box of mask ``indices[j]``.
    """
    img = as_array(image, "image", kinds="biuf")
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8 or 0 in img.shape:
        raise SelectorInputError(f"image must be an (H, W, 3) uint8 RGB array; got {img.shape} {img.dtype}.")
    smallest = as_real(min_area, "min_area", low=0.0)
    fill_background = as_flag(fill_background, "fill_background")
    crops, b = as_checked_crops(crops, boxes, checked, img.shape[:2])
    a = crop_areas(crops, areas)
    pictures, kept = [], []
    for i in np.flatnonzero(a > smallest):
        x0, y0, x1, y1 = b[i]
        if fill_background:  # white canvas, the object's pixels copied in (OpenCV masked copy)
            pic = np.full((y1 - y0, x1 - x0, 3), 255, np.uint8)
            cv2.copyTo(img[y0:y1, x0:x1], crops[i].view(np.uint8), pic)
        else:
            pic = img[y0:y1, x0:x1].copy()
        pictures.append(pic)
        kept.append(i)
    return MaskCrops(crops=pictures, indices=np.asarray(kept, dtype=np.int64))
