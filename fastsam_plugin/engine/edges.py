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

from .result import SegmentationResult


def edge_nms(magnitude: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Keep pixels that are maxima along their gradient direction (4 quantised directions).

    Parameters
    ----------
    magnitude, dx, dy : (H, W) float

    Returns
    -------
    thinned : (H, W) float
    """
    angle = (np.rad2deg(np.arctan2(dy, dx)) + 180.0) % 180.0
    padded = np.pad(magnitude, 1)
    h, w = magnitude.shape
    centre = padded[1:-1, 1:-1]

    def shifted(oy: int, ox: int) -> np.ndarray:
        return padded[1 + oy : 1 + oy + h, 1 + ox : 1 + ox + w]

    keep = np.zeros_like(magnitude, dtype=bool)
    for lo, hi, (oy, ox) in ((0, 22.5, (0, 1)), (157.5, 180.1, (0, 1)), (22.5, 67.5, (1, 1)),
                             (67.5, 112.5, (1, 0)), (112.5, 157.5, (1, -1))):
        sel = (angle >= lo) & (angle < hi)
        keep |= sel & (centre >= shifted(oy, ox)) & (centre >= shifted(-oy, -ox))
    return np.where(keep, magnitude, 0.0)


def edge_map(result: SegmentationResult, sigma: float = 1.0) -> np.ndarray:
    """Thin object boundaries of every mask, strongest response kept.

    Parameters
    ----------
    result : SegmentationResult
    sigma : float
        Gaussian softening of the binary masks before Sobel, in pixels.

    Returns
    -------
    edges : (H, W) float32 in [0, 1]
    """
    h, w = result.shape
    mag = np.zeros((h, w), np.float32)
    gx = np.zeros((h, w), np.float32)
    gy = np.zeros((h, w), np.float32)
    pad = int(np.ceil(3 * sigma)) + 2
    for crop, (x0, y0, x1, y1) in zip(result.crops, result.pixel_boxes):
        soft = cv2.GaussianBlur(np.pad(crop.astype(np.float32), pad), (0, 0), sigma)
        dx = cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3)
        dy = cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3)
        m = np.hypot(dx, dy)
        # place the padded crop into the image, clipped at the borders
        X0, Y0, X1, Y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
        cx0, cy0 = max(0, -X0), max(0, -Y0)
        ix0, iy0, ix1, iy1 = max(X0, 0), max(Y0, 0), min(X1, w), min(Y1, h)
        sl = (slice(cy0, cy0 + iy1 - iy0), slice(cx0, cx0 + ix1 - ix0))
        region = (slice(iy0, iy1), slice(ix0, ix1))
        stronger = m[sl] > mag[region]
        mag[region] = np.where(stronger, m[sl], mag[region])
        gx[region] = np.where(stronger, dx[sl], gx[region])
        gy[region] = np.where(stronger, dy[sl], gy[region])
    thin = edge_nms(mag, gx, gy)
    peak = thin.max()
    return (thin / peak).astype(np.float32) if peak > 0 else thin.astype(np.float32)
