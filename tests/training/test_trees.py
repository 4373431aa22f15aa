"""Crowns grown from tree points, the trees dataset on the real tiles, and resuming an interrupted run."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastsam_plugin.engine.scale import ModelScale
from fastsam_plugin.training.trees_data import (
    MAX_RADIUS,
    MIN_RADIUS,
    TREE_BANDS,
    dataset_root,
    derive_crowns,
    false_colour,
    ndvi,
    read_tile,
    split_names,
)

from ..paths import SHARED
from .interrupted import train_interrupted_after_first_epoch

TREES = SHARED / "aerial" / "urban-trees"


def _scene(seed: int, n_trees: int):
    """A 4-band tile: bare soil (low NDVI) with round vegetated crowns at random points."""
    rng = np.random.default_rng(seed)
    image = np.zeros((64, 64, 4), np.uint8)
    image[...] = (150, 140, 120, 110)  # soil: NIR below red
    pts = rng.uniform(0, 64, (n_trees, 2))
    yy, xx = np.mgrid[0:64, 0:64]
    for x, y in pts:
        r = rng.uniform(2, 8)
        inside = (xx - x) ** 2 + (yy - y) ** 2 <= r * r
        image[inside] = (40, 70, 40, 180)  # vegetation: NIR far above red
    return image, pts


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 25))
def test_one_crown_per_point_disjoint_around_its_point(seed, n):
    image, pts = _scene(seed, n)
    crowns = derive_crowns(image, pts)
    seeds = np.clip(np.round(pts), 0, 63)  # the pixel each point falls in
    _, first = np.unique(seeds, axis=0, return_index=True)
    seeds = seeds[np.sort(first)]  # two points on one pixel are one tree
    assert crowns.shape == (len(seeds), 64, 64) and crowns.dtype == bool
    assert (crowns.sum(axis=0) <= 1).all()  # crowns never overlap
    yy, xx = np.mgrid[0:64, 0:64]
    for k, crown in enumerate(crowns):
        col, row = seeds[k]
        d = np.hypot(xx - col, yy - row)
        assert crown[int(row), int(col)]  # the tree's own pixel is in its crown
        assert d[crown].max() <= MAX_RADIUS + 1e-6  # a crown stays near its tree
        # the disk of MIN_RADIUS belongs to this tree unless another tree is near
        others = np.delete(seeds, k, axis=0)
        if not len(others) or np.hypot(*(others - seeds[k]).T).min() > 2 * MIN_RADIUS + 2:
            assert crown[d <= MIN_RADIUS - 1].all()


def test_crowns_follow_vegetation_not_soil():
    image, _ = _scene(0, 0)
    yy, xx = np.mgrid[0:64, 0:64]
    image[(xx - 32) ** 2 + (yy - 32) ** 2 <= 6**2] = (40, 70, 40, 180)  # one crown of radius 6
    crown = derive_crowns(image, np.array([[32.0, 32.0]]))[0]
    r = np.hypot(xx - 32, yy - 32)
    assert crown[r <= 5].all()  # the outline lies within a pixel of the crown's edge ...
    assert not crown[r > 7].any()  # ... and does not spread over the soil


def test_points_outside_the_tile_are_dropped_and_no_points_give_no_masks():
    image, _ = _scene(1, 3)
    assert derive_crowns(image, np.zeros((0, 2))).shape == (0, 64, 64)
    assert derive_crowns(image, np.array([[-5.0, 3.0], [10.0, 10.0], [64.0, 1.0]])).shape == (1, 64, 64)
    assert derive_crowns(image, np.array([[10.0, 10.0], [10.2, 9.9], [20.0, 20.0]])).shape == (2, 64, 64)


def test_ndvi_and_false_colour():
    image = np.array([[[100, 50, 25, 200], [0, 0, 0, 0]]], np.uint8)
    np.testing.assert_allclose(ndvi(image), [[100 / 300, 0.0]])
    np.testing.assert_array_equal(false_colour(image)[0, 0], [200, 100, 50])  # NIR, red, green
    assert TREE_BANDS == (4, 1, 2)


def test_missing_dataset_folder_says_what_to_give(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_socal.txt"):
        dataset_root(tmp_path)


@pytest.mark.data
@pytest.mark.skipif(not TREES.is_dir(), reason="needs ../shared/data/aerial/urban-trees")
def test_real_tiles_get_a_crown_for_nearly_every_tree():
    root = dataset_root(SHARED)
    names = split_names(root, "val")
    assert len(names) == 43 and len(split_names(root, "train")) == 383
    n_points = n_crowns = 0
    areas = []
    for name in names[:8]:
        image, pts = read_tile(root, name)
        crowns = derive_crowns(image, pts)
        n_points += len(pts)
        n_crowns += len(crowns)
        areas += list(crowns.sum(axis=(1, 2)))
        for (x, y), crown in zip(pts, crowns):
            assert crown[min(int(np.round(y)), 255), min(int(np.round(x)), 255)]
    assert n_crowns == n_points > 100
    # 0.6 m pixels: crowns from a few m^2 (the minimum disk) to ~13 m across
    assert np.median(areas) >= 25 and max(areas) <= np.pi * (MAX_RADIUS + 1) ** 2


@pytest.mark.skipif(not TREES.is_dir(), reason="needs ../shared/data/aerial/urban-trees")
def test_a_trees_model_records_the_tiles_pixel_size_from_their_geotiffs():
    from fastsam_plugin.engine.operating_point import NAMED_SCALES
    from fastsam_plugin.training.trees_data import trees_scale

    scale = trees_scale(SHARED, 416)
    # the recipe's model brings images to scale as the bundled one does: by their pixel size (NAIP 0.6 m)
    assert scale == NAMED_SCALES["demo-trees"]
    assert ModelScale.from_record(scale.as_record()) == scale


@pytest.mark.slow
def test_an_interrupted_run_resumes_to_its_last_epoch(tmp_path):
    import torch

    from fastsam_plugin.engine.operating_point import CHECKPOINT_KEY
    from fastsam_plugin.training.train import resume, synthetic_dataset

    data = synthetic_dataset(tmp_path / "ds", 6, 3, size=96)
    last = train_interrupted_after_first_epoch(data, tmp_path / "runs", imgsz=96, batch=3, record={"bands": [4, 1, 2]})
    assert torch.load(last, map_location="cpu", weights_only=False)["epoch"] == 0
    best = resume(tmp_path / "runs" / "r")
    ckpt = torch.load(best, map_location="cpu", weights_only=False)
    assert ckpt[CHECKPOINT_KEY]["bands"] == [4, 1, 2] and ckpt[CHECKPOINT_KEY]["imgsz"] == 96
    scale = ModelScale.from_record(ckpt[CHECKPOINT_KEY]["scale"])  # the training set's, recorded by train()
    assert scale is not None and scale.imgsz == 96 and scale.tile > 0
    rows = (tmp_path / "runs" / "r" / "results.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 2  # header, then both epochs: the second ran after the interruption


def test_resume_without_a_run_says_so(tmp_path):
    from fastsam_plugin.training.train import resume

    with pytest.raises(FileNotFoundError, match="no interrupted run"):
        resume(tmp_path / "nothing")
