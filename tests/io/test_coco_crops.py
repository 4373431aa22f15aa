"""COCO RLE from object crops equals pycocotools' encoding of the full-size mask."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fastsam_plugin.engine.result import SegmentationResult
from fastsam_plugin.io.coco import decode_rle, encode_rle, encode_rle_in_box, result_to_coco


def placed(crop: np.ndarray, x0: int, y0: int, hw: tuple[int, int]) -> np.ndarray:
    """The full-size mask: ``crop`` pasted at (x0, y0), cut at the image edges (a big canvas, then a view)."""
    h, w = hw
    m = 64
    canvas = np.zeros((h + 2 * m, w + 2 * m), bool)
    canvas[y0 + m : y0 + m + crop.shape[0], x0 + m : x0 + m + crop.shape[1]] = crop
    return canvas[m : m + h, m : m + w]


@st.composite
def crop_in_image(draw):
    h, w = draw(st.integers(1, 30)), draw(st.integers(1, 30))
    ch, cw = draw(st.integers(0, 20)), draw(st.integers(0, 20))
    crop = draw(arrays(bool, (ch, cw)))
    x0, y0 = draw(st.integers(-cw - 3, w + 3)), draw(st.integers(-ch - 3, h + 3))  # may reach past every edge
    return crop, (x0, y0, x0 + cw, y0 + ch), (h, w)


@settings(max_examples=400, deadline=None)
@given(crop_in_image())
def test_rle_from_the_crop_equals_rle_of_the_full_mask(case):
    crop, box, hw = case
    full = placed(crop, box[0], box[1], hw)
    rle = encode_rle_in_box(crop, box, hw)
    assert rle == encode_rle(full)
    np.testing.assert_array_equal(decode_rle(rle), full)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12))
def test_full_and_empty_crops(h, w):
    for fill in (True, False):
        crop = np.full((h, w), fill)
        assert encode_rle_in_box(crop, (0, 0, w, h), (h, w)) == encode_rle(crop)


def test_runs_that_continue_into_the_next_column_are_one_run():
    crop = np.zeros((4, 2), bool)
    crop[2:, 0] = True  # bottom of column 0 ...
    crop[:2, 1] = True  # ... continues at the top of column 1
    rle = encode_rle_in_box(crop, (0, 0, 2, 4), (4, 2))
    assert rle == encode_rle(crop)


def test_result_to_coco_annotations_decode_to_each_object():
    masks = np.zeros((3, 40, 50), bool)
    masks[0, 5:15, 5:45] = True
    masks[1, 20:39, 0:10] = True
    masks[2, 30:40, 40:50] = True
    result = SegmentationResult.from_masks(masks, np.zeros((3, 4)), np.array([0.9, 0.8, 0.7]))
    coco = result_to_coco(result, file_name="x.tif")
    assert [a["area"] for a in coco["annotations"]] == [400, 190, 100]
    for ann, mask in zip(coco["annotations"], result.masks):
        np.testing.assert_array_equal(decode_rle(ann["segmentation"]), mask)
