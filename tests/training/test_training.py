"""Synthetic scenes, mask-to-polygon conversion, dataset readers and a tiny training run."""

import json

import cv2
import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st

from fastsam_plugin.io import encode_rle
from fastsam_plugin.training.convert import build_dataset, labels_to_masks, read_bsds, read_label_folder
from fastsam_plugin.training.polygons import mask_to_polygon, polygon_to_mask, yolo_label_lines
from fastsam_plugin.training.synthetic import make_scene, make_stack

from ..paths import SHARED


def test_scenes_are_reproducible_and_masks_are_visible_parts():
    a, b = make_scene(3), make_scene(3)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.captions == b.captions
    assert a.masks.sum(axis=0).max() == 1  # visible parts do not overlap
    assert all(c.startswith("a ") for c in a.captions)
    micro = make_scene(4, mode="microscopy")
    assert micro.image.dtype == np.uint16 and micro.image.ndim == 2
    assert make_stack(1, depth=3, size=(64, 64)).shape == (3, 64, 64)
    with pytest.raises(ValueError, match="mode"):
        make_scene(0, mode="painting")


def test_polygon_handles_holes_and_parts_and_drops_fragments():
    m = np.zeros((100, 100), bool)
    m[10:60, 10:60] = True
    m[25:45, 25:45] = False         # hole
    m[70:90, 70:95] = True          # second part
    m[2, 95] = True                 # 1-pixel fragment
    back = polygon_to_mask(mask_to_polygon(m), m.shape)
    assert not back[35, 35] and back[80, 80] and not back[2, 95]
    keep = m.copy()
    keep[2, 95] = False
    assert (back & keep).sum() / (back | keep).sum() > 0.97
    assert mask_to_polygon(np.zeros((5, 5), bool)) is None


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_scene_masks_survive_the_yolo_format(seed):
    scene = make_scene(seed)
    lines = yolo_label_lines(scene.masks)
    assert len(lines) == len(scene.masks)
    h, w = scene.masks.shape[1:]
    for line, mask in zip(lines, scene.masks):
        xy = np.array(line.split()[1:], float).reshape(-1, 2) * [w, h]
        back = polygon_to_mask(xy, (h, w))
        # whole objects come back nearly exact; thin occluded slivers are not held to this: fragments
        # under 8 px are dropped and the zero-width bridges between parts rasterise as 1-px lines
        if mask.sum() >= 1000:
            assert (back & mask).sum() / (back | mask).sum() > 0.9


def test_label_folder_reader_pairs_stems(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "lab").mkdir()
    img = (np.random.default_rng(0).random((40, 50)) * 4000).astype(np.uint16)
    lab = np.zeros((40, 50), np.uint16)
    lab[5:15, 5:20] = 3
    lab[20:35, 30:45] = 8
    tifffile.imwrite(tmp_path / "img" / "cell1.tif", img)
    tifffile.imwrite(tmp_path / "lab" / "cell1_labels.tif", lab)
    (sample,) = list(read_label_folder(tmp_path / "lab", tmp_path / "img"))
    assert sample.image.shape == (40, 50, 3) and sample.image.dtype == np.uint8
    assert len(sample.masks) == 2
    tifffile.imwrite(tmp_path / "lab" / "orphan.tif", lab)
    with pytest.raises(FileNotFoundError, match="orphan"):
        list(read_label_folder(tmp_path / "lab", tmp_path / "img"))


def test_coco_and_sa1b_sources_build_a_dataset(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    anns, imgs = [], []
    for k in range(3):
        scene = make_scene(k)
        cv2.imwrite(str(images / f"s{k}.png"), scene.image[..., ::-1])
        imgs.append({"id": k + 1, "file_name": f"s{k}.png", "height": 320, "width": 320})
        for m in scene.masks:
            ys, xs = np.nonzero(m)
            anns.append({"id": len(anns) + 1, "image_id": k + 1, "category_id": 1, "iscrowd": 0, "area": int(m.sum()),
                         "bbox": [int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1],
                         "segmentation": encode_rle(m)})
        (images / f"s{k}.json").write_text(json.dumps({
            "image": {"file_name": f"s{k}.png", "height": 320, "width": 320},
            "annotations": [{"segmentation": encode_rle(m)} for m in scene.masks]}))
    (tmp_path / "coco.json").write_text(json.dumps({"images": imgs, "annotations": anns,
                                                     "categories": [{"id": 1, "name": "object"}]}))
    data = build_dataset(tmp_path / "ds", coco=tmp_path / "coco.json", images=images, val_fraction=0.34)
    assert len(list((tmp_path / "ds/labels/train").glob("*.txt"))) == 2
    assert len(list((tmp_path / "ds/labels/val").glob("*.txt"))) == 1
    assert "nc: 1" in data.read_text()
    build_dataset(tmp_path / "ds2", sa1b=images)
    lines = sum(len(p.read_text().splitlines()) for p in (tmp_path / "ds2/labels").rglob("*.txt"))
    assert lines == len(anns)
    with pytest.raises(ValueError, match="--images"):
        build_dataset(tmp_path / "ds3", coco=tmp_path / "coco.json")


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data (BSDS500) is not present on this machine")
def test_bsds_reader_gives_region_instances():
    sample = next(read_bsds(SHARED / "bsds500", "val"))
    assert sample.image.dtype == np.uint8 and len(sample.masks) >= 2
    assert sample.masks.sum(axis=0).max() == 1  # regions partition the image


def test_labels_to_masks():
    lab = np.array([[0, 2], [5, 2]])
    assert labels_to_masks(lab).shape == (2, 2, 2)
    with pytest.raises(ValueError, match="2D integer"):
        labels_to_masks(lab.astype(float))


@pytest.mark.slow
def test_one_epoch_of_training_writes_a_loadable_checkpoint(tmp_path):
    import torch

    from fastsam_plugin.engine.model import FastSAMSegmenter
    from fastsam_plugin.training.train import synthetic_dataset, train

    torch.set_num_threads(2)  # what a 2-core machine starts with; Ultralytics alone would drop to 1
    data = synthetic_dataset(tmp_path / "ds", 8, 4, size=128)
    threads_in_training = []
    best = train(data, "demo", epochs=1, imgsz=128, batch=4, project=tmp_path / "runs", name="t", plots=False,
                 workers=0, reg_max=8,
                 callbacks={"on_train_epoch_start": lambda _: threads_in_training.append(torch.get_num_threads())})
    threads = torch.get_num_threads()
    # Ultralytics would leave cpu_count - 1 threads, during training and after its final validation
    assert threads_in_training == [threads]
    seg = FastSAMSegmenter(best, device="cpu")
    assert seg.model.model.model[-1].reg_max == 8
    assert seg.segment(make_scene(1, (128, 128)).image, imgsz=128, conf=0.0).shape == (128, 128)
