import numpy as np
import pytest

from fastsam_plugin.evaluation.boundaries import DEFAULT_THRESHOLDS, image_counts, ods_ois


def square_boundary(shift=0):
    b = np.zeros((100, 120), bool)
    b[20 + shift, 20:80] = b[70 + shift, 20:80] = True
    b[20 + shift : 71 + shift, 20] = b[20 + shift : 71 + shift, 79] = True
    return b


def test_ground_truth_as_edges_scores_one():
    gt = square_boundary()
    counts = image_counts(gt.astype(float), [gt, gt], DEFAULT_THRESHOLDS)
    scores = ods_ois([counts])
    assert scores["ODS"] == pytest.approx(1.0) and scores["OIS"] == pytest.approx(1.0)


def test_shift_within_tolerance_is_forgiven_beyond_it_is_not():
    gt = square_boundary()
    near = image_counts(square_boundary(1).astype(float), [gt], DEFAULT_THRESHOLDS)
    far = image_counts(square_boundary(12).astype(float), [gt], DEFAULT_THRESHOLDS)
    assert ods_ois([near])["ODS"] == pytest.approx(1.0)
    assert ods_ois([far])["ODS"] < 0.6


def test_missing_half_the_edges_halves_recall():
    gt = square_boundary()
    half = gt.copy()
    half[:, 50:] = False
    scores = ods_ois([image_counts(half.astype(float), [gt], DEFAULT_THRESHOLDS)])
    recall = half.sum() / gt.sum()
    assert scores["ODS"] == pytest.approx(2 * recall / (1 + recall), abs=0.03)
