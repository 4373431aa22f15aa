"""The scale a training set teaches: tile side, typical object diameter and pixel size, read from the data.

``napari-fastsam train`` records it in the checkpoint (``napari_fastsam.scale``, see
:mod:`fastsam_plugin.engine.scale`), so the engine brings every later image to the scale the model
learnt, without the user knowing which ``--imgsz`` matches.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..engine.scale import ModelScale, area_weighted_diameter, metres

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
SAMPLE = 400  # images read (headers and label files only): enough for a median, quick on any set


def _train_images(spec: dict, yaml_dir: Path) -> list[Path]:
    root = Path(spec.get("path") or yaml_dir)
    root = root if root.is_absolute() else (yaml_dir / root)
    entries = spec.get("train")
    entries = entries if isinstance(entries, list) else [entries]
    images: list[Path] = []
    for entry in entries:
        if not isinstance(entry, str):
            continue
        where = root / entry
        if where.is_dir():
            images += sorted(p for p in where.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif where.suffix == ".txt" and where.is_file():  # Ultralytics' list of image paths
            for line in where.read_text(encoding="utf-8").splitlines()[:100_000]:
                p = Path(line.strip())
                images.append(p if p.is_absolute() else root / p)
    return images


def _label_file(image: Path) -> Path:
    """Ultralytics' rule: the last ``images`` folder of the path becomes ``labels``, the suffix ``.txt``."""
    parts = list(image.parts)
    for k in range(len(parts) - 1, -1, -1):
        if parts[k] == "images":
            parts[k] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def _polygon_areas(label: Path, width: int, height: int) -> list[float]:
    """Areas (square pixels) of the polygons in one YOLO segmentation label file."""
    areas = []
    for line in label.read_text(encoding="utf-8").splitlines():
        values = line.split()[1:]
        if len(values) < 6 or len(values) % 2:
            continue  # a box-only or damaged line: no outline to measure
        xy = np.asarray(values, np.float64).reshape(-1, 2) * (width, height)
        x, y = xy[:, 0], xy[:, 1]
        area = 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
        if area > 0:
            areas.append(area)
    return areas


def dataset_scale(data_yaml: str | os.PathLike, imgsz: int, sample: int = SAMPLE) -> ModelScale | None:
    """The scale a YOLO segmentation set trains a model at, or None when it cannot be told.

    Parameters
    ----------
    data_yaml : path
        An Ultralytics ``data.yaml`` (``path``, ``train``: a folder of images or a list file).
    imgsz : int
        The training input size.
    sample : int
        At most this many training images are read, evenly spread (headers and label files only).

    Returns
    -------
    ModelScale or None
        ``tile``: the median longer side of the training images; ``imgsz``; ``object_diameter``: the
        area-weighted median equivalent diameter of the labelled outlines (the first-pass estimate's
        statistic, :func:`~fastsam_plugin.engine.scale.area_weighted_diameter`), in training-image pixels; ``pixel_size``
        and ``unit`` when every sampled image file declares the same physical pixel size (GeoTIFF,
        OME/ImageJ TIFF). None when the set has no readable images.
    """
    from PIL import Image

    from ..io.pixel_size import of_file
    from ..io.plain_yaml import load_plain_yaml

    data_yaml = Path(data_yaml)
    spec = load_plain_yaml(data_yaml)
    if not isinstance(spec, dict):
        return None
    images = _train_images(spec, data_yaml.parent)
    if not images:
        return None
    step = max(1, len(images) // sample)
    sides, areas, sizes = [], [], []
    for image in images[::step][:sample]:
        try:
            with Image.open(image) as im:  # the header: no pixels decoded
                width, height = im.size
        except (OSError, ValueError):
            continue
        sides.append(max(width, height))
        label = _label_file(image)
        if label.is_file():
            areas += _polygon_areas(label, width, height)
        sizes.append(of_file(image) if image.suffix.lower() in (".tif", ".tiff") else None)
    if not sides:
        return None
    pixel_size = unit = None
    if sizes and all(sizes):
        in_m = [metres(s, u) for s, u in sizes]
        if max(in_m) <= min(in_m) * 1.01:  # one pixel size for the whole set
            pixel_size, unit = sizes[0]
    diameter = area_weighted_diameter(areas)
    diameter = round(diameter, 1) if diameter is not None else None
    return ModelScale(tile=int(np.median(sides)), imgsz=int(imgsz), pixel_size=pixel_size, unit=unit,
                      object_diameter=diameter)
