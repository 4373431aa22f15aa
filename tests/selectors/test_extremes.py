"""The selectors on extreme input: huge/tiny magnitudes, non-integers, giant sizes, boxes past the edge, empty axes.

Each case gives the correct answer or a :class:`SelectorInputError` naming the argument, never an
OverflowError, MemoryError, IndexError or an unnamed numpy error.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from mask_selectors import (
    SelectorInputError,
    SelectorTypeError,
    contour_boxes,
    crops_to_labels,
    mask_areas,
    select_by_points,
    select_by_text,
    smooth_mask,
    text_similarity,
)

MAGNITUDES = [1e-300, 1e-170, 1e-20, 1.0, 1e20, 1e200, 1e300]


@pytest.mark.parametrize("scale", MAGNITUDES)
def test_an_embedding_matches_itself_at_any_magnitude(scale):
    v = np.array([[0.3, -1.2, 2.0, 0.5]]) * scale
    match = select_by_text(v, v, np.array([7]))
    assert match.indices.tolist() == [[7]] and match.scores[0, 0] == pytest.approx(1.0)


finite = st.floats(-1.0, 1.0, allow_nan=False).filter(lambda x: abs(x) > 1e-3)


@settings(max_examples=200, deadline=None)
@given(a=arrays(np.float64, 5, elements=finite), b=arrays(np.float64, 5, elements=finite),
       sa=st.sampled_from(MAGNITUDES), sb=st.sampled_from(MAGNITUDES))
def test_cosine_similarity_does_not_depend_on_magnitude(a, b, sa, sb):
    expected = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    got = text_similarity((a * sa)[None], b * sb)[0, 0]
    assert got == pytest.approx(expected, abs=1e-9) and -1.0 <= got <= 1.0


def test_zero_embeddings_have_similarity_zero_not_nan():
    sim = text_similarity(np.zeros((2, 3)), np.ones(3))
    assert sim.tolist() == [[0.0, 0.0]]


@pytest.mark.parametrize("top_k", [float("inf"), float("nan"), None, 0, -1, 1.5, "2", True])
def test_bad_top_k_names_the_argument(top_k):
    with pytest.raises(SelectorInputError, match="top_k"):
        select_by_text(np.eye(3), np.ones(3), np.arange(3), top_k=top_k)


@pytest.mark.parametrize("top_k", [1, 2.0, np.int64(3), 10**30])
def test_integral_top_k_of_any_type_is_accepted(top_k):
    match = select_by_text(np.eye(3), np.array([1.0, 0.5, 0.1]), np.arange(3), top_k=top_k)
    assert match.indices.shape[1] == min(int(top_k), 3)
    assert match.indices[0, 0] == 0


@pytest.mark.parametrize("size", [float("inf"), float("nan"), -1, 2.5, None, "3"])
@pytest.mark.parametrize("name", ["close_size", "open_size"])
def test_bad_smoothing_sizes_name_the_argument(size, name):
    with pytest.raises(SelectorInputError, match=name):
        smooth_mask(np.eye(6, dtype=bool), **{name: size})


@pytest.mark.parametrize("size", [10**6, 10**12, 2**63])
def test_giant_smoothing_sizes_give_the_answer_of_an_element_covering_the_image(size):
    m = np.zeros((30, 40), bool)
    m[3, 5] = m[20, 30] = True
    # closing with an element wider than twice the image joins everything; opening then removes everything
    assert smooth_mask(m, close_size=size, open_size=0).all()
    assert not smooth_mask(m, close_size=0, open_size=size).any()
    np.testing.assert_array_equal(smooth_mask(m, size, 3), smooth_mask(m, 2 * 40 + 1, 3))
    assert not smooth_mask(np.zeros((30, 40), bool), size, 0).any()


@settings(max_examples=150, deadline=None)
@given(h=st.integers(1, 20), w=st.integers(1, 20), x0=st.integers(-30, 30), y0=st.integers(-30, 30),
       ch=st.integers(1, 12), cw=st.integers(1, 12), data=st.data())
def test_crops_past_the_edge_paint_only_their_part_inside(h, w, x0, y0, ch, cw, data):
    crop = data.draw(arrays(bool, (ch, cw)))
    lab = crops_to_labels([crop], [[x0, y0, x0 + cw, y0 + ch]], (h, w))
    canvas = np.zeros((h + 100, w + 100), bool)  # room for any crop: offsets up to 30 + 40, sides up to 12
    canvas[y0 + 40 : y0 + 40 + ch, x0 + 40 : x0 + 40 + cw] = crop
    np.testing.assert_array_equal(lab == 1, canvas[40 : 40 + h, 40 : 40 + w])
    assert lab.shape == (h, w) and set(np.unique(lab)) <= {0, 1}


def test_crops_to_labels_names_its_bad_arguments():
    with pytest.raises(SelectorInputError, match="crop 0"):
        crops_to_labels([np.ones((2, 2), bool)], [[0, 0, 3, 3]], (5, 5))
    with pytest.raises(SelectorInputError, match="boxes"):
        crops_to_labels([np.ones((2, 2), bool)], [[0, 0, np.inf, 2]], (5, 5))
    with pytest.raises(SelectorInputError, match="hw"):
        crops_to_labels([], np.zeros((0, 4)), (-1, 5))


@pytest.mark.parametrize("shape", [(2, 5, 0), (2, 0, 5), (1, 0, 0)])
def test_masks_without_pixels_are_a_named_error(shape):
    for fn in (contour_boxes, mask_areas):
        with pytest.raises(SelectorInputError, match="masks have height x width"):
            fn(np.zeros(shape, bool))
    with pytest.raises(SelectorInputError, match="masks"):
        select_by_points(np.zeros(shape, bool), [[0, 0]])


def test_error_types_are_value_and_type_errors_for_old_callers():
    assert issubclass(SelectorInputError, ValueError)
    assert issubclass(SelectorTypeError, TypeError) and issubclass(SelectorTypeError, SelectorInputError)


@settings(max_examples=200, deadline=None)
@given(x=st.floats(-3, 13, allow_nan=False), y=st.floats(-3, 8, allow_nan=False))
def test_the_one_rule_for_points_outside_the_image(x, y):
    from mask_selectors import points_in_image

    inside = bool(points_in_image([[x, y]], (5, 10))[0])
    assert inside == (-0.5 <= x < 9.5 and -0.5 <= y < 4.5)
    masks = np.ones((1, 5, 10), bool)
    if inside:
        assert select_by_points(masks, [[x, y]]).all()
    else:
        with pytest.raises(SelectorInputError, match="outside the image"):
            select_by_points(masks, [[x, y]])


# -- issue #27: ids of any width, negative ids and areas, errors in the selector types ----------

def test_split_at_narrowings_keeps_ids_above_2_31_apart():
    from mask_selectors import split_at_narrowings

    stack = np.zeros((3, 4, 4), np.int64)
    stack[:, :2] = 2**31 + 1  # an int32 cast made both ids the same (negative) number
    stack[:, 2:] = 2**31 + 2
    out = split_at_narrowings(stack, 0.5)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, stack)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.uint32, np.int64, np.uint64])
def test_split_at_narrowings_never_narrows_the_dtype(dtype):
    from mask_selectors import split_at_narrowings

    out = split_at_narrowings(np.ones((2, 3, 3), dtype), 0.5)
    assert np.iinfo(out.dtype).max >= max(np.iinfo(dtype).max, np.iinfo(np.int32).max)


def test_split_at_narrowings_refuses_a_new_id_that_does_not_fit():
    from mask_selectors import split_at_narrowings

    top = np.iinfo(np.uint64).max
    stack = np.zeros((5, 3, 3), np.uint64)
    stack[[0, 1, 3, 4]] = top
    stack[2, 1, 1] = top  # a waist: the cut-off part would need id top + 1
    with pytest.raises(SelectorInputError, match="renumber"):
        split_at_narrowings(stack, 0.5)


def test_stitch_labels_tells_uint64_ids_apart_exactly():
    from mask_selectors import stitch_labels

    # 2**63 + 1 and 2**63 + 2 are the same float64: a float look-up merged them
    stack = np.zeros((1, 2, 2), np.uint64)
    stack[0, 0] = 2**63 + 1
    stack[0, 1] = 2**63 + 2
    np.testing.assert_array_equal(stitch_labels(stack), [[[1, 1], [2, 2]]])


@pytest.mark.parametrize("fn", ["measure_labels", "stitch_labels", "split_at_narrowings", "object_ids",
                                "relabel_consecutive"])
def test_negative_ids_are_refused_naming_the_argument(fn):
    import mask_selectors

    labels = np.zeros((2, 3, 3), np.int32)
    labels[0, 0, 0] = -4
    with pytest.raises(SelectorInputError, match=r"negative ids \(smallest -4\)"):
        getattr(mask_selectors, fn)(labels)


def test_measure_labels_cost_follows_the_objects_not_the_largest_id():
    from mask_selectors import measure_labels

    # scikit-image alone sizes its tables by the largest id: 2**62 would need exabytes
    labels = np.zeros((4, 4), np.uint64)
    labels[1:3, 1:3] = 2**62
    labels[0, 0] = 2**64 - 1
    m = measure_labels(labels, np.ones((4, 4)))
    assert m["label"].dtype == np.uint64 and m["label"].tolist() == [2**62, 2**64 - 1]
    assert m["area_px"].tolist() == [4, 1]
    assert m["intensity_mean"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize("areas", [[-1, 16], [np.nan, 16], [4.0, np.inf]])
def test_box_iou_refuses_negative_or_non_finite_areas(areas):
    from mask_selectors import box_mask_iou

    masks = np.zeros((2, 4, 4), bool)
    masks[0, :2, :2] = masks[1] = True
    with pytest.raises(SelectorInputError, match="areas"):
        box_mask_iou(masks, [[0, 0, 2, 2]], areas=np.array(areas))


def test_box_iou_stays_in_0_1_with_understated_areas():
    from mask_selectors import box_mask_iou

    masks = np.ones((1, 4, 4), bool)
    iou = box_mask_iou(masks, [[0, 0, 4, 4]], areas=np.array([0]))  # areas claim 0 pixels: still IoU 1, not 1/0
    assert iou.tolist() == [[1.0]]


@pytest.mark.parametrize("min_area", [float("nan"), -1, float("inf"), None, "100"])
def test_mask_crops_refuses_a_min_area_that_is_no_pixel_count(min_area):
    from mask_selectors import crop_pictures, mask_crops

    image = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(SelectorInputError, match="min_area"):
        mask_crops(image, np.ones((1, 4, 4), bool), min_area=min_area)
    with pytest.raises(SelectorInputError, match="min_area"):
        crop_pictures(image, [np.ones((4, 4), bool)], [[0, 0, 4, 4]], min_area=min_area)


def test_paint_crops_names_bad_indices_values_and_targets():
    from mask_selectors import paint_crops

    crops, boxes = [np.ones((2, 2), bool)], np.array([[0, 0, 2, 2]])
    out = np.zeros((3, 3), np.int32)
    with pytest.raises(SelectorInputError, match=r"indices \[999\] do not name a mask"):
        paint_crops(out, crops, boxes, [999], 1)
    with pytest.raises(SelectorInputError, match="indices"):
        paint_crops(out, crops, boxes, [2**70], 1)
    with pytest.raises(SelectorInputError, match="do not fit out's dtype int32"):
        paint_crops(out, crops, boxes, [0], 2**31)
    with pytest.raises(SelectorInputError, match="outside"):
        paint_crops(np.zeros((1, 1), np.int32), crops, boxes, [0], 1)
    out.flags.writeable = False
    with pytest.raises(SelectorInputError, match="read-only"):
        paint_crops(out, crops, boxes, [0], 1)
    assert not out.any()


@pytest.mark.parametrize("hw", [(10**9, 10**9), (1, 2**40)])
def test_huge_sizes_are_refused_before_allocating(hw):
    from mask_selectors import crops_to_labels, line_pixels, select_by_points_in_crops

    crops, boxes = [np.ones((1, 1), bool)], np.array([[0, 0, 1, 1]])
    with pytest.raises(SelectorInputError, match="GiB"):
        select_by_points_in_crops(crops, boxes, hw, [[0, 0]])
    with pytest.raises(SelectorInputError, match="GiB"):
        crops_to_labels(crops, boxes, hw)
    with pytest.raises(SelectorInputError, match="GiB"):
        line_pixels([[0, 0], [1, 1]], hw)


def test_boxes_outside_the_image_are_named():
    from mask_selectors import mask_crops, select_by_boxes_in_crops

    masks = np.ones((1, 4, 4), bool)
    with pytest.raises(SelectorInputError, match=r"boxes\[0\] = \[0, 0, 5, 4\] reaches outside"):
        select_by_points(masks, [[0, 0]], boxes=[[0, 0, 5, 4]])
    with pytest.raises(SelectorInputError, match="outside"):
        mask_crops(np.zeros((4, 4, 3), np.uint8), masks, boxes=[[-1, 0, 3, 4]])
    with pytest.raises(SelectorInputError, match="outside"):
        select_by_boxes_in_crops([np.ones((4, 4), bool)], [[2, 0, 6, 4]], (4, 4), [[0, 0, 2, 2]])


@pytest.mark.parametrize("shape", [(4, 4, 0), (0, 4, 3), (4, 4)])
def test_images_without_three_channels_or_pixels_are_refused(shape):
    from mask_selectors import crop_pictures, mask_crops

    image = np.zeros(shape, np.uint8)
    with pytest.raises(SelectorInputError, match="image"):
        crop_pictures(image, [np.ones((1, 1), bool)], [[0, 0, 1, 1]])
    with pytest.raises(SelectorInputError, match="image"):
        mask_crops(image, np.ones((1, 4, 4), bool))


def test_paint_order_of_unsigned_areas_is_largest_first():
    from mask_selectors import paint_order

    # -areas wraps for unsigned integers and put the largest last
    assert paint_order(np.array([3, 9, 3, 5], np.uint64)).tolist() == [1, 3, 0, 2]


def test_new_ids_are_compared_exactly_with_uint64_labels():
    from mask_selectors import carve_mask

    # 2**60 + 2 and 2**60 + 3 are distinct ints but not distinct after a float round trip near 2**63 ids
    labels = np.zeros((3, 3), np.uint64)
    labels[0] = 2**60 + 1
    labels[1, 1] = 2**60 + 2
    labels[2] = 2**63 + 7
    cut = np.eye(3, dtype=bool)
    with pytest.raises(SelectorInputError, match=r"new_id: id 1152921504606846978 is already an object"):
        carve_mask(labels, 2**60 + 1, cut, new_id=2**60 + 2)
    out, new_id = carve_mask(labels, 2**60 + 1, cut, new_id=2**60 + 3)
    assert new_id == 2**60 + 3 and int(out[0, 0]) == 2**60 + 3 and int(out[0, 1]) == 2**60 + 1
    assert carve_mask(labels, 2**60 + 1, cut)[1] == 2**63 + 8  # default: the largest id + 1, exactly
