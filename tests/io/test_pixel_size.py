"""Pixel sizes read from file headers (no pixels decoded), for the scale rule of images too large to read whole."""

import numpy as np
import pytest
import tifffile

from fastsam_plugin.engine.scale import metres
from fastsam_plugin.io.ome_zarr import write_labels_ome_zarr
from fastsam_plugin.io.pixel_size import of_file

from .geo_fixtures import write_naip_like


def test_georeferenced_geotiff_gives_its_ground_size_in_metres(tmp_path):
    size, unit = of_file(write_naip_like(tmp_path / "scene.tif", size=64, pixel=0.3))
    assert unit == "m" and size == pytest.approx(0.3)


def test_calibrated_tiffs_give_their_size_and_uncalibrated_ones_none(tmp_path):
    image = np.zeros((32, 48), np.uint16)
    tifffile.imwrite(tmp_path / "ome.ome.tif", image, ome=True,
                     metadata={"axes": "YX", "PhysicalSizeX": 0.325, "PhysicalSizeY": 0.325})
    tifffile.imwrite(tmp_path / "ij.tif", image, imagej=True, resolution=(1 / 0.65, 1 / 0.65),
                     metadata={"unit": "um"})
    tifffile.imwrite(tmp_path / "plain.tif", image)
    for name, expected in (("ome.ome.tif", 0.325), ("ij.tif", 0.65)):
        size, unit = of_file(tmp_path / name)
        assert metres(size, unit) == pytest.approx(expected * 1e-6, rel=1e-4), name
    assert of_file(tmp_path / "plain.tif") is None
    (tmp_path / "cut.tif").write_bytes((tmp_path / "ome.ome.tif").read_bytes()[:40])
    assert of_file(tmp_path / "cut.tif") is None  # the pixel reader reports the broken file, not this


def test_ome_zarr_scale_and_axis_unit_are_read(tmp_path):
    def paint(box):
        x0, y0, x1, y1 = box
        return np.zeros((y1 - y0, x1 - x0), np.int32)

    out = write_labels_ome_zarr(tmp_path / "a.ome.zarr", (40, 40), paint, pixel_size=(0.5, 0.5), unit="micrometer")
    size, unit = of_file(out)
    assert metres(size, unit) == pytest.approx(0.5e-6)
    bare = write_labels_ome_zarr(tmp_path / "b.ome.zarr", (40, 40), paint)
    assert of_file(bare) is None
