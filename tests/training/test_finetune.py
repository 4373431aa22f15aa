"""Annotations exported as training sets, and the fine-tuning loop (progress, cancel, lineage, before/after)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastsam_plugin.engine.progress import Cancelled
from fastsam_plugin.engine.session import Session
from fastsam_plugin.training.convert import read_coco
from fastsam_plugin.training.export import ExportError, export_annotations, split_names
from fastsam_plugin.training.finetune import finetune, finetuned_is_better
from fastsam_plugin.training.synthetic import make_scene


def _annotated(n: int, size=(160, 160)):
    images, labels = [], []
    for i in range(n):
        scene = make_scene(50 + i, size, n_objects=(3, 5))
        lab = np.zeros(size, np.int32)
        for k, m in enumerate(scene.masks):
            lab[m] = k + 7  # ids need not start at 1
        images.append(scene.image)
        labels.append(lab)
    return images, labels


def test_export_writes_yolo_and_coco_that_train_reads_back(tmp_path):
    images, labels = _annotated(5)
    summary = export_annotations(images, labels, tmp_path, val_fraction=0.2)
    assert len(summary.val) == 1 and len(summary.train) == 4 and not set(summary.val) & set(summary.train)
    assert (tmp_path / "data.yaml").read_text().count("images/") == 2
    for name in summary.train:
        lines = (tmp_path / "labels" / "train" / f"{name}.txt").read_text().splitlines()
        assert len(lines) == summary.objects[name] and all(line.startswith("0 ") for line in lines)
    back = {s.name: s for s in read_coco(summary.coco_json, tmp_path)}
    for i, name in enumerate(f"image{j:03d}" for j in range(5)):
        ids = [v for v in np.unique(labels[i]) if v]
        assert len(back[name].masks) == len(ids)
        for mask, v in zip(back[name].masks, ids):
            assert np.array_equal(mask, labels[i] == v)


def test_export_refuses_what_cannot_train():
    images, labels = _annotated(1)
    with pytest.raises(ExportError, match="accept some objects first"):
        export_annotations(images, [np.zeros_like(labels[0])], "unused")
    with pytest.raises(ExportError, match="do not match"):
        export_annotations(images, [labels[0][:10]], "unused")
    assert split_names(["a"], 0.2) == (["a"], ["a"])  # one image: nothing else to hold out


@pytest.mark.slow
def test_finetune_reports_progress_records_lineage_and_cancels(tmp_path):
    import torch

    images, labels = _annotated(4)
    session = Session("demo", "cpu")  # at the demo's operating point
    seen = []
    result = finetune(session, images, labels, tmp_path / "ft", epochs=2, imgsz=160, tile=160, batch=2,
                      progress=lambda e, n, m: seen.append((e, n, m)))
    assert [(e, n) for e, n, _ in seen] == [(1, 2), (2, 2)] and "loss" in seen[0][2]
    record = torch.load(result.checkpoint, map_location="cpu", weights_only=False)["napari_fastsam"]
    assert record["parent"] == "demo" and len(record["parent_sha256"]) == 64 and record["imgsz"] == 160
    assert record["data"]["train_images"] == 3 and record["data"]["val_objects"] >= 3
    assert set(result.before) == set(result.after) == {"recall50", "AP50"}
    assert 0 <= result.after["recall50"] <= 1
    assert result.improved == finetuned_is_better(result.before, result.after)
    assert result.kept == ("fine-tuned" if result.improved else "original")
    assert len(Session(str(result.checkpoint), "cpu").segment(images[0])) >= 0  # loads through the safety scan

    with pytest.raises(Cancelled):
        finetune(session, images, labels, tmp_path / "cancelled", epochs=3, imgsz=160, tile=160, batch=2,
                 cancel=lambda: True)


def test_blank_unannotated_hides_only_what_nobody_annotated():
    from fastsam_plugin.training.finetune import blank_unannotated

    image = np.arange(400, dtype=np.uint16).reshape(20, 20)
    labels = np.zeros((20, 20), np.int32)
    labels[5:8, 5:8] = 3
    out = blank_unannotated(image, labels, margin=2)
    near = np.zeros((20, 20), bool)
    near[3:10, 3:10] = True  # the object grown by the margin
    np.testing.assert_array_equal(out[near], image[near])
    assert (out[~near] == np.percentile(image, 5).astype(np.uint16)).all()
    rgb = blank_unannotated(np.stack([image, image * 0 + 7, image], -1), labels, margin=2)
    assert rgb.shape == (20, 20, 3) and (rgb[0, 0] == [np.uint16(np.percentile(image, 5)), 7, rgb[0, 0, 2]]).all()


def test_training_tiles_cover_the_annotations_at_the_model_scale():
    from fastsam_plugin.training.finetune import training_tiles

    rgb = np.zeros((300, 520, 3), np.uint8)
    rgb[..., 0] = (np.arange(520) % 200)[None, :] + 20
    labels = np.zeros((300, 520), np.int32)
    labels[10:30, 10:40] = 1
    labels[280:295, 500:515] = 2  # in the bottom-right corner
    tiles = training_tiles(rgb, labels, "im", tile=256)
    # crops start at 0 and at the last full position (rows 0, 44; columns 0, 256, 264); empty ones are left out
    assert [t.name for t in tiles] == ["im_y0_x0", "im_y44_x256", "im_y44_x264"]
    assert all(t.image.shape == (256, 256, 3) and t.image.dtype == np.uint8 for t in tiles)
    np.testing.assert_array_equal(tiles[2].image, rgb[44:300, 264:520])
    assert [m.sum() for m in tiles[0].masks] == [600] and [m.sum() for m in tiles[2].masks] == [225]
    assert [m.sum() for m in tiles[1].masks] == [15 * 12]  # cut by the crop's edge, as mosaic crops cut objects

    half = training_tiles(rgb, labels, "im", tile=256, scale=0.5)  # the model sees the image at half size
    assert [t.name for t in half] == ["im_y0_x0", "im_y0_x4"]
    last = half[1]
    pad = last.image[150:].reshape(-1, 3)
    assert (pad == pad[0]).all() and np.abs(pad[0].astype(int) - np.percentile(rgb.reshape(-1, 3), 5, axis=0)).max() <= 2
    areas = sorted(int(m.sum()) for m in last.masks)
    assert abs(areas[0] - 56) <= 10 and abs(areas[1] - 150) <= 10  # a quarter of 225 and of 600


def test_the_fine_tuned_model_is_kept_only_when_it_scores_better():
    # the run: a worse model must not be chosen
    assert not finetuned_is_better({"recall50": 1.0, "AP50": 0.33}, {"recall50": 0.0, "AP50": 0.0})
    assert finetuned_is_better({"recall50": 0.5, "AP50": 0.30}, {"recall50": 0.4, "AP50": 0.31})  # AP50 decides
    assert finetuned_is_better({"recall50": 0.5, "AP50": 0.3}, {"recall50": 0.6, "AP50": 0.3})  # recall breaks ties
    assert not finetuned_is_better({"recall50": 0.5, "AP50": 0.3}, {"recall50": 0.5, "AP50": 0.3})  # a tie keeps
    assert not finetuned_is_better({"recall50": 0.5, "AP50": 0.3}, {"recall50": 0.5, "AP50": 0.3 + 1e-12})


@settings(max_examples=200)
@given(st.tuples(st.floats(0, 1), st.floats(0, 1)), st.tuples(st.floats(0, 1), st.floats(0, 1)))
def test_at_most_one_of_two_models_is_better_and_a_model_never_beats_itself(x, y):
    a, b = {"recall50": x[0], "AP50": x[1]}, {"recall50": y[0], "AP50": y[1]}
    assert not (finetuned_is_better(a, b) and finetuned_is_better(b, a))
    assert not finetuned_is_better(a, a)
    if y[1] > x[1] + 1e-5:  # clearly higher AP50 always wins
        assert finetuned_is_better(a, b)
