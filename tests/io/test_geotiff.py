"""GeoTIFF input and label-raster output: bands, stretch, nodata, windowed reads, georeferencing kept."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

rasterio = pytest.importorskip("rasterio")

from fastsam_plugin.engine.imaging import ImageError
from fastsam_plugin.engine.pipeline import TileOptions
from fastsam_plugin.engine.session import Session
from fastsam_plugin.engine.tiling import plan_tiles
from fastsam_plugin.io import OutputExistsError
from fastsam_plugin.io.geotiff import open_geotiff, parse_bands, write_label_raster

from ..components_backend import ComponentsSegmenter
from ..paths import SHARED
from .geo_fixtures import CRS, NODATA, write_scene

NAIP = SHARED / "aerial" / "urban-trees"


@pytest.fixture
def scene(tmp_path):
    return write_scene(tmp_path / "scene.tif")


def components_session(tile: int | None = None) -> Session:
    tiling = TileOptions(False) if tile is None else TileOptions(True, tile, tile // 4)
    return Session(segmenter=ComponentsSegmenter(), tiling=tiling)


def _covers(result, box) -> bool:
    """Some object's pixel box equals ``box``."""
    return any(tuple(b) == tuple(box) for b in result.pixel_boxes.tolist())


def test_metadata_is_read(scene):
    r = open_geotiff(scene.path)
    assert r.crs == rasterio.crs.CRS.from_string(CRS)
    assert r.transform == scene.transform
    assert r.nodata == NODATA and r.count == 4 and r.dtype == "uint16"
    assert r.band_names == ("red", "green", "blue", "nir")
    assert r.bands == (1, 2, 3) and r.shape == (300, 400, 3)


def test_band_selection_on_4band_uint16(scene):
    # bands 4,3,2 put near-infrared in red: the NIR-only rectangle appears; with 1,2,3 it does not
    false_colour = components_session().segment(open_geotiff(scene.path, bands="4,3,2"))
    true_colour = components_session().segment(open_geotiff(scene.path, bands="1,2,3"))
    assert _covers(false_colour, scene.nir_only)
    assert not _covers(true_colour, scene.nir_only)
    for result in (false_colour, true_colour):
        for box in scene.rects.values():
            assert _covers(result, box)
    # names work too, and the choice is reported in the raster
    assert open_geotiff(scene.path, bands="nir,red,green").bands == (4, 1, 2)


def test_per_band_stretch_maps_each_band_to_full_range(scene):
    r = open_geotiff(scene.path, bands="4,1,2")
    rgb, _ = r.read_window((0, 0, 400, 300))
    x0, y0, x1, y1 = scene.rects["field"]
    # band 4 holds 40000 and band 1 holds 1200 there: each is stretched on its own range
    assert rgb.dtype == np.uint8
    assert (rgb[y0:y1, x0:x1] >= 250).all()
    assert (rgb[5, 5] == 0).all()


def test_uint8_passes_through_unstretched(tmp_path):
    data = np.random.default_rng(0).integers(0, 200, size=(3, 64, 80), dtype=np.uint8)
    with rasterio.open(tmp_path / "u8.tif", "w", driver="GTiff", height=64, width=80, count=3, dtype="uint8",
                       crs=CRS, transform=rasterio.transform.from_origin(300, 900, 2, 2)) as dst:
        dst.write(data)
    rgb, valid = open_geotiff(tmp_path / "u8.tif").read_window((0, 0, 80, 64))
    np.testing.assert_array_equal(rgb, data.transpose(1, 2, 0))
    assert valid is None


def test_bad_bands_say_what_exists(scene):
    with pytest.raises(ImageError, match="bands 1..4"):
        open_geotiff(scene.path, bands="5,3,2")
    with pytest.raises(ImageError, match="one to three"):
        open_geotiff(scene.path, bands="1,2,3,4")
    with pytest.raises(ImageError, match="not a band number or name"):
        open_geotiff(scene.path, bands="swir")


