"""Correct any Labels layer: merge, split (with a line or a box prompt), delete and renumber objects.

Works on labels from any tool (Cellpose, StarDist, a hand annotation) as on the
plugin's own annotation layers. Objects are named by typing their ids or by
clicking them with the panel's **pick** Points layer; cuts and boxes are drawn
in its Shapes layer. Each edit changes the chosen layer's data in place, only
at the pixels of the objects it names, and is one step of **Undo edit**, which
restores exactly the previous pixels, ``features`` table and prompt record.
The line split needs no model; the box split takes the model's best object for
the box from the last *Segment everything* of the chosen image.
"""

from __future__ import annotations

import copy

import numpy as np
from magicgui.widgets import ComboBox, Container, LineEdit, PushButton, SpinBox
from mask_selectors import (
    SelectorInputError,
    carve_mask,
    delete_labels,
    label_most_covered,
    labels_at_points,
    labels_crossed,
    merge_labels,
    relabel_consecutive,
    set_label,
    split_by_line,
)
from napari.layers import Labels

from ..engine.session import Session
from .controller import Controller
from .label_edits import (
    EditError,
    EditStep,
    PixelChange,
    UndoHistory,
    layer_role,
    parse_ids,
    record_edit,
    remap_features,
)
from .layers import KEY, layer_uid, spatial_geometry, spatial_shape
from .quality import MIN_BOX_IOU, chosen_box_iou

PICKS, CUTS = "edit picks", "edit cuts"  # roles of the panel's Points and Shapes layers
EDITABLE_ROLES = (None, "annotation")  # the user's layers, and the plugin's annotation layers


