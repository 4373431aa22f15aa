"""Fixtures for the per-widget tests: a real viewer with the FastSAM dock on the demo models."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from fastsam_plugin.napari.layers import owned
from fastsam_plugin.napari.sample_data import shapes_scene
from fastsam_plugin.napari.widget import FastSAMWidget


@pytest.fixture
def dock(make_napari_viewer, qtbot):
    """The FastSAM dock widget on a fresh viewer, set to the demo models on the CPU."""
    viewer = make_napari_viewer()
    w = FastSAMWidget(viewer)
    w.model.use_demo()
    w.model.device.value = "cpu"
    viewer.window.add_dock_widget(w, name="FastSAM")
    return w


@pytest.fixture
def segmented(dock, qtbot):
    """The dock after everything mode on the shapes sample; returns (dock, image layer)."""
    data, meta = shapes_scene()[0]
    image = dock.viewer.add_image(data, **meta)
    dock.controller.image.value = image
    dock.everything.run()
    wait_idle(qtbot, dock)
    assert dock.controller.current_result() is not None
    return dock, image


def wait_idle(qtbot, dock, timeout=120_000) -> None:
    qtbot.waitUntil(lambda: not dock.busy, timeout=timeout)


def layer(viewer, role):
    """The plugin's layer with ``role`` (None if absent)."""
    return next((ly for ly in viewer.layers if owned(ly, role)), None)


def inner_point(result, obj) -> tuple[int, int]:
    """(row, col) of a pixel inside object ``obj`` of a result."""
    x0, y0 = result.pixel_boxes[obj][:2]
    ys, xs = np.nonzero(result.crops[obj])
    k = len(ys) // 2
    return int(ys[k] + y0), int(xs[k] + x0)


@dataclass
class _MouseEvent:
    """The fields napari's layer mouse callbacks read (as in napari's own layer tests)."""

    type: str
    position: tuple
    is_dragging: bool = False
    modifiers: list = field(default_factory=list)
    pos: np.ndarray = field(default_factory=lambda: np.zeros(2))
    view_direction: list | None = None
    up_direction: list | None = None
    dims_displayed: list = field(default_factory=lambda: [0, 1])
    handled: bool = False


def _send(layer, kind, position, dragging=False) -> None:
    from napari.utils._proxies import ReadOnlyWrapper
    from napari.utils.interactions import mouse_move_callbacks, mouse_press_callbacks, mouse_release_callbacks

    handler = {"press": mouse_press_callbacks, "move": mouse_move_callbacks, "release": mouse_release_callbacks}[kind]
    event = ReadOnlyWrapper(_MouseEvent(f"mouse_{kind}", tuple(position), dragging), exceptions=("handled",))
    handler(layer, event)


def click(viewer, row, col) -> None:
    """A click at world (row, col), delivered like the canvas does: to the active layer."""
    active = viewer.layers.selection.active
    _send(active, "press", (row, col))
    _send(active, "release", (row, col))


def drag(viewer, start, end) -> None:
    """A press-drag-release from ``start`` to ``end`` (world row, col) in the active layer."""
    active = viewer.layers.selection.active
    _send(active, "press", start)
    _send(active, "move", end, dragging=True)
    _send(active, "release", end)


def above(viewer, upper, lower) -> bool:
    """Whether layer ``upper`` is drawn above ``lower``."""
    return viewer.layers.index(upper) > viewer.layers.index(lower)
