"""Run a segmenter over a dataset and evaluate it (``napari-fastsam eval``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..engine.edges import edge_map
from ..io import labels_to_coco, read_image
from .boundaries import DEFAULT_THRESHOLDS, image_counts, summarize
from .coco import average_precision, average_recall, box_prompted_predictions, result_predictions


def evaluate_coco(session, ground_truth: str | Path, images: str | Path, *, predictions: str | Path | None = None,
                  box_prompts: bool = False, limit: int | None = None) -> dict[str, float]:
    """AR@10/100/1000 (masks and boxes) of everything mode, and box-prompted AP when asked.

    With ``predictions`` (a COCO results JSON) nothing is run: the file is scored.
    """
    gt = json.loads(Path(ground_truth).read_text())
    gt_images = gt["images"][:limit] if limit else gt["images"]
    gt = dict(gt, images=gt_images, annotations=[a for a in gt["annotations"]
                                                 if a["image_id"] in {i["id"] for i in gt_images}])
    prompted: list[dict] = []
    if predictions is not None:
        preds = json.loads(Path(predictions).read_text())
    else:
        preds = []
        for info in gt_images:
            result = session.segment(read_image(Path(images) / info["file_name"]))
            preds += result_predictions(result, info["id"])
            if box_prompts:
                boxes = [a["bbox"] for a in gt["annotations"] if a["image_id"] == info["id"]]
                prompted += box_prompted_predictions(session, result, np.array(boxes), info["id"])
    scores = {f"mask {k}": v for k, v in average_recall(gt, preds, "segm").items()}
    scores.update({f"box {k}": v for k, v in average_recall(gt, preds, "bbox").items()})
    if box_prompts and prompted:
        scores.update({f"box-prompted {k}": v for k, v in average_precision(gt, prompted).items()})
    return scores


def bsds_ground_truth(mat_path: Path, annotator: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    """Regions of one annotator and the boundaries of every annotator from a BSDS ``.mat`` file."""
    from scipy.io import loadmat

    gts = loadmat(mat_path)["groundTruth"][0]
    regions = gts[min(annotator, len(gts) - 1)]["Segmentation"][0, 0].astype(np.int32)
    boundaries = [g["Boundaries"][0, 0].astype(bool) for g in gts]
    return regions, boundaries


def evaluate_bsds(session, root: str | Path, *, split: str = "val", limit: int | None = None,
                  edges: bool = True) -> dict[str, float]:
    """Region recall (AR@100 and friends, regions of annotator 0 as instances) and boundary ODS/OIS."""
    root = Path(root)
    mats = sorted((root / "groundTruth" / split).glob("*.mat"))[:limit]
    if not mats:
        raise FileNotFoundError(f"no BSDS500 ground truth under {root / 'groundTruth' / split}.")
    gt = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "object"}]}
    preds, counts = [], []
    for image_id, mat in enumerate(mats, start=1):
        regions, boundaries = bsds_ground_truth(mat)
        part = labels_to_coco(regions, image_id=image_id, file_name=f"{mat.stem}.jpg")
        for ann in part["annotations"]:
            ann["id"] = len(gt["annotations"]) + 1
            gt["annotations"].append(ann)
        gt["images"] += part["images"]
        result = session.segment(read_image(root / "images" / split / f"{mat.stem}.jpg"))
        preds += result_predictions(result, image_id)
        if edges:
            counts.append(image_counts(edge_map(result), boundaries, DEFAULT_THRESHOLDS))
    scores = {f"mask {k}": v for k, v in average_recall(gt, preds, "segm").items()}
    if edges:
        scores.update(summarize(counts))
    scores["images"] = float(len(mats))
    return scores
