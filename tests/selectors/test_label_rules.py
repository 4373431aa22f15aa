"""Which objects a picked point, a cut line or a carved mask names: literal examples and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from mask_selectors import (
    SelectorInputError,
    SelectorTypeError,
    label_most_covered,
    labels_at_points,
    labels_crossed,
    line_pixels,
)

LABELS = np.zeros((10, 12), np.int32)
LABELS[1:4, 1:4] = 3
LABELS[5:9, 6:11] = 7


def test_points_name_the_objects_under_them_first_pick_first_each_once():
    assert labels_at_points(LABELS, [[6, 7], [2, 2], [0, 0], [7.4, 8.6], [50, 50], [-3, 2]]) == [7, 3]
    assert labels_at_points(LABELS, np.empty((0, 2))) == []
    with pytest.raises(SelectorInputError, match=r"\(P, 2\)"):
        labels_at_points(LABELS, [[1, 2, 3]])
    with pytest.raises(SelectorTypeError):
        labels_at_points(LABELS > 0, [[1, 1]])


def test_a_line_names_the_objects_it_crosses():
    assert labels_crossed(LABELS, [[0, 2.5], [12, 2.5]]) == [3]
    assert labels_crossed(LABELS, [[2.5, 2.5], [8.5, 7.5]]) == [3, 7]
    assert labels_crossed(LABELS, [[5.5, 0], [5.5, 4.5]]) == []


def test_a_carved_mask_names_the_object_it_lies_most_on():
    mask = np.zeros(LABELS.shape, bool)
    mask[3:7, 2:8] = True  # 2 pixels of 3, 4 of 7
    assert label_most_covered(LABELS, mask) == 7
    assert label_most_covered(LABELS, np.zeros(LABELS.shape, bool)) == 0
    with pytest.raises(SelectorInputError, match="must match"):
        label_most_covered(LABELS, mask[:5])


labels_2d = arrays(np.int32, st.tuples(st.integers(1, 12), st.integers(1, 12)), elements=st.integers(0, 4))


@settings(max_examples=150)
@given(labels_2d, st.lists(st.tuples(st.floats(-3, 15), st.floats(-3, 15)), max_size=6))
def test_picked_ids_are_the_values_under_the_points_inside(labels, points):
    ids = labels_at_points(labels, np.array(points, float).reshape(-1, 2))
    expected = []
    for r, c in points:
        ri, ci = int(np.floor(r + 0.5)), int(np.floor(c + 0.5))
        if 0 <= ri < labels.shape[0] and 0 <= ci < labels.shape[1] and labels[ri, ci] and labels[ri, ci] not in expected:
            expected.append(int(labels[ri, ci]))
    assert ids == expected


@settings(max_examples=150)
@given(labels_2d, st.lists(st.tuples(st.floats(-3, 15), st.floats(-3, 15)), min_size=2, max_size=4))
def test_crossed_ids_are_the_objects_on_the_lines_pixels(labels, line):
    ids = labels_crossed(labels, line)
    on_line = labels[line_pixels(line, labels.shape)]
    assert ids == sorted(set(on_line[on_line > 0].tolist()))


@settings(max_examples=150)
@given(labels_2d, st.data())
def test_the_most_covered_object_holds_at_least_as_many_mask_pixels_as_any_other(labels, data):
    mask = data.draw(arrays(bool, labels.shape))
    best = label_most_covered(labels, mask)
    counts = {int(v): int(((labels == v) & mask).sum()) for v in np.unique(labels) if v}
    counts = {v: n for v, n in counts.items() if n}
    if not counts:
        assert best == 0
    else:
        assert counts[best] == max(counts.values()) and best == min(v for v, n in counts.items() if n == counts[best])
