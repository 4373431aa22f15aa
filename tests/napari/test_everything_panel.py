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


def test_status_says_how_many_objects_were_found(segmented):
    dock, _ = segmented
    # (the microscopy panel may follow with its measurement line, which repeats the count)
    assert f"{len(dock.controller.current_result())} objects " in dock.status.value


def test_a_failed_run_leaves_no_layer_and_a_short_error_cleared_by_the_next_success(dock, qtbot):
    from fastsam_plugin.napari.sample_data import shapes_scene

    data, meta = shapes_scene()[0]
    dock.controller.image.value = dock.viewer.add_image(data, **meta)
    dock.model.weights.value = "FastSAM-x"  # not on this offline machine
    dock.everything.run()
    wait_idle(qtbot, dock)
    assert dock.status.is_error and "FastSAM-x.pt is not on this machine" in dock.status.value
    assert "\n" not in dock.status.line.value and len(dock.status.line.value) <= dock.status.MAX_CHARS
    assert layer(dock.viewer, "everything") is None
    dock.model.weights.value = "demo"
    dock.everything.run()
    wait_idle(qtbot, dock)
    assert not dock.status.is_error and f"{len(dock.controller.current_result())} objects " in dock.status.value


def test_editing_the_image_marks_results_stale_and_prompts_say_so(segmented, qtbot):
    dock, image = segmented
    objects = layer(dock.viewer, "everything")
    image.data = image.data[::-1].copy()
    assert objects.metadata["fastsam"]["stale"] and objects.name.endswith("(stale)")
    points = dock.points.new_layer()
    points.add([10, 10])
    assert dock.status.is_error and "stale" in dock.status.value
    dock.everything.run()
    wait_idle(qtbot, dock)
    assert not objects.metadata["fastsam"]["stale"] and not objects.name.endswith("(stale)")


def test_cancel_of_a_single_untiled_image_says_it_cannot_stop(dock, qtbot):
    from fastsam_plugin.napari.sample_data import shapes_scene

    data, meta = shapes_scene()[0]
    dock.controller.image.value = dock.viewer.add_image(data, **meta)
    dock.everything.run()
    dock.controller.cancel()
    assert "cannot be cancelled" in dock.status.value
    wait_idle(qtbot, dock)
    assert f"{len(dock.controller.current_result())} objects " in dock.status.value


def test_libraries_and_model_load_off_the_gui_thread(dock, qtbot, monkeypatch):
    import threading

    from fastsam_plugin.napari import everything_panel

    threads = []
    monkeypatch.setattr(everything_panel, "import_backends", lambda: threads.append(threading.current_thread()))
    from fastsam_plugin.napari.sample_data import shapes_scene

    data, meta = shapes_scene()[0]
    dock.controller.image.value = dock.viewer.add_image(data, **meta)
    dock.everything.run()
    assert dock.status.value.startswith("loading the FastSAM model")
    wait_idle(qtbot, dock)
    assert threads and threads[0] is not threading.main_thread()


def test_objects_layer_is_added_before_the_model_runs_and_removed_when_the_run_fails(dock, qtbot, monkeypatch):
    # napari's work for a new layer happens while the model waits, not together with the results
    from fastsam_plugin.engine.progress import Cancelled
    from fastsam_plugin.engine.session import Session
    from fastsam_plugin.napari.sample_data import shapes_scene

    data, meta = shapes_scene()[0]
    dock.controller.image.value = dock.viewer.add_image(data, **meta)
    seen = []

    def failing_segment(self, *args, **kwargs):
        seen.append(layer(dock.viewer, "everything"))
        raise Cancelled("stopped")

    import threading

    from fastsam_plugin.napari import everything_panel

    built_in, new_labels = [], everything_panel.new_labels
    monkeypatch.setattr(everything_panel, "new_labels",
                        lambda *a, **k: (built_in.append(threading.current_thread()), new_labels(*a, **k))[1])
    monkeypatch.setattr(Session, "segment", failing_segment)
    dock.everything.run()
    wait_idle(qtbot, dock)
    assert len(seen) == 1 and seen[0] is not None and not seen[0].data.any()
    assert built_in and built_in[0] is not threading.main_thread()  # the GUI thread only added it
    assert seen[0].name.endswith("FastSAM objects") and seen[0].opacity == 0.7
    assert seen[0].visible  # added hidden, shown in the next event-loop turn, before the model ran
    assert layer(dock.viewer, "everything") is None  # the run ended without objects: its empty layer is gone
    assert dock.status.value == "cancelled"


def test_objects_are_measured_off_the_gui_thread(dock, qtbot, monkeypatch):
    import threading

    from fastsam_plugin.engine.session import Session
    from fastsam_plugin.napari.sample_data import shapes_scene

    threads = []
    measure = Session.measure

    def recording(*args, **kwargs):
        threads.append(threading.current_thread())
        return measure(*args, **kwargs)

    monkeypatch.setattr(Session, "measure", staticmethod(recording))
    data, meta = shapes_scene()[0]
    dock.controller.image.value = dock.viewer.add_image(data, **meta)
    dock.everything.run()
    wait_idle(qtbot, dock)
    objects = layer(dock.viewer, "everything")
    assert len(threads) == 1 and threads[0] is not threading.main_thread()
    assert objects.features["label"].tolist() == np.unique(objects.data[objects.data > 0]).tolist()
