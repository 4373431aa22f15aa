"""Box prompts: each rectangle selects the object that fits it best."""

import numpy as np

from fastsam_plugin.napari.box_prompts import EVERY

from .conftest import above, drag, layer


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


def test_drawn_box_shows_its_iou_and_keeps_focus(segmented):
    dock, _ = segmented
    viewer = dock.viewer
    result = dock.controller.current_result()
    obj = int(np.argmax(result.areas))
    x0, y0, x1, y1 = result.pixel_boxes[obj]
    shapes = dock.boxes.new_layer()
    drag(viewer, (y0, x0), (y1 - 1, x1 - 1))
    assert len(shapes.data) == 1
    assert viewer.layers.selection.active is shapes and above(viewer, shapes, layer(viewer, "selection"))
    assert dock.boxes.last_ious[0] >= dock.boxes.min_iou.value
    assert f"box 1: IoU {dock.boxes.last_ious[0]:.2f}" in dock.status.value and not dock.status.is_error


def test_box_on_background_selects_nothing_and_says_why(segmented):
    dock, _ = segmented
    result = dock.controller.current_result()
    free = result.labels() == 0
    rows, cols = np.nonzero(free[:-12, :-12] & free[12:, 12:] & free[:-12, 12:] & free[12:, :-12])
    row, col = int(rows[0]), int(cols[0])  # a 12-pixel box whose corners are all background
    shapes = dock.boxes.new_layer()
    shapes.add_rectangles(np.array([[row, col], [row + 11, col + 11]]))
    assert dock.boxes.last_ious[0] < dock.boxes.min_iou.value
    assert not layer(dock.viewer, "selection").data.any()
    assert dock.status.is_error and "no object fits this box: best overlap" in dock.status.line.value


def test_every_object_inside_a_box_gets_its_own_id(segmented):
    dock, _ = segmented
    result = dock.controller.current_result()
    order = [int(i) for i in np.argsort(-result.areas)[:6]]
    boxes = result.pixel_boxes
    # a box around the two largest objects that do not overlap
    a, b = next((i, j) for i in order for j in order if i < j and not (result.masks[i] & result.masks[j]).any())
    x0, y0 = min(boxes[a][0], boxes[b][0]), min(boxes[a][1], boxes[b][1])
    x1, y1 = max(boxes[a][2], boxes[b][2]), max(boxes[a][3], boxes[b][3])
    shapes = dock.boxes.new_layer()
    dock.boxes.mode.value = EVERY
    assert not dock.boxes.min_iou.enabled
    shapes.add_rectangles(np.array([[y0, x0], [y1 - 1, x1 - 1]]))
    picked = layer(dock.viewer, "selection").data
    ids = [int(v) for v in np.unique(picked) if v]
    assert len(ids) >= 2 and "object(s) inside" in dock.status.value and not dock.status.is_error
    for obj in (a, b):  # each of the two is one whole object of the selection
        under = np.bincount(picked[result.masks[obj]])
        best = int(np.argmax(under))
        assert best > 0 and ((picked == best) & result.masks[obj]).sum() / ((picked == best) | result.masks[obj]).sum() > 0.9
    assert len(dock.controller.selection_prompts) == len(ids)
    dock.boxes.mode.value = "best match"  # the same box, FastSAM's rule: one object
    assert len([v for v in np.unique(layer(dock.viewer, "selection").data) if v]) == 1
