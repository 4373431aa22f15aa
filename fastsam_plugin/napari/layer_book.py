"""The layers the widgets add for one chosen image: focus, order, stale marks, the selection layer.

Rules a napari user relies on while prompting: the prompt layer (Points or
Shapes) stays the active layer and is drawn above every result layer, so the
next click lands in it; results computed from older image data say so in their
name; the selection is drawn as an outline over dimmed objects.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

from .layers import KEY, ensure_labels, find_owned, layer_uid, owned, spatial_geometry

RESULT_ROLES = ("everything", "selection", "edges", "proposals")  # layers computed from the image data
PROMPT_ROLES = ("points", "boxes")
STALE = " (stale)"
DIMMED, NORMAL = 0.35, 0.7  # opacity of the objects layer with and without a selection


def _set_activate_on_insert(layers, value: bool) -> bool | None:
    """Set whether napari makes each added layer active; return the previous value (None: not supported).

    napari makes each added layer active, and ``keep_focus`` would make the old
    one active again: two swaps of the layer controls on the GUI thread for
    nothing (0.02-0.03 s per added layer here). napari 0.5.6 to 0.9 skip the
    first when ``LayerList._activate_on_insert`` is False; there is no public
    way. napari 0.9 warns about private access from plugins (FutureWarning,
    "no earlier than 0.10"); when the attribute is gone, both swaps happen,
    with the same result.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        try:
            before = layers._activate_on_insert
            layers._activate_on_insert = value
        except Exception:  # noqa: BLE001 - gone or changed in a later napari: the plain path works too
            return None
    return before


class LayerBook:
    """Find, order and mark the plugin's layers of the image chosen in ``image`` (a ComboBox of layers)."""

    def __init__(self, viewer, image) -> None:
        self.viewer, self.image = viewer, image

    def owned_layer(self, role: str):
        """The plugin's layer with ``role`` for the chosen image, if any."""
        layer = self.image.value
        return None if layer is None else find_owned(self.viewer, role, layer_uid(layer))

    @contextmanager
    def keep_focus(self):
        """Keep the active layer active, and prompt layers on top, while the plugin adds layers."""
        layers = self.viewer.layers
        active = layers.selection.active
        before = _set_activate_on_insert(layers, False) if active is not None else None
        try:
            yield
        finally:
            if before is not None:
                _set_activate_on_insert(layers, before)  # as it was: blocks may nest
            self.raise_prompts()
            if active is not None and active in layers:
                layers.selection.active = active

    def raise_prompts(self) -> None:
        """Move the plugin's prompt layers above its result layers (prompts stay visible and clickable)."""
        layers = self.viewer.layers
        for layer in [ly for ly in layers if any(owned(ly, r) for r in PROMPT_ROLES)]:
            layers.move(layers.index(layer), len(layers))

    def mark_stale(self, image, stale: bool = True, roles: tuple[str, ...] = RESULT_ROLES) -> None:
        """Mark (or unmark) result layers of ``image`` as computed from older image data (name and metadata)."""
        source = layer_uid(image)
        for layer in [ly for ly in self.viewer.layers if any(owned(ly, r, source) for r in roles)]:
            info = layer.metadata[KEY]
            if info.get("stale", False) != stale:
                info["stale"] = stale
                layer.name = layer.name + STALE if stale else layer.name.removesuffix(STALE)

    def is_stale(self, role: str) -> bool:
        """Whether the chosen image's layer with ``role`` is marked stale."""
        layer = self.owned_layer(role)
        return layer is not None and bool(layer.metadata[KEY].get("stale"))

    def ensure_prompt_layer(self, role: str, add_layer, mode: str, on_change: Callable[[], None]):
        """The prompt layer for ``role`` on the chosen image (made by ``add_layer(image, meta)``), active, in ``mode``."""
        image = self.image.value
        layer = self.owned_layer(role)
        if layer is None:  # added as it is: a hidden layer cannot take the prompt mode (napari resets it)
            meta = {"metadata": {KEY: {"role": role, "source": layer_uid(image)}}, **spatial_geometry(image)}
            layer = add_layer(image, meta)
            layer.events.data.connect(lambda e=None: on_change())
        self.raise_prompts()
        layer.mode = mode
        self.viewer.layers.selection.active = layer
        return layer

    def write_selection(self, image, index: tuple[int, ...], selection: np.ndarray) -> None:
        """Write a (H, W) int32 selection into the selection layer at the displayed slice, as an outline."""
        with self.keep_focus():
            layer = ensure_labels(self.viewer, "selection", image, f"{image.name} FastSAM selection", opacity=1.0)
        layer.contour = 2  # an outline: the object under it and the prompts stay visible
        layer.data[index if index else ...] = selection
        layer.refresh()
        self.mark_stale(image, False, ("selection",))
        objects = self.owned_layer("everything")
        if objects is not None:  # dim the other objects while something is selected
            objects.opacity = DIMMED if selection.any() else NORMAL
