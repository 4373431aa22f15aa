"""Per-mask geometry, smoothing and label painting.

Coordinates follow image conventions: ``x`` is the column, ``y`` the row.
Boxes are ``(x0, y0, x1, y1)`` in pixel-edge coordinates, so ``x1``/``y1`` are
exclusive: a single pixel at column 3, row 5 has the box ``(3, 5, 4, 6)``.
"""

from __future__ import annotations

import cv2
import numpy as np

from ._validation import (
    as_area_values,
    as_areas,
    as_count,
    as_crop_list,
    as_hw,
    as_mask,
    as_masks,
    check_allocation,
)

EMPTY_BOX = (0, 0, 0, 0)


def mask_areas(masks: np.ndarray) -> np.ndarray:
    """Pixel count of each mask.

    Parameters
    ----------
    masks : (N, H, W) bool or 0/1 integer array

    Returns
    -------
    areas : (N,) int64
    """
    return as_masks(masks).sum(axis=(1, 2), dtype=np.int64)


def contour_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """Box around a mask's external contours, merged into one rectangle.

    Each external contour found by OpenCV gets its bounding rectangle; the
    union of those rectangles is returned, so a mask made of several parts
    gets one box around all of them.

    Parameters
    ----------
    mask : (H, W) bool or 0/1 integer array

    Returns
    -------
    box : tuple of 4 int
        ``(x0, y0, x1, y1)`` with exclusive ``x1, y1``. An empty mask returns
        :data:`EMPTY_BOX` ``(0, 0, 0, 0)``, a box with zero area (no real mask
        has one).
    """
    m = as_mask(mask).astype(np.uint8)
    contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return EMPTY_BOX
    rects = np.array([cv2.boundingRect(c) for c in contours])  # x, y, w, h
    x0, y0 = rects[:, 0].min(), rects[:, 1].min()
    x1 = (rects[:, 0] + rects[:, 2]).max()
    y1 = (rects[:, 1] + rects[:, 3]).max()
    return int(x0), int(y0), int(x1), int(y1)


def contour_boxes(masks: np.ndarray) -> np.ndarray:
    """Vectorised :func:`contour_box` for a stack of masks.

    The union of the external contours' rectangles equals the extent of the
    mask's pixels, so it is computed from row and column projections for all
    masks at once instead of tracing contours one mask at a time.

    Parameters
    ----------
    masks : (N, H, W) bool or 0/1 integer array

    Returns
    -------
    boxes : (N, 4) int64
        ``(x0, y0, x1, y1)`` per mask, exclusive ``x1, y1``; empty masks get
        ``(0, 0, 0, 0)``.
    """
    m = as_masks(masks)
    rows = m.any(axis=2)  # (N, H)
    cols = m.any(axis=1)  # (N, W)
    h, w = m.shape[1:]
    nonempty = rows.any(axis=1)
    y0 = rows.argmax(axis=1)
    y1 = h - rows[:, ::-1].argmax(axis=1)
    x0 = cols.argmax(axis=1)
    x1 = w - cols[:, ::-1].argmax(axis=1)
    boxes = np.stack([x0, y0, x1, y1], axis=1).astype(np.int64)
    boxes[~nonempty] = 0
    return boxes


def smooth_mask(mask: np.ndarray, close_size: int = 3, open_size: int = 8) -> np.ndarray:
    """Morphological close, then open: this project's optional smoothing of merged prompt results.

    Closing fills pinholes and narrow gaps between merged masks; opening then
    removes specks and thin spurs narrower than ``open_size``. The original
    FastSAM never smooths the masks it returns: the same close (3 x 3) then
    open (8 x 8) appears there only in its plotting code, as the display
    option ``better_quality``; here it is an opt-in choice (``smooth=True``).

    Parameters
    ----------
    mask : (H, W) bool or 0/1 integer array
    close_size, open_size : int
        Side of the square structuring elements in pixels (default 3 and 8,
        the sizes of FastSAM's ``better_quality`` display option). ``0`` or
        ``1`` skips that step. A side larger than twice the image gives the
        same answer as ``2 * max(H, W) + 1`` (the element then covers the
        whole image from every pixel), so it is capped there.

    Returns
    -------
    smoothed : (H, W) bool
        A new array; ``mask`` is not modified.
    """
    sizes = (as_count(close_size, "close_size"), as_count(open_size, "open_size"))
    m = as_mask(mask).astype(np.uint8)
    cap = 2 * max(m.shape) + 1
    for size, (first, second) in zip(sizes, ((cv2.dilate, cv2.erode), (cv2.erode, cv2.dilate))):
        if size > 1:
            # a square element is a row then a column: same result, memory O(size), not O(size^2)
            k = min(size, cap)
            for op in (first, second):
                m = op(op(m, np.ones((1, k), np.uint8)), np.ones((k, 1), np.uint8))
    return m.astype(bool)


