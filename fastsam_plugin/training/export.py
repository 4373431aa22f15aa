"""Annotations made in napari (or any label images) exported as training sets.

Two formats, the ones ``napari-fastsam train`` reads: an Ultralytics YOLO-seg
folder (images, polygon labels, ``data.yaml``) and a COCO JSON with RLE masks
beside the exported images. Images are written as the 8-bit RGB the model sees
(:func:`fastsam_plugin.engine.imaging.normalize_image`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..engine.imaging import normalize_image
from ..errors import FastSAMError
from ..io.coco import labels_to_coco
from ..io.outputs import write_json
from .convert import labels_to_masks
from .yolo_dataset import Sample, write_data_yaml, write_split


class ExportError(FastSAMError, ValueError):
    """Annotations that cannot be exported; the message says what to add or fix."""


@dataclass
class ExportSummary:
    """What was exported: where, and how many images and objects went to each split."""

    data_yaml: Path
    coco_json: Path
    train: list[str] = field(default_factory=list)
    val: list[str] = field(default_factory=list)
    objects: dict[str, int] = field(default_factory=dict)
    note: str = ""

    def as_dict(self) -> dict:
        """The summary a fine-tuned checkpoint records about its training data."""
        return {"train_images": len(self.train), "val_images": len(self.val),
                "train_objects": sum(self.objects[n] for n in self.train),
                "val_objects": sum(self.objects[n] for n in self.val if n not in self.train)}


def split_names(names: Sequence[str], val_fraction: float, seed: int = 0) -> tuple[list[str], list[str]]:
    """Hold out ``val_fraction`` of the images (at least one when there are two or more).

    With a single image, it is used for both splits (there is nothing else to
    hold out); :func:`export_annotations` says so in its summary.
    """
    if not 0 <= val_fraction < 1:
        raise ExportError(f"val_fraction must be in [0, 1); got {val_fraction}.")
    names = list(names)
    if len(names) < 2:
        return names, names
    order = list(np.random.default_rng(seed).permutation(len(names)))
    n_val = min(len(names) - 1, max(1, round(val_fraction * len(names))))
    val = sorted(names[i] for i in order[:n_val])
    return [n for n in names if n not in val], val


def export_annotations(
    images: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    out_dir: str | Path,
    *,
    names: Sequence[str] | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    channels: Sequence[int] | None = None,
) -> ExportSummary:
    """Write annotated images as a YOLO-seg folder and a COCO JSON.

    Parameters
    ----------
    images : sequence of (H, W) or (H, W, C) arrays, any dtype
        One 2D image (or stack slice) per label image.
    labels : sequence of (H, W) int
        Instance labels (0 background); images without any object are skipped.
    out_dir : path
        Gets ``data.yaml``, ``images/{train,val}``, ``labels/{train,val}`` and ``annotations.json``.
    names : sequence of str, optional
        File stems (unique); ``image000``... by default.
    val_fraction : float
        Share of the images held out for validation.
    channels : sequence of int, optional
        Channels shown to the model (as in everything mode).

    Returns
    -------
    ExportSummary
    """
    if len(images) != len(labels):
        raise ExportError(f"got {len(images)} image(s) but {len(labels)} label image(s); give one label image each.")
    names = [f"image{i:03d}" for i in range(len(images))] if names is None else [str(n) for n in names]
    if len(set(names)) != len(names):
        raise ExportError("image names must be unique.")
    samples: dict[str, Sample] = {}
    for name, image, lab in zip(names, images, labels):
        lab = np.asarray(lab)
        if lab.shape != np.asarray(image).shape[:2]:
            raise ExportError(f"{name}: labels of shape {lab.shape} do not match the image {np.shape(image)[:2]}.")
        masks = labels_to_masks(lab.astype(np.int64, copy=False))
        if len(masks):
            samples[name] = Sample(name, normalize_image(np.asarray(image), channels=channels), masks)
    if not samples:
        raise ExportError("no annotated objects to export: accept some objects first.")
    train, val = split_names(list(samples), val_fraction, seed)
    out = Path(out_dir)
    write_split((samples[n] for n in train), out, "train")
    write_split((samples[n] for n in val), out, "val")
    coco = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "object"}]}
    for image_id, name in enumerate(samples, start=1):
        split = "val" if name in val and name not in train else "train"
        part = labels_to_coco(np.asarray(labels[names.index(name)]), image_id=image_id,
                              file_name=f"images/{split}/{name}.png")
        for ann in part["annotations"]:
            ann["id"] = len(coco["annotations"]) + 1
            coco["annotations"].append(ann)
        coco["images"] += part["images"]
    coco_path = write_json(out / "annotations.json", coco, overwrite=True)
    note = "" if len(samples) > 1 else "one annotated image: validation uses the training image (add another image " \
                                       "for an honest check)"
    return ExportSummary(write_data_yaml(out), coco_path, train, val,
                         {n: len(s.masks) for n, s in samples.items()}, note)
