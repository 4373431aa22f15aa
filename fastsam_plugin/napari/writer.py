"""npe2 writer: a Labels layer as COCO JSON with RLE masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import labels_to_coco, write_json


def write_labels_coco(path: str, data: np.ndarray, attributes: dict) -> list[str]:
    """Write a 2D Labels layer (or each slice of a stack, as separate images) to COCO JSON."""
    lab = np.asarray(data)
    name = attributes.get("name", "labels")
    if lab.ndim == 2:
        coco = labels_to_coco(lab, file_name=name)
    else:
        planes = lab.reshape(-1, *lab.shape[-2:])
        coco = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "object"}]}
        for z, plane in enumerate(planes):
            part = labels_to_coco(plane, image_id=z + 1, file_name=f"{name}[{z}]")
            offset = len(coco["annotations"])
            for ann in part["annotations"]:
                ann["id"] += offset
            coco["images"] += part["images"]
            coco["annotations"] += part["annotations"]
    return [str(write_json(Path(path), coco, overwrite=True))]
