"""TIFF / OME-TIFF axes and physical pixel sizes: reading them, and label outputs that keep them."""

import numpy as np
import pytest
import tifffile

from fastsam_plugin.engine.imaging import ImageError
from fastsam_plugin.io import OutputExistsError
from fastsam_plugin.io.ome import ImageMeta, read_tiff, write_ome_labels


def test_ome_channels_move_last_with_sizes_and_names(tmp_path):
    data = np.arange(2 * 12 * 10, dtype=np.uint16).reshape(2, 12, 10)
    p = tmp_path / "cells.ome.tif"
    tifffile.imwrite(p, data, ome=True, metadata={
        "axes": "CYX", "PhysicalSizeX": 0.65, "PhysicalSizeY": 0.65, "PhysicalSizeXUnit": "µm",
        "PhysicalSizeYUnit": "µm", "Channel": {"Name": ["DAPI", "GFP"]}})
    img, meta = read_tiff(p)
    assert img.shape == (12, 10, 2) and meta.axes == "YXC"
    np.testing.assert_array_equal(img[..., 1], data[1])
    assert meta.pixel_size == pytest.approx({"X": 0.65, "Y": 0.65}) and meta.unit == "µm"
    assert meta.channel_names == ("DAPI", "GFP") and meta.calibrated


def test_ome_volume_in_nanometres_is_converted(tmp_path):
    p = tmp_path / "vol.ome.tif"
    tifffile.imwrite(p, np.zeros((3, 8, 9), np.uint8), ome=True, metadata={
        "axes": "ZYX", "PhysicalSizeX": 325.0, "PhysicalSizeXUnit": "nm", "PhysicalSizeY": 325.0,
        "PhysicalSizeYUnit": "nm", "PhysicalSizeZ": 2.0, "PhysicalSizeZUnit": "µm"})
    img, meta = read_tiff(p)
    assert img.shape == (3, 8, 9) and meta.axes == "ZYX"
    assert meta.pixel_size == pytest.approx({"X": 0.325, "Y": 0.325, "Z": 2.0})
    assert meta.spacing("ZYX") == pytest.approx((2.0, 0.325, 0.325))


def test_imagej_hyperstack_calibration(tmp_path):
    p = tmp_path / "fiji.tif"
    tifffile.imwrite(p, np.zeros((4, 8, 9), np.uint16), imagej=True, resolution=(1 / 0.5, 1 / 0.5),
                     metadata={"axes": "ZYX", "spacing": 3.0, "unit": "micron"})
    img, meta = read_tiff(p)
    assert img.shape == (4, 8, 9) and meta.axes == "ZYX"
    assert meta.pixel_size == pytest.approx({"X": 0.5, "Y": 0.5, "Z": 3.0}) and meta.unit == "µm"


def test_centimetre_resolution_tags_and_uncalibrated_files(tmp_path):
    p = tmp_path / "cm.tif"
    tifffile.imwrite(p, np.zeros((8, 9), np.uint8), resolution=(1e4 / 0.65, 1e4 / 0.65), resolutionunit="CENTIMETER")
    assert read_tiff(p)[1].pixel_size == pytest.approx({"X": 0.65, "Y": 0.65})
    q = tmp_path / "plain.tif"
    tifffile.imwrite(q, np.zeros((8, 9), np.uint8))
    _, meta = read_tiff(q)
    assert meta.pixel_size == {} and not meta.calibrated and meta.spacing("YX") == (1.0, 1.0)
    (tmp_path / "bad.tif").write_bytes(b"II*\x00 truncated")
    with pytest.raises(ImageError, match="complete"):
        read_tiff(tmp_path / "bad.tif")


def test_label_outputs_keep_physical_sizes(tmp_path):
    meta = ImageMeta(axes="ZYXC", pixel_size={"X": 0.65, "Y": 0.65, "Z": 2.0})
    lab = np.zeros((3, 8, 9), np.int32)
    lab[1, 2:5, 3:6] = 7
    p = write_ome_labels(tmp_path / "l.tif", lab, meta)
    back, m2 = read_tiff(p)
    np.testing.assert_array_equal(back, lab)
    assert m2.axes == "ZYX" and m2.pixel_size == pytest.approx(meta.pixel_size) and m2.unit == "µm"
    with tifffile.TiffFile(p) as tif:  # readers that skip OME-XML get the size from the resolution tags
        assert tif.pages.first.tags["XResolution"].value[0] / tif.pages.first.tags["XResolution"].value[1] == \
            pytest.approx(1e4 / 0.65, rel=1e-6)
    with pytest.raises(OutputExistsError):
        write_ome_labels(p, lab, meta)
    p2 = write_ome_labels(tmp_path / "l2.tif", lab[1])  # 2D, uncalibrated
    assert read_tiff(p2)[1].axes == "YX" and read_tiff(p2)[1].pixel_size == {}
    with pytest.raises(ValueError, match="axes"):
        write_ome_labels(tmp_path / "l3.tif", lab, meta, axes="YX")


def test_measurement_csv_round_trip_and_refusal(tmp_path):
    import pandas as pd

    from fastsam_plugin.io.ome import write_measurements

    table = pd.DataFrame({"label": [1, 2], "area_px": [12, 24], "area_um2": [1.5, 3.0], "score": [0.9, 0.61]})
    p = write_measurements(tmp_path / "m.csv", table)
    back = pd.read_csv(p)
    pd.testing.assert_frame_equal(back, table)
    with pytest.raises(OutputExistsError):
        write_measurements(p, table)
