"""Accept the current selection into an annotation Labels layer, and undo accepts."""

from __future__ import annotations

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, PushButton
from napari.layers import Labels

from .controller import Controller
from .layers import ensure_labels, owned, spatial_shape
from .provenance import forget_last, record_accept

NEW_ANNOTATION = "new layer"


class AnnotationPanel(Container):
    """**Accept selection** into the chosen annotation layer; **Undo accept** restores the pixels."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.target = ComboBox(label="annotations", choices=self._choices)
        self.accept = PushButton(text="Accept selection")
        self.replace = CheckBox(text="replace existing objects", value=False)
        self.undo = PushButton(text="Undo accept")
        super().__init__(widgets=[self.target, self.replace, self.accept, self.undo])
        self._undo: list[tuple[Labels, tuple, tuple, np.ndarray]] = []  # layer, slice, pixels, previous values
        self._recorded: list[int] = []  # objects each accept added to its layer's prompt record
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
        """Add each object of the current selection as a new id to the annotation layer.

        Every selection id (one per box, per text match, or the union of the
        points) becomes its own new object, numbered after the layer's highest
        id. Pixels that already hold an object are kept unless **replace** is
        ticked. One undo step per accept.
        """
        c = self.controller
        image = c.image.value
        selection_layer = c.owned_layer("selection")
        if image is None or selection_layer is None:
            c.error("Nothing selected yet: add point, box or text prompts first.")
            return
        index = c.slice_index(image)
        selection = np.asarray(selection_layer.data[index] if index else selection_layer.data)
        if not selection.any():
            c.error("The selection is empty: nothing to accept.")
            return
        target = self._target_layer(image)
        if target is None:
            return
        plane = target.data[index] if index else target.data
        free = np.ones(plane.shape, bool) if self.replace.value else plane == 0
        new = np.zeros(plane.shape, target.data.dtype)
        next_id, ids, made = int(np.max(target.data)) + 1, [], {}
        for sid in np.unique(selection[selection > 0]):
            region = (selection == sid) & free & (new == 0)
            if region.any():
                new[region] = next_id
                ids.append(next_id)
                made[int(sid)] = next_id  # selection id -> new object id, for the prompt record
                next_id += 1
        if not ids:
            c.error("The selection is already annotated: tick 'replace' to overwrite those objects.")
            return
        where = np.nonzero(new)
        self._undo.append((target, index, where, plane[where].copy()))
        plane[where] = new[where]
        target.refresh()
        self._recorded.append(record_accept(target, c.session(), image, made, c.selection_prompts))
        kept = int(((selection > 0) & ~free).sum())
        c.status.show(f"accepted as object{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))} in "
                      f"'{target.name}'" + (f" ({kept} pixels of earlier objects kept)" if kept else ""))

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
        with c.book.keep_focus():
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
        recorded = self._recorded.pop()
        if layer not in self.controller.viewer.layers:
            self.controller.error(f"'{layer.name}' was removed: its accept cannot be undone.")
            return
        plane = layer.data[index] if index else layer.data
        plane[where] = previous
        layer.refresh()
        forget_last(layer, recorded)
        self.controller.status.show(f"undid the last accept in '{layer.name}'")
