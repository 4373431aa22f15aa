"""The bundled trees model (weights ``demo-trees``): found by name, small, its bands and operating point, and
real trees found on held-out NAIP tiles, through the API, the batch CLI (georeferenced outputs) and napari."""

import numpy as np
import pytest

from fastsam_plugin.engine.operating_point import NAMED_OPERATING_POINTS, operating_point
from fastsam_plugin.engine.weights import TREES_SEGMENTER, resolve_weights

from ..paths import SHARED

TREES = SHARED / "aerial" / "urban-trees"
needs_tiles = pytest.mark.skipif(not (TREES / "val_socal.txt").is_file(), reason="needs ../shared/data/aerial/urban-trees")


def test_trees_weights_resolve_by_name_are_small_and_record_their_bands():
    from fastsam_plugin.engine._ultralytics import ultralytics
    from fastsam_plugin.engine.operating_point import model_bands

    ultralytics()  # offline settings before the checkpoint's classes import Ultralytics
    assert resolve_weights("demo-trees") == TREES_SEGMENTER == resolve_weights("Demo-Trees")
    assert TREES_SEGMENTER.stat().st_size < 8e6
    from fastsam_plugin.engine.operating_point import CHECKPOINT_KEY
    from fastsam_plugin.engine.safetensors_weights import read_description

    ckpt = {CHECKPOINT_KEY: read_description(TREES_SEGMENTER)["record"]}  # the bundled pair's record
    assert model_bands(ckpt) == (4, 1, 2)  # NIR, red, green
    point = operating_point("demo-trees")
    assert point == NAMED_OPERATING_POINTS["demo-trees"] and point.imgsz == 416  # a tile never pays for 1024


@pytest.mark.slow
@pytest.mark.data
@needs_tiles
def test_finds_trees_on_held_out_tiles():
    from fastsam_plugin.engine.session import Session
    from fastsam_plugin.evaluation.trees import evaluate_trees

    session = Session("demo-trees", device="cpu")
    scores = evaluate_trees(session, TREES, split="val", bands=session.model_bands, limit=12, progress=False)
    demo = evaluate_trees(Session("demo", device="cpu"), TREES, split="val", limit=12, progress=False)
    # docs/models.md has the figures on all 43 validation tiles (scripts/evaluate_trees.py)
    assert scores["box"]["F1"] >= 0.6 > demo["box"]["F1"] + 0.3
    assert scores["mask"]["F1"] >= 0.5


@pytest.mark.slow
@pytest.mark.data
@needs_tiles
def test_a_folder_of_tiles_gives_georeferenced_crowns(tmp_path):
    """Raw 4-band tiles in, no band flags: label GeoTIFFs and crown polygons in EPSG:26911 on the trees."""
    rasterio = pytest.importorskip("rasterio")
    pyogrio = pytest.importorskip("pyogrio")
    import json
    import shutil

    import shapely

    from fastsam_plugin.cli.main import main

    names = (TREES / "val_socal.txt").read_text().split()[:3]
    tiles = tmp_path / "tiles"
    tiles.mkdir()
    for name in names:  # a folder of the user's tiles (copied to the test's temporary folder only)
        shutil.copy(TREES / "images" / f"{name}.tif", tiles)
    out = tmp_path / "out"
    assert main(["segment", str(tiles), "--out", str(out), "--weights", "demo-trees", "--device", "cpu",
                 "--vector", "gpkg"]) == 0
    found = total = 0
    for name in names:
        with rasterio.open(out / f"{name}_labels.tif") as ds, rasterio.open(tiles / f"{name}.tif") as src:
            assert ds.crs.to_epsg() == 26911 and ds.transform == src.transform
            labels = ds.read(1)
        info = pyogrio.read_info(out / f"{name}_objects.gpkg")
        assert info["crs"] == "EPSG:26911" and info["features"] == len(np.unique(labels)) - 1
        assert {"id", "score", "area"} <= set(info["fields"])
        _, _, wkb, _ = pyogrio.raw.read(out / f"{name}_objects.gpkg")
        crowns = shapely.union_all(shapely.from_wkb(wkb))
        trees = json.loads((TREES / "json" / f"{name}.json").read_text())["features"]
        points = shapely.points([f["geometry"]["coordinates"][:2] for f in trees])
        found += int(shapely.contains(crowns.buffer(0.6), points).sum())  # within a pixel of a crown
        total += len(trees)
    assert found >= 0.5 * total  # the crowns sit on the dataset's trees, in map coordinates


