"""The dock brings each image to its model's scale, as the CLI does, and says how (issue #29)."""

from __future__ import annotations

import numpy as np
import pytest

from fastsam_plugin.napari.widget import FastSAMWidget

from ..io.geo_fixtures import write_naip_like
from .conftest import wait_idle

pytestmark = pytest.mark.slow


def _trees_dock(make_napari_viewer):
    viewer = make_napari_viewer()
    dock = FastSAMWidget(viewer)
    dock.model.weights.value = "demo-trees"
    dock.model.device.value = "cpu"
    viewer.window.add_dock_widget(dock, name="FastSAM")
    return viewer, dock


def test_a_geotiff_scene_is_segmented_in_the_models_tiles_and_the_dock_says_so(make_napari_viewer, qtbot, tmp_path):
    pytest.importorskip("rasterio")
    write_naip_like(tmp_path / "scene.tif")
    viewer, dock = _trees_dock(make_napari_viewer)
    composite = viewer.open(str(tmp_path / "scene.tif"), plugin="napari-fastsam")[-1]
    dock.controller.image.value = composite
    dock.everything.run()
    wait_idle(qtbot, dock)
    assert dock.controller.current_result() is not None  # prompts find the result the run cached
    assert "0.6 m/px, tiles of 256 px, 416 px model input, zoom 1.62 (pixel size)" in dock.status.value


def test_the_object_size_field_sets_the_zoom(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    dock = FastSAMWidget(viewer)
    dock.model.weights.value = "demo-nuclei"
    dock.model.device.value = "cpu"
    viewer.window.add_dock_widget(dock, name="FastSAM")
    image = viewer.add_image(np.random.default_rng(1).integers(0, 4000, (300, 300)).astype(np.uint16))
    dock.controller.image.value = image
    dock.model.object_size.value = 56.0  # nuclei twice the size demo-nuclei records (28 px)
    dock.everything.run()
    wait_idle(qtbot, dock)
    assert "one pass, 160 px model input, zoom 0.50 (object size)" in dock.status.value
    assert dock.controller.current_result().scale_plan.source == "object size"


def test_a_stained_image_goes_to_a_fluorescence_model_as_its_hematoxylin_channel_and_the_dock_says_so(
        make_napari_viewer, qtbot, monkeypatch):
    import fastsam_plugin.engine.operating_point as op

    from ..engine.test_stain_input import stained_tissue

    monkeypatch.setitem(op.NAMED_INPUT_FORMS, "demo-nuclei", "hematoxylin")  # a fluorescence-only model

    viewer = make_napari_viewer()
    dock = FastSAMWidget(viewer)
    dock.model.weights.value = "demo-nuclei"
    dock.model.device.value = "cpu"
    viewer.window.add_dock_widget(dock, name="FastSAM")
    dock.controller.image.value = viewer.add_image(stained_tissue(4), rgb=True)
    dock.model.conf.value = 0.35  # a setting of the user's: kept through the run's read-back
    dock.everything.run()
    wait_idle(qtbot, dock)
    assert "hematoxylin channel" in dock.status.value
    assert dock.controller.current_result().input_note is not None
    assert dock.model.choice().conf == 0.35 and dock.controller.existing_session.params.conf == 0.35
    assert dock.model.imgsz.value == dock.controller.existing_session.params.imgsz  # what the engine used