class LabelEditPanel(Container):
    """**Merge**, **Split** (line or box), **Delete**, **Set id**, **Renumber** objects of any Labels layer; **Undo edit**."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.target = ComboBox(label="edit labels", choices=self._choices,
                               tooltip="any Labels layer: from Cellpose, StarDist, a hand annotation or this plugin")
        self.ids = LineEdit(label="ids", tooltip="object ids, e.g. '3, 7'; leave empty to use the objects "
                                                  "clicked with 'Pick objects'")
        self.pick = PushButton(text="Pick objects")
        self.merge = PushButton(text="Merge")
        self.delete = PushButton(text="Delete")
        self.draw_cut = PushButton(text="Draw cut line")
        self.split_line = PushButton(text="Split with line")
        self.draw_box = PushButton(text="Draw box")
        self.split_box = PushButton(text="Split with box")
        self.new_id = SpinBox(label="new id", min=1, max=2**31 - 1, value=1)
        self.set_id = PushButton(text="Set id")
        self.renumber = PushButton(text="Renumber 1..N")
        self.undo = PushButton(text="Undo edit")

        def row(*widgets):
            return Container(widgets=list(widgets), layout="horizontal", labels=False)

        super().__init__(widgets=[
            self.target, self.ids,
            row(self.pick, self.merge, self.delete),
            row(self.draw_cut, self.split_line),
            row(self.draw_box, self.split_box),
            self.new_id, row(self.set_id, self.renumber, self.undo),
        ])
        self.history: UndoHistory[EditStep] = UndoHistory()
        for button, action in ((self.pick, self.pick_objects), (self.merge, self.merge_objects),
                               (self.delete, self.delete_objects), (self.draw_cut, self.cut_layer),
                               (self.split_line, self.split_with_line), (self.draw_box, self.box_layer),
                               (self.split_box, self.split_with_box), (self.set_id, self.set_object_id),
                               (self.renumber, self.renumber_objects), (self.undo, self.undo_edit)):
            button.changed.connect(self._guarded(action))
        viewer = controller.viewer
        viewer.layers.events.inserted.connect(lambda e=None: self.target.reset_choices())
        viewer.layers.events.removed.connect(lambda e=None: self.target.reset_choices())

    def _guarded(self, action):
        """A button handler that shows bad input as one line in the panel."""
        def run(_=None):
            try:
                action()
            except (EditError, SelectorInputError) as exc:
                self.controller.error(str(exc))
        return run

    # -- layers -----------------------------------------------------------
    def _choices(self, _=None) -> list[str]:
        return [ly.name for ly in self.controller.viewer.layers
                if isinstance(ly, Labels) and layer_role(ly) in EDITABLE_ROLES]

    def labels_layer(self) -> Labels:
        """The chosen Labels layer, with its data in memory (raises EditError otherwise)."""
        layers = self.controller.viewer.layers
        name = self.target.value
        if not name or name not in layers or not isinstance(layers[name], Labels):
            raise EditError("No Labels layer to edit: open or add one and choose it in 'edit labels'.")
        layer = layers[name]
        if layer.multiscale or not isinstance(layer.data, np.ndarray):
            raise EditError(f"'{layer.name}' holds multiscale or lazy (dask/zarr) data: edits need an in-memory "
                            "array; add a copy of it as a plain numpy Labels layer.")
        return layer

    def _helper_layer(self, role: str, labels: Labels):
        """The panel's Points/Shapes layer of ``role`` for ``labels`` (made on first use), or None."""
        uid = layer_uid(labels)
        return next((ly for ly in self.controller.viewer.layers
                     if layer_role(ly) == role and ly.metadata[KEY].get("source") == uid), None)

    def pick_objects(self) -> None:
        """Add (or activate) a Points layer: click the objects to merge or delete."""
        labels = self.labels_layer()
        layer = self._helper_layer(PICKS, labels)
        if layer is None:
            layer = self.controller.viewer.add_points(
                ndim=labels.ndim, name=f"{labels.name} picks", face_color="yellow", size=6,
                metadata={KEY: {"role": PICKS, "source": layer_uid(labels)}}, **spatial_geometry(labels))
        layer.mode = "add"
        self.controller.viewer.layers.selection.active = layer
        self.controller.status.show(f"click objects of '{labels.name}', then Merge or Delete")

    def _shapes(self, mode: str, message: str):
        labels = self.labels_layer()
        layer = self._helper_layer(CUTS, labels)
        if layer is None:
            layer = self.controller.viewer.add_shapes(
                ndim=labels.ndim, name=f"{labels.name} cuts", edge_color="magenta", face_color="transparent",
                edge_width=2, metadata={KEY: {"role": CUTS, "source": layer_uid(labels)}},
                **spatial_geometry(labels))
        layer.mode = mode
        self.controller.viewer.layers.selection.active = layer
        self.controller.status.show(message)
        return layer

    def cut_layer(self, _=None):
        """Add (or activate) the Shapes layer in line mode: draw a line across the object to split."""
        return self._shapes("add_line", "draw a line across the object, then 'Split with line'")

    def box_layer(self, _=None):
        """Add (or activate) the Shapes layer in rectangle mode: draw a box around the part to carve out."""
        return self._shapes("add_rectangle", "draw a box around the part to make a new object, then 'Split with box'")

    # -- ids --------------------------------------------------------------
    def chosen_ids(self, labels: Labels) -> list[int]:
        """Typed ids, else the ids under the picked points (first pick first); raises EditError on none."""
        if self.ids.value.strip():
            return parse_ids(self.ids.value)
        picks = self._helper_layer(PICKS, labels)
        points = np.zeros((0, labels.ndim)) if picks is None else \
            np.array([labels.world_to_data(picks.data_to_world(p)) for p in picks.data]).reshape(-1, labels.ndim)
        ids = labels_at_points(labels.data, points)
        if not ids:
            raise EditError("No objects chosen: type ids (e.g. '3, 7') or click objects after 'Pick objects'.")
        return ids

    def _typed_id(self, what: str) -> int | None:
        """The one id typed in 'ids', or None when nothing is typed."""
        if not self.ids.value.strip():
            return None
        ids = parse_ids(self.ids.value)
        if len(ids) != 1:
            raise EditError(f"{what} works on one object: type a single id (got {', '.join(map(str, ids))}).")
        return ids[0]

    def _clear_picks(self, labels: Labels) -> None:
        picks = self._helper_layer(PICKS, labels)
        if picks is not None and len(picks.data):
            picks.data = np.empty((0, picks.ndim))

    # -- edits ------------------------------------------------------------
    def _apply(self, labels: Labels, index: tuple, new: np.ndarray, edit: dict, id_map: dict[int, int],
               added: dict[int, int] | None = None) -> None:
        """Write the edited plane (or volume) ``new`` into ``labels`` as one undo step."""
        features, metadata = labels.features.copy(), copy.deepcopy(dict(labels.metadata))
        self.history.push(EditStep(labels, PixelChange.write(labels.data, index, new), features, metadata))
        labels.refresh()
        labels.features = remap_features(labels.features, id_map, added or {})
        record_edit(labels, edit, id_map)

    def merge_objects(self) -> None:
        """Join the chosen objects into the first one's id."""
        labels = self.labels_layer()
        ids = self.chosen_ids(labels)
        new = merge_labels(labels.data, ids, into=ids[0])
        self._apply(labels, (), new, {"edit": "merge", "ids": ids, "into": ids[0]}, {i: ids[0] for i in ids})
        self._clear_picks(labels)
        self.controller.status.show(f"merged objects {', '.join(map(str, ids))} into {ids[0]} in '{labels.name}'")

    def delete_objects(self) -> None:
        """Set the chosen objects to background."""
        labels = self.labels_layer()
        ids = self.chosen_ids(labels)
        new = delete_labels(labels.data, ids)
        self._apply(labels, (), new, {"edit": "delete", "ids": ids}, dict.fromkeys(ids, 0))
        self._clear_picks(labels)
        self.controller.status.show(f"deleted object{'s' if len(ids) > 1 else ''} {', '.join(map(str, ids))} "
                                    f"in '{labels.name}'")

    def set_object_id(self) -> None:
        """Give the one chosen object the id in 'new id'."""
        labels = self.labels_layer()
        ids = self.chosen_ids(labels)
        if len(ids) != 1:
            raise EditError(f"Set id works on one object; got {', '.join(map(str, ids))}.")
        old, new_id = ids[0], int(self.new_id.value)
        new = set_label(labels.data, old, new_id)
        self._apply(labels, (), new, {"edit": "set_id", "id": old, "new_id": new_id}, {old: new_id})
        self._clear_picks(labels)
        self.controller.status.show(f"object {old} is now {new_id} in '{labels.name}'")

    def renumber_objects(self) -> None:
        """Renumber every object 1..N (in the order of the old ids)."""
        labels = self.labels_layer()
        new, mapping = relabel_consecutive(labels.data)
        moved = {o: n for o, n in mapping.items() if o != n}
        if not moved:
            self.controller.status.show(f"the objects of '{labels.name}' are already numbered 1..{len(mapping)}")
            return
        self._apply(labels, (), new, {"edit": "renumber", "mapping": {str(o): n for o, n in moved.items()}}, moved)
        self.controller.status.show(f"renumbered {len(mapping)} objects 1..{len(mapping)} in '{labels.name}'")

    def _last_shape(self, labels: Labels, kinds: tuple[str, ...], what: str):
        """(shapes layer, shape number, (K, ndim) vertices in the labels' data coordinates) of the last such shape."""
        shapes = self._helper_layer(CUTS, labels)
        found = [] if shapes is None else [k for k, t in enumerate(shapes.shape_type) if t in kinds]
        if not found:
            button = "Draw cut line" if what == "line" else "Draw box"
            raise EditError(f"No {what} drawn: press '{button}' and draw one on '{labels.name}'.")
        k = found[-1]
        verts = np.array([labels.world_to_data(shapes.data_to_world(v)) for v in shapes.data[k]])
        return shapes, k, verts

    def _plane(self, labels: Labels, verts: np.ndarray) -> tuple[int, ...]:
        """The leading-axes index of the 2D slice the shape was drawn on."""
        lead = labels.ndim - 2
        if lead <= 0:
            return ()
        index = tuple(int(v) for v in np.round(verts[0, :lead]))
        if not all(0 <= i < n for i, n in zip(index, labels.data.shape)):
            raise EditError("The shape lies outside the labels' slices.")
        return index

    @staticmethod
    def _remove_shape(shapes, k: int) -> None:
        shapes.selected_data = {k}
        shapes.remove_selected()

    def split_with_line(self) -> None:
        """Split the object under the last drawn line: each side becomes its own object (no model needed)."""
        labels = self.labels_layer()
        shapes, k, verts = self._last_shape(labels, ("line", "path"), "line")
        index = self._plane(labels, verts)
        plane = labels.data[index] if index else labels.data
        line = verts[:, -2:][:, ::-1] + 0.5  # (row, col) pixel centres -> (x, y) pixel edges
        label_id = self._typed_id("Split")
        if label_id is None:
            under = labels_crossed(plane, line)
            if not under:
                raise EditError(f"The line crosses no object of '{labels.name}': draw it across the object to split.")
            if len(under) > 1:
                raise EditError(f"The line crosses objects {', '.join(map(str, under))}: type the one to split in "
                                "'ids'.")
            label_id = under[0]
        new, new_ids = split_by_line(plane, label_id, line, first_new_id=int(labels.data.max()) + 1)
        self._apply(labels, index, new, {"edit": "split_line", "id": label_id, "new_ids": new_ids,
                                         "line": line.tolist(), "slice": list(index)}, {},
                    dict.fromkeys(new_ids, label_id))
        self._remove_shape(shapes, k)
        self.controller.status.show(f"split object {label_id} into {', '.join(map(str, [label_id, *new_ids]))} "
                                    f"in '{labels.name}'")

    def split_with_box(self) -> None:
        """Carve the model's best object for the last drawn box out of the object it lies on, as a new id."""
        c = self.controller
        labels = self.labels_layer()
        shapes, k, verts = self._last_shape(labels, ("rectangle",), "box")
        image = c.image.value
        result = c.current_result()
        if image is None or result is None:
            raise EditError("Run 'Segment everything' on the image first: the box picks the model's object from it.")
        if spatial_shape(image) != labels.data.shape:
            raise EditError(f"'{labels.name}' has shape {labels.data.shape}, the image {spatial_shape(image)}: "
                            "choose the image these labels belong to.")
        index = c.slice_index(image)
        rc = np.array([image.world_to_data(labels.data_to_world(v)) for v in verts])[:, -2:]
        box = np.array([rc[:, 1].min(), rc[:, 0].min(), rc[:, 1].max(), rc[:, 0].max()]) + 0.5
        (chosen,) = Session.select_boxes(result, box[None])
        iou = chosen_box_iou(result, int(chosen), box)
        if chosen < 0 or iou < MIN_BOX_IOU:
            raise EditError(f"No object fits this box: best overlap {iou:.2f} (minimum {MIN_BOX_IOU:.2f}).")
        mask = Session.union_mask(result, [int(chosen)], smooth=bool(c.smooth.value))
        plane = labels.data[index] if index else labels.data
        label_id = self._typed_id("Split")
        if label_id is None:
            label_id = label_most_covered(plane, mask)
            if not label_id:
                raise EditError(f"The model's object in this box covers no object of '{labels.name}'.")
        new, new_id = carve_mask(plane, label_id, mask, new_id=int(labels.data.max()) + 1)
        self._apply(labels, index, new, {"edit": "split_box", "id": label_id, "new_ids": [new_id],
                                         "box": box.tolist(), "iou": round(iou, 4), "slice": list(index)},
                    {}, {new_id: label_id})
        self._remove_shape(shapes, k)
        c.status.show(f"carved object {new_id} out of {label_id} in '{labels.name}' (box IoU {iou:.2f})")

    def undo_edit(self) -> None:
        """Undo the last edit: the previous pixels, features and prompt record, exactly."""
        step = self.history.pop()
        if step is None:
            self.controller.status.show("no label edit to undo")
            return
        layer = step.layer
        if layer not in self.controller.viewer.layers:
            raise EditError(f"'{layer.name}' was removed: its edit cannot be undone.")
        if layer.data is not step.change.data:
            raise EditError(f"The data of '{layer.name}' was replaced after this edit: it cannot be undone.")
        step.change.undo()
        layer.refresh()
        layer.features = step.features
        layer.metadata = step.metadata
        self.controller.status.show(f"undid the last label edit in '{layer.name}'")
