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


def write_labels_tiff_with_record(path: str, data: np.ndarray, attributes: dict) -> list[str]:
    """Write a Labels layer as an int32 TIFF, plus ``<name>.prompts.json`` when it carries a prompt record.

    The sidecar says how every object was made (prompts, model and sha256,
    operating point, version); ``napari-fastsam replay`` reproduces the labels from it.
    """
    from ..io import write_labels
    from ..io.records import write_record
    from .layers import KEY
    from .provenance import RECORD

    target = Path(path)
    written = [str(write_labels(target, np.asarray(data), overwrite=True))]
    record = attributes.get("metadata", {}).get(KEY, {}).get(RECORD)
    if record:
        from ..engine.provenance import PromptRecord

        sidecar = target.with_name(target.name.split(".")[0] + ".prompts.json")
        written.append(str(write_record(sidecar, PromptRecord.from_dict(record), overwrite=True)))
    return written
