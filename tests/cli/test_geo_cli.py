"""``napari-fastsam segment`` on GeoTIFFs: --bands, --vector, georeferenced outputs, prompts exported."""

from __future__ import annotations

import json

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
pyogrio = pytest.importorskip("pyogrio")

from rasterio.transform import from_origin

from fastsam_plugin.cli.main import main
from fastsam_plugin.training.synthetic import make_scene

DEMO = ["--weights", "demo", "--device", "cpu", "--imgsz", "320"]
TRANSFORM = from_origin(500_000.0, 5_600_000.0, 0.5, 0.5)


def _write(path, image, nodata_rows=0, count=4):
    """A uint8 GeoTIFF in EPSG:32633: the scene's RGB in bands 3,2,1 (reversed) plus a NIR band; the bottom
    ``nodata_rows`` rows are nodata (255)."""
    h, w = image.shape[:2]
    data = np.zeros((count, h, w), np.uint8)
    data[:3] = image[..., ::-1].transpose(2, 0, 1)
    if count > 3:
        data[3] = image.max(axis=2)
    if nodata_rows:
        data[:, h - nodata_rows:] = 255
    with rasterio.open(path, "w", driver="GTiff", height=h, width=w, count=count, dtype="uint8", crs="EPSG:32633",
                       transform=TRANSFORM, nodata=255 if nodata_rows else None) as dst:
        dst.write(data)
    return path


@pytest.fixture
def geotiff(tmp_path):
    return _write(tmp_path / "scene.tif", make_scene(3).image, nodata_rows=60)


def test_geotiff_to_label_geotiff_and_geopackage(geotiff, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["segment", str(geotiff), "--out", str(out), *DEMO, "--bands", "3,2,1",
                 "--vector", str(out / "objects.gpkg"), "--box", "40,40,200,200"])
    assert code == 0, capsys.readouterr()
    with rasterio.open(out / "scene_labels.tif") as ds:
        labels = ds.read(1)
        assert ds.crs.to_epsg() == 32633 and ds.transform == TRANSFORM
    assert labels.max() > 0 and not labels[-60:].any()  # objects found, none in the nodata rows
    info = pyogrio.read_info(out / "objects.gpkg")
    assert info["crs"] == "EPSG:32633"
    assert info["features"] == len(np.unique(labels)) - 1
    x0, y0 = TRANSFORM * (0, 0)
    x1, y1 = TRANSFORM * (labels.shape[1], labels.shape[0] - 60)  # the valid part of the raster
    bx0, by0, bx1, by1 = info["total_bounds"]
    assert x0 <= bx0 and bx1 <= x1 and y1 <= by0 and by1 <= y0
    # the box prompt: a label GeoTIFF, its own vector file, and the picked object is marked in the main layer
    with rasterio.open(out / "scene_box.tif") as ds:
        assert ds.crs.to_epsg() == 32633 and ds.read(1).max() == 1
    _, _, _, fields = pyogrio.raw.read(out / "objects_box.gpkg")
    assert fields[3].tolist() == ["box 1: 40,40,200,200"]
    _, _, _, fields = pyogrio.raw.read(out / "objects.gpkg")
    assert sum("box 1" in p for p in fields[3]) == 1


def test_band_choice_changes_the_picture(tmp_path):
    # the scene is stored reversed (B, G, R): --bands 3,2,1 restores it; a single band gives gray
    image = make_scene(3).image
    path = _write(tmp_path / "s.tif", image)
    for bands, expected in (("3,2,1", image), ("4", np.repeat(image.max(axis=2)[..., None], 3, axis=2))):
        out = tmp_path / bands.replace(",", "")
        assert main(["segment", str(path), "--out", str(out), *DEMO, "--bands", bands, "--coco"]) == 0
        coco = json.loads((out / "s_proposals.json").read_text())
        assert coco["images"][0]["width"] == image.shape[1]
    from fastsam_plugin.io.geotiff import open_geotiff

    np.testing.assert_array_equal(open_geotiff(path, bands="3,2,1").read_rgb(), image)


def test_batch_of_geotiffs_writes_one_vector_file_each(tmp_path):
    folder = tmp_path / "tiles"
    folder.mkdir()
    for k in (1, 2):
        _write(folder / f"tile{k}.tif", make_scene(k).image, count=3)
    out = tmp_path / "out"
    assert main(["segment", str(folder), "--out", str(out), *DEMO, "--vector", "geojson"]) == 0
    for k in (1, 2):
        data = json.loads((out / f"tile{k}_objects.geojson").read_text())
        assert "32633" in data["crs"]["properties"]["name"] and data["features"]
        assert {"id", "score", "area", "prompt"} <= set(data["features"][0]["properties"])


