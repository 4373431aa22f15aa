"""Fixtures for the per-widget tests: a real viewer with the FastSAM dock on the demo models."""

from __future__ import annotations

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
