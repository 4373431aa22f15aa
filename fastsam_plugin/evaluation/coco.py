"""Evaluation with pycocotools: class-agnostic average recall and box-prompted AP.

Ground truth and predictions are COCO dicts (see :mod:`fastsam_plugin.io`).
Every category is ignored (``useCats = 0``): FastSAM is class-agnostic.
AR is the recall averaged over IoU thresholds 0.50:0.05:0.95, at a budget of
10, 100 and 1000 detections per image, overall and for small (< 32²), medium
and large (> 96²) objects, exactly as COCOeval computes it.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Sequence

import numpy as np

MAX_DETS = (10, 100, 1000)
AREAS = ("all", "small", "medium", "large")


def _coco(data: dict):
    from pycocotools.coco import COCO

    gt = COCO()
    gt.dataset = copy.deepcopy(data)
    gt.dataset.setdefault("categories", [{"id": 1, "name": "object"}])
    for ann in gt.dataset["annotations"]:
        ann.setdefault("iscrowd", 0)
        ann.setdefault("area", float(ann["bbox"][2] * ann["bbox"][3]))
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    return gt


def average_recall(
    ground_truth: dict, predictions: Sequence[dict], iou_type: str = "segm", max_dets: Sequence[int] = MAX_DETS
) -> dict[str, float]:
    """Class-agnostic AR@k for each area range, computed by ``COCOeval``.

    Parameters
    ----------
    ground_truth : dict
        COCO dataset dict (images, annotations with ``segmentation`` RLE or polygons and ``bbox``).
    predictions : list of dict
        COCO results: ``image_id``, ``bbox`` (xywh), ``segmentation`` (RLE) and ``score``.
    iou_type : {"segm", "bbox"}

    Returns
    -------
    dict
        Keys like ``"AR@100"``, ``"AR@1000_small"``; -1 where no ground truth of that size exists.
    """
    from pycocotools.cocoeval import COCOeval

    gt = _coco(ground_truth)
    if not predictions:
        return {f"AR@{k}" + ("" if a == "all" else f"_{a}"): 0.0 for k in max_dets for a in AREAS}
    preds = [dict(p, category_id=1) for p in predictions]
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes(copy.deepcopy(preds))
        ev = COCOeval(gt, dt, iou_type)
        ev.params.useCats = 0
        ev.params.maxDets = list(max_dets)
        ev.evaluate()
        ev.accumulate()
    recall = ev.eval["recall"]  # (T, K, A, M): IoU thresholds, categories, areas, max dets
    out = {}
    for m, k in enumerate(max_dets):
        for a, name in enumerate(AREAS):
            r = recall[:, :, a, m]
            value = float(np.mean(r[r > -1])) if (r > -1).any() else -1.0
            out[f"AR@{k}" + ("" if name == "all" else f"_{name}")] = value
    return out


def average_precision(ground_truth: dict, predictions: Sequence[dict], iou_type: str = "segm") -> dict[str, float]:
    """Class-agnostic COCO AP, AP50 and AP75 (for box-prompted instance segmentation)."""
    from pycocotools.cocoeval import COCOeval

    gt = _coco(ground_truth)
    if not predictions:
        return {"AP": 0.0, "AP50": 0.0, "AP75": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):
        dt = gt.loadRes([dict(p, category_id=1) for p in copy.deepcopy(list(predictions))])
        ev = COCOeval(gt, dt, iou_type)
        ev.params.useCats = 0
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {"AP": float(ev.stats[0]), "AP50": float(ev.stats[1]), "AP75": float(ev.stats[2])}


def box_prompted_predictions(session, result, ground_truth_boxes_xywh: np.ndarray, image_id: int) -> list[dict]:
    """The paper's zero-shot instance protocol: every ground-truth box is a prompt.

    Returns one COCO result per box: the mask the box selector picks, scored
    with the object's confidence.
    """
    from ..io import encode_rle

    boxes = np.asarray(ground_truth_boxes_xywh, float).reshape(-1, 4)
    if len(boxes) == 0 or len(result) == 0:
        return []
    xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
    xyxy[:, 2:] = np.maximum(xyxy[:, 2:], xyxy[:, :2] + 1)
    out = []
    for i in session.select_boxes(result, xyxy):
        if i < 0:
            continue
        mask = session.union_mask(result, [i])
        x0, y0, x1, y1 = result.pixel_boxes[i]
        out.append({"image_id": image_id, "segmentation": encode_rle(mask), "score": float(result.scores[i]),
                    "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]})
    return out


def result_predictions(result, image_id: int) -> list[dict]:
    """Everything-mode result as COCO results (proposals), highest score first."""
    from ..io import result_to_coco

    anns = result_to_coco(result, image_id=image_id)["annotations"]
    for a in anns:
        a.pop("id"), a.pop("iscrowd"), a.pop("area")
    return sorted(anns, key=lambda a: -a["score"])
