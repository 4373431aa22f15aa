"""BSDS500 boundary benchmark: ODS, OIS, AP and R50 of soft edge maps, as the official code.

Protocol (Arbelaez et al., TPAMI 2011; the ``edgesEvalDir`` variant of
Dollar's Structured Edge toolbox used for the SAM and FastSAM edge tables):

1. At each of ``T`` thresholds (default 99, ``linspace(1/(T+1), T/(T+1), T)``)
   the edge map in [0, 1] is binarised (``edges >= t``) and thinned to
   one-pixel lines (:mod:`.thinning`: the result of
   :func:`skimage.morphology.thin`, MATLAB's ``bwmorph(.., 'thin', inf)``).
2. For EACH annotator separately, predicted and human boundary pixels are put
   in one-to-one correspondence within ``0.0075 x`` the image diagonal
   (:mod:`.matching`, the official ``correspondPixels``).
3. A predicted pixel is correct when it is matched for ANY annotator
   (precision); recall counts the human pixels matched, summed over
   annotators.
4. ODS: counts summed over the dataset at each threshold, best F (with the
   official linear interpolation between neighbouring thresholds). OIS: each
   image at its own best threshold, counts then summed. AP: area under the
   precision-recall curve (precision interpolated at recall 0, 0.01, .., 1).
   R50: recall at 50% precision.

``rule="distance"`` (``eval --fast``) replaces step 2 by distance transforms:
a pixel counts as matched when any pixel of the other map lies within the
tolerance, so one predicted pixel can stand for several human pixels. It is
an approximation that overstates the figures (measured on BSDS500 val: +0.02
human F, +0.03 ODS for Canny, +0.06 ODS for the demo model's edge maps; see
docs/evaluation.md); only the one-to-one rule is comparable with published
tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from .matching import MatchTarget, match_indexed
from .thinning import thin as _thin

DEFAULT_TOLERANCE = 0.0075
RULES = ("optimal", "distance")


def thresholds(n: int = 99) -> np.ndarray:
    """The official threshold grid: ``n`` values evenly inside (0, 1), (n,) float64."""
    if int(n) != n or n < 1:
        raise ValueError(f"the number of thresholds must be a positive integer; got {n!r}.")
    return np.linspace(1.0 / (n + 1), 1.0 - 1.0 / (n + 1), int(n))


DEFAULT_THRESHOLDS = thresholds(99)


def max_distance(shape: tuple[int, ...], tolerance: float = DEFAULT_TOLERANCE) -> float:
    """Matching tolerance in pixels: ``tolerance x`` the image diagonal (4.34 px on 481 x 321)."""
    return float(tolerance * np.hypot(shape[0], shape[1]))


def match_counts(
    pred: np.ndarray, boundaries: Sequence[np.ndarray], max_dist: float, rule: str = "optimal"
) -> np.ndarray:
    """Counts of one binary boundary map against the human annotators.

    Parameters
    ----------
    pred : (H, W) bool
        Predicted boundary pixels (already thinned).
    boundaries : sequence of (H, W) bool
        One human boundary map per annotator.
    max_dist : float
        Tolerance in pixels.
    rule : {"optimal", "distance"}

    Returns
    -------
    counts : (4,) int64
        ``(matched_pred, n_pred, matched_gt, n_gt)``: predicted pixels matched
        for any annotator, predicted pixels, human pixels matched (summed over
        annotators), human pixels (summed over annotators).
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}.")
    pred = np.asarray(pred, bool)
    n_pred = int(np.count_nonzero(pred))
    gts = [g if isinstance(g, _HumanMap) else np.asarray(g, bool) for g in boundaries]
    n_gt = sum(int(np.count_nonzero(g)) for g in gts)
    if not n_pred or not n_gt:
        return np.array([0, n_pred, 0, n_gt], np.int64)
    if rule == "distance":
        near_gt = ndimage.distance_transform_edt(~np.logical_or.reduce(gts)) <= max_dist
        near_pred = ndimage.distance_transform_edt(~pred) <= max_dist
        return np.array([np.count_nonzero(pred & near_gt), n_pred,
                         sum(int(np.count_nonzero(g & near_pred)) for g in gts), n_gt], np.int64)
    yx_p = np.argwhere(pred)
    any_match = np.zeros(len(yx_p), bool)
    matched_gt = 0
    for g in gts:
        target = g.target if isinstance(g, _HumanMap) else MatchTarget(np.argwhere(g), g.shape, max_dist)
        m_pred, m_gt = match_indexed(yx_p, target)
        any_match |= m_pred >= 0
        matched_gt += int(np.count_nonzero(m_gt >= 0))
    return np.array([np.count_nonzero(any_match), n_pred, matched_gt, n_gt], np.int64)


