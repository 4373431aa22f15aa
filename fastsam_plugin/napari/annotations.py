"""Accept the current selection into an annotation Labels layer, and undo accepts."""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, Container, PushButton
from napari.layers import Labels

from .controller import Controller
from .layers import ensure_labels, owned, spatial_shape

NEW_ANNOTATION = "new layer"


class AnnotationPanel(Container):
    """**Accept selection** into the chosen annotation layer; **Undo accept** restores the pixels."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.target = ComboBox(label="annotations", choices=self._choices)
        self.accept = PushButton(text="Accept selection")
        self.undo = PushButton(text="Undo accept")
        super().__init__(widgets=[self.target, self.accept, self.undo])
        self._undo: list[tuple[Labels, tuple, tuple, np.ndarray]] = []  # layer, slice, pixels, previous values
        self.accept.changed.connect(self.accept_selection)
        self.undo.changed.connect(self.undo_accept)
        viewer = controller.viewer
        viewer.layers.events.inserted.connect(lambda e=None: self.target.reset_choices())
        viewer.layers.events.removed.connect(lambda e=None: self.target.reset_choices())

    def _choices(self, _=None) -> list[str]:
        layers = self.controller.viewer.layers
        return [NEW_ANNOTATION] + [
            ly.name for ly in layers if isinstance(ly, Labels) and (not owned(ly) or owned(ly, "annotation"))
        ]

    def accept_selection(self, _=None) -> None:
        """Add the current selection as one new object id to the annotation layer."""
        c = self.controller
        image = c.image.value
        selection_layer = c.owned_layer("selection")
        if image is None or selection_layer is None:
            c.error("Nothing selected yet: add point, box or text prompts first.")
            return
        index = c.slice_index(image)
        selected = np.asarray(selection_layer.data[index] if index else selection_layer.data) > 0
        if not selected.any():
            c.error("The selection is empty: nothing to accept.")
            return
        target = self._target_layer(image)
        if target is None:
            return
        plane = target.data[index] if index else target.data
        new_id = int(np.max(target.data)) + 1
        where = np.nonzero(selected)
        self._undo.append((target, index, where, plane[where].copy()))
        plane[where] = new_id
        target.refresh()
        c.status.show(f"accepted as object {new_id} in '{target.name}'")

    def _target_layer(self, image):
        c = self.controller
        choice = self.target.value
        if choice != NEW_ANNOTATION:
            layer = c.viewer.layers[choice]
            if layer.data.shape != spatial_shape(image):
                c.error(f"'{layer.name}' has shape {layer.data.shape}, the image {spatial_shape(image)}: "
                        "choose another annotation layer or 'new layer'.")
                return None
            return layer
        layer = ensure_labels(c.viewer, "annotation", image, f"{image.name} annotations")
        self.target.reset_choices()
        self.target.value = layer.name
        return layer

    def undo_accept(self, _=None) -> None:
        """Undo the last accept (restores the previous pixels)."""
        if not self._undo:
            self.controller.status.show("nothing to undo")
            return
        layer, index, where, previous = self._undo.pop()
        plane = layer.data[index] if index else layer.data
        plane[where] = previous
        layer.refresh()
        self.controller.status.show(f"undid the last accept in '{layer.name}'")
