"""Pooled instance-segmentation figures (StarDist's matching accuracy, precision, recall, F1, COCO AP)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st

from fastsam_plugin.engine.result import SegmentationResult
from fastsam_plugin.evaluation.instances import (
    IOU_THRESHOLDS,
    PooledInstances,
    intersections,
    iou_matrix,
    label_pairs,
    match_counts,
    matched_pairs,
)
from tests.strategies import rect_masks


def _labels_from(masks: np.ndarray) -> np.ndarray:
    """(N, H, W) bool to an (H, W) label image, later masks on top (ids 1..N, some may vanish)."""
    lab = np.zeros(masks.shape[1:], np.int32)
    for k, m in enumerate(masks, start=1):
        lab[m] = k
    return lab


def _result(masks: np.ndarray) -> SegmentationResult:
    boxes = []
    for m in masks:
        ys, xs = np.nonzero(m)
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] if len(ys) else [0, 0, 1, 1])
    return SegmentationResult.from_masks(masks, np.array(boxes, float).reshape(-1, 4),
                                         np.linspace(0.9, 0.5, len(masks)))


@given(rect_masks(max_n=6, max_hw=20), rect_masks(max_n=6, max_hw=20))
@settings(max_examples=60, deadline=None)
def test_intersections_agree_with_the_per_label_iou(true_masks, pred_masks):
    h = min(true_masks.shape[1], pred_masks.shape[1])
    w = min(true_masks.shape[2], pred_masks.shape[2])
    labels = _labels_from(true_masks[:, :h, :w])
    pred = pred_masks[:, :h, :w]
    inter, ta, pa = intersections(labels, pred)
    iou = inter / np.maximum(ta[:, None] + pa[None, :] - inter, 1)
    np.testing.assert_allclose(iou, iou_matrix(labels, pred))


@given(rect_masks(max_n=6, max_hw=20), rect_masks(max_n=6, max_hw=20))
@settings(max_examples=60, deadline=None)
def test_match_counts_are_one_to_one_and_fall_with_the_threshold(true_masks, pred_masks):
    h = min(true_masks.shape[1], pred_masks.shape[1])
    w = min(true_masks.shape[2], pred_masks.shape[2])
    labels = _labels_from(true_masks[:, :h, :w])
    pred = pred_masks[:, :h, :w]
    tp, n_true, n_pred = match_counts(labels, pred)
    assert n_true == len(np.unique(labels[labels > 0])) and n_pred == len(pred)
    assert np.all(tp <= min(n_true, n_pred))
    assert np.all(np.diff(tp) <= 0)  # a stricter threshold never matches more
    # the count at 0.5 is the largest one-to-one matching among pairs with IoU >= 0.5 (predicted masks may
    # overlap each other, so one object can have two such masks); plain Hungarian on IoU (matched_pairs) may
    # trade a pair away for a higher IoU sum
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    iou = iou_matrix(labels, pred)
    allowed = csr_matrix((iou >= 0.5).astype(np.int8))
    largest = int((maximum_bipartite_matching(allowed, perm_type="column") >= 0).sum()) if allowed.nnz else 0
    assert tp[0] == largest >= matched_pairs(iou, 0.5)


@given(rect_masks(max_n=5, max_hw=20))
@settings(max_examples=40, deadline=None)
def test_a_perfect_prediction_scores_one_everywhere(true_masks):
    labels = _labels_from(true_masks)
    ids = np.unique(labels[labels > 0])
    pred = labels[None] == ids[:, None, None]
    tp, n_true, n_pred = match_counts(labels, pred)
    assert n_true == n_pred == len(ids)
    assert np.all(tp == len(ids))


def test_pooled_scores_count_over_images():
    lab = np.zeros((40, 40), np.int32)
    lab[2:12, 2:12] = 1
    lab[20:30, 20:30] = 2
    good = np.stack([lab == 1, lab == 2])
    shifted = np.zeros((1, 40, 40), bool)
    shifted[0, 2:12, 6:16] = True  # IoU 60/140 = 0.43 with object 1
    pooled = PooledInstances()
    pooled.add(lab, _result(good))  # 2 TP
    pooled.add(lab, _result(shifted))  # 0 TP, 1 FP, 2 FN
    s = pooled.scores()
    assert pooled.images == 2 and pooled.n_true == 4 and pooled.n_pred == 3
    assert s[0.5]["tp"] == 2 and s[0.5]["fp"] == 1 and s[0.5]["fn"] == 2
    assert s[0.5]["accuracy"] == pytest.approx(2 / 5)
    assert s[0.5]["precision"] == pytest.approx(2 / 3) and s[0.5]["recall"] == pytest.approx(0.5)
    assert s[0.5]["f1"] == pytest.approx(4 / 7)
    assert list(s) == list(IOU_THRESHOLDS)
    # COCO AP: both correct masks outrank the wrong one (scores 0.9/0.7 vs 0.9 in another image): between 0 and 1
    assert 0.3 < s[0.5]["coco_ap"] <= 1.0
    assert s[0.9]["coco_ap"] == pytest.approx(s[0.5]["coco_ap"])  # exact masks match at any IoU


def test_label_pairs_need_a_label_per_image(tmp_path):
    (tmp_path / "im").mkdir(), (tmp_path / "lab").mkdir()
    for name in ("a", "b"):
        tifffile.imwrite(tmp_path / "im" / f"{name}.tif", np.zeros((8, 8), np.uint8))
    tifffile.imwrite(tmp_path / "lab" / "a.tif", np.zeros((8, 8), np.uint16))
    with pytest.raises(FileNotFoundError, match="b.tif"):
        label_pairs(tmp_path / "im", tmp_path / "lab")
    tifffile.imwrite(tmp_path / "lab" / "b_labels.tif", np.zeros((8, 8), np.uint16))
    pairs = label_pairs(tmp_path / "im", tmp_path / "lab")
    assert [(i.name, lab.name) for i, lab in pairs] == [("a.tif", "a.tif"), ("b.tif", "b_labels.tif")]


def test_eval_cli_scores_a_label_folder(tmp_path, capsys):
    import json

    from fastsam_plugin.cli.main import main
    from fastsam_plugin.training.nuclei import make_nuclei_scene

    (tmp_path / "im").mkdir(), (tmp_path / "lab").mkdir()
    for k in range(2):
        scene = make_nuclei_scene(k, (160, 160), diameter=18, bit_depth=16)
        tifffile.imwrite(tmp_path / "im" / f"f{k}.tif", scene.image, compression="lzw")
        tifffile.imwrite(tmp_path / "lab" / f"f{k}.tif", scene.labels.astype(np.uint16))
    code = main(["eval", "--images", str(tmp_path / "im"), "--labels", str(tmp_path / "lab"), "--weights",
                 "demo-nuclei", "--device", "cpu", "--json", "--no-progress"])
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["images"] == 2 and report["objects"] > 10
    at50 = report["by_threshold"]["0.5"]
    assert at50["tp"] + at50["fn"] == report["objects"] and at50["tp"] + at50["fp"] == report["predicted"]
    assert at50["accuracy"] > 0.3  # the bundled model finds these synthetic nuclei
    assert report["by_threshold"]["0.9"]["accuracy"] <= at50["accuracy"]
    # labels without --images: told what is missing
    assert main(["eval", "--labels", str(tmp_path / "lab"), "--weights", "demo-nuclei"]) == 2
