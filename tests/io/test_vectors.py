"""Label rasters to polygons in map coordinates: GeoPackage/GeoJSON, attributes, block seams, nodata."""

from __future__ import annotations

import json

import numpy as np
import pytest

pyogrio = pytest.importorskip("pyogrio")
shapely = pytest.importorskip("shapely")

from fastsam_plugin.engine.pipeline import TileOptions
from fastsam_plugin.engine.session import Session
from fastsam_plugin.io import OutputExistsError
from fastsam_plugin.io.geotiff import open_geotiff
from fastsam_plugin.io.vectors import label_polygons, write_vectors

from ..components_backend import ComponentsSegmenter
from .geo_fixtures import ORIGIN, PIXEL, write_scene


@pytest.fixture
def segmented(tmp_path):
    scene = write_scene(tmp_path / "scene.tif")
    raster = open_geotiff(scene.path)
    result = Session(segmenter=ComponentsSegmenter(), tiling=TileOptions(True, 128, 32)).segment(raster)
    return scene, raster, result


def _map_box(box):
    """Map bounds (minx, miny, maxx, maxy) of a pixel box (x0, y0, x1, y1), computed by hand from the scene."""
    x0, y0, x1, y1 = box
    return (ORIGIN[0] + x0 * PIXEL, ORIGIN[1] - y1 * PIXEL, ORIGIN[0] + x1 * PIXEL, ORIGIN[1] - y0 * PIXEL)


def _read(path):
    meta, _, wkb, fields = pyogrio.raw.read(path)
    geoms = shapely.from_wkb(wkb)
    return meta, geoms, dict(zip(meta["fields"], fields))


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson"])
def test_polygons_land_on_the_objects_map_coordinates(segmented, tmp_path, suffix):
    scene, raster, result = segmented
    out = write_vectors(tmp_path / f"objects{suffix}", result, raster)
    meta, geoms, fields = _read(out)
    assert meta["crs"] == "EPSG:32633"
    assert list(fields) == ["id", "score", "area", "prompt"]
    half = PIXEL / 2
    for box in scene.rects.values():
        truth = _map_box(box)
        hits = [g for g in geoms if np.allclose(g.bounds, truth, atol=half)]
        assert len(hits) == 1, f"no polygon within half a pixel of {truth}"
        assert hits[0].area == pytest.approx((box[2] - box[0]) * (box[3] - box[1]) * PIXEL**2)
    cx, cy, _ = scene.disk
    centre = (ORIGIN[0] + (cx + 0.5) * PIXEL, ORIGIN[1] - (cy + 0.5) * PIXEL)  # centre of the centre pixel
    disk = [g for g in geoms if g.contains(shapely.Point(centre))]
    assert len(disk) == 1
    assert disk[0].centroid.distance(shapely.Point(centre)) < half
    # area in CRS units (m²) equals the pixel count times the pixel area; ids are the label raster's values
    areas = dict(zip(fields["id"].tolist(), fields["area"].tolist()))
    counts = np.bincount(result.labels().ravel())
    for i, a in areas.items():
        assert a == pytest.approx(counts[i] * PIXEL**2)
    np.testing.assert_allclose(fields["score"], result.scores[fields["id"] - 1])


def test_nodata_region_has_no_polygon(segmented, tmp_path):
    scene, raster, result = segmented
    _, geoms, _ = _read(write_vectors(tmp_path / "o.gpkg", result, raster))
    nodata = shapely.box(*_map_box(scene.nodata_box))
    assert not any(g.intersection(nodata).area > 0 for g in geoms)


def test_objects_cut_by_blocks_are_rejoined_exactly(segmented):
    _, _, result = segmented
    whole = label_polygons(result, block=4096)
    blocks = label_polygons(result, block=37)  # borders cross every object
    assert whole.keys() == blocks.keys()
    for i in whole:
        assert whole[i].symmetric_difference(blocks[i]).area == 0
        assert whole[i].geom_type == blocks[i].geom_type == "Polygon"


def test_label_array_with_holes_and_two_parts():
    labels = np.zeros((40, 40), np.int32)
    labels[5:30, 5:30] = 3
    labels[12:18, 12:18] = 0  # a hole
    labels[33:38, 33:38] = 3  # a second part of the same id
    polys = label_polygons(labels, block=16)
    assert list(polys) == [3]
    assert polys[3].geom_type == "MultiPolygon" and polys[3].area == 25 * 25 - 36 + 25
    assert sum(len(p.interiors) for p in polys[3].geoms) == 1


def test_prompts_and_scores_are_written_and_files_kept(segmented, tmp_path):
    _, raster, result = segmented
    sel = np.zeros(result.shape, np.int32)
    sel[result.labels() == 1] = 1
    out = write_vectors(tmp_path / "box.geojson", sel, raster, scores={1: 0.5}, prompts={1: "box 1: 0,0,10,10"})
    feats = json.loads(out.read_text())["features"]
    assert [f["properties"]["prompt"] for f in feats] == ["box 1: 0,0,10,10"]
    assert feats[0]["properties"]["score"] == 0.5
    with pytest.raises(OutputExistsError):
        write_vectors(out, sel, raster)
    write_vectors(out, result, raster, overwrite=True)
    assert len(json.loads(out.read_text())["features"]) == len(result)
    with pytest.raises(ValueError, match="gpkg"):
        write_vectors(tmp_path / "o.shp", sel, raster)


def test_no_objects_gives_an_empty_layer(segmented, tmp_path):
    _, raster, result = segmented
    out = write_vectors(tmp_path / "empty.gpkg", np.zeros(result.shape, np.int32), raster)
    info = pyogrio.read_info(out)
    assert info["features"] == 0 and info["crs"] == "EPSG:32633"