def trees_dock(make_napari_viewer):
    """The first validation tile (name, (H, W, 4) data, tree points), a viewer and a widget set to demo-trees on CPU."""
    from fastsam_plugin.napari.widget import FastSAMWidget
    from fastsam_plugin.training.trees_data import read_tile

    name = (TREES / "val_socal.txt").read_text().split()[0]
    data, trees = read_tile(TREES, name)
    viewer = make_napari_viewer()
    dock = FastSAMWidget(viewer)
    dock.model.weights.value = "demo-trees"
    dock.model.device.value = "cpu"
    return name, data, trees, viewer, dock


@pytest.mark.slow
@pytest.mark.data
@needs_tiles
def test_a_click_on_a_tree_in_napari_selects_its_crown(make_napari_viewer, qtbot):
    """napari's own reader shows a 4-band tile as RGBA; the model still sees its bands and a click picks a tree."""
    from ..napari.conftest import inner_point, layer, wait_idle

    name, data, trees, viewer, dock = trees_dock(make_napari_viewer)
    viewer.window.add_dock_widget(dock)
    image = viewer.add_image(data, rgb=True, name=name)
    dock.controller.image.value = image
    assert dock.bands.preset.value == "the model's bands (from its weights)"
    dock.everything.run()
    wait_idle(qtbot, dock)
    result = dock.controller.current_result()
    np.testing.assert_array_equal(result.image, data[..., [3, 0, 1]])  # NIR, red, green
    assert len(result) >= 0.3 * len(trees)
    obj = int(np.argmax(result.scores))
    row, col = inner_point(result, obj)
    dock.points.new_layer().add([row, col])
    selection = layer(viewer, "selection").data > 0
    assert selection[row, col] and (selection & ~result.masks[obj]).sum() == 0


@pytest.mark.slow
@pytest.mark.data
@needs_tiles
def test_the_plugins_geotiff_composite_is_segmented_on_the_models_bands(make_napari_viewer, qtbot):
    """The plugin's reader shows bands 1-3; segmenting that composite uses the file's bands 4, 1, 2, as the CLI does."""
    from fastsam_plugin.engine.session import Session

    from ..napari.conftest import wait_idle

    name, data, _, viewer, dock = trees_dock(make_napari_viewer)
    layers = viewer.open(str(TREES / "images" / f"{name}.tif"), plugin="napari-fastsam")
    composite = layers[-1]
    assert composite.rgb and composite.data.shape[-1] == 3  # what napari draws: bands 1-3
    dock.controller.image.value = composite
    assert "bands 1,2,3 of a 4-band GeoTIFF" in dock.bands.hint.value
    assert "NIR false colour (bands 4, 1, 2)" in dock.bands.preset.choices
    assert dock.bands.preset.value == "the model's bands (from its weights)"
    np.testing.assert_array_equal(dock.controller.plane(composite, ()), data)  # the file's four bands
    dock.everything.run()
    wait_idle(qtbot, dock)
    result = dock.controller.current_result()
    np.testing.assert_array_equal(result.image, data[..., [3, 0, 1]])  # NIR, red, green
    cli = Session("demo-trees", device="cpu").segment(data)  # the raw tile, no band flags (CLI and API)
    assert len(result) == len(cli) and np.array_equal(result.boxes, cli.boxes)
    viewer.layers.remove(layers[3])  # a band layer gone: the composite is segmented as the RGB it shows
    assert dock.controller.plane(composite, ()).shape == composite.data.shape