class _HumanMap(np.ndarray):
    """A boolean boundary map carrying its :class:`MatchTarget` (built once, used at every threshold)."""

    target: MatchTarget


def _prepared(g: np.ndarray, max_dist: float) -> _HumanMap:
    out = np.asarray(g, bool).view(_HumanMap)
    out.target = MatchTarget(np.argwhere(out), out.shape, max_dist)
    return out


def image_counts(
    edges: np.ndarray,
    boundaries: Sequence[np.ndarray],
    thresholds: np.ndarray = DEFAULT_THRESHOLDS,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    rule: str = "optimal",
    thin: bool = True,
) -> np.ndarray:
    """Per-threshold counts of one edge map.

    Parameters
    ----------
    edges : (H, W) float in [0, 1]
        Edge strength (probability); binary maps work too.
    boundaries : sequence of (H, W) bool
        One human boundary map per annotator.
    thresholds : (T,) float
    tolerance : float
        Fraction of the image diagonal (BSDS: 0.0075).
    rule : {"optimal", "distance"}
        One-to-one matching (the benchmark) or the distance-transform approximation.
    thin : bool
        Thin each binarised map to one-pixel lines first (the benchmark does).

    Returns
    -------
    counts : (T, 4) int64
        Rows of :func:`match_counts`, one per threshold.
    """
    edges = np.asarray(edges, np.float64)
    if edges.ndim != 2:
        raise ValueError(f"an edge map must be 2-D (H, W); got shape {edges.shape}.")
    for g in boundaries:
        if np.shape(g) != edges.shape:
            raise ValueError(f"human boundaries of shape {np.shape(g)} do not fit an edge map of shape {edges.shape}.")
    max_dist = max_distance(edges.shape, tolerance)
    boundaries = [_prepared(g, max_dist) for g in boundaries]  # built once, not per threshold
    out = np.zeros((len(thresholds), 4), np.int64)
    previous_size, previous = -1, None
    for k, t in enumerate(thresholds):
        binary = edges >= t
        size = int(np.count_nonzero(binary))
        # The maps are nested: the same pixel count means the same map (a binary
        # or few-level map is matched once, not 99 times).
        if size == previous_size:
            out[k] = previous
            continue
        pred = _thin(binary) if thin and size else binary
        out[k] = previous = match_counts(pred, boundaries, max_dist, rule)
        previous_size = size
    return out


def human_counts(
    boundaries: Sequence[np.ndarray], *, tolerance: float = DEFAULT_TOLERANCE, rule: str = "optimal", thin: bool = True
) -> np.ndarray:
    """Each annotator's boundaries scored against the other annotators of the image, summed.

    Returns
    -------
    counts : (4,) int64
        Summed :func:`match_counts` over annotators; zeros when fewer than two.
    """
    gts = [np.asarray(g, bool) for g in boundaries]
    total = np.zeros(4, np.int64)
    if len(gts) < 2:
        return total
    max_dist = max_distance(gts[0].shape, tolerance)
    for k, g in enumerate(gts):
        pred = _thin(g) if thin else g
        total += match_counts(pred, gts[:k] + gts[k + 1 :], max_dist, rule)
    return total


