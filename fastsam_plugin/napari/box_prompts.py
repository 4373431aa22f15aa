"""Box prompts: a Shapes layer whose rectangles each select the best-fitting object, or every object inside.

"best match" is FastSAM's box rule (the object with the highest mask-to-box
IoU); "every object inside" selects each object lying mostly inside the box,
leaving out the groups that hold several of them (a block of tree crowns) and
the parts of another (:func:`mask_selectors.objects_in_boxes_in_crops`).
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox, Container, FloatSpinBox, PushButton
from mask_selectors import objects_in_boxes_in_crops

from ..engine.provenance import ObjectPrompt
from ..engine.session import Session
from .controller import Controller
from .layers import spatial_shape
from .quality import MIN_BOX_IOU, chosen_box_iou

BEST, EVERY = "best match", "every object inside"


class BoxPrompts(Container):
    """**Box prompts**: each rectangle selects its best-matching object (mask-to-box IoU), or every object inside."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.add_boxes = PushButton(text="Box prompts")
        self.min_iou = FloatSpinBox(label="min box IoU", min=0.0, max=1.0, step=0.05, value=MIN_BOX_IOU,
                                    tooltip="a box whose best object overlaps it less selects nothing")
        self.mode = ComboBox(label="a box selects", choices=[BEST, EVERY], value=BEST,
                             tooltip="best match: the one object that fills the box best (FastSAM's rule); "
                                     "every object inside: each object at least half inside the box")
        super().__init__(widgets=[self.add_boxes, self.mode, self.min_iou])
        self.last_ious: list[float] = []  # box-to-mask IoU of the object each box chose
        self.add_boxes.changed.connect(self.new_layer)
        self.min_iou.changed.connect(lambda _: controller.update_prompts("boxes"))
        self.mode.changed.connect(self._mode_changed)
        controller.register_prompt("boxes", self.selection)

    def _mode_changed(self, mode: str) -> None:
        self.min_iou.enabled = mode == BEST  # the IoU threshold belongs to the best-match rule only
        self.controller.update_prompts("boxes")

    def new_layer(self, _=None):
        """Add (or activate) the Shapes layer for box prompts (draw rectangles)."""
        viewer = self.controller.viewer

        def add(image, meta):
            return viewer.add_shapes(ndim=len(spatial_shape(image)), name=f"{image.name} FastSAM box prompts",
                                     edge_color="cyan", face_color="transparent", edge_width=2, **meta)

        return self.controller.ensure_prompt_layer("boxes", add, "add_rectangle")

    def boxes(self, layer, index: tuple[int, ...], lead: int) -> np.ndarray:
        """(B, 4) float ``(x0, y0, x1, y1)`` pixel-edge boxes of the rectangles on the displayed slice."""
        out = []
        for verts, kind in zip(layer.data, layer.shape_type):
            if kind != "rectangle":
                continue
            rc = self.controller.to_image_rows_cols(layer, verts)
            if lead and not np.all(np.round(rc[:, :lead]) == np.array(index)):
                continue
            rows, cols = rc[:, -2], rc[:, -1]
            # rectangle corners sit on pixel centres: the box spans half a pixel beyond them
            out.append([cols.min() + 0.5, rows.min() + 0.5, cols.max() + 0.5, rows.max() + 0.5])
        return np.array(out, float).reshape(-1, 4)

    def selection(self, layer, result, index: tuple[int, ...], lead: int) -> np.ndarray:
        """(H, W) int32 with the object chosen by box ``k`` painted as ``k + 1``.

        A box whose best object overlaps it less than ``min IoU`` selects
        nothing; the status line says so, with the overlap.
        """
        boxes = self.boxes(layer, index, lead)
        self.last_ious = []
        if not len(boxes):
            self.controller.selection_prompts = []
            return np.zeros(result.shape, np.int32)
        if self.mode.value == EVERY:
            return self._every(result, boxes, index)
        chosen = Session.select_boxes(result, boxes)
        self.last_ious = [chosen_box_iou(result, int(i), box) for i, box in zip(chosen, boxes)]
        threshold = float(self.min_iou.value)
        chosen = np.where(np.array(self.last_ious) >= threshold, chosen, -1)
        notes = [f"box {k + 1}: IoU {iou:.2f}" if i >= 0 else
                 f"box {k + 1}: no object fits this box: best overlap {iou:.2f} (minimum {threshold:.2f})"
                 for k, (i, iou) in enumerate(zip(chosen, self.last_ious))]
        message = "; ".join(notes)
        if (chosen < 0).all():
            self.controller.error(message)
        else:
            self.controller.status.show(message)
        self.controller.selection_prompts = [
            ObjectPrompt(k + 1, "box", "", box=box.tolist(), smooth=bool(self.controller.smooth.value),
                         slice=list(index)) for k, (i, box) in enumerate(zip(chosen, boxes)) if i >= 0]
        return Session.selection_labels(result, chosen, smooth=self.controller.smooth.value)

    def _every(self, result, boxes: np.ndarray, index: tuple[int, ...]) -> np.ndarray:
        """Every object inside each box, each its own id (1..K over all boxes, largest first within a box)."""
        c = self.controller
        smooth = bool(c.smooth.value)
        if len(result) == 0:
            found = [np.zeros(0, np.int64) for _ in boxes]
        else:
            crops, pix = result.checked_crops
            found = objects_in_boxes_in_crops(crops, pix, result.shape, boxes, areas=result.areas, checked=True)
        chosen = np.concatenate(found) if found else np.zeros(0, np.int64)
        which_box = [k for k, f in enumerate(found) for _ in f]
        c.selection_prompts = [ObjectPrompt(j + 1, "box", "", box=boxes[k].tolist(), smooth=smooth, slice=list(index))
                               for j, k in enumerate(which_box)]
        notes = [f"box {k + 1}: {len(f)} object(s) inside" if len(f) else
                 f"box {k + 1}: no object lies at least half inside this box" for k, f in enumerate(found)]
        if not len(chosen):
            c.error("; ".join(notes))
        else:
            c.status.show("; ".join(notes))
        return Session.selection_labels(result, chosen, smooth=smooth)
