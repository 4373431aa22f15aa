"""Calibrated microscopy TIFFs open in micrometres, channels split into named layers."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from fastsam_plugin.napari.ome_reader import get_reader, read_calibrated_tiff


def write_two_channel(path):
    data = np.zeros((2, 40, 50), np.uint16)
    data[0, 10:20, 10:20] = 3000
    data[1, 25:35, 30:45] = 5000
    tifffile.imwrite(path, data, ome=True, metadata={
        "axes": "CYX", "PhysicalSizeX": 0.65, "PhysicalSizeY": 0.65, "Channel": {"Name": ["DAPI", "GFP"]}})
    return data


def test_reader_claims_calibrated_tiffs_only(tmp_path):
    write_two_channel(tmp_path / "cells.ome.tif")
    tifffile.imwrite(tmp_path / "plain.tif", np.zeros((32, 32), np.uint16))
    tifffile.imwrite(tmp_path / "fiji.tif", np.zeros((3, 32, 32), np.uint16), imagej=True,
                     resolution=(2.0, 2.0), metadata={"axes": "ZYX", "spacing": 1.5, "unit": "micron"})
    assert get_reader(str(tmp_path / "cells.ome.tif")) is read_calibrated_tiff
    assert get_reader([str(tmp_path / "fiji.tif")]) is read_calibrated_tiff
    assert get_reader(str(tmp_path / "plain.tif")) is None
    assert get_reader([str(tmp_path / "fiji.tif")] * 2) is None
    ((data, kwargs, kind),) = read_calibrated_tiff(str(tmp_path / "fiji.tif"))
    assert kind == "image" and data.shape == (3, 32, 32) and kwargs["scale"] == pytest.approx((1.5, 0.5, 0.5))


def test_viewer_opens_channels_as_scaled_named_layers(make_napari_viewer, tmp_path):
    data = write_two_channel(tmp_path / "cells.ome.tif")
    viewer = make_napari_viewer()
    layers = viewer.open(str(tmp_path / "cells.ome.tif"), plugin="napari-fastsam")
    assert [ly.name for ly in layers] == ["cells DAPI", "cells GFP"]
    for layer, plane in zip(layers, data):
        np.testing.assert_array_equal(layer.data, plane)
        assert tuple(layer.scale) == pytest.approx((0.65, 0.65))
        assert [str(u) for u in layer.units] == ["micrometer", "micrometer"]
        assert layer.metadata["ome"]["pixel_size"] == pytest.approx({"X": 0.65, "Y": 0.65})
