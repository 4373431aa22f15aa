"""The dock widget under a real napari viewer (Xvfb), with the bundled demo models."""

from __future__ import annotations

import numpy as np
import pytest

from fastsam_plugin.napari.layers import owned
from fastsam_plugin.napari.point_prompts import POSITIVE
from fastsam_plugin.napari.sample_data import nuclei_stack, shapes_scene
from fastsam_plugin.napari.widget import FastSAMWidget
from fastsam_plugin.training.synthetic import make_scene


@pytest.fixture
def widget(dock):
    """The dock of ``conftest.dock`` (demo models, CPU) under the name these tests use."""
    return dock


def wait(qtbot, widget, timeout=120_000):
    qtbot.waitUntil(lambda: not widget.busy, timeout=timeout)


def add_scene(viewer, seed=2026):
    data, meta = shapes_scene()[0] if seed == 2026 else (make_scene(seed).image, {"rgb": True})
    return viewer.add_image(data, **meta)


def segmented_scene(widget, qtbot):
    """Add the demo scene, run everything mode on it and wait; return the image layer."""
    image = add_scene(widget.viewer)
    widget.controller.image.value = image
    widget.everything.run()
    wait(qtbot, widget)
    return image


def test_segment_everything_adds_one_labels_layer_with_objects(widget, qtbot):
    image = segmented_scene(widget, qtbot)
    objects = [ly for ly in widget.viewer.layers if owned(ly, "everything")]
    assert len(objects) == 1
    assert objects[0].data.shape == image.data.shape[:2]
    assert objects[0].data.max() >= 3
    assert widget.controller.current_result() is not None


