"""Run a segmenter over a dataset and evaluate it (``napari-fastsam eval``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..engine.edges import edge_map
from ..io import labels_to_coco, read_image
from ..io.coco import CocoFileError, check_annotations, check_coco, check_image_size, read_coco_json
from ..io.images import image_hw
from ..io.paths import path_inside
from .boundaries import DEFAULT_THRESHOLDS, human_scores, summarize
from .bsds import bsds_images, find_edge_maps, score_images
from .coco import average_precision, average_recall, box_prompted_predictions, result_predictions


def evaluate_coco(session, ground_truth: str | Path, images: str | Path | None, *,
                  predictions: str | Path | None = None, box_prompts: bool = False,
                  limit: int | None = None) -> dict[str, float]:
    """AR@10/100/1000 (masks and boxes) of everything mode, and box-prompted AP when asked.

    With ``predictions`` (a COCO results JSON) nothing is run: the file is scored.

    The COCO files come from someone else, so before pycocotools sees them:
    every image ``file_name`` must resolve inside ``images`` (no ``..``, no
    absolute path, no link leading out); ``height``/``width`` must be within the
    image size limit and equal the real image's; every RLE and polygon must fit
    its image (:func:`fastsam_plugin.io.coco.check_coco`).

    Raises
    ------
    CocoFileError, PathOutsideError, ImageError
        Naming the file and what is wrong.
    """
    gt = read_coco_json(ground_truth, "COCO ground truth")
    sizes = check_coco(gt, ground_truth)
    gt_images = gt["images"][:limit] if limit else gt["images"]
    kept = {i["id"] for i in gt_images}
    gt = dict(gt, images=gt_images, annotations=[a for a in gt.get("annotations", []) if a["image_id"] in kept])

    def image_path(info: dict) -> Path:
        return path_inside(images, info.get("file_name", ""), source=ground_truth, what="image",
                           folder_label="image folder (--images)")

    prompted: list[dict] = []
    if predictions is not None:
        preds = read_coco_json(predictions, "COCO results file")
        if not isinstance(preds, list):
            raise CocoFileError(f"{predictions} is not a COCO results file (a list of detections).")
        check_annotations(preds, {k: v for k, v in sizes.items() if k in kept}, predictions, "prediction")
        if images is not None:  # the declared sizes must be the real ones, as when the model runs
            for info in gt_images:
                check_image_size(image_hw(image_path(info)), sizes[info["id"]], name=info.get("file_name", ""),
                                 source=ground_truth)
    else:
        if images is None:
            raise CocoFileError("scoring a model on COCO ground truth needs the image folder (--images).")
        preds = []
        for info in gt_images:
            image = read_image(image_path(info))
            check_image_size(image.shape, sizes[info["id"]], name=info.get("file_name", ""), source=ground_truth)
            result = session.segment(image)
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
                  edges: bool = True, rule: str = "optimal", thresholds: np.ndarray = DEFAULT_THRESHOLDS,
                  workers: int | None = None, progress: bool = True) -> dict[str, float]:
    """Region recall (AR@100 and friends, regions of annotator 0 as instances) and boundary ODS/OIS/AP/R50.

    The model runs here, image by image; the edge maps are then scored in
    parallel (:func:`.bsds.score_images`).
    """
    from tqdm.auto import tqdm

    items = bsds_images(root, split, limit)
    gt = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "object"}]}
    preds, maps = [], []
    for image_id, item in enumerate(tqdm(items, desc="segmenting", unit="img", disable=not progress), start=1):
        regions, _ = bsds_ground_truth(item.ground_truth)
        part = labels_to_coco(regions, image_id=image_id, file_name=item.image.name)
        for ann in part["annotations"]:
            ann["id"] = len(gt["annotations"]) + 1
            gt["annotations"].append(ann)
        gt["images"] += part["images"]
        result = session.segment(read_image(item.image))
        preds += result_predictions(result, image_id)
        if edges:
            maps.append(edge_map(result))
    scores = {f"mask {k}": v for k, v in average_recall(gt, preds, "segm").items()}
    if edges:
        counts = score_images(items, "array", maps, thresholds=thresholds, rule=rule, workers=workers,
                              progress=progress)
        scores.update(summarize(counts, thresholds))
    scores["images"] = float(len(items))
    return scores


def evaluate_bsds_boundaries(root: str | Path, source: str | Path, *, split: str = "val", limit: int | None = None,
                             rule: str = "optimal", thresholds: np.ndarray = DEFAULT_THRESHOLDS,
                             workers: int | None = None, progress: bool = True,
                             stats: dict | None = None) -> dict[str, float]:
    """Boundary scores without a model.

    Parameters
    ----------
    source : "human", "canny" or a folder of edge maps
        ``"human"``: each annotator against the others (pooled F, P, R);
        ``"canny"``: the built-in Canny reference; a folder: saved edge maps
        (one PNG/TIFF per image, named by the image id).

    Returns
    -------
    scores : dict
        ``F``, ``P``, ``R`` for humans; ``ODS``, ``OIS``, ``AP``, ``R50`` (and
        ``ODS_P``, ``ODS_R``, ``ODS_threshold``) otherwise; plus ``images``.
    """
    items = bsds_images(root, split, limit)
    if source == "human":
        scores = human_scores(score_images(items, "human", rule=rule, workers=workers, progress=progress,
                                           desc="annotators", stats=stats))
    elif source == "canny":
        scores = summarize(score_images(items, "canny", thresholds=thresholds, rule=rule, workers=workers,
                                        progress=progress, desc="Canny", stats=stats), thresholds)
    else:
        files = find_edge_maps(source, items)
        scores = summarize(score_images(items, "file", files, thresholds=thresholds, rule=rule, workers=workers,
                                        progress=progress, desc="edge maps", stats=stats), thresholds)
    scores["images"] = float(len(items))
    return scores
