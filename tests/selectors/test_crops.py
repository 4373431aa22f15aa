"""Prompt rules on box-cropped masks give the same answers as the rules on the full (N, H, W) stack."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mask_selectors import (
    SelectorInputError,
    box_mask_iou,
    check_crops,
    contour_boxes,
    crop_box_iou,
    crop_pictures,
    crop_point_actions,
    mask_areas,
    mask_crops,
    paint_crops,
    point_actions,
    select_by_boxes,
    select_by_boxes_in_crops,
    select_by_points,
    select_by_points_in_crops,
)

from ..strategies import points_for, rect_masks


def to_crops(masks, loose=0):
    """Crops of non-empty masks inside their tight boxes, grown by ``loose`` pixels (clipped)."""
    h, w = masks.shape[1:]
    b = contour_boxes(masks)
    b[:, :2] = np.maximum(b[:, :2] - loose, 0)
    b[:, 2] = np.minimum(b[:, 2] + loose, w)
    b[:, 3] = np.minimum(b[:, 3] + loose, h)
    return [m[y0:y1, x0:x1].copy() for m, (x0, y0, x1, y1) in zip(masks, b)], b


@st.composite
def nonempty_masks(draw):
    masks = draw(rect_masks(max_n=7, max_hw=30))
    keep = masks.any(axis=(1, 2))
    return masks[keep], draw(st.integers(0, 3))


@settings(max_examples=150, deadline=None)
@given(case=nonempty_masks(), data=st.data())
def test_point_rule_on_crops_equals_the_full_mask_rule(case, data):
    masks, loose = case
    crops, boxes = to_crops(masks, loose)
    pts, labels = data.draw(points_for(masks.shape[1:]))
    hw = masks.shape[1:]
    np.testing.assert_array_equal(crop_point_actions(crops, boxes, hw, pts, labels), point_actions(masks, pts, labels))
    np.testing.assert_array_equal(
        select_by_points_in_crops(crops, boxes, hw, pts, labels, areas=mask_areas(masks)),
        select_by_points(masks, pts, labels),
    )
    np.testing.assert_array_equal(select_by_points_in_crops(crops, boxes, hw, pts), select_by_points(masks, pts))
    # checked once, then answered without the per-call check: same answers
    c, b = check_crops(crops, boxes)
    np.testing.assert_array_equal(
        select_by_points_in_crops(c, b, hw, pts, labels, checked=True), select_by_points(masks, pts, labels)
    )


@settings(max_examples=150, deadline=None)
@given(case=nonempty_masks(), data=st.data())
def test_box_rule_on_crops_equals_the_full_mask_rule(case, data):
    masks, loose = case
    crops, boxes = to_crops(masks, loose)
    h, w = masks.shape[1:]
    x0, x1 = sorted(data.draw(st.lists(st.integers(0, w), min_size=2, max_size=2, unique=True)))
    y0, y1 = sorted(data.draw(st.lists(st.integers(0, h), min_size=2, max_size=2, unique=True)))
    prompt = np.array([[x0, y0, x1, y1], [x1, y1, x0, y0]], float)  # corners in either order
    np.testing.assert_array_equal(crop_box_iou(crops, boxes, (h, w), prompt), box_mask_iou(masks, prompt))
    np.testing.assert_array_equal(
        select_by_boxes_in_crops(crops, boxes, (h, w), prompt, areas=mask_areas(masks)), select_by_boxes(masks, prompt)
    )
    c, b = check_crops(crops, boxes)
    np.testing.assert_array_equal(crop_box_iou(c, b, (h, w), prompt, checked=True), box_mask_iou(masks, prompt))


@settings(max_examples=60, deadline=None)
@given(case=nonempty_masks(), data=st.data())
def test_painting_crops_equals_painting_full_masks(case, data):
    masks, loose = case
    crops, boxes = to_crops(masks, loose)
    order = data.draw(st.lists(st.integers(-1, len(masks) - 1), max_size=5))
    expected = np.zeros(masks.shape[1:], np.int32)
    for k, i in enumerate(order, start=1):
        if i >= 0:
            expected[masks[i]] = k
    got = paint_crops(np.zeros(masks.shape[1:], np.int32), crops, boxes, order, np.arange(1, len(order) + 1))
    np.testing.assert_array_equal(got, expected)


def test_no_masks_and_bad_crops_are_clear():
    empty = np.zeros((0, 4), np.int64)
    assert select_by_boxes_in_crops([], empty, (10, 10), [[0, 0, 5, 5]]).tolist() == [-1]
    assert not select_by_points_in_crops([], empty, (10, 10), [[1, 1]]).any()
    crop = np.ones((3, 3), bool)
    with pytest.raises(SelectorInputError, match="crop 0 has shape"):
        crop_point_actions([crop], [[0, 0, 4, 3]], (10, 10), [[1, 1]])
    with pytest.raises(SelectorInputError, match="same length"):
        crop_point_actions([crop, crop], [[0, 0, 3, 3]], (10, 10), [[1, 1]])
    with pytest.raises(SelectorInputError, match="crop 1 has shape"):
        check_crops([crop, crop], [[0, 0, 3, 3], [0, 0, 3, 4]])
    with pytest.raises(SelectorInputError, match="outside the image"):
        crop_point_actions([crop], [[0, 0, 3, 3]], (10, 10), [[12, 1]])
    # 0/1 integer crops are read as masks, not as indices
    got = select_by_points_in_crops([np.ones((3, 3), np.uint8)], [[2, 2, 5, 5]], (10, 10), [[3, 3]])
    assert got.sum() == 9 and got[2:5, 2:5].all()


@settings(max_examples=60, deadline=None)
@given(case=nonempty_masks(), fill=st.booleans(), min_area=st.integers(0, 40), seed=st.integers(0, 1000))
def test_text_pictures_from_crops_equal_mask_crops(case, fill, min_area, seed):
    masks, _ = case
    crops, boxes = to_crops(masks)  # tight boxes, as mask_crops cuts
    image = np.random.default_rng(seed).integers(0, 256, (*masks.shape[1:], 3), dtype=np.uint8)
    got = crop_pictures(image, crops, boxes, min_area=min_area, fill_background=fill)
    want = mask_crops(image, masks, min_area=min_area, fill_background=fill)
    np.testing.assert_array_equal(got.indices, want.indices)
    assert all(np.array_equal(a, b) for a, b in zip(got.crops, want.crops))


def test_text_pictures_check_the_image():
    crop = np.ones((3, 3), bool)
    with pytest.raises(SelectorInputError, match="outside"):
        crop_pictures(np.zeros((4, 4, 3), np.uint8), [crop], [[2, 2, 5, 5]])
    with pytest.raises(SelectorInputError, match="uint8 RGB"):
        crop_pictures(np.zeros((8, 8), np.uint8), [crop], [[2, 2, 5, 5]])
