"""Boundary benchmark: thresholds, thinning, per-annotator matching, ODS/OIS/AP/R50."""

import numpy as np
import pytest
from skimage.morphology import thin

from fastsam_plugin.evaluation.boundaries import (
    DEFAULT_THRESHOLDS,
    human_counts,
    human_scores,
    image_counts,
    match_counts,
    summarize,
    thresholds,
)


def square_boundary(shift=0, shape=(100, 120)):
    """A one-pixel square outline that thinning leaves as it is (corners cut, as thinning would)."""
    b = np.zeros(shape, bool)
    b[20 + shift, 20:80] = b[70 + shift, 20:80] = True
    b[20 + shift : 71 + shift, 20] = b[20 + shift : 71 + shift, 79] = True
    return thin(b)


def test_official_threshold_grid():
    t = thresholds(99)
    assert len(t) == 99 and t[0] == pytest.approx(0.01) and t[-1] == pytest.approx(0.99)
    assert np.array_equal(DEFAULT_THRESHOLDS, t)
    with pytest.raises(ValueError, match="positive integer"):
        thresholds(0)


def test_ground_truth_as_edges_scores_one():
    gt = square_boundary()
    scores = summarize([image_counts(gt.astype(float), [gt, gt])])
    assert scores["ODS"] == pytest.approx(1.0) and scores["OIS"] == pytest.approx(1.0)
    assert scores["R50"] == pytest.approx(1.0)


def test_shift_within_tolerance_is_forgiven_beyond_it_is_not():
    gt = square_boundary()  # tolerance 0.0075 x diagonal 156 = 1.17 px
    near = summarize([image_counts(square_boundary(1).astype(float), [gt])])
    far = summarize([image_counts(square_boundary(12).astype(float), [gt])])
    assert near["ODS"] == pytest.approx(1.0)
    assert far["ODS"] < 0.6


def test_missing_half_the_edges_halves_recall():
    gt = square_boundary()
    half = gt.copy()
    half[:, 50:] = False
    counts = image_counts(half.astype(float), [gt])
    recall = half.sum() / gt.sum()
    assert counts[0, 0] == counts[0, 1]  # every predicted pixel is right
    assert summarize([counts])["ODS"] == pytest.approx(2 * recall / (1 + recall), abs=1e-6)


def test_thick_prediction_is_thinned_before_matching():
    gt = square_boundary()
    thick = gt | np.roll(gt, 1, 0) | np.roll(gt, -1, 0)
    thinned = image_counts(thick.astype(float), [gt])[0]
    raw = image_counts(thick.astype(float), [gt], thin=False)[0]
    assert thinned[1] < raw[1]  # fewer predicted pixels after thinning
    assert thinned[0] / thinned[1] > 0.95 > raw[0] / raw[1]  # one-to-one punishes the unthinned copies


def test_distance_rule_overstates_a_doubled_annotation():
    # Two annotators draw the same line; a prediction that covers only every
    # other pixel: one-to-one matching recalls half, the distance rule all.
    gt = np.zeros((40, 60), bool)
    gt[20, 5:55] = True
    pred = np.zeros_like(gt)
    pred[20, 5:55:2] = True
    optimal = match_counts(pred, [gt, gt], 1.5, "optimal")
    distance = match_counts(pred, [gt, gt], 1.5, "distance")
    assert optimal[2] == 2 * pred.sum() and distance[2] == 2 * gt.sum()
    assert optimal[0] == distance[0] == pred.sum()
    with pytest.raises(ValueError, match="rule"):
        match_counts(pred, [gt], 1.5, "nearest")


def test_precision_counts_a_pixel_matched_for_any_annotator_recall_sums_over_them():
    a = np.zeros((40, 60), bool)
    a[10, 5:55] = True
    b = np.zeros_like(a)
    b[30, 5:55] = True
    pred = a | b
    counts = match_counts(pred, [a, b], 1.5)
    assert counts[0] == pred.sum()  # each half is right for one annotator
    assert counts[2] == a.sum() + b.sum() and counts[3] == a.sum() + b.sum()


def test_soft_map_levels_and_repeated_maps_give_the_same_counts():
    gt = square_boundary()
    soft = np.where(gt, 0.6, np.where(square_boundary(15), 0.3, 0.0))
    counts = image_counts(soft, [gt])
    t = DEFAULT_THRESHOLDS
    assert np.array_equal(counts[t <= 0.3][0], counts[t <= 0.3][-1])
    low, high = counts[t <= 0.3][0], counts[(t > 0.3) & (t <= 0.6)][0]
    assert low[1] > high[1] and high[0] == high[1]  # the spurious square costs precision at low thresholds
    assert (counts[t > 0.6] == [0, 0, 0, gt.sum()]).all()


def test_summary_of_a_known_precision_recall_curve():
    # precision 0.8 at every threshold, recall falling from 1.0 to 0.2
    t = thresholds(9)
    r = np.linspace(1.0, 0.2, 9)
    counts = np.stack([np.round(800 * r), np.round(1000 * r), np.round(1000 * r), np.full(9, 1000)], 1)
    s = summarize([counts.astype(np.int64)], t)
    assert s["ODS"] == pytest.approx(2 * 0.8 / 1.8)  # best at recall 1
    assert s["AP"] == pytest.approx(0.8 * 81 / 100)  # recall grid 0.20..1.00 covered
    assert s["R50"] == pytest.approx(1.0)  # precision never falls to 0.5: recall at the lowest precision


def test_r50_interpolates_where_precision_crosses_one_half():
    t = thresholds(3)
    counts = np.array([[40, 100, 90, 100], [60, 100, 50, 100], [90, 100, 10, 100]])
    s = summarize([counts], t)
    assert s["R50"] == pytest.approx(70.0 / 100)  # halfway between (0.4, 0.9) and (0.6, 0.5)
    never = summarize([np.array([[10, 100, 90, 100], [20, 100, 50, 100], [30, 100, 10, 100]])], t)
    assert np.isnan(never["R50"])


def test_ois_takes_each_image_at_its_own_threshold():
    t = thresholds(2)
    img1 = np.array([[50, 50, 50, 100], [0, 0, 0, 100]])  # best at t1: P 1, R .5
    img2 = np.array([[10, 100, 100, 100], [50, 50, 50, 100]])  # best at t2: P 1, R .5
    s = summarize([img1, img2], t)
    assert s["OIS"] == pytest.approx(2 * 0.5 / 1.5)
    assert s["ODS"] < s["OIS"]


def test_human_consistency_of_identical_and_disjoint_annotators():
    gt = square_boundary()
    assert human_scores([human_counts([gt, gt, gt])])["F"] == pytest.approx(1.0)
    other = square_boundary(25)
    s = human_scores([human_counts([gt, other])])
    assert s["P"] < 0.5 and s["R"] < 0.5
    assert (human_counts([gt]) == 0).all()
