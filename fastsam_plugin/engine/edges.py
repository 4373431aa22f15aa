"""Edge maps from everything-mode masks, as in the FastSAM paper's edge task.

Each mask is softened with a small Gaussian (our results keep binary masks,
not the model's probability maps), filtered with Sobel, and the responses are
combined by their maximum; edge non-maximum suppression along the gradient
direction then thins them to one-pixel lines. The output is a float map in
[0, 1] the size of the image.
"""

from __future__ import annotations

import cv2
import numpy as np

from .result import SegmentationResult, crop_in_window

_TAN_22_5, _TAN_67_5 = float(np.tan(np.deg2rad(22.5))), float(np.tan(np.deg2rad(67.5)))


def edge_nms(magnitude: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Keep pixels that are maxima along their gradient direction (4 quantised directions).

    The direction (folded to [0, 180) degrees) picks the neighbours compared:
    within 22.5 degrees of horizontal, left/right; within 22.5 of vertical,
    up/down; otherwise the diagonal matching the sign of ``dx * dy``. Bins are
    chosen by comparing ``|dy|`` with ``tan(22.5) |dx|`` and ``tan(67.5) |dx|``
    (no arctangent), in the input's precision.

    Parameters
    ----------
    magnitude, dx, dy : (H, W) float

    Returns
    -------
    thinned : (H, W) float
    """
    ax, ay = np.abs(dx), np.abs(dy)
    near_horizontal = ay < _TAN_22_5 * ax
    near_vertical = ~near_horizontal & (ay >= _TAN_67_5 * ax)
    diagonal = ~near_horizontal & ~near_vertical
    rising = (dx * dy) > 0  # down-right in image rows and columns
    padded = np.pad(magnitude, 1)
    h, w = magnitude.shape
    centre = padded[1:-1, 1:-1]

    def shifted(oy: int, ox: int) -> np.ndarray:
        return padded[1 + oy : 1 + oy + h, 1 + ox : 1 + ox + w]

    keep = np.zeros(magnitude.shape, dtype=bool)
    for sel, (oy, ox) in ((near_horizontal, (0, 1)), (near_vertical, (1, 0)), (diagonal & rising, (1, 1)),
                          (diagonal & ~rising, (1, -1))):
        keep |= sel & (centre >= shifted(oy, ox)) & (centre >= shifted(-oy, -ox))
    return np.where(keep, magnitude, 0.0)


def _object_gradients(crop, box, window, sigma: float, reach: int):
    """Sobel of the Gaussian-softened mask inside ``window``, as if computed over the whole plane.

    The crop is cut (with zeros around it) to ``window`` widened by ``reach``
    pixels, filtered, and the widening dropped: ``reach`` covers the Gaussian
    and Sobel kernels, so no image border effect reaches the window.
    """
    x0, y0, x1, y1 = window
    wide = (x0 - reach, y0 - reach, x1 + reach, y1 + reach)
    soft = cv2.GaussianBlur(crop_in_window(crop, box, wide).astype(np.float32), (0, 0), sigma)
    dx = cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3)[reach:-reach, reach:-reach]
    dy = cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3)[reach:-reach, reach:-reach]
    return np.hypot(dx, dy), dx, dy


def edge_map(result: SegmentationResult, sigma: float = 1.0, tile: int = 2048) -> np.ndarray:
    """Thin object boundaries of every mask, strongest response kept.

    Work is done tile by tile (each tile with a one-pixel halo for the
    non-maximum suppression), touching only the objects that reach the tile,
    so memory beyond the output is bounded by the tile size, not by the image:
    a 20000 x 20000 map costs its 1.6 GB output plus a few tiles.

    Parameters
    ----------
    result : SegmentationResult
    sigma : float
        Gaussian softening of the binary masks before Sobel, in pixels.
    tile : int
        Side of the square tiles worked on at a time.

    Returns
    -------
    edges : (H, W) float32 in [0, 1]
    """
    h, w = result.shape
    out = np.zeros((h, w), np.float32)
    if len(result) == 0:
        return out
    pad = int(np.ceil(3 * sigma)) + 2  # where a mask's softened edge can reach
    reach = int(np.ceil(4 * sigma)) + 2  # OpenCV's Gaussian kernel radius (4 sigma) plus the Sobel's 1
    boxes = result.pixel_boxes
    reach_box = np.concatenate([boxes[:, :2] - pad, boxes[:, 2:] + pad], axis=1)
    peak = 0.0
    for ty in range(0, h, tile):
        for tx in range(0, w, tile):
            # the tile with a one-pixel halo (inside the image) for the NMS neighbours
            hx0, hy0, hx1, hy1 = max(tx - 1, 0), max(ty - 1, 0), min(tx + tile + 1, w), min(ty + tile + 1, h)
            mag = np.zeros((hy1 - hy0, hx1 - hx0), np.float32)
            gx, gy = np.zeros_like(mag), np.zeros_like(mag)
            near = np.flatnonzero((reach_box[:, 0] < hx1) & (reach_box[:, 2] > hx0)
                                  & (reach_box[:, 1] < hy1) & (reach_box[:, 3] > hy0))
            for i in near:  # in object order: on ties the earlier object's gradient stays, as before
                bx0, by0, bx1, by1 = reach_box[i]
                win = (max(bx0, hx0), max(by0, hy0), min(bx1, hx1), min(by1, hy1))
                m, dx, dy = _object_gradients(result.crops[i], boxes[i], win, sigma, reach)
                region = (slice(win[1] - hy0, win[3] - hy0), slice(win[0] - hx0, win[2] - hx0))
                stronger = m > mag[region]
                mag[region] = np.where(stronger, m, mag[region])
                gx[region] = np.where(stronger, dx, gx[region])
                gy[region] = np.where(stronger, dy, gy[region])
            inner = (slice(ty - hy0, ty - hy0 + min(tile, h - ty)), slice(tx - hx0, tx - hx0 + min(tile, w - tx)))
            thin = edge_nms(mag, gx, gy)[inner]
            out[ty : ty + tile, tx : tx + tile] = thin
            peak = max(peak, float(thin.max()))
    if peak > 0:
        out /= np.float32(peak)
    return out
