"""BSDS500-style boundary evaluation: ODS and OIS F-measure of edge maps.

For each threshold the edge map is binarised; a predicted edge pixel is
correct when a human boundary pixel lies within the matching tolerance
(``0.0075`` of the image diagonal, the BSDS default: about 3 px on
481 x 321 images), and a human boundary pixel is recalled when a predicted edge
lies within the tolerance. Precision pools all annotators; recall sums over
annotators, as the BSDS benchmark does. Unlike the official benchmark, pixels
are matched by distance transform rather than one-to-one bipartite matching,
which can count a predicted pixel for two human pixels: figures can be
slightly higher than the official code's.

* ODS: counts summed over the dataset at each threshold; best F.
* OIS: each image at its own best threshold; counts then summed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

DEFAULT_TOLERANCE = 0.0075
DEFAULT_THRESHOLDS = np.linspace(0.01, 0.99, 50)


def _f(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def image_counts(
    edges: np.ndarray, boundaries: Sequence[np.ndarray], thresholds: np.ndarray, tolerance: float = DEFAULT_TOLERANCE
) -> np.ndarray:
    """Per-threshold counts ``(matched_pred, n_pred, matched_gt, n_gt)`` for one image.

    Parameters
    ----------
    edges : (H, W) float in [0, 1]
    boundaries : sequence of (H, W) bool
        One human boundary map per annotator.

    Returns
    -------
    counts : (T, 4) int64
    """
    h, w = edges.shape
    radius = tolerance * np.hypot(h, w)
    gts = [np.asarray(b, bool) for b in boundaries]
    dist_to_any_gt = ndimage.distance_transform_edt(~np.logical_or.reduce(gts))
    out = np.zeros((len(thresholds), 4), np.int64)
    for k, t in enumerate(thresholds):
        pred = edges >= t
        n_pred = int(pred.sum())
        matched_pred = int((pred & (dist_to_any_gt <= radius)).sum())
        if n_pred:
            dist_to_pred = ndimage.distance_transform_edt(~pred)
            matched_gt = sum(int((g & (dist_to_pred <= radius)).sum()) for g in gts)
        else:
            matched_gt = 0
        out[k] = (matched_pred, n_pred, matched_gt, sum(int(g.sum()) for g in gts))
    return out


def ods_ois(counts: Sequence[np.ndarray], thresholds: np.ndarray = DEFAULT_THRESHOLDS) -> dict[str, float]:
    """ODS and OIS F-measures (and the ODS threshold) from per-image counts."""
    c = np.stack(counts)  # (I, T, 4)
    total = c.sum(axis=0)
    p = np.divide(total[:, 0], total[:, 1], out=np.zeros(len(total)), where=total[:, 1] > 0)
    r = np.divide(total[:, 2], total[:, 3], out=np.zeros(len(total)), where=total[:, 3] > 0)
    f = np.array([_f(a, b) for a, b in zip(p, r)])
    best = int(np.argmax(f))
    per_image_best = []
    for img in c:
        pi = np.divide(img[:, 0], img[:, 1], out=np.zeros(len(img)), where=img[:, 1] > 0)
        ri = np.divide(img[:, 2], img[:, 3], out=np.zeros(len(img)), where=img[:, 3] > 0)
        per_image_best.append(img[int(np.argmax([_f(a, b) for a, b in zip(pi, ri)]))])
    s = np.sum(per_image_best, axis=0)
    ois = _f(s[0] / s[1] if s[1] else 0.0, s[2] / s[3] if s[3] else 0.0)
    return {"ODS": float(f[best]), "OIS": float(ois), "ODS_threshold": float(thresholds[best])}