def precision_recall(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F from ``(..., 4)`` counts (0 where undefined)."""
    c = np.asarray(counts, np.float64)
    p = c[..., 0] / np.maximum(c[..., 1], np.finfo(float).eps)
    r = c[..., 2] / np.maximum(c[..., 3], np.finfo(float).eps)
    return p, r, 2 * p * r / np.maximum(p + r, np.finfo(float).eps)


def _best_interpolated(t: np.ndarray, r: np.ndarray, p: np.ndarray) -> tuple[float, float, float, float]:
    """Best F along the PR curve, linearly interpolated between thresholds (official ``findBestRPF``)."""
    if len(t) == 1:
        f = 2 * p[0] * r[0] / max(p[0] + r[0], np.finfo(float).eps)
        return float(f), float(p[0]), float(r[0]), float(t[0])
    a = np.linspace(0, 1, 100)[None, :]
    ri = r[1:, None] * a + r[:-1, None] * (1 - a)
    pi = p[1:, None] * a + p[:-1, None] * (1 - a)
    ti = t[1:, None] * a + t[:-1, None] * (1 - a)
    fi = 2 * pi * ri / np.maximum(pi + ri, np.finfo(float).eps)
    k = np.unravel_index(int(np.argmax(fi)), fi.shape)
    return float(fi[k]), float(pi[k]), float(ri[k]), float(ti[k])


def summarize(counts: Sequence[np.ndarray], thresholds: np.ndarray = DEFAULT_THRESHOLDS) -> dict[str, float]:
    """ODS, OIS, AP and R50 from per-image counts.

    Parameters
    ----------
    counts : sequence of (T, 4) int
        :func:`image_counts` of every image.
    thresholds : (T,) float

    Returns
    -------
    scores : dict
        ``ODS``, ``OIS``, ``AP``, ``R50`` and, for reference, ``ODS_P``,
        ``ODS_R``, ``ODS_threshold``. ``R50`` is NaN when precision never
        reaches 0.5.
    """
    c = np.stack([np.asarray(x, np.int64) for x in counts])  # (I, T, 4)
    t = np.asarray(thresholds, np.float64)
    if c.shape[1:] != (len(t), 4):
        raise ValueError(f"counts must have shape (images, {len(t)}, 4); got {c.shape}.")
    p, r, _ = precision_recall(c.sum(axis=0))
    ods, ods_p, ods_r, ods_t = _best_interpolated(t, r, p)
    # OIS: each image's counts at its best threshold (first maximum), then pooled.
    _, _, f_img = precision_recall(c)
    best = c[np.arange(len(c)), np.argmax(f_img, axis=1)].sum(axis=0)
    _, _, ois = precision_recall(best)
    # AP: precision interpolated at recall 0, 0.01, .., 1 (outside the curve: 0), / 100.
    r_u, first = np.unique(r, return_index=True)
    if len(r_u) > 1:
        grid = np.linspace(0, 1, 101)
        p_i = np.interp(grid, r_u, p[first], left=np.nan, right=np.nan)
        ap = float(np.nansum(p_i) / 100)
    else:
        ap = 0.0
    # R50: recall where precision crosses 0.5 (or at the lowest precision if it stays above).
    if p.max() < 0.5:
        r50 = float("nan")
    elif p.min() >= 0.5:
        r50 = float(r[p == p.min()].max())
    else:
        p_u, first = np.unique(p, return_index=True)
        r50 = float(np.interp(0.5, p_u, r[first]))
    return {"ODS": ods, "OIS": float(ois), "AP": ap, "R50": r50,
            "ODS_P": ods_p, "ODS_R": ods_r, "ODS_threshold": ods_t}


def human_scores(counts: Sequence[np.ndarray]) -> dict[str, float]:
    """F, P and R of pooled :func:`human_counts`."""
    p, r, f = precision_recall(np.sum(np.stack(counts), axis=0))
    return {"F": float(f), "P": float(p), "R": float(r)}
