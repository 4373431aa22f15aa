"""Measurement tables of results and stitched stacks: units in column names, scores, intensities."""

import numpy as np
import pandas as pd
import pytest

from fastsam_plugin.engine.measure import measure, object_scores
from fastsam_plugin.engine.result import SegmentationResult
from fastsam_plugin.engine.session import Session


def two_objects():
    m = np.zeros((2, 12, 16), bool)
    m[0, 1:5, 1:7] = True  # 24 px
    m[1, 6:11, 8:15] = True  # 35 px
    return SegmentationResult.from_masks(m, [[1, 1, 7, 5], [8, 6, 15, 11]], [0.9, 0.6]), m


def test_result_table_has_physical_units_scores_and_original_intensities():
    result, m = two_objects()
    image = np.zeros((12, 16, 2), np.uint16)
    image[..., 0] = 3000
    image[m[1], 1] = 60000  # beyond 8 bits: the table must show the original values
    table = Session.measure(result, image, spacing=(0.65, 0.65), channel_names=("dapi", "gfp"))
    assert isinstance(table, pd.DataFrame) and table["label"].tolist() == [1, 2]
    assert table["area_px"].tolist() == [24, 35]
    np.testing.assert_allclose(table["area_um2"], [24 * 0.65**2, 35 * 0.65**2])
    np.testing.assert_allclose(table["centroid_x_um"], [3.5 * 0.65, 11 * 0.65])
    np.testing.assert_allclose(table["score"], [0.9, 0.6], rtol=1e-6)
    assert table["intensity_max_gfp"].tolist() == [0, 60000] and table["intensity_mean_dapi"].tolist() == [3000] * 2
    plain = measure(result.labels())  # uncalibrated: no physical columns, no score
    assert not any(c.endswith(("_um", "um2")) for c in plain.columns) and "score" not in plain


def test_stitched_volume_gets_volume_and_area_weighted_scores():
    a = np.zeros((1, 10, 10), bool)
    a[0, 2:6, 2:6] = True  # 16 px
    b = np.zeros((1, 10, 10), bool)
    b[0, 2:6, 2:7] = True  # 20 px, same object one slice further
    results = [SegmentationResult.from_masks(a, [[2, 2, 6, 6]], [0.8]),
               SegmentationResult.from_masks(b, [[2, 2, 7, 6]], [0.5])]
    labels = Session.stitch(results, threshold=0.5)
    assert np.unique(labels).tolist() == [0, 1]
    assert object_scores(labels, results) == pytest.approx({1: (16 * 0.8 + 20 * 0.5) / 36})
    table = Session.measure(labels, results=results, spacing=(2.0, 0.5, 0.5))
    assert table["area_px"].tolist() == [36] and table["volume_um3"].tolist() == [36 * 0.5]
    assert {"centroid_z", "centroid_z_um", "bbox_z0"} <= set(table.columns) and "area_um2" not in table
    with pytest.raises(ValueError, match="slice"):
        object_scores(labels, results[:1])