@given(st.lists(st.integers(1, 12), min_size=1, max_size=3), st.integers(12, 20))
def test_parse_bands_round_trips(bands, count):
    assert parse_bands(",".join(map(str, bands)), count) == tuple(bands)
    assert parse_bands(bands, count) == tuple(bands)


@pytest.mark.parametrize("tile", [None, 128])
def test_nodata_regions_give_no_objects(scene, tile):
    r = open_geotiff(scene.path)
    result = components_session(tile).segment(r)
    x0, y0, x1, y1 = scene.nodata_box
    labels = result.labels()
    assert len(result) >= 3  # the drawn objects are found ...
    assert not labels[y0:y1, x0:x1].any()  # ... but the bright nodata block is not an object
    rgb, valid = r.read_window((0, 0, 400, 300))
    assert not valid[y0:y1, x0:x1].any() and valid[:y0].all()
    assert not rgb[y0:y1, x0:x1].any()


def test_raster_larger_than_tile_is_read_by_windows(tmp_path):
    # 3000 x 3000 x 3 uint8 = 27 MB if read whole; the tiled path must only read 512-px windows
    h = w = 3000
    path = tmp_path / "big.tif"
    profile = {"driver": "GTiff", "height": h, "width": w, "count": 3, "dtype": "uint8", "crs": CRS, "tiled": True,
               "blockxsize": 256, "blockysize": 256, "compress": "deflate",
               "transform": rasterio.transform.from_origin(500_000, 5_600_000, 1, 1)}
    with rasterio.open(path, "w", **profile) as dst:
        block = np.zeros((3, 256, 256), np.uint8)
        block[:, 100:140, 100:160] = 200
        for y in range(0, h - 256, 700):
            for x in range(0, w - 256, 700):
                dst.write(block, window=rasterio.windows.Window(x, y, 256, 256))
    r = open_geotiff(path)
    session = components_session(512)
    tracemalloc.start()
    result = session.segment(r)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rects = plan_tiles((h, w), 512, 128)
    assert r.reads == rects  # exactly one read per tile, each the tile's window
    assert max(max(x1 - x0, y1 - y0) for x0, y0, x1, y1 in r.reads) == 512
    assert peak < h * w * 3 / 4  # far below one full-size copy of the picture
    drawn = {(x + 100, y + 100, x + 160, y + 140) for y in range(0, h - 256, 700) for x in range(0, w - 256, 700)}
    assert {tuple(b) for b in result.pixel_boxes.tolist()} == drawn and len(result) == len(drawn)
    # tiles with nothing drawn (one colour) never reach the model
    busy = [r for r in rects if any(b[0] < r[2] and r[0] < b[2] and b[1] < r[3] and r[1] < b[3] for b in drawn)]
    assert session.segmenter.calls == len(busy) < len(rects)
    assert result.image is None


def test_label_raster_keeps_crs_and_transform(scene, tmp_path):
    r = open_geotiff(scene.path)
    result = components_session().segment(r)
    out = write_label_raster(tmp_path / "labels.tif", result, r)
    with rasterio.open(out) as ds:
        assert ds.crs == r.crs and ds.transform == r.transform
        assert ds.dtypes[0] == "int32" and ds.nodata == 0
        np.testing.assert_array_equal(ds.read(1), result.labels())
    with pytest.raises(OutputExistsError):
        write_label_raster(out, result, r)


def test_large_label_raster_is_cloud_optimised_and_painted_by_blocks(scene, tmp_path):
    r = open_geotiff(scene.path)
    result = components_session().segment(r)
    out = write_label_raster(tmp_path / "labels_cog.tif", result, r, cog=True, block=64)
    with rasterio.open(out) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert ds.profile["tiled"] and ds.crs == r.crs and ds.transform == r.transform
        np.testing.assert_array_equal(ds.read(1), result.labels())
    assert not (tmp_path / "labels_cog.tif.part.tif").exists()


