"""The DSB2018 training set: experiments never straddle splits, crops come at the model's nuclei scale."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st

from fastsam_plugin.engine.scale import ModelScale
from fastsam_plugin.training import dsb2018
from fastsam_plugin.training.nuclei import make_nuclei_scene


@given(st.dictionaries(st.text("abcdef0123", min_size=4, max_size=8),
                       st.tuples(st.sampled_from(["fluorescence", "colour"]), st.integers(0, 12)),
                       min_size=1, max_size=80))
@settings(max_examples=60, deadline=None)
def test_split_groups_keep_each_experiment_on_one_side(spec):
    keys = {image_id: f"{modality}-g{group}" for image_id, (modality, group) in spec.items()}
    splits = dsb2018.split_groups(keys)
    assert set(splits) == set(keys) and set(splits.values()) <= {"train", "val", "test"}
    side: dict[str, str] = {}
    for image_id, key in keys.items():
        assert side.setdefault(key, splits[image_id]) == splits[image_id], f"group {key} straddles splits"
    for modality in ("fluorescence", "colour"):
        ids = [i for i, k in keys.items() if k.startswith(modality)]
        held = sum(splits[i] == "test" for i in ids)
        assert held <= 1.2 * dsb2018.TEST_FRACTION * len(ids) + 1e-9  # never more than its share plus a fifth


def test_split_is_deterministic_and_keys_follow_size_and_modality():
    keys = {f"id{k}": f"fluorescence-g{k % 7}" for k in range(70)}
    assert dsb2018.split_groups(keys) == dsb2018.split_groups(dict(reversed(list(keys.items()))))
    lab = np.zeros((64, 80), np.int32)
    lab[10:22, 10:22] = 1  # 144 px: 13.5 px across, log2 3.76
    grey, rgb = np.zeros((64, 80), np.uint8), np.full((64, 80, 3), 200, np.uint8)
    assert dsb2018.experiment_key("fluorescence", grey, lab) == "fluorescence-64x80-d4"
    assert dsb2018.experiment_key("colour", rgb, lab).startswith("colour-64x80-d4-v")


@given(st.floats(6.0, 60.0))
@settings(max_examples=15, deadline=None)
def test_rescale_brings_the_median_nucleus_to_the_target(diameter):
    scene = make_nuclei_scene(3, (200, 200), diameter=diameter, bit_depth=8, max_nuclei=40)
    d = dsb2018.median_diameter(scene.labels)
    image, labels = dsb2018.rescale(scene.image, scene.labels, dsb2018.TARGET_DIAMETER / d)
    assert image.shape == labels.shape and image.dtype == scene.image.dtype
    assert dsb2018.median_diameter(labels) == pytest.approx(dsb2018.TARGET_DIAMETER, rel=0.15)


@pytest.fixture
def tiny_set(tmp_path):
    """A DSB2018-shaped folder: 4 fluorescence + 2 colour images with labels."""
    root = tmp_path / "dsb2018-stage1"
    for modality, n in (("fluorescence", 4), ("colour", 2)):
        (root / modality / "images").mkdir(parents=True)
        (root / modality / "labels").mkdir(parents=True)
        for k in range(n):
            scene = make_nuclei_scene(k, (120, 150), diameter=12 + 8 * k, bit_depth=8)
            image = scene.image if modality == "fluorescence" else np.stack([255 - scene.image] * 3, -1)
            tifffile.imwrite(root / modality / "images" / f"{modality[0]}{k}.tif", image)
            tifffile.imwrite(root / modality / "labels" / f"{modality[0]}{k}.tif", scene.labels.astype(np.uint16))
    return root


def test_item_samples_are_model_input_crops_at_the_drawn_scale(tiny_set):
    items = dsb2018.list_items(tiny_set.parent)  # the parent folder is found too
    assert [it.modality for it in items] == ["fluorescence"] * 4 + ["colour"] * 2
    samples = list(dsb2018.item_samples(items, rounds=1, seed=0))
    assert len(samples) >= 4 + 2 * 2  # colour images twice per round
    lo = dsb2018.TARGET_DIAMETER * dsb2018.DIAMETER_JITTER[0]
    hi = dsb2018.TARGET_DIAMETER * dsb2018.DIAMETER_JITTER[1]
    diameters = []
    for s in samples:
        assert s.image.shape == (dsb2018.CROP, dsb2018.CROP, 3) and s.image.dtype == np.uint8
        assert s.masks.shape[1:] == (dsb2018.CROP, dsb2018.CROP) and s.masks.dtype == bool
        if len(s.masks):
            areas = s.masks.reshape(len(s.masks), -1).sum(1)
            diameters.append(np.median(2 * np.sqrt(areas / np.pi)))
    # crops keep mostly whole nuclei: their median diameter lies in the drawn range (cut ones pull it down a bit)
    assert lo * 0.7 <= np.median(diameters) <= hi * 1.1


def test_dataset_writes_splits_and_ultralytics_layout(tiny_set, tmp_path):
    data_yaml, splits = dsb2018.dsb_dataset(tmp_path / "out", tiny_set, rounds=1)
    assert data_yaml.is_file() and set(splits.values()) <= {"train", "val", "test"}
    back = dsb2018.read_splits(tmp_path / "out" / "splits.tsv", tiny_set)
    assert sum(len(v) for v in back.values()) == 6
    # an evaluation without the run's file works the same split out from the images
    assert dsb2018.experiment_splits(tiny_set) == back
    n_train = len(list((tmp_path / "out" / "images" / "train").glob("*.png")))
    assert n_train >= sum(1 for s in splits.values() if s == "train")


def test_resize_range_spans_the_factors_the_crops_are_drawn_at(tiny_set):
    items = dsb2018.list_items(tiny_set)
    low, high = dsb2018.resize_range(items)
    diameters = [dsb2018.median_diameter(it.read()[1]) for it in items]
    target = dsb2018.TARGET_DIAMETER
    # the smallest nuclei drawn largest and the largest drawn smallest bound every factor item_samples uses
    assert low == pytest.approx(target * dsb2018.DIAMETER_JITTER[0] / max(diameters), abs=0.01)
    assert high == pytest.approx(target * dsb2018.DIAMETER_JITTER[1] / min(diameters), abs=0.01)
    scale = dsb2018.record(256, (low, high))["scale"]
    assert ModelScale.from_record(scale).resize_range == (low, high)


def test_missing_folder_says_what_to_give(tmp_path):
    with pytest.raises(FileNotFoundError, match="fluorescence/"):
        dsb2018.dataset_root(tmp_path)
