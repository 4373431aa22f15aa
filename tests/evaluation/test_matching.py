"""One-to-one boundary matching: hand-drawn cases where simpler rules go wrong, and the optimum checked by brute force."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

from fastsam_plugin.evaluation.matching import OUTLIER_COST, correspond_pixels, match_pixels


def row_map(xs, width=12):
    m = np.zeros((1, width), bool)
    m[0, list(xs)] = True
    return m


def greedy_nearest_first(pred, gt, max_dist):
    """The tempting shortcut: take the closest remaining pair until none is within reach."""
    a, b = np.argwhere(pred), np.argwhere(gt)
    d = np.linalg.norm(a[:, None] - b[None], axis=2)
    used_a, used_b, n = set(), set(), 0
    for i, j in zip(*np.unravel_index(np.argsort(d, axis=None, kind="stable"), d.shape)):
        if d[i, j] <= max_dist and i not in used_a and j not in used_b:
            used_a.add(i), used_b.add(j)
            n += 1
    return n


def distance_transform_recall(pred, gt, max_dist):
    return int((gt & (ndimage.distance_transform_edt(~pred) <= max_dist)).sum())


def optimum(a, b, max_dist):
    """Brute force: dense assignment with an outlier slot for every point."""
    oc, big = OUTLIER_COST * max_dist, 1e9
    na, nb = len(a), len(b)
    d = np.linalg.norm(a[:, None].astype(float) - b[None], axis=2) if na and nb else np.zeros((na, nb))
    cost = np.full((na + nb, nb + na), big)
    cost[:na, :nb] = np.where(d <= max_dist + 1e-9, d, big)
    cost[:na, nb:] = np.where(np.eye(na, dtype=bool), oc, big)
    cost[na:, :nb] = np.where(np.eye(nb, dtype=bool), oc, big)
    cost[na:, nb:] = 0
    r, c = linear_sum_assignment(cost)
    return int(((r < na) & (c < nb)).sum()), float(cost[r, c].sum())


def total_cost(a, b, ma, mb, max_dist):
    d = sum(float(np.linalg.norm(a[i] - b[ma[i]])) for i in range(len(a)) if ma[i] >= 0)
    return d + OUTLIER_COST * max_dist * (int((ma < 0).sum()) + int((mb < 0).sum()))


def test_optimum_matches_more_than_greedy_nearest_first():
    # pred at 3 and 8, human at 0 and 5, reach 3: greedy takes the closest pair (3, 5)
    # and strands 8; the optimum pairs 3-0 and 8-5.
    pred, gt = row_map([3, 8]), row_map([0, 5])
    assert greedy_nearest_first(pred, gt, 3.0) == 1
    m_pred, m_gt = correspond_pixels(pred, gt, 3.0)
    assert m_pred.sum() == 2 and m_gt.sum() == 2


def test_distance_transform_lets_one_pixel_recall_two():
    # one predicted pixel between two human pixels can be matched only once
    pred, gt = row_map([5]), row_map([4, 6])
    assert distance_transform_recall(pred, gt, 1.5) == 2
    m_pred, m_gt = correspond_pixels(pred, gt, 1.5)
    assert m_pred.sum() == 1 and m_gt.sum() == 1


def test_among_maximum_matchings_the_shortest_wins():
    # pred 0 and 3, human 1 and 2: both crossings match two pairs; straight pairs cost 2, crossed 4
    a, b = np.array([[0, 0], [0, 3]]), np.array([[0, 1], [0, 2]])
    ma, mb = match_pixels(a, b, (1, 4), 2.0)
    assert list(ma) == [0, 1] and list(mb) == [0, 1]


def test_nothing_within_reach_and_empty_maps():
    pred, gt = row_map([0]), row_map([9])
    assert not correspond_pixels(pred, gt, 3.0)[0].any()
    empty = np.zeros_like(pred)
    m_pred, m_gt = correspond_pixels(empty, gt, 3.0)
    assert not m_pred.any() and not m_gt.any()


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="one shape"):
        correspond_pixels(np.zeros((3, 4), bool), np.zeros((4, 3), bool), 2.0)
    with pytest.raises(ValueError, match="solver"):
        match_pixels(np.zeros((0, 2)), np.zeros((0, 2)), (2, 2), 1.0, solver="fast")


pixel_sets = st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), max_size=30, unique=True)


@settings(max_examples=150, deadline=None)
@given(pixel_sets, pixel_sets, st.floats(1.0, 3.5))
def test_both_solvers_reach_the_brute_force_optimum(pa, pb, max_dist):
    a, b = np.array(pa, np.int64).reshape(-1, 2), np.array(pb, np.int64).reshape(-1, 2)
    n_best, cost_best = optimum(a, b, max_dist)
    for solver in ("exact", "scipy"):
        ma, mb = match_pixels(a, b, (10, 10), max_dist, solver=solver)
        pairs = [(i, ma[i]) for i in range(len(a)) if ma[i] >= 0]
        assert all(mb[j] == i for i, j in pairs)  # one-to-one
        assert all(np.linalg.norm(a[i] - b[j]) <= max_dist + 1e-9 for i, j in pairs)  # within reach
        assert len(pairs) == n_best
        assert total_cost(a, b, ma, mb, max_dist) == pytest.approx(cost_best)