def paint_order(areas: np.ndarray) -> np.ndarray:
    """Mask indices from the largest area to the smallest; ties keep input order.

    Parameters
    ----------
    areas : (N,) int

    Returns
    -------
    order : (N,) int64

    Raises
    ------
    SelectorInputError
        Areas that are not a 1D array of finite numbers >= 0.
    """
    return descending_order(as_area_values(areas, "areas"))


def descending_order(values: np.ndarray) -> np.ndarray:
    """:func:`paint_order` of ``(N,)`` values already checked (no validation: the prompt loops call it).

    Descending and stable without negating (``-a`` wraps unsigned areas): sort the reversed array
    ascending, stably, then reverse; equal values come out in input order.
    """
    return (len(values) - 1 - np.argsort(values[::-1], kind="stable")[::-1]).astype(np.int64)


def masks_to_labels(masks: np.ndarray, areas: np.ndarray | None = None) -> np.ndarray:
    """Paint masks into one label image, smaller objects on top.

    Mask ``i`` gets the id ``i + 1``. Masks are painted from the largest area
    to the smallest (ties: lower index first), so a small object lying on a
    larger one stays visible. A mask covered entirely by masks painted after it,
    and an empty mask, leave no pixel with their id.

    Parameters
    ----------
    masks : (N, H, W) bool or 0/1 integer array
    areas : (N,) int, optional
        Precomputed :func:`mask_areas`, to skip recounting.

    Returns
    -------
    labels : (H, W) int32
        0 is background.
    """
    m = as_masks(masks)
    h, w = m.shape[1:]
    whole = np.tile(np.array([0, 0, w, h], np.int64), (len(m), 1))
    return crops_to_labels(list(m), whole, (h, w), areas=as_areas(areas, m))


def crops_to_labels(
    crops: list[np.ndarray], boxes: np.ndarray, hw: tuple[int, int], areas: np.ndarray | None = None
) -> np.ndarray:
    """:func:`masks_to_labels` for masks stored cropped to their boxes.

    Large images produce many small objects; keeping each mask only inside its
    box bounds memory by the objects' size, not N x H x W.

    Parameters
    ----------
    crops : list of (h_i, w_i) bool
        ``crops[i]`` covers ``boxes[i]``.
    boxes : (N, 4) int
        ``(x0, y0, x1, y1)``, exclusive ends, with ``y1 - y0 == h_i`` and
        ``x1 - x0 == w_i``.
    hw : (int, int)
        Height and width of the label image.
    areas : (N,) int, optional
        Pixel counts; computed from the crops when omitted.

    Returns
    -------
    labels : (H, W) int32
        Mask ``i`` has id ``i + 1``; larger masks are painted first.
    """
    crops, b = as_crop_list(crops, boxes)
    h, w = as_hw(hw)
    a = np.array([np.count_nonzero(c) for c in crops], np.int64) if areas is None else as_area_values(areas, n=len(b))
    check_allocation((h, w), np.int32, "hw")
    labels = np.zeros((h, w), dtype=np.int32)
    for i in paint_order(a):
        x0, y0, x1, y1 = b[i]
        # a box reaching past the image edge paints only its part inside (never wraps around)
        cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if cx1 <= cx0 or cy1 <= cy0:
            continue
        part = crops[i][cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
        labels[cy0:cy1, cx0:cx1][part] = i + 1
    return labels
