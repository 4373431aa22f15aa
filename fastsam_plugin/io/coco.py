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


def encode_rle_in_box(crop: np.ndarray, box, hw: tuple[int, int]) -> dict:
    """COCO RLE of a full ``hw`` mask that is ``crop`` inside ``box`` and empty elsewhere.

    Equal to ``encode_rle`` of the full-size mask, but computed from the
    crop's runs alone: time and memory follow the object's size, never the
    image's (a 20000 x 20000 image with 20,000 objects would otherwise build
    20,000 full-size masks).

    Parameters
    ----------
    crop : (h, w) bool
        The mask inside ``box``.
    box : (x0, y0, x1, y1)
        Where the crop lies, exclusive ends; parts outside the image are cut off.
    hw : (H, W)
        The image size.
    """
    h, w = int(hw[0]), int(hw[1])
    x0, y0, x1, y1 = (int(v) for v in box)
    c = np.asarray(crop, bool)
    # cut to the image, so a box past the edge never wraps into the next column
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    c = c[cy0 - y0 : max(cy1 - y0, cy0 - y0), cx0 - x0 : max(cx1 - x0, cx0 - x0)]
    # COCO runs go down the columns (Fortran order): find where each column's runs of 1 start and end
    cols = np.zeros((c.shape[1], c.shape[0] + 2), np.int8)
    cols[:, 1:-1] = c.T
    step = np.diff(cols, axis=1)
    sx, sy = np.nonzero(step == 1)
    ex, ey = np.nonzero(step == -1)
    starts = (cx0 + sx).astype(np.int64) * h + cy0 + sy
    ends = (cx0 + ex).astype(np.int64) * h + cy0 + ey
    # a run reaching the bottom of one column and continuing at the top of the next is one run
    joined = ends[:-1] == starts[1:]
    starts = starts[np.concatenate([[True], ~joined])] if len(starts) else starts
    ends = ends[np.concatenate([~joined, [True]])] if len(ends) else ends
    bounds = np.empty(2 * len(starts), np.int64)
    bounds[0::2], bounds[1::2] = starts, ends
    counts = np.diff(np.concatenate([[0], bounds, [h * w]]))
    if len(counts) > 1 and counts[-1] == 0:
        counts = counts[:-1]
    rle = mask_utils.frPyObjects({"size": [h, w], "counts": counts.tolist()}, h, w)
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
    Each RLE is computed from the object's crop (:func:`encode_rle_in_box`).
    """
    h, w = result.shape
    idx = np.arange(len(result)) if indices is None else np.asarray(indices, np.int64)
    annotations = []
    for k, i in enumerate(idx, start=1):
        bx0, by0, bx1, by1 = (float(v) for v in result.boxes[i])
        annotations.append(
            {
                "id": k,
                "image_id": image_id,
                "category_id": 1,
                "segmentation": encode_rle_in_box(result.crops[i], result.pixel_boxes[i], (h, w)),
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
