"""Point prompts: clicks in the Points layer select objects without a model run."""

import numpy as np

from fastsam_plugin.napari.point_prompts import EACH, POSITIVE

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


def test_a_click_outside_the_image_drops_only_that_point_with_a_note(segmented, qtbot):
    dock, _ = segmented
    result = dock.controller.current_result()
    points = dock.points.new_layer()
    points.add(list(inner_point(result, 0)))
    before = layer(dock.viewer, "selection").data.copy()
    assert before.any()
    points.add([-50, -50])
    qtbot.waitUntil(lambda: len(points.data) == 1, timeout=10_000)  # only the outside point is gone
    assert np.array_equal(points.data[0], inner_point(result, 0)) and points.features[POSITIVE].tolist() == [True]
    assert np.array_equal(layer(dock.viewer, "selection").data, before)  # the selection is kept
    assert "dropped 1 point(s) outside the image" in dock.status.value and not dock.status.is_error
    assert "\n" not in dock.status.value


def _two_separate_objects(result):
    """Two objects whose masks do not touch and that no third object covers together."""
    order = np.argsort(-result.areas)
    masks = result.masks
    for a in order:
        for b in order:
            if a < b and not (masks[a] & masks[b]).any():
                both = masks[:, masks[a]].any(axis=1) & masks[:, masks[b]].any(axis=1)
                if not both.any():
                    return int(a), int(b)
    raise AssertionError("the sample has no two separate objects")


def test_each_positive_point_can_be_its_own_object(segmented):
    dock, _ = segmented
    result = dock.controller.current_result()
    a, b = _two_separate_objects(result)
    points = dock.points.new_layer()
    points.add(list(inner_point(result, a)))
    points.add(list(inner_point(result, b)))
    merged = layer(dock.viewer, "selection").data
    assert set(np.unique(merged)) == {0, 1}  # FastSAM's rule: one object
    dock.points.mode.value = EACH
    objects = layer(dock.viewer, "selection").data
    assert set(np.unique(objects)) == {0, 1, 2}
    for obj, mask in ((1, result.masks[a]), (2, result.masks[b])):
        iou = ((objects == obj) & mask).sum() / ((objects == obj) | mask).sum()
        assert iou > 0.9
    assert "2 foreground point(s): 2 object(s)" in dock.status.value
    assert [p.id for p in dock.controller.selection_prompts] == [1, 2]
    dock.points.background.value = True  # a background point on object b removes only that object
    points.add(list(inner_point(result, b)))
    objects = layer(dock.viewer, "selection").data
    assert set(np.unique(objects)) == {0, 1} and "no object under the point" in dock.status.value


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
