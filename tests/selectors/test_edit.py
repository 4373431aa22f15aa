"""Label editing (merge, split, delete, renumber): other pixels never change, objects stay partitioned."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from mask_selectors import (
    SelectorInputError,
    SelectorTypeError,
    carve_mask,
    delete_labels,
    line_pixels,
    merge_labels,
    object_ids,
    relabel_consecutive,
    set_label,
    split_by_line,
)
from skimage.measure import label as connected

# small label images with ragged, possibly disconnected objects (the hardest case for a split)
label_images = st.integers(3, 18).flatmap(
    lambda h: st.integers(3, 18).flatmap(
        lambda w: arrays(st.sampled_from([np.uint8, np.uint16, np.int32, np.int64]), (h, w),
                         elements=st.integers(0, 5))))


@st.composite
def labels_and_ids(draw, n_min=1):
    labels = draw(label_images)
    present = object_ids(labels).tolist()
    assume(len(present) >= n_min)
    ids = draw(st.lists(st.sampled_from(present), min_size=n_min, max_size=len(present), unique=True))
    return labels, ids


@st.composite
def polylines(draw, shape):
    h, w = shape
    k = draw(st.integers(2, 4))
    xs = draw(st.lists(st.floats(-3, w + 3, allow_nan=False), min_size=k, max_size=k))
    ys = draw(st.lists(st.floats(-3, h + 3, allow_nan=False), min_size=k, max_size=k))
    return np.stack([xs, ys], 1)


@settings(max_examples=150, deadline=None)
@given(labels_and_ids(n_min=2), st.data())
def test_merge_joins_exactly_the_ids_and_keeps_every_other_pixel(case, data):
    labels, ids = case
    into = data.draw(st.sampled_from(ids))
    out = merge_labels(labels, ids, into=into)
    chosen = np.isin(labels, ids)
    assert out.dtype == labels.dtype
    np.testing.assert_array_equal(out[~chosen], labels[~chosen])
    assert (out[chosen] == into).all()
    assert set(object_ids(out)) == (set(object_ids(labels)) - set(ids)) | {into}


@settings(max_examples=150, deadline=None)
@given(labels_and_ids())
def test_delete_zeroes_exactly_those_ids(case):
    labels, ids = case
    out = delete_labels(labels, ids)
    chosen = np.isin(labels, ids)
    assert (out[chosen] == 0).all()
    np.testing.assert_array_equal(out[~chosen], labels[~chosen])


@settings(max_examples=150, deadline=None)
@given(label_images)
def test_relabel_consecutive_keeps_the_partition(labels):
    out, mapping = relabel_consecutive(labels)
    ids = object_ids(labels)
    assert object_ids(out).tolist() == list(range(1, len(ids) + 1))
    assert sorted(mapping) == ids.tolist()
    expected = np.vectorize(lambda v: mapping.get(int(v), 0))(labels) if labels.size else labels
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == labels.dtype


@settings(max_examples=100, deadline=None)
@given(labels_and_ids(), st.integers(6, 250))
def test_set_label_renames_one_object_only(case, new):
    labels, (old, *_) = case
    out = set_label(labels, old, new)
    np.testing.assert_array_equal(out == new, labels == old)
    np.testing.assert_array_equal(out[labels != old], labels[labels != old])


def test_set_label_refuses_a_taken_id_and_an_id_beyond_the_dtype():
    labels = np.array([[1, 2], [0, 2]], np.uint8)
    with pytest.raises(SelectorInputError, match="taken by another object: merge"):
        set_label(labels, 1, 2)
    with pytest.raises(SelectorInputError, match="does not fit"):
        set_label(labels, 1, 300)


@settings(max_examples=300, deadline=None)
@given(labels_and_ids(), st.data())
def test_split_by_line_partitions_exactly_the_object(case, data):
    labels, (label_id, *_) = case
    line = data.draw(polylines(labels.shape))
    assume(labels.max() < np.iinfo(labels.dtype).max)
    try:
        out, new = split_by_line(labels, label_id, line)
    except SelectorInputError as exc:
        assert "does not cut object" in str(exc)
        return
    obj = labels == label_id
    np.testing.assert_array_equal(out[~obj], labels[~obj])  # nothing outside the object changes
    assert set(np.unique(out[obj])) == {label_id, *new}  # its pixels are split among the old and new ids
    assert len(new) >= 1 and not np.isin(new, labels).any()
    cut = line_pixels(line, labels.shape)
    for i in [label_id, *new]:  # every part keeps pixels off the line
        assert ((out == i) & ~cut).any()


@settings(max_examples=100, deadline=None)
@given(st.integers(3, 20), st.integers(3, 20), st.data())
def test_a_straight_cut_across_a_rectangle_gives_its_two_sides(h, w, data):
    r0 = data.draw(st.integers(0, h - 1))
    r1 = data.draw(st.integers(r0 + 1, h))
    c0 = data.draw(st.integers(0, w - 3))
    c1 = data.draw(st.integers(c0 + 3, w))
    col = data.draw(st.integers(c0 + 1, c1 - 2))  # the column the line runs down
    labels = np.zeros((h, w), np.int32)
    labels[r0:r1, c0:c1] = 7
    out, new = split_by_line(labels, 7, [[col + 0.5, -1.0], [col + 0.5, h + 1.0]])
    assert len(new) == 1
    left, right = out[r0:r1, c0:col], out[r0:r1, col + 1:c1]
    assert len(np.unique(left)) == 1 and len(np.unique(right)) == 1 and left[0, 0] != right[0, 0]
    assert {left[0, 0], right[0, 0]} == {7, new[0]}
    for i in (7, new[0]):  # each side is one connected piece
        assert connected(out == i, connectivity=2).max() == 1


def test_a_line_that_ends_inside_or_misses_the_object_is_refused():
    labels = np.zeros((10, 10), np.int32)
    labels[2:8, 2:8] = 1
    with pytest.raises(SelectorInputError, match="does not cut object 1"):
        split_by_line(labels, 1, [[0.0, 5.0], [4.0, 5.0]])  # stops inside
    with pytest.raises(SelectorInputError, match="does not cut object 1"):
        split_by_line(labels, 1, [[0.0, 0.5], [9.0, 0.5]])  # misses


def test_a_diagonal_cut_separates_an_eight_connected_object():
    labels = np.ones((6, 6), np.int16)
    out, new = split_by_line(labels, 1, [[0.0, 0.0], [6.0, 6.0]])
    assert len(new) == 1
    for i in (1, new[0]):
        assert connected(out == i, connectivity=2).max() == 1


@settings(max_examples=100, deadline=None)
@given(labels_and_ids(), st.data())
def test_carve_mask_moves_the_overlap_to_a_new_id(case, data):
    labels, (label_id, *_) = case
    assume(labels.max() < np.iinfo(labels.dtype).max)
    mask = data.draw(arrays(bool, labels.shape))
    inside = (labels == label_id) & mask
    try:
        out, new = carve_mask(labels, label_id, mask)
    except SelectorInputError as exc:
        assert not inside.any() or inside.sum() == (labels == label_id).sum(), exc
        return
    np.testing.assert_array_equal(out == new, inside)
    np.testing.assert_array_equal(out[~inside], labels[~inside])


def test_bad_input_says_what_is_wrong():
    labels = np.array([[0, 1], [2, 2]], np.int32)
    with pytest.raises(SelectorInputError, match="no object with id 5"):
        merge_labels(labels, [1, 5])
    with pytest.raises(SelectorInputError, match="two or more"):
        merge_labels(labels, [1, 1])
    with pytest.raises(SelectorTypeError, match="integer array"):
        delete_labels(labels.astype(float), [1])
    with pytest.raises(SelectorInputError, match="line must be"):
        split_by_line(labels, 1, [[0, 0]])
    with pytest.raises(SelectorInputError, match="into must be one of"):
        merge_labels(labels, [1, 2], into=3)
