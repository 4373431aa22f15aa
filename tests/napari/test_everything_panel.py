"""Everything mode: objects layer, box proposals, edge map."""

import numpy as np

from .conftest import layer, wait_idle


def test_run_fills_one_objects_layer_with_the_result(segmented):
    dock, image = segmented
    result = dock.controller.current_result()
    objects = layer(dock.viewer, "everything")
    assert objects.data.shape == image.data.shape[:2]
    assert len(np.unique(objects.data)) - 1 == len(result) >= 3


def test_proposals_layer_holds_one_box_per_object(dock, qtbot):
    from fastsam_plugin.napari.sample_data import shapes_scene

    data, meta = shapes_scene()[0]
    dock.controller.image.value = dock.viewer.add_image(data, **meta)
    dock.everything.show_boxes.value = True
    dock.everything.run()
    wait_idle(qtbot, dock)
    result = dock.controller.current_result()
    boxes = layer(dock.viewer, "proposals")
    assert len(boxes.data) == len(result)
    np.testing.assert_allclose(boxes.features["score"], result.scores)


def test_edge_map_marks_object_borders_only(segmented):
    dock, _ = segmented
    dock.everything.show_edges()
    edges = layer(dock.viewer, "edges").data
    objects = layer(dock.viewer, "everything").data
    assert edges.max() == 1.0
    assert (objects[edges > 0] > 0).mean() > 0.5  # boundaries lie on objects, not in the background
