import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mask_selectors import (
    EMPTY_BOX,
    contour_box,
    contour_boxes,
    crops_to_labels,
    mask_areas,
    masks_to_labels,
    paint_order,
    smooth_mask,
)

from ..strategies import rect_masks


def test_contour_box_merges_all_parts():
    m = np.zeros((30, 40), bool)
    m[2:5, 3:6] = True
    m[20:28, 30:35] = True
    assert contour_box(m) == (3, 2, 35, 28)


def test_empty_mask_has_the_empty_box():
    assert contour_box(np.zeros((5, 5), bool)) == EMPTY_BOX
    assert contour_boxes(np.zeros((2, 5, 5), bool)).tolist() == [list(EMPTY_BOX)] * 2


@settings(max_examples=100, deadline=None)
@given(masks=rect_masks(allow_empty=True))
def test_vectorised_boxes_equal_opencv_contour_boxes(masks):
    # union of random rectangles: several contours per mask
    union = masks | np.roll(masks, 3, axis=0)
    assert contour_boxes(union).tolist() == [list(contour_box(m)) for m in union]


def test_smoothing_fills_pinholes_and_removes_specks():
    m = np.zeros((60, 60), bool)
    m[10:40, 10:40] = True
    m[20, 20] = False          # pinhole
    m[50, 50] = True           # speck
    out = smooth_mask(m)
    assert out[20, 20] and not out[50, 50]
    assert out[12:38, 12:38].all()
    assert not smooth_mask(m, 0, 0)[20, 20]  # steps can be skipped
    with pytest.raises(ValueError, match="open_size"):
        smooth_mask(m, 3, -1)


def square_filter(mask: np.ndarray, size: int, reduce) -> np.ndarray:
    """``reduce`` (max: dilate, min: erode) over each pixel's size x size window, pixels outside the image ignored.

    The window of pixel ``p`` spans ``p - size // 2 .. p - size // 2 + size - 1``
    on each axis (the anchor OpenCV uses, also for even sizes). Written with
    sliding windows over a padded copy, independently of OpenCV.
    """
    a = size // 2
    neutral = reduce is np.min  # padding that cannot change the result: True for min, False for max
    padded = np.pad(mask, ((a, size - 1 - a), (a, size - 1 - a)), constant_values=neutral)
    return reduce(np.lib.stride_tricks.sliding_window_view(padded, (size, size)), axis=(-2, -1))


def close_then_open(mask: np.ndarray, close_size: int, open_size: int) -> np.ndarray:
    out = mask.copy()
    if close_size > 1:
        out = square_filter(square_filter(out, close_size, np.max), close_size, np.min)
    if open_size > 1:
        out = square_filter(square_filter(out, open_size, np.min), open_size, np.max)
    return out


@settings(max_examples=150, deadline=None)
@given(masks=rect_masks(max_n=3, max_hw=20, allow_empty=True), close_size=st.integers(0, 9),
       open_size=st.integers(0, 9))
def test_smoothing_is_close_then_open_with_square_elements(masks, close_size, open_size):
    m = masks.any(axis=0) & ~masks[0] if len(masks) > 1 else masks[0]  # holes and gaps
    np.testing.assert_array_equal(smooth_mask(m, close_size, open_size), close_then_open(m, close_size, open_size))


def test_smoothing_fastsam_defaults_on_noise():
    m = np.random.default_rng(0).random((50, 50)) > 0.4
    np.testing.assert_array_equal(smooth_mask(m), close_then_open(m, 3, 8))


def test_labels_small_objects_on_top_and_ids_follow_input_order():
    m = np.zeros((2, 20, 20), bool)
    m[0, 8:12, 8:12] = True   # small, first
    m[1, 0:20, 0:20] = True   # large, second
    lab = masks_to_labels(m)
    assert lab.dtype == np.int32
    assert lab[10, 10] == 1 and lab[0, 0] == 2


@settings(max_examples=100, deadline=None)
@given(masks=rect_masks(allow_empty=True))
def test_label_image_holds_every_mask_not_hidden_by_later_ones(masks):
    lab = masks_to_labels(masks)
    order = paint_order(mask_areas(masks))
    for pos, i in enumerate(order):
        later = masks[order[pos + 1 :]].any(axis=0) if pos + 1 < len(order) else np.zeros_like(masks[0])
        visible = masks[i] & ~later
        np.testing.assert_array_equal(lab == i + 1, visible)


@settings(max_examples=50, deadline=None)
@given(masks=rect_masks(allow_empty=True))
def test_crops_give_the_same_labels_as_full_masks(masks):
    boxes = contour_boxes(masks)
    crops = [m[y0:y1, x0:x1] for m, (x0, y0, x1, y1) in zip(masks, boxes)]
    np.testing.assert_array_equal(crops_to_labels(crops, boxes, masks.shape[1:]), masks_to_labels(masks))


def test_crops_must_fit_their_boxes():
    with pytest.raises(ValueError, match="needs"):
        crops_to_labels([np.ones((3, 3), bool)], np.array([[0, 0, 4, 4]]), (10, 10))
