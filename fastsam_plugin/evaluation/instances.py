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
import sys
from dataclasses import dataclass
from pathlib import Path

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


# ---------------------------------------------------------------------------------------------------------------
# Pooled figures over a folder of images, as StarDist's ``matching_dataset`` and COCO report them
# ---------------------------------------------------------------------------------------------------------------

#: IoU thresholds of the pooled report: 0.5, 0.55, ..., 0.9 (StarDist's tables run over these)
IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * k, 2) for k in range(9))


def intersections(true_labels: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel overlaps of every true object with every predicted mask, in O(total mask area).

    Parameters
    ----------
    true_labels : (H, W) int
        0 background, any positive ids.
    masks : (N, H, W) bool
        Predicted masks (may overlap each other).

    Returns
    -------
    inter : (T, N) int64
        Shared pixels; T = number of distinct non-zero labels, in increasing id order.
    true_area : (T,) int64
    pred_area : (N,) int64
    """
    lab = np.asarray(true_labels)
    ids, dense = np.unique(lab, return_inverse=True)  # dense index per pixel; 0 <-> background when present
    dense = dense.reshape(lab.shape)
    offset = 1 if ids[0] == 0 else 0
    n_true = len(ids) - offset
    counts = np.bincount(dense.ravel(), minlength=len(ids))
    true_area = counts[offset:].astype(np.int64)
    inter = np.zeros((n_true, len(masks)), np.int64)
    for j, m in enumerate(masks):
        hit = np.bincount(dense[m], minlength=len(ids))
        inter[:, j] = hit[offset:]
    pred_area = masks.reshape(len(masks), -1).sum(axis=1).astype(np.int64) if len(masks) else np.zeros(0, np.int64)
    return inter, true_area, pred_area


def match_counts(true_labels: np.ndarray, masks: np.ndarray,
                 thresholds: tuple[float, ...] = IOU_THRESHOLDS) -> tuple[np.ndarray, int, int]:
    """True positives at each IoU threshold by one-to-one matching, as StarDist's ``matching``.

    For each threshold, pairs below it are not allowed; the assignment takes
    as many pairs as possible and, among those, the highest total IoU
    (Hungarian on ``-(iou >= t) - iou / (2 n)``).

    Returns
    -------
    tp : (len(thresholds),) int64
    n_true, n_pred : int
    """
    inter, ta, pa = intersections(true_labels, masks)
    n_true, n_pred = inter.shape
    tp = np.zeros(len(thresholds), np.int64)
    if not n_true or not n_pred:
        return tp, n_true, n_pred
    iou = inter / np.maximum(ta[:, None] + pa[None, :] - inter, 1)
    for k, t in enumerate(thresholds):
        ok = iou >= t
        if not ok.any():
            continue
        cost = -ok.astype(np.float64) - iou / (2 * max(n_true, n_pred))
        rows, cols = linear_sum_assignment(cost)
        tp[k] = int(ok[rows, cols].sum())
    return tp, n_true, n_pred


@dataclass
class PooledInstances:
    """TP/FP/FN pooled over images (StarDist's ``matching_dataset(by_image=False)``) and a pooled COCO eval.

    Add each image with :meth:`add`; read the figures with :meth:`scores`.
    """

    thresholds: tuple[float, ...] = IOU_THRESHOLDS
    images: int = 0
    n_true: int = 0
    n_pred: int = 0

    def __post_init__(self) -> None:
        self.tp = np.zeros(len(self.thresholds), np.int64)
        self._gt: list[dict] = []
        self._dt: list[dict] = []
        self._infos: list[dict] = []

    def add(self, true_labels: np.ndarray, result) -> None:
        """One image: its (H, W) label image and the model's result (``masks`` (N, H, W) bool, ``scores``)."""
        from ..io.coco import labels_to_coco

        masks = result.masks if len(result) else np.zeros((0, *np.shape(true_labels)), bool)
        tp, nt, npred = match_counts(true_labels, masks, self.thresholds)
        self.images += 1
        self.tp += tp
        self.n_true += nt
        self.n_pred += npred
        gt = labels_to_coco(np.asarray(true_labels), image_id=self.images)
        base = len(self._gt)
        for k, ann in enumerate(gt["annotations"], start=1):
            ann["id"] = base + k
        self._gt.extend(gt["annotations"])
        self._infos.extend(gt["images"])
        if len(result):
            self._dt.extend(result_predictions(result, image_id=self.images))

    def coco_ap(self) -> np.ndarray:
        """COCO mask AP (class-agnostic, up to 1000 detections per image) at each threshold, pooled; NaN if empty."""
        from pycocotools.cocoeval import COCOeval

        from .coco import _coco

        out = np.full(len(self.thresholds), np.nan)
        if not self._gt:
            return out
        if not self._dt:
            return np.zeros(len(self.thresholds))
        gt = _coco({"images": self._infos, "annotations": self._gt})
        with contextlib.redirect_stdout(io.StringIO()):
            dt = gt.loadRes([dict(p, category_id=1) for p in copy.deepcopy(self._dt)])
            ev = COCOeval(gt, dt, "segm")
            ev.params.useCats = 0
            ev.params.iouThrs = np.array(self.thresholds, np.float64)
            ev.params.maxDets = [10, 100, MAX_DETS]
            ev.evaluate()
            ev.accumulate()
        precision = ev.eval["precision"]  # (T, R, K, A, M)
        for k in range(len(self.thresholds)):
            p = precision[k, :, 0, 0, -1]
            out[k] = float(np.mean(p[p > -1])) if (p > -1).any() else np.nan
        return out

    def scores(self) -> dict[float, dict[str, float]]:
        """``{threshold: {accuracy, precision, recall, f1, coco_ap, tp, fp, fn}}``, pooled over the images added.

        ``accuracy`` is StarDist's TP / (TP + FP + FN) (the DSB2018 "AP" of the StarDist and Cellpose papers).
        """
        ap = self.coco_ap()
        out = {}
        for k, t in enumerate(self.thresholds):
            tp = int(self.tp[k])
            fp, fn = self.n_pred - tp, self.n_true - tp

            def ratio(a: int, b: int) -> float:
                return a / b if b else float("nan")

            out[t] = {"accuracy": ratio(tp, tp + fp + fn), "precision": ratio(tp, tp + fp),
                      "recall": ratio(tp, tp + fn), "f1": ratio(2 * tp, 2 * tp + fp + fn),
                      "coco_ap": float(ap[k]), "tp": tp, "fp": fp, "fn": fn}
        return out


def label_pairs(images: str | Path, labels: str | Path) -> list[tuple[Path, Path]]:
    """(image, label image) paths matched by file stem; every image needs its labels.

    Raises
    ------
    FileNotFoundError
        A folder is missing, empty, or an image has no label file of the same stem.
    """
    from ..io import IMAGE_SUFFIXES

    images, labels = Path(images), Path(labels)
    for folder in (images, labels):
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is not a folder.")
    found = {p.stem: p for p in sorted(labels.iterdir()) if p.suffix.lower() in (".tif", ".tiff", ".png")}
    pairs, missing = [], []
    for p in sorted(images.iterdir()):
        if p.suffix.lower() not in IMAGE_SUFFIXES or not p.is_file():
            continue
        stem = p.stem
        hit = found.get(stem) or found.get(f"{stem}_labels") or found.get(f"{stem}_masks")
        (pairs.append((p, hit)) if hit is not None else missing.append(p.name))
    if missing:
        raise FileNotFoundError(f"no label image in {labels} for {len(missing)} image(s), e.g. {missing[0]} "
                                "(name each label TIFF as its image: <stem>.tif, <stem>_labels.tif or <stem>_masks.tif).")
    if not pairs:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {images}.")
    return pairs


def evaluate_instances(session, pairs: list[tuple[Path, Path]], limit: int | None = None,
                       progress: bool = False, transform=None) -> dict:
    """Run ``session`` on each image and pool the figures against its instance labels.

    ``transform`` (optional) maps each image read to what the model is given (e.g.
    :func:`fastsam_plugin.engine.imaging.hematoxylin_channel` for stained tissue).

    Returns
    -------
    dict
        ``{"images", "objects", "predicted", "seconds per image", "by_threshold": PooledInstances.scores()}``.
    """
    import time

    from ..io import read_image

    pooled = PooledInstances()
    seconds = 0.0
    todo = pairs[:limit] if limit else pairs
    for k, (image_path, label_path) in enumerate(todo, start=1):
        image, labels = read_image(image_path), np.asarray(read_image(label_path))
        if labels.ndim != 2 or labels.shape != image.shape[:2]:
            raise ValueError(f"{label_path.name}: expected a 2D label image of the image's size {image.shape[:2]}; "
                             f"got {labels.shape}.")
        start = time.perf_counter()
        result = session.segment(image if transform is None else transform(image))
        seconds += time.perf_counter() - start
        pooled.add(labels.astype(np.int64), result)
        if progress:
            print(f"\r{k}/{len(todo)} images", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return {"images": pooled.images, "objects": pooled.n_true, "predicted": pooled.n_pred,
            "seconds per image": seconds / max(pooled.images, 1), "by_threshold": pooled.scores()}


def format_instances(report: dict) -> str:
    """The pooled report as a text table, one row per IoU threshold."""
    lines = [f"{report['images']} images, {report['objects']} true objects, {report['predicted']} predicted; "
             f"{report['seconds per image'] * 1000:.0f} ms per image",
             f"{'IoU':>5} {'accuracy':>9} {'precision':>10} {'recall':>8} {'F1':>7} {'COCO AP':>8} "
             f"{'TP':>7} {'FP':>7} {'FN':>7}"]
    for t, s in report["by_threshold"].items():
        lines.append(f"{t:>5.2f} {s['accuracy']:>9.3f} {s['precision']:>10.3f} {s['recall']:>8.3f} {s['f1']:>7.3f} "
                     f"{s['coco_ap']:>8.3f} {s['tp']:>7} {s['fp']:>7} {s['fn']:>7}")
    lines.append("accuracy = TP / (TP + FP + FN) (StarDist's matching, the DSB2018 'AP' of the StarDist and Cellpose "
                 "papers), one-to-one matching, pooled over images")
    return "\n".join(lines)
