"""The nuclei generator, the real-data split and augmentation, the nuclei dataset and its scoring."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from fastsam_plugin.engine.result import SegmentationResult
from fastsam_plugin.evaluation.instances import iou_matrix, matched_pairs, score_result
from fastsam_plugin.training.nuclei import labels_to_masks, make_nuclei_scene, to_model_input
from fastsam_plugin.training.nuclei_data import (
    HELD_OUT_COLUMNS,
    TRAIN_COLUMNS,
    augment_real,
    load_real,
    nuclei_dataset,
)
from tests.paths import SHARED

MICRO = SHARED / "microscopy"
needs_real = pytest.mark.skipif(not (MICRO / "nuclei2d_dsb2018.tif").is_file(), reason="shared microscopy data absent")


def _touching_pairs(labels: np.ndarray) -> int:
    """Pairs of different nuclei sharing a 4-connected edge."""
    pairs = set()
    for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1], labels[1:])):
        m = (a != b) & (a > 0) & (b > 0)
        pairs |= {tuple(sorted(p)) for p in zip(a[m].tolist(), b[m].tolist())}
    return len(pairs)


def test_scene_is_reproducible_and_labels_are_consecutive():
    a, b = make_nuclei_scene(3, (96, 128)), make_nuclei_scene(3, (96, 128))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.labels, b.labels)
    assert a.image.shape == a.labels.shape == (96, 128)
    ids = np.unique(a.labels)
    assert ids[0] == 0 and np.array_equal(ids[1:], np.arange(1, len(ids)))
    assert not np.array_equal(a.image, make_nuclei_scene(4, (96, 128)).image)


@pytest.mark.parametrize(("bits", "dtype", "top"), [(8, np.uint8, 255), (12, np.uint16, 4095), (16, np.uint16, 65535)])
def test_bit_depths(bits, dtype, top):
    scene = make_nuclei_scene(1, (64, 64), diameter=16, bit_depth=bits)
    assert scene.image.dtype == dtype and scene.image.max() <= top
    assert scene.image.max() > top // 10  # the range is used, not a dark corner of it


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), diameter=st.floats(8, 60))
def test_nuclei_size_and_brightness_follow_the_request(seed, diameter):
    scene = make_nuclei_scene(seed, (160, 160), diameter=diameter, bit_depth=16)
    labels = scene.labels
    assert labels.max() >= 1
    areas = np.bincount(labels.ravel())[1:]
    # whole nuclei (not cut by the border): equivalent diameter near the request
    border = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])).tolist())
    whole = [a for i, a in enumerate(areas, start=1) if i not in border and a > 0]
    if len(whole) >= 3:
        eq = 2 * np.sqrt(np.median(whole) / np.pi)
        assert 0.45 * diameter <= eq <= 1.5 * diameter
    fg, bg = scene.image[labels > 0].astype(float), scene.image[labels == 0].astype(float)
    if len(bg):
        assert fg.mean() > bg.mean()


def test_scenes_hold_touching_clusters_and_small_and_large_nuclei():
    scenes = [make_nuclei_scene(s, (192, 192)) for s in range(12)]
    assert sum(_touching_pairs(s.labels) for s in scenes) >= 10
    diameters = [2 * np.sqrt(np.median(np.bincount(s.labels.ravel())[1:]) / np.pi) for s in scenes]
    assert min(diameters) < 12 and max(diameters) > 25


def test_masks_are_disjoint_and_match_labels():
    scene = make_nuclei_scene(5, (80, 80), diameter=20)
    masks = scene.masks
    assert masks.dtype == bool and masks.shape == (scene.labels.max(), 80, 80)
    assert masks.sum(axis=0).max() == 1
    assert np.array_equal(np.argmax(np.concatenate([~masks.any(0)[None], masks]), axis=0), scene.labels)
    assert labels_to_masks(np.zeros((5, 5), int)).shape == (0, 5, 5)


def test_model_input_is_rgb_uint8():
    rgb = to_model_input(make_nuclei_scene(2, (64, 48), bit_depth=16).image)
    assert rgb.shape == (64, 48, 3) and rgb.dtype == np.uint8 and rgb.max() == 255


@pytest.mark.parametrize("kwargs", [{"size": (8, 64)}, {"diameter": 1.0}, {"bit_depth": 10}])
def test_bad_arguments_say_what_is_wrong(kwargs):
    with pytest.raises(ValueError, match="must"):
        make_nuclei_scene(0, **{"size": (64, 64), **kwargs})


@needs_real
def test_held_out_columns_share_no_nucleus_with_training_columns():
    real = load_real(MICRO)
    train_ids = set(np.unique(real.labels[:, TRAIN_COLUMNS]).tolist()) - {0}
    held_ids = set(np.unique(real.labels[:, HELD_OUT_COLUMNS]).tolist()) - {0}
    assert len(held_ids) >= 30 and len(train_ids) >= 80 and not train_ids & held_ids
    assert real.held_out_part().image.shape == (512, 170)


@needs_real
def test_augmented_real_crop_keeps_labels_on_bright_nuclei():
    real = load_real(MICRO).train_part()
    rng = np.random.default_rng(0)
    for _ in range(5):
        image, labels = augment_real(rng, real, 128)
        assert image.shape == labels.shape == (128, 128) and image.dtype in (np.uint8, np.uint16)
        assert set(np.unique(labels).tolist()) <= set(np.unique(real.labels).tolist())
        if (labels > 0).sum() > 200:
            assert image[labels > 0].mean() > image[labels == 0].mean()


def test_load_real_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nuclei2d_dsb2018.tif"):
        load_real(tmp_path)


def test_dataset_without_real_data(tmp_path):
    data = nuclei_dataset(tmp_path, 3, n_val=2, size=64)
    assert data.is_file()
    assert len(list((tmp_path / "images" / "train").glob("*.png"))) == 3
    lines = sum(len(p.read_text().splitlines()) for p in (tmp_path / "labels" / "train").glob("*.txt"))
    assert lines > 0
    with pytest.raises(ValueError, match="real_folder"):
        nuclei_dataset(tmp_path / "x", 1, 1, n_val=1, size=64)


@needs_real
def test_dataset_with_real_crops_never_writes_held_out_pixels(tmp_path):
    nuclei_dataset(tmp_path, 1, 2, real_folder=MICRO, n_val=3, size=64)
    names = sorted(p.name for p in (tmp_path / "images" / "train").glob("*.png"))
    assert sum(n.startswith("real") for n in names) == 2
    assert any(p.name.startswith("valreal") for p in (tmp_path / "images" / "val").glob("*.png"))


def _result_from_labels(labels: np.ndarray, scores=None) -> SegmentationResult:
    crops, boxes = [], []
    for sl, lid in zip(ndimage.find_objects(labels), range(1, labels.max() + 1)):
        if sl is None:
            continue
        crops.append(labels[sl] == lid)
        boxes.append((sl[1].start, sl[0].start, sl[1].stop, sl[0].stop))
    boxes = np.asarray(boxes, np.int64).reshape(-1, 4)
    scores = np.linspace(0.9, 0.5, len(crops)) if scores is None else scores
    return SegmentationResult(crops, boxes, boxes.astype(np.float32), np.asarray(scores, np.float32), labels.shape,
                              None)


def test_scores_of_perfect_partial_and_empty_predictions():
    truth = make_nuclei_scene(11, (96, 96), diameter=14).labels
    n = truth.max()
    perfect = score_result(truth, _result_from_labels(truth))
    assert perfect.n_true == perfect.n_pred == n
    assert perfect.recall50 == perfect.recall75 == perfect.dsb_ap50 == perfect.f1_50 == 1.0
    assert perfect.coco_ap50 > 0.99
    half = np.where(truth <= n // 2, truth, 0)
    partial = score_result(truth, _result_from_labels(half))
    assert partial.recall50 == pytest.approx((n // 2) / n)
    assert partial.dsb_ap50 == pytest.approx((n // 2) / n)
    empty = score_result(truth, _result_from_labels(np.zeros_like(truth)))
    assert empty.recall50 == empty.coco_ap50 == empty.dsb_ap50 == 0.0


def test_eroded_masks_pass_at_iou_half_but_not_three_quarters():
    truth = np.zeros((60, 60), np.int32)
    truth[10:30, 10:30] = 1
    pred = np.zeros_like(truth)
    pred[12:28, 12:28] = 1  # IoU 256 / 400 = 0.64
    s = score_result(truth, _result_from_labels(pred))
    assert s.recall50 == 1.0 and s.recall75 == 0.0
    iou = iou_matrix(truth, pred[None] > 0)
    assert iou.shape == (1, 1) and iou[0, 0] == pytest.approx(0.64)
    assert matched_pairs(iou, 0.5) == 1 and matched_pairs(iou, 0.7) == 0


def test_cli_train_nuclei_builds_the_dataset_and_passes_the_recipe(tmp_path, monkeypatch, capsys):
    import fastsam_plugin.training.train as train_module
    from fastsam_plugin.cli.main import main

    calls = {}

    def fake_train(data, model, **kwargs):  # the Ultralytics run itself is tested in test_training.py
        calls.update(data=data, model=model, **kwargs)
        return tmp_path / "best.pt"

    monkeypatch.setattr(train_module, "train", fake_train)
    argv = ["train", "--nuclei", "2", "--n-val", "1", "--imgsz", "64", "--workers", "0", "--workdir", str(tmp_path)]
    assert main(argv) == 0
    assert calls["data"].is_file() and calls["workers"] == 0 and calls["flipud"] == 0.5 and calls["imgsz"] == 64
    assert len(list((tmp_path / "train" / "dataset" / "images" / "train").glob("*.png"))) == 2
    assert "optimizer" not in calls and "lr0" not in calls  # Ultralytics chooses both unless told
    assert main([*argv, "--lr0", "0.0005"]) == 0  # a low rate to fine-tune: AdamW at that rate
    assert calls["optimizer"] == "AdamW" and calls["lr0"] == 0.0005
    assert main(["train", "--nuclei", "2", "--real-nuclei", "3", "--workdir", str(tmp_path)]) == 2
    assert "--real-data" in capsys.readouterr().err  # a usage error, on stderr


def test_napari_sample_nuclei_scene():
    from fastsam_plugin.napari.sample_data import nuclei_scene

    (image, _meta, kind), (labels, lmeta, lkind) = nuclei_scene()
    assert (kind, lkind) == ("image", "labels") and image.dtype == np.uint16 and image.shape == labels.shape
    assert labels.max() >= 50 and _touching_pairs(labels) >= 5 and not lmeta["visible"]