@pytest.mark.data
@pytest.mark.skipif(not NAIP.is_dir(), reason="../shared/data/aerial/urban-trees is absent")
def test_naip_csv_points_land_on_geojson_points():
    """The tiles' pixel points (CSV), moved with the transform we read, land within a pixel of the map points."""
    import csv
    import json

    tiles = sorted(p.stem for p in (NAIP / "csv").glob("*.csv"))
    assert len(tiles) >= 300
    worst = 0.0
    for name in tiles:
        r = open_geotiff(NAIP / "images" / f"{name}.tif")
        assert r.crs.to_epsg() == 26911 and r.count == 4
        with open(NAIP / "csv" / f"{name}.csv") as f:
            pix = np.array([[float(row["x"]), float(row["y"])] for row in csv.DictReader(f)])
        geo = json.loads((NAIP / "json" / f"{name}.json").read_text())
        truth = np.array([feat["geometry"]["coordinates"][:2] for feat in geo["features"]])
        assert len(pix) == len(truth)
        xs, ys = rasterio.transform.xy(r.transform, pix[:, 1], pix[:, 0])  # pixel centres
        mapped = np.column_stack([xs, ys])
        # match each CSV point to its nearest GeoJSON point (the files list them in the same order)
        dist = np.linalg.norm(mapped - truth, axis=1)
        worst = max(worst, float(dist.max()) / abs(r.transform.a))
    assert worst < 1.0, f"worst offset {worst:.2f} pixels"


def test_float_reflectance_with_nan_is_stretched_and_nan_gives_no_object(tmp_path):
    data = np.zeros((3, 200, 240), np.float32)
    data[:, 20:60, 30:90] = 0.35  # a bright field in reflectance units
    data[:, 120:180, 0:240] = np.nan  # a NaN strip (no nodata value declared)
    data[:, 150:170, 100:140] = 0.5  # would be an object, but band 1 is NaN there as well
    data[0, 150:170, 100:140] = np.nan
    with rasterio.open(tmp_path / "f.tif", "w", driver="GTiff", height=200, width=240, count=3, dtype="float32",
                       crs=CRS, transform=rasterio.transform.from_origin(500_000, 5_600_000, 10, 10)) as dst:
        dst.write(data)
    r = open_geotiff(tmp_path / "f.tif")
    rgb, valid = r.read_window((0, 0, 240, 200))
    assert rgb[20:60, 30:90].min() > 150 and rgb[:10].max() == 0 and not valid[120:180].any() and valid[:120].all()
    result = components_session().segment(r)
    assert [tuple(b) for b in result.pixel_boxes.tolist()] == [(30, 20, 90, 60)]


def test_stretch_of_a_large_raster_comes_from_a_sample_close_to_the_true_percentiles(tmp_path):
    h = w = 2500
    rng = np.random.default_rng(1)
    ramp = (np.add.outer(np.arange(h), np.arange(w)) * 8).astype(np.uint16)  # 0 .. 40000, smooth
    data = np.stack([ramp, ramp // 2 + rng.integers(0, 50, (h, w), dtype=np.uint16)])
    with rasterio.open(tmp_path / "big16.tif", "w", driver="GTiff", height=h, width=w, count=2, dtype="uint16",
                       crs=CRS, transform=rasterio.transform.from_origin(500_000, 5_600_000, 10, 10),
                       tiled=True, blockxsize=256, blockysize=256) as dst:
        dst.write(data)
    r = open_geotiff(tmp_path / "big16.tif", bands="1,2")
    lo, hi = r.stretch
    for k in range(2):
        true_lo, true_hi = np.percentile(data[k], (2, 98))
        span = float(data[k].max()) - float(data[k].min())
        assert abs(lo[k] - true_lo) < 0.03 * span and abs(hi[k] - true_hi) < 0.03 * span
