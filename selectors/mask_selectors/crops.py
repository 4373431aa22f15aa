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

from ._validation import SelectorInputError, as_labels, as_points
from .boxes import normalize_boxes
from .masks import paint_order
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
        ``(x0, y0, x1, y1)``, exclusive ends.

    Returns
    -------
    crops : list of (h_i, w_i) bool
    boxes : (N, 4) int64
    """
    b = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    crops = list(crops)
    if not all(isinstance(c, np.ndarray) and c.dtype == bool for c in crops):
        crops = [np.asarray(c, bool) for c in crops]
    if len(crops) != len(b):
        raise SelectorInputError(f"crops and boxes must have the same length; got {len(crops)} and {len(b)}.")
    shapes = np.array([c.shape if c.ndim == 2 else (-1, -1) for c in crops], np.int64).reshape(-1, 2)
    bad = np.flatnonzero((shapes[:, 0] != b[:, 3] - b[:, 1]) | (shapes[:, 1] != b[:, 2] - b[:, 0]))
    if len(bad):
        i = int(bad[0])
        need = (int(b[i, 3] - b[i, 1]), int(b[i, 2] - b[i, 0]))
        raise SelectorInputError(f"crop {i} has shape {crops[i].shape} but its box {b[i].tolist()} needs {need}.")
    return crops, b


def _crops(crops, boxes, checked: bool) -> tuple[list[np.ndarray], np.ndarray]:
    """``crops`` and ``boxes`` as :func:`check_crops` returns them; taken as they are when ``checked``."""
    return (crops, boxes) if checked else check_crops(crops, boxes)


def _areas(crops: list[np.ndarray], areas) -> np.ndarray:
    if areas is None:
        return np.array([np.count_nonzero(c) for c in crops], dtype=np.int64)
    a = np.asarray(areas).reshape(-1)
    if len(a) != len(crops):
        raise SelectorInputError(f"areas must have one entry per mask ({len(crops)}); got {len(a)}.")
    return a


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
    crops, b = _crops(crops, boxes, checked)
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
    crops, b = _crops(crops, boxes, checked)
    actions = _point_actions(crops, b, hw, points, labels)
    out = np.zeros(tuple(int(v) for v in hw), bool)
    acting = np.flatnonzero(actions != NONE)
    if len(acting) == 0:
        return out
    a = _areas(crops, areas)
    order = acting[paint_order(a[acting])]
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
    crops, b = _crops(crops, boxes, checked)
    pb = normalize_boxes(prompt_boxes, hw)
    a = _areas(crops, areas).astype(np.float64)
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
        Painted in place (and returned).
    crops, boxes, checked
        As :func:`crop_point_actions`.
    indices : (K,) int
        Masks to paint; negative indices are skipped.
    values : scalar or (K,) array
        Value per painted mask.
    """
    crops, b = _crops(crops, boxes, checked)
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    vals = np.broadcast_to(np.asarray(values), idx.shape)
    for i, v in zip(idx.tolist(), vals):
        if i >= 0:
            x0, y0, x1, y1 = b[i].tolist()
            np.copyto(out[y0:y1, x0:x1], v, where=crops[i])
    return out


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
        Masks with at most this many pixels are skipped (default 100).
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
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise SelectorInputError(f"image must be an (H, W, 3) uint8 RGB array; got {img.shape} {img.dtype}.")
    crops, b = _crops(crops, boxes, checked)
    if len(b) and (b[:, :2].min() < 0 or b[:, 2].max() > img.shape[1] or b[:, 3].max() > img.shape[0]):
        raise SelectorInputError(f"boxes reach outside the {img.shape[1]} x {img.shape[0]} image.")
    a = _areas(crops, areas)
    pictures, kept = [], []
    for i in np.flatnonzero(a > min_area):
        x0, y0, x1, y1 = b[i]
        if fill_background:  # white canvas, the object's pixels copied in (OpenCV masked copy)
            pic = np.full((y1 - y0, x1 - x0, 3), 255, np.uint8)
            cv2.copyTo(img[y0:y1, x0:x1], crops[i].view(np.uint8), pic)
        else:
            pic = img[y0:y1, x0:x1].copy()
        pictures.append(pic)
        kept.append(i)
    return MaskCrops(crops=pictures, indices=np.asarray(kept, dtype=np.int64))
