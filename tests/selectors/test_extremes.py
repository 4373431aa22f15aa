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
