"""COCO JSON with run-length-encoded masks (pycocotools), from results or label images."""

from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils

from ..engine.result import SegmentationResult


def encode_rle(mask: np.ndarray) -> dict:
    """COCO run-length encoding of one ``(H, W)`` bool mask (counts as str)."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def decode_rle(rle: dict) -> np.ndarray:
    """Inverse of :func:`encode_rle`: ``(H, W)`` bool."""
    counts = rle["counts"].encode("ascii") if isinstance(rle["counts"], str) else rle["counts"]
    return mask_utils.decode({"size": rle["size"], "counts": counts}).astype(bool)


def result_to_coco(
    result: SegmentationResult, *, image_id: int = 1, file_name: str = "", indices: np.ndarray | None = None
) -> dict:
    """A COCO-style dict (images, annotations with RLE masks, one "object" category).

    Each annotation carries ``bbox`` (xywh, the model's box), ``score`` and
    ``area``; without ``indices`` every object is included (box proposals).
    """
    h, w = result.shape
    idx = np.arange(len(result)) if indices is None else np.asarray(indices, np.int64)
    annotations = []
    for k, i in enumerate(idx, start=1):
        full = np.zeros((h, w), bool)
        x0, y0, x1, y1 = result.pixel_boxes[i]
        full[y0:y1, x0:x1] = result.crops[i]
        bx0, by0, bx1, by1 = (float(v) for v in result.boxes[i])
        annotations.append(
            {
                "id": k,
                "image_id": image_id,
                "category_id": 1,
                "segmentation": encode_rle(full),
                "area": int(result.areas[i]),
                "bbox": [bx0, by0, bx1 - bx0, by1 - by0],
                "score": float(result.scores[i]),
                "iscrowd": 0,
            }
        )
    return {
        "images": [{"id": image_id, "file_name": file_name, "height": h, "width": w}],
        "annotations": annotations,
        "categories": [{"id": 1, "name": "object"}],
    }


def labels_to_coco(labels: np.ndarray, *, image_id: int = 1, file_name: str = "") -> dict:
    """COCO dict for a 2D label image: one annotation per non-zero id."""
    lab = np.asarray(labels)
    if lab.ndim != 2:
        raise ValueError(f"labels must be a 2D label image; got shape {lab.shape}. Save stacks slice by slice.")
    h, w = lab.shape
    annotations = []
    for k, lid in enumerate(np.unique(lab[lab > 0]), start=1):
        m = lab == lid
        ys, xs = np.nonzero(m)
        annotations.append(
            {
                "id": k,
                "image_id": image_id,
                "category_id": 1,
                "segmentation": encode_rle(m),
                "area": int(m.sum()),
                "bbox": [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)],
                "iscrowd": 0,
                "label_id": int(lid),
            }
        )
    return {
        "images": [{"id": image_id, "file_name": file_name, "height": h, "width": w}],
        "annotations": annotations,
        "categories": [{"id": 1, "name": "object"}],
    }
