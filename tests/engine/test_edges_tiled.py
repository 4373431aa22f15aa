"""Edge maps computed tile by tile equal the whole-image computation, whatever the tile size."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastsam_plugin.engine.edges import edge_map
from fastsam_plugin.engine.result import SegmentationResult


def discs(seed: int, hw=(70, 90), n=6) -> SegmentationResult:
    rng = np.random.default_rng(seed)
    h, w = hw
    yy, xx = np.ogrid[:h, :w]
    masks = np.zeros((n, h, w), bool)
    for i in range(n):
        y, x, r = rng.integers(0, h), rng.integers(0, w), rng.integers(2, 25)  # some cut by the image edge
        masks[i] = (yy - y) ** 2 + (xx - x) ** 2 <= r * r
    return SegmentationResult.from_masks(masks, np.zeros((n, 4)), np.ones(n))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([5, 8, 17, 33, 64]))
def test_tiles_give_the_whole_image_answer(seed, tile):
    result = discs(seed)
    whole = edge_map(result, tile=4096)  # one tile: the whole image at once
    tiled = edge_map(result, tile=tile)
    # same pixels on the edge; values equal up to float32 rounding of filters run on other window sizes
    np.testing.assert_allclose(tiled, whole, atol=1e-4)
    assert ((tiled > 1e-3) == (whole > 1e-3)).mean() > 0.999


@pytest.mark.parametrize("tile", [16, 2048])
def test_no_objects_give_an_empty_map(tile):
    empty = SegmentationResult([], np.zeros((0, 4)), np.zeros((0, 4)), np.zeros(0), (40, 50))
    out = edge_map(empty, tile=tile)
    assert out.shape == (40, 50) and out.dtype == np.float32 and not out.any()


def test_peak_is_one_across_tiles():
    out = edge_map(discs(3, (120, 130)), tile=32)
    assert out.max() == pytest.approx(1.0) and out.min() == 0.0
