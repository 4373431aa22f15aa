"""keep_focus: the prompt layer stays active while the plugin adds layers, with or without napari's private flag."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from magicgui.widgets import ComboBox

from fastsam_plugin.napari.layer_book import LayerBook


@pytest.mark.parametrize("flag", ["napari's flag", "no flag"])
def test_added_layers_never_take_the_focus(make_napari_viewer, monkeypatch, flag):
    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((8, 8), np.uint8))
    prompts = viewer.add_points(name="prompts")
    book = LayerBook(viewer, ComboBox(choices=[image], value=image))
    layers = type(viewer.layers)
    if flag == "no flag":  # a napari whose flag cannot be set (a later one): the plain path gives the same result
        monkeypatch.setattr(layers, "_activate_on_insert", property(lambda self: True), raising=False)
    activated = []
    viewer.layers.selection.events.active.connect(lambda e: activated.append(e.value))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # napari's FutureWarning about private access never reaches the user
        with book.keep_focus():
            with book.keep_focus():  # nested blocks, as when the objects layer is added inside a run
                viewer.add_labels(np.zeros((8, 8), np.int32))
            viewer.add_labels(np.zeros((8, 8), np.int32))
    assert viewer.layers.selection.active is prompts
    if flag == "napari's flag":
        assert activated == []  # no swap of the layer controls at all
        assert viewer.layers._activate_on_insert is True  # restored as it was
