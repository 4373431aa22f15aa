"""Per-object measurements against values computed by hand on small arrays."""

import numpy as np
import pytest
from mask_selectors import measure_labels


def small_scene():
    lab = np.zeros((10, 12), np.int32)
    lab[1:4, 2:6] = 1  # 3 x 4 rectangle
    lab[4:9, 6:11] = 2  # 5 x 5 square ring (hole at its centre)
    lab[6, 8] = 0
    img = np.zeros((10, 12, 2), np.uint16)
    img[..., 0] = np.arange(120).reshape(10, 12)  # value = 12 * row + column
    img[..., 1] = 1000
    img[2, 3, 1] = 4000
    return lab, img


def test_geometry_hand_computed():
    lab, _ = small_scene()
    m = measure_labels(lab, spacing=(0.5, 0.25))
    assert m["label"].tolist() == [1, 2]
    assert m["area_px"].tolist() == [12, 24]
    np.testing.assert_allclose(m["area_physical"], [12 * 0.125, 24 * 0.125])
    np.testing.assert_allclose(m["centroid_y"], [2.0, 6.0])
    np.testing.assert_allclose(m["centroid_x"], [3.5, 8.0])
    np.testing.assert_allclose(m["centroid_x_physical"], [3.5 * 0.25, 8.0 * 0.25])
    assert [m[k][0] for k in ("bbox_y0", "bbox_x0", "bbox_y1", "bbox_x1")] == [1, 2, 4, 6]
    # rectangle: pixel-centre variances (4^2 - 1)/12 along x, (3^2 - 1)/12 along y
    lx, ly = 15 / 12, 8 / 12
    assert m["eccentricity"][0] == pytest.approx(np.sqrt(1 - ly / lx))
    assert m["eccentricity"][1] == pytest.approx(0.0, abs=1e-9)  # the ring is symmetric
    np.testing.assert_allclose(m["solidity"], [1.0, 24 / 25])
    assert "intensity_mean" not in m


def test_intensity_per_channel_of_the_original_image():
    lab, img = small_scene()
    m = measure_labels(lab, img, channel_names=["dapi", "gfp"])
    rows, cols = np.nonzero(lab == 1)
    assert m["intensity_mean_dapi"][0] == pytest.approx(np.mean(12 * rows + cols))
    assert (m["intensity_min_dapi"][0], m["intensity_max_dapi"][0]) == (12 * 1 + 2, 12 * 3 + 5)
    assert m["intensity_mean_gfp"][0] == pytest.approx((11 * 1000 + 4000) / 12)
    assert (m["intensity_min_gfp"][1], m["intensity_max_gfp"][1]) == (1000, 1000)
    one = measure_labels(lab, img[..., 0])
    assert one["intensity_max"].tolist() == [41, 12 * 8 + 10]


def test_volume_measurements_and_flat_objects():
    lab = np.zeros((4, 6, 6), np.int32)
    lab[1:3, 1:4, 1:3] = 1  # 2 x 3 x 2 box
    lab[3, 0, 0:4] = 2  # a flat line: no 3D hull
    m = measure_labels(lab, spacing=(2.0, 0.5, 0.5))
    assert m["area_px"].tolist() == [12, 4]
    np.testing.assert_allclose(m["area_physical"], [12 * 0.5, 4 * 0.5])
    np.testing.assert_allclose([m["centroid_z"][0], m["centroid_y"][0], m["centroid_x"][0]], [1.5, 2.0, 1.5])
    assert m["bbox_z0"].tolist() == [1, 3] and m["bbox_z1"].tolist() == [3, 4]
    assert "eccentricity" not in m
    assert m["solidity"][0] == pytest.approx(1.0) and np.isnan(m["solidity"][1])


def test_bad_input_is_explained():
    lab, img = small_scene()
    with pytest.raises(ValueError, match="channels last"):
        measure_labels(lab, np.moveaxis(img, -1, 0))
    with pytest.raises(ValueError, match="spacing"):
        measure_labels(lab, spacing=(1.0,))
    with pytest.raises(ValueError, match="integer"):
        measure_labels(lab.astype(float))
    with pytest.raises(ValueError, match="channel names"):
        measure_labels(lab, img, channel_names=["a"])
