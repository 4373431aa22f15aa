"""Point prompts: clicks in the Points layer select objects without a model run."""

import numpy as np

from fastsam_plugin.napari.point_prompts import POSITIVE

from .conftest import above, click, inner_point, layer


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


def test_a_point_outside_the_image_is_an_error_as_in_the_api_and_cli(segmented):
    dock, _ = segmented
    result = dock.controller.current_result()
    points = dock.points.new_layer()
    points.add(list(inner_point(result, 0)))
    assert layer(dock.viewer, "selection").data.any()
    points.add([-50, -50])  # the engine's rule: never silently dropped
    assert "outside the image" in dock.status.value and "Move or delete that point" in dock.status.value
    assert not layer(dock.viewer, "selection").data.any()


def test_clicks_keep_the_points_layer_active_and_above_the_results(segmented):
    dock, _ = segmented
    viewer = dock.viewer
    result = dock.controller.current_result()
    first, second = np.argsort(-result.areas)[:2]
    points = dock.points.new_layer()
    click(viewer, *inner_point(result, first))
    assert viewer.layers.selection.active is points  # the new selection layer did not take the focus
    selection = layer(viewer, "selection")
    assert above(viewer, points, selection) and above(viewer, points, layer(viewer, "everything"))
    click(viewer, *inner_point(result, second))  # the second click lands in the Points layer too
    assert len(points.data) == 2 and viewer.layers.selection.active is points
    picked = selection.data > 0
    for obj in (first, second):
        assert picked[result.masks[obj]].mean() > 0.9
    assert selection.contour > 0  # the selection is drawn as an outline
    assert layer(viewer, "everything").opacity < 0.5  # the other objects are dimmed


def test_prompts_stay_active_when_the_edge_map_is_added(segmented):
    dock, _ = segmented
    points = dock.points.new_layer()
    dock.everything.show_edges()
    assert dock.viewer.layers.selection.active is points
    assert above(dock.viewer, points, layer(dock.viewer, "edges"))
