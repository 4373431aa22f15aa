"""The GeoTIFF reader puts bands in map units; labels drawn over them save as polygons on the right spot."""

from __future__ import annotations

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
pyogrio = pytest.importorskip("pyogrio")

from fastsam_plugin.napari.reader import get_reader, read_geotiff, write_labels_vectors

from ..io.geo_fixtures import ORIGIN, PIXEL, write_scene


@pytest.fixture
def scene(tmp_path):
    return write_scene(tmp_path / "scene.tif")


def test_georeferenced_tiffs_open_in_map_units_and_plain_ones_as_napari_does(scene, tmp_path):
    import tifffile

    from fastsam_plugin.napari.reader import read_plain_tiff

    tifffile.imwrite(tmp_path / "plain.tif", np.zeros((5, 32, 32), np.uint16))
    (tmp_path / "x.png").write_bytes(b"")
    assert get_reader(str(scene.path)) is read_geotiff
    assert get_reader([str(scene.path)]) is read_geotiff
    assert get_reader(str(tmp_path / "plain.tif")) is read_plain_tiff  # claimed by the manifest: never refused
    assert get_reader(str(tmp_path / "x.png")) is None
    assert get_reader([str(scene.path), str(scene.path)]) is read_plain_tiff  # napari's "stack" open


def test_bands_are_named_channels_in_map_units(scene):
    channels, composite = read_geotiff(str(scene.path))
    data, meta, kind = channels
    assert kind == "image" and data.shape == (4, 300, 400) and meta["channel_axis"] == 0
    assert meta["name"] == ["scene red", "scene green", "scene blue", "scene nir"]
    rgb, cmeta, _ = composite
    assert rgb.shape == (300, 400, 3) and rgb.dtype == np.uint8 and cmeta["rgb"]
    assert cmeta["scale"] == (PIXEL, PIXEL) and cmeta["units"] == ("m", "m")
    # pixel (row 0, col 0) centre sits at easting ORIGIN_x + 5 m, northing ORIGIN_y - 5 m
    assert cmeta["translate"] == (-(ORIGIN[1] - PIXEL / 2), ORIGIN[0] + PIXEL / 2)
    assert cmeta["metadata"]["georef"]["crs"].startswith("PROJCS") or "32633" in cmeta["metadata"]["georef"]["crs"]


def test_labels_drawn_in_napari_save_as_map_polygons(make_napari_viewer, scene, tmp_path):
    from fastsam_plugin.napari.layers import ensure_labels

    viewer = make_napari_viewer()
    layers = viewer.open(str(scene.path), plugin="napari-fastsam")
    composite = layers[-1]
    assert composite.rgb and len(layers) == 5
    assert [ly.name for ly in layers[:4]] == ["scene red", "scene green", "scene blue", "scene nir"]
    # a world coordinate read in napari is the map coordinate (y = -northing)
    x0, y0, x1, y1 = scene.rects["roof"]
    world = composite.data_to_world((y0, x0))
    np.testing.assert_allclose(world, (-(ORIGIN[1] - (y0 + 0.5) * PIXEL), ORIGIN[0] + (x0 + 0.5) * PIXEL))
    labels = ensure_labels(viewer, "everything", composite, "objects")
    assert labels.metadata["georef"] == composite.metadata["georef"]
    labels.data[y0:y1, x0:x1] = 7
    out = write_labels_vectors(str(tmp_path / "drawn.gpkg"), labels.data, labels._get_state())
    info = pyogrio.read_info(out[0])
    assert info["crs"] == "EPSG:32633" and info["features"] == 1
    expected = (ORIGIN[0] + x0 * PIXEL, ORIGIN[1] - y1 * PIXEL, ORIGIN[0] + x1 * PIXEL, ORIGIN[1] - y0 * PIXEL)
    np.testing.assert_allclose(info["total_bounds"], expected)


def test_the_composite_finds_its_files_band_layers(make_napari_viewer, scene):
    from fastsam_plugin.napari.reader import file_band_layers

    viewer = make_napari_viewer()
    layers = viewer.open(str(scene.path), plugin="napari-fastsam")
    composite = layers[-1]
    assert file_band_layers(viewer, composite) == layers[:4]  # band 1 first, whatever the layer order
    viewer.layers.move(0, 3)
    assert file_band_layers(viewer, composite) == layers[:4]
    assert file_band_layers(viewer, layers[0]) is None  # a band layer is no composite
    layers[3].name = "renamed"  # a band the composite cannot find: it stands for itself again
    assert file_band_layers(viewer, composite) is None
