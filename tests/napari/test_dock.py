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
