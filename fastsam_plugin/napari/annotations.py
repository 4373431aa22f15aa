"""Accept the current selection into an annotation Labels layer, and undo accepts.

The selection is the one of the prompt layer the user touched last: drawing
in a Points or Shapes layer updates it, and so does making one of them the
active layer (clicking it in the layer list), so **Accept** never takes the
prompts of a layer the user has moved away from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, PushButton
from napari.layers import Labels

from .controller import Controller
from .label_edits import PixelChange, UndoHistory
from .layer_book import PROMPT_ROLES
from .layers import ensure_labels, owned, spatial_shape
from .provenance import forget_last, record_accept

NEW_ANNOTATION = "new layer"


@dataclass
class AcceptStep:
    """One accept: the pixels it painted and how many objects it added to the layer's prompt record."""

    layer: Labels
    change: PixelChange
    recorded: int


class AnnotationPanel(Container):
    """**Accept selection** into the chosen annotation layer; **Undo accept** restores the pixels."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.target = ComboBox(label="annotations", choices=self._choices)
        self.accept = PushButton(text="Accept selection")
        self.replace = CheckBox(text="replace existing objects", value=False)
        self.undo = PushButton(text="Undo accept")
        super().__init__(widgets=[self.target, self.replace, self.accept, self.undo])
        self.history: UndoHistory[AcceptStep] = UndoHistory()
        self._touching = False
        self.accept.changed.connect(self.accept_selection)
        self.undo.changed.connect(self.undo_accept)
        viewer = controller.viewer
        viewer.layers.events.inserted.connect(lambda e=None: self.target.reset_choices())
        viewer.layers.events.removed.connect(lambda e=None: self.target.reset_choices())
        viewer.layers.selection.events.active.connect(self._prompt_layer_touched)

    def _prompt_layer_touched(self, event=None) -> None:
        """The user made a prompt layer active: the selection (what Accept takes) becomes that layer's."""
        c = self.controller
        active = c.viewer.layers.selection.active
        if self._touching or active is None or c.image.value is None:
            return
        role = next((r for r in PROMPT_ROLES if c.owned_layer(r) is active), None)
        if role is None:
            return
        self._touching = True  # writing the selection may hand the focus back to this layer: no second round
        try:
            c.update_prompts(role)
        finally:
            self._touching = False

    def _choices(self, _=None) -> list[str]:
        layers = self.controller.viewer.layers
        return [NEW_ANNOTATION] + [
            ly.name for ly in layers if isinstance(ly, Labels) and (not owned(ly) or owned(ly, "annotation"))
        ]

    def accept_selection(self, _=None) -> None:
        """Add each object of the current selection as a new id to the annotation layer.

        Every selection id (one per box or object in a box, per text match,
        per foreground point in "each point" mode, or the union of the
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
        painted = np.where(new > 0, new, plane)
        change = PixelChange.write(target.data, index, painted)
        target.refresh()
        self.history.push(AcceptStep(target, change, record_accept(target, c.session(), image, made,
                                                                    c.selection_prompts)))
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
        step = self.history.pop()
        if step is None:
            self.controller.status.show("nothing to undo")
            return
        layer = step.layer
        if layer not in self.controller.viewer.layers:
            self.controller.error(f"'{layer.name}' was removed: its accept cannot be undone.")
            return
        if layer.data is not step.change.data:
            self.controller.error(f"The data of '{layer.name}' was replaced after this accept: it cannot be undone.")
            return
        step.change.undo()
        layer.refresh()
        forget_last(layer, step.recorded)
        self.controller.status.show(f"undid the last accept in '{layer.name}'")
