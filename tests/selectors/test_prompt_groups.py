"""One object per positive point, every object inside a box: literal examples and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mask_selectors import (
    SelectorInputError,
    check_crops,
    contour_boxes,
    each_point_objects,
    each_point_objects_in_crops,
    innermost_objects,
    objects_in_boxes,
    objects_in_boxes_in_crops,
    select_by_points,
)


def _disc(hw, cx, cy, r):
    yy, xx = np.mgrid[: hw[0], : hw[1]]
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


def _rect(hw, x0, y0, x1, y1):
    m = np.zeros(hw, bool)
    m[y0:y1, x0:x1] = True
    return m


HW = (60, 80)
NUCLEI = np.stack([_disc(HW, 20, 30, 8), _disc(HW, 50, 30, 8), _rect(HW, 5, 15, 70, 45)])  # two nuclei, their clump


def test_two_points_on_two_nuclei_are_two_objects_not_one():
    objects, owner = each_point_objects(NUCLEI, [[20, 30], [50, 30]])
    assert owner.tolist() == [1, 2]
    assert np.array_equal(objects == 1, NUCLEI[0]) and np.array_equal(objects == 2, NUCLEI[1])
    merged = select_by_points(NUCLEI, [[20, 30], [50, 30]])  # FastSAM's rule: the clump, one region
    assert np.array_equal(merged, NUCLEI[2])


def test_two_points_on_one_mask_split_it_between_them():
    # the model saw one object where the user sees two (touching nuclei): each point gets its nearer part
    blob = np.stack([_disc(HW, 30, 30, 10) | _disc(HW, 46, 30, 10)])
    objects, owner = each_point_objects(blob, [[28, 30], [48, 30]])
    assert owner.tolist() == [1, 2]
    assert np.array_equal(objects > 0, blob[0])
    cols = np.nonzero(objects)[1]
    assert (cols[objects[objects > 0] == 1] <= 38).all() and (cols[objects[objects > 0] == 2] >= 38).all()
    objects, owner = each_point_objects(NUCLEI, [[18, 30], [22, 31]])  # two points on nucleus 0
    assert owner.tolist() == [1, 2] and np.array_equal(objects > 0, NUCLEI[0])


def test_the_same_pixel_clicked_twice_is_one_object():
    objects, owner = each_point_objects(NUCLEI, [[20, 30], [20.2, 29.9], [50, 30]])
    assert owner.tolist() == [1, 1, 2]
    assert np.array_equal(objects == 1, NUCLEI[0]) and np.array_equal(objects == 2, NUCLEI[1])


def test_a_point_only_on_the_clump_gets_the_clump_and_the_nucleus_stays_on_top():
    objects, owner = each_point_objects(NUCLEI, [[35, 20], [50, 30]])  # first point between the nuclei
    assert owner.tolist() == [1, 2]
    assert np.array_equal(objects == 2, NUCLEI[1])  # the smaller object is painted on top
    assert np.array_equal(objects == 1, NUCLEI[2] & ~NUCLEI[1])


def test_background_points_are_shared_by_every_object():
    objects, owner = each_point_objects(NUCLEI, [[35, 20], [20, 30]], [1, 0])  # background on nucleus 0
    assert owner.tolist() == [0, 0]  # the clump holds the background point: it is nobody's candidate
    assert not objects.any()
    objects, owner = each_point_objects(NUCLEI, [[50, 30], [20, 30]], [1, 0])
    assert owner.tolist() == [1, 0] and np.array_equal(objects == 1, NUCLEI[1])


def test_a_point_on_no_mask_makes_no_object():
    objects, owner = each_point_objects(NUCLEI, [[1, 1], [50, 30]])
    assert owner.tolist() == [0, 1]
    assert np.array_equal(objects == 1, NUCLEI[2])  # alone, a point gets FastSAM's union of the masks under it


def test_points_outside_the_image_are_refused_with_a_message():
    with pytest.raises(SelectorInputError, match="outside the image"):
        each_point_objects(NUCLEI, [[100, 5]])


TREES_HW = (50, 100)
CROWNS = [_disc(TREES_HW, 15 + 14 * k, 25, 6) for k in range(4)]
BLOCK = _rect(TREES_HW, 6, 16, 66, 34)  # the block around the four crowns
FAR = _disc(TREES_HW, 90, 25, 6)  # a crown outside the box
TREES = np.stack([BLOCK, *CROWNS, FAR, _rect(TREES_HW, 0, 0, 100, 50)])  # and the whole scene


def test_a_box_around_a_block_of_trees_gives_every_crown():
    (found,) = objects_in_boxes(TREES, [[5, 14, 70, 36]])
    assert sorted(found.tolist()) == [1, 2, 3, 4]  # not the block, not the far crown, not the scene


def test_an_object_mostly_outside_the_box_is_left_out():
    (found,) = objects_in_boxes(TREES, [[5, 14, 29, 36]])  # the box holds less than half of crown 2 (x 23-35)
    assert found.tolist() == [1]
    (found,) = objects_in_boxes(TREES, [[5, 14, 29, 36]], min_inside=0.3)  # the block is in too: their group
    assert sorted(found.tolist()) == [1, 2]


def test_a_part_inside_its_object_is_left_out():
    cell = _disc(HW, 40, 30, 20)
    nucleus = _disc(HW, 40, 30, 6)
    (found,) = objects_in_boxes(np.stack([cell, nucleus]), [[0, 0, 80, 60]])
    assert found.tolist() == [0]


def test_min_inside_must_be_a_share():
    with pytest.raises(SelectorInputError, match="min_inside"):
        objects_in_boxes(TREES, [[0, 0, 10, 10]], min_inside=0)


def _crops(masks):
    boxes = contour_boxes(masks)
    crops = [m[y0:y1, x0:x1] for m, (x0, y0, x1, y1) in zip(masks, boxes)]
    return check_crops(crops, boxes)


# -- properties ----------------------------------------------------------------------------------------------
@st.composite
def scenes(draw):
    """Random rectangles and discs on a small image, with foreground/background points inside it."""
    h, w = draw(st.integers(8, 30)), draw(st.integers(8, 30))
    n = draw(st.integers(1, 6))
    masks = []
    for _ in range(n):
        x0, y0 = draw(st.integers(0, w - 1)), draw(st.integers(0, h - 1))
        x1, y1 = draw(st.integers(x0 + 1, w)), draw(st.integers(y0 + 1, h))
        masks.append(_rect((h, w), x0, y0, x1, y1))
    p = draw(st.integers(1, 5))
    points = [[draw(st.integers(0, w - 1)), draw(st.integers(0, h - 1))] for _ in range(p)]
    labels = [draw(st.integers(0, 1)) for _ in range(p)]
    return np.stack(masks), np.array(points, float), np.array(labels)


@settings(max_examples=150)
@given(scenes())
def test_each_point_objects_lie_inside_the_merged_selection_and_agree_on_crops(scene):
    masks, points, labels = scene
    objects, owner = each_point_objects(masks, points, labels)
    assert objects.dtype == np.int32 and objects.shape == masks.shape[1:] and owner.shape == (len(points),)
    assert (owner[labels == 0] == 0).all()
    k = int(owner.max())
    assert set(np.unique(objects[objects > 0]).tolist()) <= set(range(1, k + 1))
    holds = masks[:, points[:, 1].astype(int), points[:, 0].astype(int)]  # (N, P)
    blocked = holds[:, labels == 0].any(axis=1)
    allowed = masks[~blocked].any(axis=0) if (~blocked).any() else np.zeros(masks.shape[1:], bool)
    assert not (objects > 0)[~allowed].any()  # only masks free of background points paint objects
    for j in np.flatnonzero(labels == 1):
        assert (owner[j] > 0) == bool((holds[:, j] & ~blocked).any())  # a point on a free mask makes an object
    crops, boxes = _crops(masks)
    again, owner2 = each_point_objects_in_crops(crops, boxes, masks.shape[1:], points, labels, checked=True)
    assert np.array_equal(again, objects) and np.array_equal(owner2, owner)


@settings(max_examples=150)
@given(scenes(), st.floats(0.05, 1.0))
def test_objects_in_a_box_are_inside_it_and_none_contains_two_others(scene, min_inside):
    masks, points, _ = scene
    h, w = masks.shape[1:]
    box = np.array([[0, 0, w, h]], float) if len(points) < 2 else np.array(
        [[points[0, 0], points[0, 1], points[1, 0] + 1, points[1, 1] + 1]])
    if (box[0, 2] - box[0, 0]) == 0 or (box[0, 3] - box[0, 1]) == 0:
        box[0, 2:] += 1
    try:
        (found,) = objects_in_boxes(masks, box, min_inside=min_inside)
    except SelectorInputError:  # a box with no area inside the image
        return
    x0, x1 = sorted(np.clip(box[0, [0, 2]], 0, w))
    y0, y1 = sorted(np.clip(box[0, [1, 3]], 0, h))
    areas = masks.sum(axis=(1, 2))
    assert len(set(found.tolist())) == len(found)
    assert list(areas[found]) == sorted(areas[found], reverse=True)  # paint order: largest first
    for i in found:
        inside = masks[i, int(np.floor(y0)):int(np.ceil(y1)), int(np.floor(x0)):int(np.ceil(x1))].sum()
        assert inside >= min_inside * areas[i]
    crops, boxes = _crops(masks)
    (again,) = objects_in_boxes_in_crops(crops, boxes, (h, w), box, min_inside=min_inside, checked=True)
    assert np.array_equal(again, found)
    assert np.array_equal(innermost_objects(crops, boxes, found, checked=True), found)  # already innermost
