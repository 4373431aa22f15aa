"""Point prompts: a Points layer whose points select objects from the everything-mode result."""

from __future__ import annotations

import numpy as np
from magicgui.widgets import CheckBox, Container, PushButton

from ..engine.provenance import ObjectPrompt
from ..engine.session import PromptError, Session
from .controller import Controller
from .layers import spatial_shape

POSITIVE = "positive"  # Points feature holding each prompt's polarity
GREEN, RED = [0.1, 0.9, 0.2, 1.0], [0.95, 0.1, 0.1, 1.0]


class PointPrompts(Container):
    """**Point prompts**: foreground (green) and background (red, key B) points."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.add_points = PushButton(text="Point prompts")
        self.background = CheckBox(text="next points are background (B)", value=False)
        super().__init__(widgets=[self.add_points, self.background], labels=False)
        self.add_points.changed.connect(self.new_layer)
        self.background.changed.connect(self._set_polarity)
        controller.register_prompt("points", self.selection)

    def new_layer(self, _=None):
        """Add (or activate) the Points layer for prompts; polarity is the point feature ``positive``."""
        viewer = self.controller.viewer

        def add(image, meta):
            layer = viewer.add_points(ndim=len(spatial_shape(image)), name=f"{image.name} FastSAM points",
                                      size=8, features={POSITIVE: np.zeros(0, bool)}, **meta)
            layer.feature_defaults[POSITIVE] = not self.background.value
            layer.bind_key("b", lambda ly: self._toggle_background(), overwrite=True)
            return layer

        return self.controller.ensure_prompt_layer("points", add, "add")

    def _toggle_background(self) -> None:
        self.background.value = not self.background.value

    def _set_polarity(self, background: bool) -> None:
        layer = self.controller.owned_layer("points")
        if layer is not None:
            layer.feature_defaults[POSITIVE] = not background

    def selection(self, layer, result, index: tuple[int, ...], lead: int) -> np.ndarray:
        """(H, W) int32: 1 where the points on the displayed slice select, else 0."""
        c = self.controller
        empty = np.zeros(result.shape, np.int32)
        if len(layer.data) == 0:
            return empty
        rc = c.to_image_rows_cols(layer, layer.data)
        on_slice = np.all(np.round(rc[:, :lead]) == np.array(index), axis=1) if lead else np.ones(len(rc), bool)
        positive = np.asarray(layer.features[POSITIVE], bool)
        layer.face_color = np.where(positive[:, None], [GREEN], [RED])
        if not on_slice.any():
            return empty
        xy, polarity = rc[on_slice][:, -2:][:, ::-1], positive[on_slice]
        try:  # the engine's one rule for points outside the image (as in the API and the CLI): an error
            sel = Session.select_points(result, xy, polarity, smooth=c.smooth.value)
        except PromptError as exc:
            c.error(f"{exc} Move or delete that point (select it, then press Delete).")
            return empty
        c.status.show(f"{len(xy)} point(s): {int(sel.sum())} pixels selected")
        c.selection_prompts = [ObjectPrompt(1, "points", "", points=xy.tolist(), labels=polarity.astype(int).tolist(),
                                            smooth=bool(c.smooth.value), slice=list(index))]
        return sel.astype(np.int32)
