"""Instance masks to the single polygons of Ultralytics' segmentation format.

An Ultralytics label line holds one polygon per instance, so masks with
several parts or with holes need a rule. The rule here:

* contours are traced with OpenCV (outer boundaries and holes, two levels);
* parts and holes smaller than ``min_fragment_area`` pixels are dropped
  (tiny specks from annotation noise; a dropped hole is filled);
* every remaining contour is spliced into one polygon through a zero-width
  bridge between the closest pair of points, so filling the polygon with the
  even-odd rule (as ``cv2.fillPoly`` does) gives back the parts and the holes.
"""

from __future__ import annotations

import cv2
import numpy as np

DEFAULT_MIN_FRAGMENT_AREA = 8.0


def _splice(polygon: np.ndarray, contour: np.ndarray) -> np.ndarray:
    """Join ``contour`` into ``polygon`` through its closest pair of points."""
    d = ((polygon[:, None, :] - contour[None, :, :]) ** 2).sum(-1)
    i, j = np.unravel_index(np.argmin(d), d.shape)
    loop = np.roll(contour, -j, axis=0)
    return np.concatenate([polygon[: i + 1], loop, loop[:1], polygon[i:]])


def mask_to_polygon(mask: np.ndarray, min_fragment_area: float = DEFAULT_MIN_FRAGMENT_AREA) -> np.ndarray | None:
    """One polygon that covers a mask's parts and leaves out its holes.

    Parameters
    ----------
    mask : (H, W) bool
    min_fragment_area : float
        Parts and holes with a smaller contour area (pixels) are dropped.

    Returns
    -------
    polygon : (K, 2) float64 or None
        ``(x, y)`` vertices in pixel coordinates; None when nothing is left.
    """
    m = np.ascontiguousarray(mask, dtype=np.uint8)
    contours, hierarchy = cv2.findContours(m, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    kept = [c.reshape(-1, 2) for c in contours if len(c) >= 3 and cv2.contourArea(c) >= min_fragment_area]
    if not kept:
        return None
    kept.sort(key=lambda c: -cv2.contourArea(c))  # the largest part anchors the polygon
    polygon = kept[0]
    for contour in kept[1:]:
        polygon = _splice(polygon, contour)
    return polygon.astype(np.float64)


def polygon_to_mask(polygon: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Rasterise a polygon from :func:`mask_to_polygon` (even-odd fill).

    Parameters
    ----------
    polygon : (K, 2) float, ``(x, y)``
    hw : (int, int)

    Returns
    -------
    mask : (H, W) bool
    """
    canvas = np.zeros(hw, np.uint8)
    cv2.fillPoly(canvas, [np.round(polygon).astype(np.int32)], 1)
    return canvas.astype(bool)


def yolo_label_lines(masks: np.ndarray, min_fragment_area: float = DEFAULT_MIN_FRAGMENT_AREA) -> list[str]:
    """Ultralytics segmentation label lines (class 0) for a stack of masks.

    Parameters
    ----------
    masks : (N, H, W) bool

    Returns
    -------
    lines : list of str
        ``"0 x1 y1 x2 y2 ..."`` with coordinates normalised to [0, 1]; masks
        with nothing left after fragment removal are skipped.
    """
    h, w = masks.shape[1:]
    lines = []
    for mask in masks:
        poly = mask_to_polygon(mask, min_fragment_area)
        if poly is None:
            continue
        norm = poly / np.array([w, h], float)
        lines.append("0 " + " ".join(f"{v:.6f}" for v in np.clip(norm, 0, 1).ravel()))
    return lines
