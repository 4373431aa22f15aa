"""Accept and undo: selections become objects of an annotation layer."""

import numpy as np

from .conftest import inner_point, layer, wait_idle


def test_accept_paints_a_new_id_and_undo_restores(segmented):
    dock, _ = segmented
    result = dock.controller.current_result()
    points = dock.points.new_layer()
    points.add(list(inner_point(result, 0)))
    dock.annotations.accept_selection()
    annotations = layer(dock.viewer, "annotation")
    assert annotations is not None and dock.annotations.target.value == annotations.name
    assert annotations.data.max() == 1
    dock.annotations.undo_accept()
    assert not annotations.data.any()
    dock.annotations.undo_accept()
    assert dock.status.value == "nothing to undo"


def test_annotation_layer_of_another_shape_is_refused(segmented):
    dock, _ = segmented
    result = dock.controller.current_result()
    dock.points.new_layer().add(list(inner_point(result, 0)))
    dock.viewer.add_labels(np.zeros((5, 5), np.int32), name="tiny")
    dock.annotations.target.value = "tiny"
    dock.annotations.accept_selection()
    assert "choose another annotation layer" in dock.status.value


def disjoint_objects(result, n):
    """``n`` objects whose masks do not overlap, largest first."""
    chosen, taken = [], np.zeros(result.shape, bool)
    for obj in np.argsort(-result.areas):
        if not (result.masks[obj] & taken).any():
            chosen.append(int(obj))
            taken |= result.masks[obj]
    assert len(chosen) >= n, "the demo scene has fewer separate objects than the test needs"
    return chosen[:n]


def select_object(dock, points, obj):
    """Replace the point prompts by one foreground point inside object ``obj``."""
    points.data = np.array([inner_point(dock.controller.current_result(), obj)], float)


def test_three_accepts_give_three_ids_and_undo_restores_exactly_the_state_before_the_last(segmented):
    dock, _ = segmented
    result = dock.controller.current_result()
    objs = disjoint_objects(result, 3)
    points = dock.points.new_layer()
    states = []
    for obj in objs:
        select_object(dock, points, obj)
        target = layer(dock.viewer, "annotation")
        states.append(None if target is None else target.data.copy())
        dock.annotations.accept_selection()
    annotations = layer(dock.viewer, "annotation").data
    assert set(np.unique(annotations)) == {0, 1, 2, 3}  # three objects, three ids: none overwritten
    assert dock.status.value.startswith("accepted as object 3")
    dock.annotations.undo_accept()
    np.testing.assert_array_equal(layer(dock.viewer, "annotation").data, states[2])
    assert set(np.unique(states[2])) == {0, 1, 2}


def test_existing_objects_are_kept_unless_replace_is_ticked(segmented):
    dock, _ = segmented
    points = dock.points.new_layer()
    select_object(dock, points, 0)
    dock.annotations.accept_selection()
    first = layer(dock.viewer, "annotation").data.copy()
    dock.annotations.accept_selection()  # the same object again
    assert dock.status.is_error and "already annotated" in dock.status.value
    np.testing.assert_array_equal(layer(dock.viewer, "annotation").data, first)
    dock.annotations.replace.value = True
    dock.annotations.accept_selection()
    after = layer(dock.viewer, "annotation").data
    assert set(np.unique(after)) == {0, 2} and ((after == 2) == (first == 1)).all()


def test_top_k_text_matches_are_accepted_as_separate_objects(segmented, qtbot):
    dock, _ = segmented
    dock.text.query.value = "a shape"
    dock.text.top_k.value = 3
    dock.text.min_similarity.value = -1.0
    dock.text.run()
    wait_idle(qtbot, dock)
    shown = np.unique(layer(dock.viewer, "selection").data)
    dock.annotations.accept_selection()
    accepted = np.unique(layer(dock.viewer, "annotation").data)
    assert len(shown) == len(accepted) >= 3  # every match its own id (plus background 0)


def _iou(a, b):
    return (a & b).sum() / max(1, (a | b).sum())


def test_accept_takes_the_prompt_layer_the_user_touched_last(segmented):
    dock, _ = segmented
    viewer = dock.viewer
    result = dock.controller.current_result()
    by_point, by_box = disjoint_objects(result, 2)
    points = dock.points.new_layer()
    points.add(list(inner_point(result, by_point)))
    shapes = dock.boxes.new_layer()  # now the box layer is active
    x0, y0, x1, y1 = result.pixel_boxes[by_box]
    shapes.add_rectangles(np.array([[y0, x0], [y1 - 1, x1 - 1]]))
    assert _iou(layer(viewer, "selection").data > 0, result.masks[by_box]) > 0.9
    viewer.layers.selection.active = points  # the user clicks the points layer in the layer list
    assert _iou(layer(viewer, "selection").data > 0, result.masks[by_point]) > 0.9
    dock.annotations.accept_selection()
    accepted = layer(viewer, "annotation").data
    assert _iou(accepted == 1, result.masks[by_point]) > 0.9 and accepted.max() == 1
    viewer.layers.selection.active = shapes  # and back to the boxes: Accept takes the box's object
    dock.annotations.accept_selection()
    assert _iou(layer(viewer, "annotation").data == 2, result.masks[by_box]) > 0.9
    assert [p.kind for p in dock.controller.selection_prompts] == ["box"]


def test_each_point_mode_accepts_one_object_per_point(segmented):
    from fastsam_plugin.napari.point_prompts import EACH

    dock, _ = segmented
    result = dock.controller.current_result()
    a, b = disjoint_objects(result, 2)
    dock.points.mode.value = EACH
    points = dock.points.new_layer()
    points.add(list(inner_point(result, a)))
    points.add(list(inner_point(result, b)))
    dock.annotations.accept_selection()
    accepted = layer(dock.viewer, "annotation").data
    assert set(np.unique(accepted)) == {0, 1, 2}
    assert _iou(accepted == 1, result.masks[a]) > 0.9 and _iou(accepted == 2, result.masks[b]) > 0.9
    assert "accepted as objects 1, 2" in dock.status.value
