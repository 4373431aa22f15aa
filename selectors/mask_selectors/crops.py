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


def _as_crops(crops, boxes) -> tuple[list[np.ndarray], np.ndarray]:
    """Check that ``crops[i]`` has the shape of ``boxes[i]``; return the list and ``(N, 4)`` int64 boxes."""
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


def _areas(crops: list[np.ndarray], areas) -> np.ndarray:
    if areas is None:
        return np.array([np.count_nonzero(c) for c in crops], dtype=np.int64)
    a = np.asarray(areas).reshape(-1)
    if len(a) != len(crops):
        raise SelectorInputError(f"areas must have one entry per mask ({len(crops)}); got {len(a)}.")
    return a


def crop_point_actions(crops, boxes, hw: tuple[int, int], points, labels=None) -> np.ndarray:
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

    Returns
    -------
    actions : (N,) int8
        1 add, -1 remove, 0 no point inside the mask.
    """
    crops, b = _as_crops(crops, boxes)
    return _point_actions(crops, b, hw, points, labels)


def _point_actions(crops, b, hw, points, labels) -> np.ndarray:
    xy = as_points(points, hw)
    fg = as_labels(labels, len(xy))
    holds = (b[:, None, 0] <= xy[None, :, 0]) & (xy[None, :, 0] < b[:, None, 2])
    holds &= (b[:, None, 1] <= xy[None, :, 1]) & (xy[None, :, 1] < b[:, None, 3])
    has_fg = np.zeros(len(b), bool)
    has_bg = np.zeros(len(b), bool)
    for i, p in zip(*np.nonzero(holds)):  # only masks whose box holds the point
        if crops[i][xy[p, 1] - b[i, 1], xy[p, 0] - b[i, 0]]:
            (has_fg if fg[p] else has_bg)[i] = True
    return np.where(has_bg, REMOVE, np.where(has_fg, ADD, NONE)).astype(np.int8)


def select_by_points_in_crops(crops, boxes, hw: tuple[int, int], points, labels=None, *, areas=None) -> np.ndarray:
    """:func:`mask_selectors.select_by_points` on box-cropped masks.

    Masks with a point are painted from the largest area to the smallest,
    each only inside its own box.

    Parameters
    ----------
    crops, boxes, hw, points, labels
        As :func:`crop_point_actions`.
    areas : (N,) int, optional
        Pixel counts of the masks (counted from the crops when omitted).

    Returns
    -------
    selection : (H, W) bool
    """
    crops, b = _as_crops(crops, boxes)
    actions = _point_actions(crops, b, hw, points, labels)
    out = np.zeros(tuple(int(v) for v in hw), bool)
    acting = np.flatnonzero(actions != NONE)
    if len(acting) == 0:
        return out
    a = _areas(crops, areas)
    for i in acting[paint_order(a[acting])]:
        x0, y0, x1, y1 = b[i]
        region = out[y0:y1, x0:x1]
        if actions[i] == ADD:  # element-wise OR on the box (OpenCV SIMD), not a boolean-index assignment
            r8 = region.view(np.uint8)
            cv2.bitwise_or(r8, crops[i].view(np.uint8), dst=r8)
        else:
            np.greater(region, crops[i], out=region)  # region and not crop
    return out


def crop_box_iou(crops, boxes, hw: tuple[int, int], prompt_boxes, *, areas=None) -> np.ndarray:
    """:func:`mask_selectors.box_mask_iou` on box-cropped masks.

    Only masks whose box touches a prompt box are looked at, and only inside
    the overlap of the two boxes.

    Parameters
    ----------
    crops, boxes, hw
        As :func:`crop_point_actions`.
    prompt_boxes : (B, 4) float
        ``(x0, y0, x1, y1)``; normalised with :func:`mask_selectors.normalize_boxes`.
    areas : (N,) int, optional
        Pixel counts of the masks.

    Returns
    -------
    iou : (B, N) float64
    """
    crops, b = _as_crops(crops, boxes)
    pb = normalize_boxes(prompt_boxes, hw)
    a = _areas(crops, areas).astype(np.float64)
    iou = np.zeros((len(pb), len(b)), np.float64)
    for k, (x0, y0, x1, y1) in enumerate(pb):
        ix0, iy0 = np.maximum(b[:, 0], x0), np.maximum(b[:, 1], y0)
        ix1, iy1 = np.minimum(b[:, 2], x1), np.minimum(b[:, 3], y1)
        box_area = float((x1 - x0) * (y1 - y0))
        for i in np.flatnonzero((ix1 > ix0) & (iy1 > iy0)):
            part = crops[i][iy0[i] - b[i, 1] : iy1[i] - b[i, 1], ix0[i] - b[i, 0] : ix1[i] - b[i, 0]]
            inside = cv2.countNonZero(part.view(np.uint8))
            iou[k, i] = inside / (box_area + a[i] - inside)
    return iou


def select_by_boxes_in_crops(crops, boxes, hw: tuple[int, int], prompt_boxes, *, areas=None) -> np.ndarray:
    """:func:`mask_selectors.select_by_boxes` on box-cropped masks.

    Returns
    -------
    indices : (B,) int64
        Mask with the highest box IoU per prompt box (ties: lower index), or
        ``-1`` where no mask overlaps the box.
    """
    iou = crop_box_iou(crops, boxes, hw, prompt_boxes, areas=areas)
    if iou.shape[1] == 0:
        return np.full(len(iou), -1, np.int64)
    return np.where(iou.max(axis=1) > 0, iou.argmax(axis=1), -1).astype(np.int64)


def paint_crops(out: np.ndarray, crops, boxes, indices, values) -> np.ndarray:
    """Write ``values[k]`` into ``out`` on the pixels of mask ``indices[k]``, in that order, touching only its crop.

    Parameters
    ----------
    out : (H, W) array
        Painted in place (and returned).
    crops, boxes
        As :func:`crop_point_actions`.
    indices : (K,) int
        Masks to paint; negative indices are skipped.
    values : scalar or (K,) array
        Value per painted mask.
    """
    crops, b = _as_crops(crops, boxes)
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    vals = np.broadcast_to(np.asarray(values), idx.shape)
    for i, v in zip(idx, vals):
        if i >= 0:
            x0, y0, x1, y1 = b[i]
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
) -> MaskCrops:
    """:func:`mask_selectors.mask_crops` on box-cropped masks: one picture per mask for an image encoder.

    Parameters
    ----------
    image : (H, W, 3) uint8
    crops, boxes
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
    crops, b = _as_crops(crops, boxes)
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
