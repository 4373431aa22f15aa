"""Point prompts: clicks in the Points layer select objects without a model run."""

import numpy as np

from fastsam_plugin.napari.point_prompts import POSITIVE

from .conftest import inner_point, layer


def test_foreground_point_selects_its_object_background_point_removes_it(segmented):
    dock, _ = segmented
    result = dock.controller.current_result()
    obj = int(np.argmax(result.areas))
    row, col = inner_point(result, obj)
    points = dock.points.new_layer()
    assert points.mode == "add" and dock.viewer.layers.selection.active is points
    points.add([row, col])
    selection = layer(dock.viewer, "selection").data > 0
    iou = (selection & result.masks[obj]).sum() / (selection | result.masks[obj]).sum()
    assert iou > 0.9
    dock.points.background.value = True
    points.add([row, col])
    assert points.features[POSITIVE].tolist() == [True, False]
    assert not layer(dock.viewer, "selection").data.any()


def test_b_key_toggles_polarity(segmented):
    dock, _ = segmented
    points = dock.points.new_layer()
    assert points.feature_defaults[POSITIVE][0]
    dock.points._toggle_background()
    assert dock.points.background.value and not points.feature_defaults[POSITIVE][0]


def test_points_outside_the_image_are_ignored_with_a_message(segmented):
    dock, _ = segmented
    points = dock.points.new_layer()
    points.add([-50, -50])
    assert "outside the image" in dock.status.value
    assert not layer(dock.viewer, "selection").data.any()
