"""Point prompts: a Points layer whose points select objects from the everything-mode result.

Two modes: FastSAM's own rule merges everything the foreground points touch
into one object; "each point its own object" makes one object per
foreground point, with the background points shared by all
(:func:`mask_selectors.each_point_objects_in_crops`). A click outside the
image is dropped from the layer with a note; the other points keep their
selection.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, PushButton
from mask_selectors import each_point_objects_in_crops, points_in_image, smooth_mask
from qtpy.QtCore import QTimer

from ..engine.provenance import ObjectPrompt
from ..engine.session import Session
from .controller import Controller
from .layers import spatial_shape

POSITIVE = "positive"  # Points feature holding each prompt's polarity
GREEN, RED = [0.1, 0.9, 0.2, 1.0], [0.95, 0.1, 0.1, 1.0]
MERGED, EACH = "one object (merge the points)", "each positive point its own object"


def _as_int_list(values) -> list[int]:
    return [int(v) for v in values]


class PointPrompts(Container):
    """**Point prompts**: foreground (green) and background (red, key B) points; merged or one object per point."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.add_points = PushButton(text="Point prompts")
        self.background = CheckBox(text="next points are background (B)", value=False)
        self.mode = ComboBox(label="points make", choices=[MERGED, EACH], value=MERGED,
                             tooltip="merge: every foreground point adds to one object (FastSAM's rule); "
                                     "each: one object per foreground point, background points remove from all")
        super().__init__(widgets=[self.add_points, self.background, self.mode], labels=False)
        self._dropped = ""  # note about points outside the image, shown until the layer has lost them
        self.add_points.changed.connect(self.new_layer)
        self.background.changed.connect(self._set_polarity)
        self.mode.changed.connect(lambda _: controller.update_prompts("points"))
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

    # -- points outside the image -----------------------------------------
    def _drop_later(self, layer, coords: np.ndarray) -> None:
        """Remove the points at ``coords`` (layer data coordinates) once napari has finished adding them."""
        def drop() -> None:
            data = np.asarray(layer.data)
            if not len(data):
                return
            hit = np.any(np.all(np.isclose(data[:, None, :], coords[None]), axis=2), axis=1)
            if hit.any():
                layer.selected_data = set(np.flatnonzero(hit).tolist())
                layer.remove_selected()  # recomputes the selection (data event), which still shows the note
            self._dropped = ""

        QTimer.singleShot(0, drop)  # removing inside napari's own 'add' would confuse its bookkeeping

    # -- the rule ---------------------------------------------------------
    def selection(self, layer, result, index: tuple[int, ...], lead: int) -> np.ndarray:
        """(H, W) int32: the object(s) the points on the displayed slice select (ids 1..K), else 0."""
        c = self.controller
        empty = np.zeros(result.shape, np.int32)
        if len(layer.data) == 0:
            c.selection_prompts = []
            return empty
        rc = c.to_image_rows_cols(layer, layer.data)
        on_slice = np.all(np.round(rc[:, :lead]) == np.array(index), axis=1) if lead else np.ones(len(rc), bool)
        positive = np.asarray(layer.features[POSITIVE], bool)
        layer.face_color = np.where(positive[:, None], [GREEN], [RED])
        xy_all = rc[:, -2:][:, ::-1]
        outside = on_slice & ~points_in_image(xy_all, result.shape)  # the selectors' one rule for "outside"
        if outside.any():
            rows_cols = ", ".join(f"({r:.0f}, {c_:.0f})" for r, c_ in rc[outside][:, -2:])
            self._dropped = (f"dropped {int(outside.sum())} point(s) outside the image at (row, col) {rows_cols}; "
                             "the others keep their selection")
            self._drop_later(layer, np.asarray(layer.data)[outside])
        keep = on_slice & ~outside
        if not keep.any():
            c.selection_prompts = []
            c.status.show(self._dropped or "no point on this slice")
            return empty
        xy, polarity = xy_all[keep], positive[keep]
        smooth = bool(c.smooth.value)
        if self.mode.value == EACH:
            sel, message = self._each(result, xy, polarity, smooth, index)
        else:
            sel = Session.select_points(result, xy, polarity, smooth=smooth).astype(np.int32)
            c.selection_prompts = [ObjectPrompt(1, "points", "", points=xy.tolist(),
                                                labels=_as_int_list(polarity), smooth=smooth, slice=list(index))]
            message = f"{len(xy)} point(s): {int(np.count_nonzero(sel))} pixels selected"
        c.status.show(message + (f"; {self._dropped}" if self._dropped else ""))
        return sel

    def _each(self, result, xy: np.ndarray, polarity: np.ndarray, smooth: bool, index: tuple) -> tuple:
        """One object per foreground point (background points shared); the selection and its status line."""
        c = self.controller
        if len(result) == 0:
            objects, owner = np.zeros(result.shape, np.int32), np.zeros(len(xy), np.int64)
        else:
            crops, boxes = result.checked_crops
            objects, owner = each_point_objects_in_crops(crops, boxes, result.shape, xy, polarity,
                                                         areas=result.areas, checked=True)
        k = int(owner.max(initial=0))
        if smooth:  # each object smoothed on its own: smoothing the union would join neighbours
            smoothed = np.zeros_like(objects)
            for obj in range(1, k + 1):
                smoothed[smooth_mask(objects == obj) & (smoothed == 0)] = obj
            objects = smoothed
        background = xy[~polarity].tolist()
        c.selection_prompts = [
            ObjectPrompt(obj, "points", "", points=xy[owner == obj].tolist() + background,
                         labels=[1] * int((owner == obj).sum()) + [0] * len(background), smooth=smooth,
                         slice=list(index))
            for obj in range(1, k + 1)]
        missed = [f"({y:.0f}, {x:.0f})" for x, y in xy[polarity & (owner == 0)]]
        message = f"{int(polarity.sum())} foreground point(s): {k} object(s)"
        if missed:
            message += (f"; no object under the point(s) at (row, col) {', '.join(missed)} "
                        "(or a background point removes it)")
        return objects, message
