"""Microscopy in the dock: scaled and shifted images, measurements as features, channel layers, 3D linking."""

import numpy as np
import pytest

from fastsam_plugin.napari.microscopy_panel import physical_spacing
from fastsam_plugin.napari.sample_data import shapes_scene

from .conftest import click, drag, inner_point, layer, wait_idle

SCALE, TRANSLATE = (0.65, 0.65), (12.0, -30.0)


@pytest.fixture
def scaled(dock, qtbot):
    """Everything mode on the shapes sample shown at 0.65 µm per pixel, shifted."""
    data, meta = shapes_scene()[0]
    image = dock.viewer.add_image(data, **meta, scale=SCALE, translate=TRANSLATE, units="micrometer")
    dock.controller.image.value = image
    dock.everything.run()
    wait_idle(qtbot, dock)
    return dock, image


def test_result_and_prompt_layers_lie_on_the_scaled_image(scaled):
    dock, _ = scaled
    result = dock.controller.current_result()
    objects = layer(dock.viewer, "everything")
    assert tuple(objects.scale) == SCALE and tuple(objects.translate) == TRANSLATE
    assert [str(u) for u in objects.units] == ["micrometer", "micrometer"]
    # a click at the world position (µm) of an object's pixel selects that object
    obj = int(np.argsort(result.areas)[len(result) // 2])
    row, col = inner_point(result, obj)
    points = dock.points.new_layer()
    assert tuple(points.scale) == SCALE and tuple(points.translate) == TRANSLATE
    click(dock.viewer, TRANSLATE[0] + row * SCALE[0], TRANSLATE[1] + col * SCALE[1])
    np.testing.assert_allclose(points.data[0], [row, col], atol=1e-6)  # stored in the image's pixel grid
    selection = layer(dock.viewer, "selection")
    assert tuple(selection.scale) == SCALE and tuple(selection.translate) == TRANSLATE
    chosen = selection.data > 0
    iou = (chosen & result.masks[obj]).sum() / (chosen | result.masks[obj]).sum()
    assert iou > 0.9


def test_box_drawn_in_micrometres_selects_its_object(scaled):
    dock, _ = scaled
    result = dock.controller.current_result()
    obj = int(np.argmax(result.areas))
    x0, y0, x1, y1 = result.pixel_boxes[obj]
    shapes = dock.boxes.new_layer()
    assert tuple(shapes.scale) == SCALE and tuple(shapes.translate) == TRANSLATE

    def world(row, col):
        return TRANSLATE[0] + row * SCALE[0], TRANSLATE[1] + col * SCALE[1]

    drag(dock.viewer, world(y0, x0), world(y1 - 1, x1 - 1))
    picked = layer(dock.viewer, "selection").data > 0
    iou = (picked & result.masks[obj]).sum() / (picked | result.masks[obj]).sum()
    assert iou > 0.9


def test_objects_layer_carries_measurements_in_micrometres(scaled):
    dock, _ = scaled
    result = dock.controller.current_result()
    objects = layer(dock.viewer, "everything")
    table = objects.features
    ids, counts = np.unique(objects.data[objects.data > 0], return_counts=True)
    assert table["label"].tolist() == ids.tolist() and table["area_px"].tolist() == counts.tolist()
    np.testing.assert_allclose(table["area_um2"], counts * 0.65**2)
    np.testing.assert_allclose(table["score"], result.scores[ids - 1], rtol=1e-6)
    assert {"intensity_mean_red", "intensity_max_blue", "eccentricity", "solidity", "centroid_x_um"} <= set(table)
    # napari's label -> features lookup uses the 'index' column
    assert objects.features["index"].tolist() == ids.tolist()


def test_accepted_annotations_are_measured(scaled):
    dock, _ = scaled
    result = dock.controller.current_result()
    row, col = inner_point(result, int(np.argmax(result.areas)))
    points = dock.points.new_layer()
    points.add([row, col])
    dock.annotations.accept.native.click()  # as the user does: the panel measures after the accept
    annotations = layer(dock.viewer, "annotation")
    assert annotations.features["label"].tolist() == [1]
    assert annotations.features["area_px"][0] == (annotations.data == 1).sum()
    assert tuple(annotations.scale) == SCALE and tuple(annotations.translate) == TRANSLATE


def test_channel_layers_are_segmented_together(dock, qtbot):
    rgb, _ = shapes_scene()[0]
    planes = np.moveaxis(rgb[..., :2].astype(np.uint16) * 200, -1, 0)  # two 16-bit "fluorescence" channels
    ch1, ch2 = dock.viewer.add_image(planes, channel_axis=0, name=["DAPI", "GFP"])
    dock.microscopy.channels.value = [ch1, ch2]
    assert dock.controller.image.value is ch1
    dock.everything.run()
    wait_idle(qtbot, dock)
    result = dock.controller.current_result()
    assert result is not None and len(result) >= 3
    seen = result.image  # the composite the model saw: DAPI red, GFP green, each stretched on its own
    assert not seen[..., 2].any()
    assert np.corrcoef(seen[..., 0].ravel(), planes[0].ravel())[0, 1] > 0.95
    assert np.corrcoef(seen[..., 1].ravel(), planes[1].ravel())[0, 1] > 0.95
    table = layer(dock.viewer, "everything").features
    objects = layer(dock.viewer, "everything").data
    first = objects == table["label"][0]
    assert table["intensity_mean_GFP"][0] == pytest.approx(planes[1][first].mean())  # original 16-bit values


def test_linked_slices_become_3d_objects(dock, qtbot):
    zz, yy, xx = np.indices((4, 128, 128))
    vol = np.full((4, 128, 128, 3), 128, np.uint8)
    vol[((zz - 1.5) / 3) ** 2 + ((yy - 45) / 28) ** 2 + ((xx - 45) / 28) ** 2 <= 1] = (230, 60, 60)
    vol[((zz - 1.5) / 3) ** 2 + ((yy - 90) / 22) ** 2 + ((xx - 85) / 34) ** 2 <= 1] = (60, 90, 230)
    image = dock.viewer.add_image(vol, rgb=True, scale=(2.0, 0.5, 0.5), units="micrometer")
    dock.controller.image.value = image
    dock.model.imgsz.value = 320
    dock.everything.all_slices.value = True
    dock.microscopy.link.value = True
    dock.everything.run()
    wait_idle(qtbot, dock)
    objects = layer(dock.viewer, "everything")
    for y, x in ((45, 45), (90, 85)):
        column = objects.data[:, y, x]
        assert column[0] > 0 and (column == column[0]).all()  # one id through the slices
    table = objects.features
    assert table["label"].tolist() == np.unique(objects.data[objects.data > 0]).tolist()
    np.testing.assert_allclose(table["volume_um3"], table["area_px"] * 0.5)


def test_physical_spacing_of_layers(make_napari_viewer):
    viewer = make_napari_viewer()
    plain = viewer.add_image(np.zeros((8, 8)))
    assert physical_spacing(plain) == (None, "px")
    scaled = viewer.add_image(np.zeros((8, 8)), scale=(0.5, 0.5), units="micrometer")
    assert physical_spacing(scaled) == ((0.5, 0.5), "µm")
    world = viewer.add_image(np.zeros((8, 8)), scale=(2.0, 2.0))
    assert physical_spacing(world) == ((2.0, 2.0), "world")


def test_trained_checkpoint_file_brings_its_operating_point(dock, fastsam_s_checkpoint, tmp_path):
    import shutil

    from fastsam_plugin.training.train import record_operating_point

    ckpt = tmp_path / "best.pt"
    shutil.copy(fastsam_s_checkpoint, ckpt)
    record_operating_point(ckpt, 352, 0.21)
    panel = dock.model
    panel.weights.value = "file"
    panel.weights_file.value = str(ckpt)
    assert (panel.imgsz.value, panel.conf.value) == (352, 0.21)
    panel.weights_file.value = str(fastsam_s_checkpoint)  # no record: FastSAM's defaults, as the engine will use
    assert (panel.imgsz.value, panel.conf.value) == (1024, 0.4)
    assert panel.choice().imgsz is None and panel.choice().conf is None
