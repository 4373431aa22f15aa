"""Accept and undo: selections become objects of an annotation layer."""

import numpy as np

from .conftest import inner_point, layer


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
