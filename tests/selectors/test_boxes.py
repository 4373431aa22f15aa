import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mask_selectors import box_mask_iou, contour_boxes, normalize_boxes, select_by_boxes

from ..strategies import rect_masks


def three_masks():
    m = np.zeros((3, 40, 60), bool)
    m[0, 0:40, 0:60] = True          # whole image
    m[1, 5:15, 5:25] = True          # object A
    m[2, 20:35, 30:55] = True        # object B
    return m


def test_box_around_an_object_selects_it():
    m = three_masks()
    assert select_by_boxes(m, [[5, 5, 25, 15]]).tolist() == [1]
    assert select_by_boxes(m, [[30, 20, 55, 35], [0, 0, 60, 40]]).tolist() == [2, 0]


def test_iou_definition():
    m = three_masks()
    iou = box_mask_iou(m, [[5, 5, 25, 15]])
    box_area, inter = 20 * 10, 200
    assert iou[0, 1] == pytest.approx(inter / (box_area + 200 - inter))
    assert iou[0, 0] == pytest.approx(200 / (200 + 2400 - 200))
    assert iou[0, 2] == 0


def test_corners_in_any_order_and_clipping():
    m = three_masks()
    assert select_by_boxes(m, [[25, 15, 5, 5]]).tolist() == [1]
    assert normalize_boxes([[-10, -5, 100, 100]], (40, 60)).tolist() == [[0, 0, 60, 40]]
    assert normalize_boxes([[2.2, 3.7, 9.1, 8.0]], (40, 60)).tolist() == [[2, 3, 10, 8]]


def test_box_touching_no_mask_selects_nothing():
    m = three_masks()[1:]
    assert select_by_boxes(m, [[40, 0, 60, 10], [5, 5, 25, 15]]).tolist() == [-1, 0]


def test_degenerate_boxes_are_errors():
    m = three_masks()
    with pytest.raises(ValueError, match="no area"):
        select_by_boxes(m, [[5, 5, 5, 20]])
    with pytest.raises(ValueError, match="no area"):
        select_by_boxes(m, [[100, 100, 120, 130]])
    with pytest.raises(ValueError, match=r"shape \(B, 4\)"):
        select_by_boxes(m, [[1, 2, 3]])
    with pytest.raises(ValueError, match="NaN or infinite"):
        select_by_boxes(m, [[1, 2, np.inf, 4]])


@settings(max_examples=150, deadline=None)
@given(masks=rect_masks(max_n=5), data=st.data())
def test_bounding_box_of_an_isolated_mask_selects_it(masks, data):
    i = data.draw(st.integers(0, len(masks) - 1))
    others = np.delete(masks, i, axis=0).any(axis=0)
    if (others & masks[i]).any() or not masks[i].any():
        return
    # isolated: no other mask overlaps it; a duplicate-free box can only be best for mask i
    box = contour_boxes(masks[i : i + 1])[0]
    assert select_by_boxes(masks, box)[0] == i


@settings(max_examples=100, deadline=None)
@given(masks=rect_masks(max_n=5), data=st.data())
def test_permuting_masks_permutes_the_answer(masks, data):
    h, w = masks.shape[1:]
    x0, x1 = sorted(data.draw(st.lists(st.integers(0, w), min_size=2, max_size=2, unique=True)))
    y0, y1 = sorted(data.draw(st.lists(st.integers(0, h), min_size=2, max_size=2, unique=True)))
    perm = np.array(data.draw(st.permutations(range(len(masks)))))
    iou = box_mask_iou(masks, [[x0, y0, x1, y1]])
    iou_perm = box_mask_iou(masks[perm], [[x0, y0, x1, y1]])
    np.testing.assert_allclose(iou_perm, iou[:, perm])
    best = select_by_boxes(masks[perm], [[x0, y0, x1, y1]])[0]
    assert iou[0, perm[best]] == iou.max()
