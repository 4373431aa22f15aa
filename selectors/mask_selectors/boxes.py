"""Box prompts: each box picks the mask that best fills it.

Boxes are ``(x0, y0, x1, y1)`` in pixel-edge coordinates of the image (``x``
columns, ``y`` rows, ``x1``/``y1`` exclusive). A napari Shapes rectangle gives
its corners as ``(row, col)``; ``x0, x1 = sorted(cols)`` and
``y0, y1 = sorted(rows)``, adding 1 to the ends when the corners are pixel
centres.
"""

from __future__ import annotations

import numpy as np

from ._validation import SelectorInputError, as_areas, as_boxes, as_hw, as_masks


def normalize_boxes(boxes: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Order each box's corners, round them outward to whole pixels and clip to the image.

    The low corner is floored and the high corner ceiled, so the integer box
    covers every pixel the float box touches (``(1.2, 1.2, 3.5, 3.5)`` becomes
    ``(1, 1, 4, 4)``).

    Parameters
    ----------
    boxes : (B, 4) float
        ``(x0, y0, x1, y1)``; corners may come in any order.
    hw : (int, int)
        Image height and width.

    Returns
    -------
    boxes : (B, 4) int64
        ``x0 < x1 <= W`` and ``y0 < y1 <= H``.

    Raises
    ------
    SelectorInputError
        When a box has no area after clipping (degenerate, or wholly outside),
        or ``boxes``/``hw`` are malformed.
    """
    b = as_boxes(boxes)
    h, w = as_hw(hw)
    xs = np.sort(b[:, [0, 2]], axis=1)
    ys = np.sort(b[:, [1, 3]], axis=1)
    x0 = np.clip(np.floor(xs[:, 0]), 0, w)
    x1 = np.clip(np.ceil(xs[:, 1]), 0, w)
    y0 = np.clip(np.floor(ys[:, 0]), 0, h)
    y1 = np.clip(np.ceil(ys[:, 1]), 0, h)
    out = np.stack([x0, y0, x1, y1], axis=1).astype(np.int64)
    empty = (out[:, 2] <= out[:, 0]) | (out[:, 3] <= out[:, 1])
    if empty.any():
        raise SelectorInputError(
            f"box(es) {b[empty].tolist()} have no area inside the {w} x {h} image; "
            "draw a rectangle that covers part of the image."
        )
    return out


def box_mask_iou(masks: np.ndarray, boxes: np.ndarray, *, areas: np.ndarray | None = None) -> np.ndarray:
    """IoU between every box region and every mask.

    ``IoU = |mask ∩ box| / (|box| + |mask| - |mask ∩ box|)``, where the box
    region is the filled rectangle.

    Parameters
    ----------
    masks : (N, H, W) bool or 0/1 integer array
    boxes : (B, 4) float
        ``(x0, y0, x1, y1)``, normalised with :func:`normalize_boxes`.
    areas : (N,) int, optional
        Precomputed mask pixel counts.

    Returns
    -------
    iou : (B, N) float64
    """
    m = as_masks(masks)
    b = normalize_boxes(boxes, m.shape[1:])
    a = as_areas(areas, m).astype(np.float64)
    iou = np.empty((len(b), len(m)), dtype=np.float64)
    for k, (x0, y0, x1, y1) in enumerate(b):
        inside = m[:, y0:y1, x0:x1].sum(axis=(1, 2), dtype=np.int64)
        box_area = float((x1 - x0) * (y1 - y0))
        # the union is at least the box: an ``areas`` value below the true count cannot give IoU > 1 or 1/0
        iou[k] = inside / np.maximum(box_area + a - inside, box_area)
    return iou


def select_by_boxes(masks: np.ndarray, boxes: np.ndarray, *, areas: np.ndarray | None = None) -> np.ndarray:
    """Index of the mask with the highest box IoU, one per box (FastSAM's box rule).

    Parameters
    ----------
    masks : (N, H, W) bool or 0/1 integer array
    boxes : (B, 4) or (4,) float
        ``(x0, y0, x1, y1)`` pixel-edge coordinates; corners in any order,
        clipped to the image.
    areas : (N,) int, optional
        Precomputed mask pixel counts.

    Returns
    -------
    indices : (B,) int64
        Ties go to the lower mask index; ``-1`` where no mask overlaps the box
        at all (every IoU is 0).
    """
    iou = box_mask_iou(masks, boxes, areas=areas)
    return np.where(iou.max(axis=1) > 0, iou.argmax(axis=1), -1).astype(np.int64)
