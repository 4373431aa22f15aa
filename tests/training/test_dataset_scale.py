"""The scale a training set teaches, read from its files for the checkpoint record (issue 29)."""

import math

import numpy as np
import pytest
import tifffile
from PIL import Image

from fastsam_plugin.engine.scale import ModelScale, area_weighted_diameter
from fastsam_plugin.training.dataset_scale import dataset_scale


def _square(cx: float, cy: float, side: float, w: int, h: int) -> str:
    half = side / 2
    pts = [(cx - half, cy - half), (cx + half, cy - half), (cx + half, cy + half), (cx - half, cy + half)]
    return "0 " + " ".join(f"{x / w:.6f} {y / h:.6f}" for x, y in pts)


def _yolo_set(root, sides, size=(200, 100), tiff_pixel=None):
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    w, h = size
    for k, side in enumerate(sides):
        if tiff_pixel is None:
            Image.fromarray(np.zeros((h, w), np.uint8)).save(root / "images" / "train" / f"im{k}.png")
            name = f"im{k}"
        else:
            tifffile.imwrite(root / "images" / "train" / f"im{k}.tif", np.zeros((h, w), np.uint16), imagej=True,
                             resolution=(1 / tiff_pixel, 1 / tiff_pixel), metadata={"unit": "um"})
            name = f"im{k}"
        (root / "labels" / "train" / f"{name}.txt").write_text(_square(50, 50, side, w, h) + "\n" +
                                                                _square(150, 50, side, w, h) + "\n")
    data = root / "data.yaml"
    data.write_text(f"path: {root}\ntrain: images/train\nval: images/train\nnames: ['object']\n")
    return data


def test_tile_side_and_median_object_diameter_come_from_images_and_outlines(tmp_path):
    scale = dataset_scale(_yolo_set(tmp_path, sides=[10, 20, 20, 30]), imgsz=224)
    assert isinstance(scale, ModelScale) and (scale.tile, scale.imgsz) == (200, 224)
    # area-weighted median: the 10 and 20 px squares reach half of the 3,600 px^2 of objects
    areas = [100] * 2 + [400] * 4 + [900] * 2
    assert scale.object_diameter == pytest.approx(area_weighted_diameter(areas), abs=0.1)
    assert scale.object_diameter == pytest.approx(math.sqrt(4 * 400 / math.pi), abs=0.1)
    assert scale.pixel_size is None  # PNGs say nothing about their pixels


def test_one_declared_pixel_size_is_recorded(tmp_path):
    scale = dataset_scale(_yolo_set(tmp_path, sides=[16], tiff_pixel=0.5), imgsz=256)
    assert (scale.pixel_size, scale.unit) == (pytest.approx(0.5), "µm")


def test_a_set_without_images_gives_no_scale(tmp_path):
    (tmp_path / "images" / "train").mkdir(parents=True)
    data = tmp_path / "data.yaml"
    data.write_text(f"path: {tmp_path}\ntrain: images/train\nval: images/train\nnames: ['object']\n")
    assert dataset_scale(data, 256) is None
