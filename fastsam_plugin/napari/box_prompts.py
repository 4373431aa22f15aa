"""Box prompts: a Shapes layer whose rectangles each select the best-fitting object."""

from __future__ import annotations

import numpy as np
from magicgui.widgets import Container, PushButton

from ..engine.session import Session
from .controller import Controller
from .layers import spatial_shape


class BoxPrompts(Container):
    """**Box prompts**: each rectangle selects the object with the highest mask-to-box IoU."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.add_boxes = PushButton(text="Box prompts")
        super().__init__(widgets=[self.add_boxes], labels=False)
        self.add_boxes.changed.connect(self.new_layer)
        controller.register_prompt("boxes", self.selection)

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
        """(H, W) int32 with the object chosen by box ``k`` painted as ``k + 1``."""
        boxes = self.boxes(layer, index, lead)
        if not len(boxes):
            return np.zeros(result.shape, np.int32)
        self.controller.status.show(f"{len(boxes)} box(es) selected")
        return Session.selection_labels(result, Session.select_boxes(result, boxes), smooth=self.controller.smooth.value)
