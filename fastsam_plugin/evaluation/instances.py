"""Score instance masks against true labels: the figures for segmenters on real nuclei (DSB2018, held-out columns).

Two families of figures, because the literature uses two:

* **COCO** (pycocotools through :mod:`fastsam_plugin.evaluation.coco`'s
  conventions, class-agnostic, up to 1000 detections): recall at IoU 0.5 and
  0.75, and AP at IoU 0.5 (area under the precision-recall curve over all
  confidences).
* **DSB / StarDist / Cellpose "AP"** at the operating confidence:
  ``TP / (TP + FP + FN)`` with one-to-one matching at IoU 0.5 (the figure the
  StarDist and Cellpose papers report as "average precision", ~0.86 on DSB2018
  test images); it also penalises false positives at the chosen threshold.
"""

from __future__ import annotations

import contextlib
import copy
import io
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..engine.imaging import normalize_image
from ..io.coco import labels_to_coco
from .coco import result_predictions

MAX_DETS = 1000


@dataclass(frozen=True)
class NucleiScores:
    """Scores of one segmentation against instance labels."""

    n_true: int
    n_pred: int
    recall50: float
    recall75: float
    coco_ap50: float
    dsb_ap50: float  # TP / (TP + FP + FN) at IoU 0.5, predictions at the run's conf
    f1_50: float


def iou_matrix(true_labels: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """IoU of every true object (label 1..) with every predicted mask.

    Parameters
    ----------
    true_labels : (H, W) int
    masks : (N, H, W) bool

    Returns
    -------
    iou : (T, N) float64, T = number of non-zero labels present
    """
    ids = np.unique(true_labels)
    ids = ids[ids != 0]
    if not len(ids) or not len(masks):
        return np.zeros((len(ids), len(masks)))
    flat = true_labels.ravel()
    pm = masks.reshape(len(masks), -1)
    out = np.zeros((len(ids), len(masks)))
    for t, lid in enumerate(ids):
        m = flat == lid
        inter = pm[:, m].sum(axis=1)
        union = m.sum() + pm.sum(axis=1) - inter
        out[t] = inter / np.maximum(union, 1)
    return out


def matched_pairs(iou: np.ndarray, threshold: float) -> int:
    """One-to-one matches with IoU >= ``threshold`` (Hungarian on IoU, as StarDist's matching)."""
    if iou.size == 0:
        return 0
    rows, cols = linear_sum_assignment(-iou)
    return int((iou[rows, cols] >= threshold).sum())


def coco_scores(true_labels: np.ndarray, result) -> tuple[float, float, float]:
    """COCOeval (class-agnostic, maxDets 1000): recall at IoU 0.5 and 0.75, AP at IoU 0.5."""
    from pycocotools.cocoeval import COCOeval

    from ..evaluation.coco import _coco

    gt = _coco(labels_to_coco(true_labels, image_id=1))
    preds = result_predictions(result, image_id=1)
    if not preds or not gt.dataset["annotations"]:
        return 0.0, 0.0, 0.0
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes([dict(p, category_id=1) for p in copy.deepcopy(preds)])
        ev = COCOeval(gt, dt, "segm")
        ev.params.useCats = 0
        ev.params.maxDets = [10, 100, MAX_DETS]
        ev.evaluate()
        ev.accumulate()
    thr = list(np.round(ev.params.iouThrs, 2))
    i50, i75 = thr.index(0.5), thr.index(0.75)
    recall = ev.eval["recall"]  # (T, K, A, M): IoU, category, area, maxDets
    precision = ev.eval["precision"]  # (T, R, K, A, M)
    p50 = precision[i50, :, 0, 0, -1]
    ap50 = float(np.mean(p50[p50 > -1])) if (p50 > -1).any() else 0.0
    return float(recall[i50, 0, 0, -1]), float(recall[i75, 0, 0, -1]), ap50


def score_result(true_labels: np.ndarray, result) -> NucleiScores:
    """Score one everything-mode result against a label image of the same shape."""
    masks = result.masks if len(result) else np.zeros((0, *true_labels.shape), bool)
    iou = iou_matrix(true_labels, masks)
    n_true, n_pred = iou.shape
    tp = matched_pairs(iou, 0.5)
    r50, r75, ap50 = coco_scores(true_labels, result)
    dsb = tp / (n_true + n_pred - tp) if (n_true + n_pred) else float("nan")
    f1 = 2 * tp / (n_true + n_pred) if (n_true + n_pred) else float("nan")
    return NucleiScores(n_true, n_pred, r50, r75, ap50, dsb, f1)


def score_image(segmenter, image: np.ndarray, true_labels: np.ndarray, imgsz: int, conf: float,
                iou: float = 0.7, max_det: int = MAX_DETS) -> NucleiScores:
    """Segment a raw image (any dtype, the plugin's normalisation) and score it.

    Parameters
    ----------
    segmenter
        A :class:`~fastsam_plugin.engine.model.FastSAMSegmenter` (or any object with its ``segment``).
    image : (H, W) raw intensities
    true_labels : (H, W) int
    """
    rgb = normalize_image(np.asarray(image))
    result = segmenter.segment(rgb, imgsz=imgsz, conf=conf, iou=iou, max_det=max_det)
    return score_result(np.asarray(true_labels), result)
