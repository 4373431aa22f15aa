"""The dock in a real window: it scrolls instead of growing past the screen, and no row is cut on the right."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication, QScrollArea

from fastsam_plugin.napari.sample_data import shapes_scene
from fastsam_plugin.napari.widget import FastSAMWidget


def settle(qtbot) -> None:
    for _ in range(5):
        QApplication.processEvents()
        qtbot.wait(20)


def test_dock_scrolls_and_no_row_is_cut(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.resize(1200, 700)  # a laptop screen: the panels are taller than the dock
    widget = FastSAMWidget(viewer)
    dock = viewer.window.add_dock_widget(widget, name="FastSAM", area="right")
    data, meta = shapes_scene()[0]
    widget.controller.image.value = viewer.add_image(data, **meta)  # shows the band preview
    widget.model.more.value = True  # unfolds the rarely used rows
    settle(qtbot)

    scroll = widget.scroll
    assert isinstance(scroll, QScrollArea) and widget.native.parent() is dock  # napari docked panels + status
    assert scroll.geometry().top() == 0  # the panels start at the top of the dock (no empty band above)
    # the status line sits under the scrolling panels: visible however far they are scrolled
    status = widget.status.native
    scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())
    settle(qtbot)
    assert status.isVisible() and status.geometry().top() >= scroll.geometry().bottom()
    assert status.geometry().bottom() <= widget.native.height()
    assert window.height() <= 700  # the window was not stretched to the panels' height
    assert scroll.verticalScrollBar().maximum() > 0  # the panels scroll instead

    for width in (1000, 10):  # a wide dock, then the user drags it as narrow as it goes
        window.resizeDocks([dock], [width], Qt.Orientation.Horizontal)
        settle(qtbot)
        content = scroll.widget()
        assert content.minimumSizeHint().width() <= scroll.viewport().width()  # every row fits
        assert content.width() <= scroll.viewport().width()  # and none reaches past the visible edge