def test_plain_tiff_keeps_the_plain_path_and_png_refuses_vector(tmp_path, capsys):
    import cv2
    import tifffile

    image = make_scene(1).image
    tifffile.imwrite(tmp_path / "plain.tif", image)
    cv2.imwrite(str(tmp_path / "p.png"), image)
    assert main(["segment", str(tmp_path / "plain.tif"), "--out", str(tmp_path / "o"), *DEMO]) == 0
    with pytest.warns(rasterio.errors.NotGeoreferencedWarning), rasterio.open(tmp_path / "o" / "plain_labels.tif") as ds:
        assert ds.crs is None
    code = main(["segment", str(tmp_path / "p.png"), "--out", str(tmp_path / "o"), *DEMO, "--vector", "gpkg"])
    assert code == 1 and "need a (Geo)TIFF input" in capsys.readouterr().out


def test_rerun_keeps_existing_geo_outputs_unless_overwrite(geotiff, tmp_path):
    out = tmp_path / "out"
    cmd = ["segment", str(geotiff), "--out", str(out), *DEMO, "--vector", "gpkg"]
    assert main(cmd) == 0
    files = [out / "scene_labels.tif", out / "scene_objects.gpkg"]
    stamps = [f.stat().st_mtime_ns for f in files]
    assert main(cmd) == 0
    assert [f.stat().st_mtime_ns for f in files] == stamps
    assert main([*cmd, "--overwrite"]) == 0
    assert all(f.stat().st_mtime_ns > s for f, s in zip(files, stamps))


def test_prompts_in_map_units_pick_the_same_object_as_in_pixels(geotiff, tmp_path):
    box_px = (40, 40, 200, 200)
    (x0, y0), (x1, y1) = TRANSFORM * box_px[:2], TRANSFORM * box_px[2:]
    box_map = f"{x0:.2f},{y1:.2f},{x1:.2f},{y0:.2f}"  # (min x, min y, max x, max y) in metres
    pixel_out, map_out = tmp_path / "px", tmp_path / "map"
    assert main(["segment", str(geotiff), "--out", str(pixel_out), *DEMO, "--box", "40,40,200,200"]) == 0
    assert main(["segment", str(geotiff), "--out", str(map_out), *DEMO, "--box", box_map, "--prompt-units", "map",
                 "--vector", "gpkg"]) == 0
    with rasterio.open(pixel_out / "scene_box.tif") as a, rasterio.open(map_out / "scene_box.tif") as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))
        assert b.read(1).any()
    _, _, _, fields = pyogrio.raw.read(map_out / "scene_box.gpkg")
    given = ",".join(f"{float(v):.12g}" for v in box_map.split(","))
    assert fields[3].tolist() == [f"box 1: {given}"]  # the prompt as the user gave it, at full precision


def test_a_geopackage_cut_after_the_run_is_rewritten_and_whole_ones_kept(geotiff, tmp_path, capsys):
    from fastsam_plugin.io.outputs import output_complete, read_manifest

    out = tmp_path / "out"
    cmd = ["segment", str(geotiff), "--out", str(out), *DEMO, "--vector", "gpkg", "--points", "100,100"]
    assert main(cmd) == 0
    gpkg, labels = out / "scene_objects.gpkg", out / "scene_labels.tif"
    recorded = set(read_manifest(out))
    assert {"scene_labels.tif", "scene_objects.gpkg", "scene_points.tif", "scene_points.gpkg"} <= recorded
    features = pyogrio.read_info(gpkg)["features"]
    gpkg.write_bytes(gpkg.read_bytes()[:1000])  # cut, as a killed copy leaves it: GDAL would still open it
    assert not output_complete(gpkg) and output_complete(labels)
    stamp = labels.stat().st_mtime_ns
    capsys.readouterr()
    assert main(cmd) == 0
    assert "1 output(s) written, 3 already complete" in capsys.readouterr().out
    assert pyogrio.read_info(gpkg)["features"] == features and labels.stat().st_mtime_ns == stamp


def test_flags_geotiffs_do_not_make_are_named(geotiff, tmp_path, capsys):
    assert main(["segment", str(geotiff), "--out", str(tmp_path / "out"), *DEMO, "--edges", "--measure"]) == 0
    assert "--edges, --measure not made for GeoTIFFs" in capsys.readouterr().out