def test_points_update_the_selection_without_a_model_run(widget, qtbot):
    segmented_scene(widget, qtbot)
    result = widget.controller.current_result()
    segmenter = widget.controller.session().segmenter
    calls_before = segmenter.model.predictor.seen if segmenter.model.predictor else 0
    obj = int(np.argmax(result.areas))
    x0, y0 = result.pixel_boxes[obj][:2]
    ys, xs = np.nonzero(result.crops[obj])
    row, col = ys[len(ys) // 2] + y0, xs[len(xs) // 2] + x0
    points = widget.points.new_layer()
    points.add([row, col])
    selection = next(ly for ly in widget.viewer.layers if owned(ly, "selection"))
    assert selection.data[row, col] == 1
    assert selection.data.sum() > 50
    # a background point on the same object clears it; polarity lives in the point feature
    widget.points.background.value = True
    points.add([row, col])
    assert points.features[POSITIVE].tolist() == [True, False]
    assert selection.data[row, col] == 0
    assert widget.controller.session().segmenter.model.predictor.seen == calls_before


def test_boxes_and_accept_and_undo(widget, qtbot):
    image = segmented_scene(widget, qtbot)
    result = widget.controller.current_result()
    obj = int(np.argmax(result.areas))
    x0, y0, x1, y1 = result.pixel_boxes[obj]
    shapes = widget.boxes.new_layer()
    shapes.add_rectangles(np.array([[y0, x0], [y1 - 1, x1 - 1]]))
    selection = next(ly for ly in widget.viewer.layers if owned(ly, "selection"))
    picked = selection.data > 0
    iou = (picked & result.masks[obj]).sum() / (picked | result.masks[obj]).sum()
    assert iou > 0.9
    user_labels = widget.viewer.add_labels(np.zeros(image.data.shape[:2], np.int32), name="my labels")
    user_labels.data[0, 0] = 7
    widget.annotations.target.reset_choices()
    widget.annotations.target.value = "my labels"
    widget.annotations.accept_selection()
    assert (user_labels.data[picked] == 8).all() and user_labels.data[0, 0] == 7
    widget.annotations.undo_accept()
    assert user_labels.data.max() == 7 and user_labels.data[0, 0] == 7


def test_text_prompt_shows_scores(widget, qtbot):
    segmented_scene(widget, qtbot)
    widget.text.query.value = "a red circle"
    widget.text.top_k.value = 2
    widget.text.run()
    wait(qtbot, widget)
    assert len(widget.text.last_scores) == 2
    assert "matches:" in widget.status.value
    selection = next(ly for ly in widget.viewer.layers if owned(ly, "selection"))
    assert set(np.unique(selection.data)) <= {0, 1, 2} and selection.data.max() >= 1


def cached_slices(widget, image, depth):
    """The slices of ``image`` whose everything-mode result is in the session cache."""
    c = widget.controller
    return [z for z in range(depth) if c._session.cached(c.key(image, (z,))) is not None]


def test_stack_current_and_all_slices(widget, qtbot):
    data, meta = nuclei_stack()[0]
    image = widget.viewer.add_image(data, **meta)
    widget.controller.image.value = image
    widget.viewer.dims.set_current_step(0, 2)
    widget.everything.run()
    wait(qtbot, widget)
    labels = next(ly for ly in widget.viewer.layers if owned(ly, "everything"))
    assert labels.data.shape == data.shape
    assert cached_slices(widget, image, len(data)) == [2]  # the run happened, on the displayed slice only
    filled = [z for z in range(len(data)) if labels.data[z].any()]
    assert filled == ([2] if len(widget.controller.current_result()) else [])
    widget.everything.all_slices.value = True
    widget.everything.run()
    wait(qtbot, widget)
    assert labels is next(ly for ly in widget.viewer.layers if owned(ly, "everything"))
    assert cached_slices(widget, image, len(data)) == list(range(len(data)))
    session = widget.controller._session
    found = [z for z in range(len(data)) if len(session.cached(widget.controller.key(image, (z,))))]
    assert found and [z for z in range(len(data)) if labels.data[z].any()] == found


def test_cancel_stops_a_stack_run(widget, qtbot):
    data, meta = nuclei_stack()[0]
    image = widget.viewer.add_image(np.concatenate([data] * 4), **meta)
    widget.controller.image.value = image
    widget.everything.all_slices.value = True
    widget.everything.run()
    assert widget.busy  # the run started
    widget.controller.cancel()
    wait(qtbot, widget)
    assert widget.status.value == "cancelled"
    assert len(cached_slices(widget, image, len(image.data))) < len(image.data)


def test_bad_states_show_messages_not_tracebacks(widget, qtbot):
    widget.everything.run()  # no image layer
    assert "image layer" in widget.status.value
    image = add_scene(widget.viewer)
    widget.controller.image.value = image
    widget.text.run()  # before segmentation
    assert "Segment everything" in widget.status.value
    widget.annotations.accept_selection()
    assert "Nothing selected" in widget.status.value
    widget.model.weights.value = "FastSAM-x"  # not on this offline machine
    widget.everything.run()
    wait(qtbot, widget)
    assert "FastSAM-x.pt is not on this machine" in widget.status.value


def test_user_layers_are_never_overwritten(widget, qtbot):
    image = add_scene(widget.viewer)
    decoy = widget.viewer.add_labels(np.full(image.data.shape[:2], 5, np.int32), name=f"{image.name} FastSAM objects")
    widget.controller.image.value = image
    widget.everything.run()
    wait(qtbot, widget)
    assert (decoy.data == 5).all() and decoy in widget.viewer.layers
    assert sum(owned(ly, "everything") for ly in widget.viewer.layers) == 1


def test_image_edit_invalidates_the_cached_result(widget, qtbot):
    image = segmented_scene(widget, qtbot)
    assert widget.controller.current_result() is not None
    image.data = image.data[::-1].copy()
    assert widget.controller.current_result() is None


def test_edge_map_layer(widget, qtbot):
    image = add_scene(widget.viewer)
    widget.controller.image.value = image
    widget.everything.show_edges()
    assert "Segment everything" in widget.status.value
    widget.everything.run()
    wait(qtbot, widget)
    widget.everything.show_edges()
    edges = next(ly for ly in widget.viewer.layers if owned(ly, "edges"))
    assert edges.data.shape == image.data.shape[:2] and edges.data.max() == 1.0


def test_images_opened_before_the_widget_are_watched(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    image = add_scene(viewer)
    w = FastSAMWidget(viewer)
    w.model.use_demo()
    w.model.device.value = "cpu"
    w.controller.image.value = image
    w.everything.run()
    wait(qtbot, w)
    assert w.controller.current_result() is not None
    image.data = image.data[:, ::-1].copy()
    assert w.controller.current_result() is None
