"""Box prompts: each rectangle selects the object that fits it best."""

import numpy as np

from .conftest import layer


def test_rectangle_around_an_object_selects_it(segmented):
    dock, _ = segmented
    result = dock.controller.current_result()
    obj = int(np.argmax(result.areas))
    x0, y0, x1, y1 = result.pixel_boxes[obj]
    shapes = dock.boxes.new_layer()
    assert shapes.mode == "add_rectangle"
    shapes.add_rectangles(np.array([[y0, x0], [y1 - 1, x1 - 1]]))
    picked = layer(dock.viewer, "selection").data > 0
    iou = (picked & result.masks[obj]).sum() / (picked | result.masks[obj]).sum()
    assert iou > 0.9


def test_box_corners_become_pixel_edge_boxes(segmented):
    dock, _ = segmented
    shapes = dock.boxes.new_layer()
    shapes.add_rectangles(np.array([[10, 20], [30, 60]]))
    np.testing.assert_allclose(dock.boxes.boxes(shapes, (), 0), [[20.5, 10.5, 60.5, 30.5]])
