"""Point-annotation scoring: containment, the optimal one-to-one matching, pooled counts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from fastsam_plugin.evaluation.points import (
    PointCounts,
    centre_distance,
    count_box_matches,
    count_mask_matches,
    match_points,
    pixel_centres,
    points_in_boxes,
    points_in_crops,
)


def greedy(allowed: np.ndarray, distance: np.ndarray) -> int:
    """Each point in turn takes the nearest free object containing it (what the optimum must beat)."""
    taken, n = set(), 0
    for k in range(allowed.shape[0]):
        free = [j for j in np.argsort(distance[k], kind="stable") if allowed[k, j] and j not in taken]
        if free:
            taken.add(free[0])
            n += 1
    return n


def test_optimal_matching_beats_greedy_where_one_box_holds_both_trees():
    # tree A sits at the centre of the big box, which also holds tree B; the small box holds A only.
    # Greedy gives A the big box (nearest centre) and leaves B without one: 1 match; the optimum finds 2.
    points = np.array([[10.0, 10.0], [18.0, 10.0]])
    boxes = np.array([[0.0, 0.0, 20.0, 20.0], [8.0, 8.0, 13.0, 13.0]])
    allowed, dist = points_in_boxes(points, boxes), centre_distance(points, boxes)
    assert allowed.tolist() == [[True, True], [True, False]]
    assert greedy(allowed, dist) == 1
    pairs = match_points(allowed, dist)
    assert pairs.tolist() == [[0, 1], [1, 0]]
    counts = count_box_matches(points, boxes)
    assert (counts.tp, counts.trees, counts.objects) == (2, 2, 2)
    assert counts.precision == counts.recall == counts.f1 == 1.0


def test_tie_break_prefers_the_nearer_centre_without_losing_a_match():
    # two boxes both hold the one tree: it goes to the box whose centre is nearer
    points = np.array([[5.0, 5.0]])
    boxes = np.array([[0.0, 0.0, 30.0, 30.0], [0.0, 0.0, 10.0, 10.0]])
    assert match_points(points_in_boxes(points, boxes), centre_distance(points, boxes)).tolist() == [[0, 1]]


def test_each_box_counts_once_and_extra_boxes_are_false_positives():
    points = np.array([[5.0, 5.0], [6.0, 6.0], [50.0, 50.0]])  # two trees in one box, one tree in none
    boxes = np.array([[0.0, 0.0, 10.0, 10.0], [80.0, 80.0, 90.0, 90.0]])
    c = count_box_matches(points, boxes)
    assert (c.tp, c.trees, c.objects) == (1, 3, 2)
    assert c.precision == pytest.approx(0.5) and c.recall == pytest.approx(1 / 3)
    assert c.f1 == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))


def test_box_edges_count_as_inside():
    boxes = np.array([[2.0, 2.0, 4.0, 4.0]])
    inside = points_in_boxes(np.array([[2.0, 2.0], [4.0, 4.0], [4.01, 3.0], [1.99, 3.0]]), boxes)
    assert inside[:, 0].tolist() == [True, True, False, False]


def test_pixel_indices_against_exclusive_pixel_boxes():
    # a box from pixel column 2 to 4 exclusive holds pixels 2 and 3: their centres 2.5, 3.5 are inside, 4.5 not
    box = np.array([[2, 2, 4, 4]])
    inside = points_in_boxes(pixel_centres(np.array([[2, 2], [3, 3], [4, 3]])), box)
    assert inside[:, 0].tolist() == [True, True, False]


def test_point_in_mask_is_stricter_than_point_in_box():
    # an L-shaped mask: its box holds the tree at the L's inner corner, the mask does not
    crop = np.zeros((10, 10), bool)
    crop[:, :3] = True
    crop[7:, :] = True
    pixel_boxes = np.array([[20, 30, 30, 40]])
    points = np.array([[25, 32], [21, 32], [28, 38]])  # (column, row): in the box only, in the mask, in the mask
    assert points_in_crops(points, [crop], pixel_boxes)[:, 0].tolist() == [False, True, True]
    by_box = count_box_matches(pixel_centres(points), pixel_boxes)
    by_mask = count_mask_matches(points, [crop], pixel_boxes)
    assert by_box.tp == 1 and by_mask.tp == 1  # one object: one match either way
    assert count_mask_matches(points[:1], [crop], pixel_boxes).tp == 0
    assert count_box_matches(pixel_centres(points[:1]), pixel_boxes).tp == 1


def test_empty_tiles_count_their_trees_and_objects():
    assert count_box_matches(np.zeros((0, 2)), np.array([[0, 0, 5, 5]])) == PointCounts(1, 0, 1, 0)
    assert count_box_matches(np.array([[1, 1]]), np.zeros((0, 4))) == PointCounts(1, 1, 0, 0)
    assert count_mask_matches(np.array([[1, 1]]), [], np.zeros((0, 4))) == PointCounts(1, 1, 0, 0)


def test_counts_pool_over_tiles():
    total = PointCounts(1, 10, 8, 6) + PointCounts(1, 0, 4, 0) + PointCounts(1, 5, 0, 0)
    assert total == PointCounts(3, 15, 12, 6)
    assert total.precision == pytest.approx(0.5) and total.recall == pytest.approx(0.4)
    assert total.scores()["F1"] == pytest.approx(2 * 6 / 27)
    assert np.isnan(PointCounts().f1) and np.isnan(PointCounts(1, 3, 0, 0).precision)


def test_bad_shapes_say_what_is_expected():
    with pytest.raises(ValueError, match=r"\(K, 2\)"):
        points_in_boxes(np.zeros((3, 3)), np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        points_in_boxes(np.zeros((1, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="finite"):
        points_in_boxes(np.array([[np.nan, 1.0]]), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="one box per mask"):
        points_in_crops(np.zeros((1, 2)), [np.ones((2, 2), bool)], np.zeros((0, 4)))


# -- properties ---------------------------------------------------------------------------------

coords = st.integers(0, 40).map(float)


@st.composite
def scenes(draw, max_points: int = 7, max_boxes: int = 7):
    k, n = draw(st.integers(0, max_points)), draw(st.integers(0, max_boxes))
    points = np.array([[draw(coords), draw(coords)] for _ in range(k)], float).reshape(-1, 2)
    boxes = []
    for _ in range(n):
        x0, y0 = draw(coords), draw(coords)
        boxes.append([x0, y0, x0 + draw(st.integers(0, 20)), y0 + draw(st.integers(0, 20))])
    return points, np.array(boxes, float).reshape(-1, 4)


@given(scenes())
def test_matching_is_one_to_one_allowed_and_maximum(scene):
    points, boxes = scene
    allowed = points_in_boxes(points, boxes)
    pairs = match_points(allowed, centre_distance(points, boxes))
    assert len(pairs) <= min(len(points), len(boxes))
    assert len(set(pairs[:, 0])) == len(set(pairs[:, 1])) == len(pairs)
    assert allowed[pairs[:, 0], pairs[:, 1]].all()
    # as many pairs as a maximum bipartite matching (Hopcroft-Karp) finds
    best = (maximum_bipartite_matching(csr_matrix(allowed.astype(np.int8)), perm_type="column") >= 0).sum() \
        if allowed.size else 0
    assert len(pairs) == best
    assert len(pairs) >= greedy(allowed, centre_distance(points, boxes))


@given(scenes(max_points=5, max_boxes=5))
def test_among_maximum_matchings_the_closest_is_chosen(scene):
    points, boxes = scene
    allowed, dist = points_in_boxes(points, boxes), centre_distance(points, boxes)
    pairs = match_points(allowed, dist)
    k, n = allowed.shape
    best = (0, 0.0)  # brute force: (pairs, -distance) over every injective partial assignment
    for size in range(min(k, n), 0, -1):
        for rows in itertools.combinations(range(k), size):
            for cols in itertools.permutations(range(n), size):
                if allowed[list(rows), list(cols)].all():
                    best = max(best, (size, -dist[list(rows), list(cols)].sum()))
        if best[0]:
            break
    assert len(pairs) == best[0]
    assert dist[pairs[:, 0], pairs[:, 1]].sum() == pytest.approx(-best[1], abs=1e-9)


@given(scenes(), st.tuples(coords, coords, st.integers(0, 20), st.integers(0, 20)))
def test_adding_a_box_never_lowers_true_positives(scene, extra):
    points, boxes = scene
    x0, y0, w, h = extra
    more = np.vstack([boxes, [[x0, y0, x0 + w, y0 + h]]])
    before, after = count_box_matches(points, boxes), count_box_matches(points, more)
    assert after.tp >= before.tp
    assert after.objects == before.objects + 1 and after.trees == before.trees
