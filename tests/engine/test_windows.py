"""Windowed label painting and clipping results to valid data."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fastsam_plugin.engine.result import SegmentationResult
from fastsam_plugin.engine.windows import keep_valid, labels_window, read_tile


def _result(seed: int) -> SegmentationResult:
    rng = np.random.default_rng(seed)
    masks = np.zeros((12, 60, 80), bool)
    for m in masks:
        x, y = rng.integers(0, 70), rng.integers(0, 50)
        m[y:y + rng.integers(2, 30), x:x + rng.integers(2, 40)] = True
        m[rng.integers(0, 60), rng.integers(0, 80)] = True  # a stray pixel: boxes overlap more
    return SegmentationResult.from_masks(masks, np.zeros((12, 4)), rng.random(12))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 1000), st.integers(0, 79), st.integers(0, 59), st.integers(1, 80), st.integers(1, 60))
def test_labels_window_equals_slice_of_full_labels(seed, x0, y0, w, h):
    result = _result(seed)
    box = (x0, y0, min(x0 + w, 80), min(y0 + h, 60))
    full = result.labels()
    np.testing.assert_array_equal(labels_window(result, box), full[box[1]:box[3], box[0]:box[2]])


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 1000), st.integers(0, 1000))
def test_keep_valid_clips_masks_and_drops_empty_ones(seed, valid_seed):
    result = _result(seed)
    valid = np.random.default_rng(valid_seed).random((60, 80)) > 0.3
    valid[:, :20] = False
    clipped = keep_valid(result, valid)
    expected = [m & valid for m in result.masks if (m & valid).any()]
    assert len(clipped) == len(expected)
    np.testing.assert_array_equal(clipped.masks, np.array(expected).reshape(-1, 60, 80))
    # boxes stay tight
    for crop in clipped.crops:
        assert crop[0].any() and crop[-1].any() and crop[:, 0].any() and crop[:, -1].any()


def test_keep_valid_without_mask_is_identity_and_read_tile_slices_arrays():
    result = _result(0)
    assert keep_valid(result, None) is result
    image = np.arange(60 * 80 * 3, dtype=np.uint8).reshape(60, 80, 3)
    tile, valid = read_tile(image, (10, 5, 30, 25))
    np.testing.assert_array_equal(tile, image[5:25, 10:30])
    assert valid is None and tile.flags.c_contiguous
