"""The dock as the Plugins menu opens it: a frame on screen at once, the full widget built in it a moment later."""

from __future__ import annotations

from fastsam_plugin.napari.dock import FastSAMDock
from fastsam_plugin.napari.widget import FastSAMWidget


def test_frame_builds_the_widget_on_its_own_after_napari_docked_it(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    frame = FastSAMDock(viewer)
    assert frame.widget is None  # napari gets the frame back before any panel is built
    viewer.window.add_dock_widget(frame, name="FastSAM")
    qtbot.waitUntil(lambda: frame.widget is not None, timeout=30_000)
    widget = frame.widget
    assert isinstance(widget, FastSAMWidget)
    assert widget.native.parent() is frame  # the panels (in their scroll area) sit in the docked frame
    assert frame.build() is widget  # built once
    probe = FastSAMDock(viewer)
    assert not hasattr(probe, "native") and probe.widget is None  # napari's probe for magicgui must not build it
    probe.deleteLater()


def test_a_script_can_use_the_frame_before_it_is_built(make_napari_viewer):
    viewer = make_napari_viewer()
    frame = FastSAMDock(viewer)
    image = viewer.add_image(__import__("numpy").zeros((16, 16), "uint8"))
    assert frame.controller.image.choices == (image,)  # reading a widget attribute builds the widget now
    assert isinstance(frame.widget, FastSAMWidget)


def test_the_widget_module_is_imported_off_the_gui_thread(make_napari_viewer, qtbot, monkeypatch):
    import threading

    from fastsam_plugin.napari import dock

    threads = []
    real = dock.import_module
    monkeypatch.setattr(dock, "import_module", lambda name: (threads.append(threading.current_thread()), real(name))[1])
    frame = FastSAMDock(make_napari_viewer())
    qtbot.waitUntil(lambda: frame.widget is not None, timeout=30_000)
    assert threads and threads[0] is not threading.main_thread()


def test_the_widget_is_built_a_part_per_step(make_napari_viewer):
    widget = FastSAMWidget(make_napari_viewer(), staged=True)
    assert len(widget) == 0 and not hasattr(widget, "everything")  # nothing built yet
    steps = 1
    while not widget.build_step():
        steps += 1
        assert steps < 50
    assert steps >= 5  # several event-loop turns, not one long one
    assert widget.everything.run_button.enabled and len(widget) == 12  # + the status line under the panels
    assert widget.build_step() and widget.finish() is widget  # complete: nothing more to do


def test_a_failed_import_is_one_line_in_the_frame(make_napari_viewer, qtbot, monkeypatch):
    from fastsam_plugin.napari import dock

    def broken(name):
        raise ImportError("No module named 'cv2'")

    monkeypatch.setattr(dock, "import_module", broken)
    frame = FastSAMDock(make_napari_viewer())
    qtbot.waitUntil(lambda: "could not load" in frame._loading.text(), timeout=10_000)
    assert frame.widget is None and "cv2" in frame._loading.text()
