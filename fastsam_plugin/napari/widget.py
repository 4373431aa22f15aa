"""The FastSAM dock widget: model panel, everything mode, prompts, accept/undo.

The widget is a thin face: it turns layers and clicks into calls on a
:class:`fastsam_plugin.engine.session.Session` and writes answers into layers the
plugin owns (see :mod:`fastsam_plugin.napari.layers`). Model runs happen in
napari worker threads with a progress bar and a cancel button.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, Label, LineEdit, PushButton, SpinBox
from napari.layers import Image, Labels
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_info

from ..engine.progress import Cancelled
from ..engine.session import Session
from ..errors import USER_ERRORS
from ._gl_guard import guard_triton
from .layers import KEY, ensure_labels, find_owned, layer_uid, owned, spatial_geometry, spatial_shape
from .model_panel import ModelPanel, ModelSettings

if TYPE_CHECKING:
    import napari

NEW_ANNOTATION = "new layer"
POSITIVE = "positive"  # Points feature holding each prompt's polarity


def _import_backends_on_main_thread() -> None:
    """Import torch, Ultralytics and open_clip on the GUI thread, before any worker needs them.

    First imports of C extensions are safer outside Qt worker threads, and the
    triton guard must run before torchvision is imported (see ``_gl_guard``).
    """
    guard_triton()
    import open_clip  # noqa: F401

    from ..engine._ultralytics import ultralytics

    ultralytics()


class FastSAMWidget(Container):
    """Segment everything, then select objects by points, boxes or text and accept them."""

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        self.viewer = napari_viewer
        self.model = ModelPanel()
        self.image = ComboBox(label="image", choices=self._image_choices)
        self.all_slices = CheckBox(text="all slices (stacks)", value=False)
        self.show_boxes = CheckBox(text="object boxes as Shapes", value=False)
        self.run_button = PushButton(text="Segment everything")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.edges_button = PushButton(text="Edge map")
        self.add_points = PushButton(text="Point prompts")
        self.background = CheckBox(text="next points are background (B)", value=False)
        self.add_boxes = PushButton(text="Box prompts")
        self.smooth = CheckBox(text="smooth selection", value=False)
        self.text = LineEdit(label="text")
        self.top_k = SpinBox(label="top-k", min=1, max=20, value=1)
        self.find = PushButton(text="Find by text")
        self.target = ComboBox(label="annotations", choices=self._annotation_choices)
        self.accept = PushButton(text="Accept selection")
        self.undo = PushButton(text="Undo accept")
        self.status = Label(value="")
        self.status.native.setWordWrap(True)  # long messages (e.g. where to put weights) must stay readable
        self.status.native.setMinimumSize(260, 44)  # room for two or three full-width lines
        super().__init__(
            widgets=[
                # the status line sits by the run buttons so it stays visible on short screens
                self.model, self.image, self.all_slices, self.show_boxes, self.run_button, self.cancel_button,
                self.status, self.edges_button,
                self.add_points, self.background, self.add_boxes, self.smooth, self.text, self.top_k, self.find,
                self.target, self.accept, self.undo,
            ],
        )
        self._session: Session | None = None
        self._settings: ModelSettings | None = None
        self._versions: dict[str, int] = {}  # image layer uid -> number of data edits (part of the cache key)
        self._cancel = threading.Event()
        self._worker = None
        self._undo: list[tuple[Labels, tuple, np.ndarray, np.ndarray]] = []
        self.last_scores: list[tuple[int, float]] = []
        self._last_kind: str | None = None  # "points" or "boxes": the prompts shown in the selection

        self.run_button.changed.connect(self.run_everything)
        self.cancel_button.changed.connect(self.cancel)
        self.edges_button.changed.connect(self.show_edges)
        self.add_points.changed.connect(self.new_points_layer)
        self.add_boxes.changed.connect(self.new_boxes_layer)
        self.background.changed.connect(self._set_polarity)
        self.find.changed.connect(self.find_text)
        self.accept.changed.connect(self.accept_selection)
        self.undo.changed.connect(self.undo_accept)
        self.viewer.layers.events.inserted.connect(self._refresh_choices)
        self.viewer.layers.events.removed.connect(self._refresh_choices)
        for layer in self._image_choices():  # images opened before the widget
            self._watch(layer)
        self.viewer.dims.events.current_step.connect(lambda e=None: self.update_prompts())

    # -- layer choices ----------------------------------------------------
    def _image_choices(self, _=None):
        return [ly for ly in self.viewer.layers if isinstance(ly, Image) and not owned(ly)]

    def _annotation_choices(self, _=None):
        return [NEW_ANNOTATION] + [
            ly.name for ly in self.viewer.layers if isinstance(ly, Labels) and (not owned(ly) or owned(ly, "annotation"))
        ]

    def _refresh_choices(self, event=None) -> None:
        self.image.reset_choices()
        self.target.reset_choices()
        layer = getattr(event, "value", None)
        if isinstance(layer, Image) and not owned(layer):
            self._watch(layer)

    def _watch(self, layer) -> None:
        """Invalidate cached results when the image data changes."""
        layer.events.data.connect(lambda e=None, ly=layer: self._image_changed(ly))

    @property
    def busy(self) -> bool:
        """True while a model run is in progress."""
        return self._worker is not None

    # -- session ----------------------------------------------------------
    def session(self) -> Session:
        """The session for the current model settings (new models load lazily, in the worker)."""
        _import_backends_on_main_thread()
        settings = self.model.model_settings()
        if self._session is None or settings != self._settings:
            self._session = Session(settings.weights, settings.device, settings.clip_model, settings.clip_pretrained)
            self._settings = settings
        self._session.params = self.model.params()
        self._session.image_options = self.model.image_options()
        self._session.tiling = self.model.tile_options()
        return self._session

    def _version(self, layer) -> int:
        return self._versions.get(layer_uid(layer), 0)

    def _image_changed(self, layer) -> None:
        uid = layer_uid(layer)
        self._versions[uid] = self._version(layer) + 1
        if self._session is not None:  # drop this layer's results only; other layers keep theirs
            self._session.invalidate(lambda key: key[0] == uid)

    def _slice_index(self, layer) -> tuple[int, ...]:
        """Index of the displayed 2D slice in the image's leading axes."""
        lead = len(spatial_shape(layer)) - 2
        if lead <= 0:
            return ()
        world = self.viewer.dims.point
        data_point = layer.world_to_data(world)
        shape = spatial_shape(layer)
        return tuple(int(np.clip(round(float(v)), 0, shape[i] - 1)) for i, v in enumerate(data_point[:lead]))

    def _key(self, layer, index: tuple[int, ...]):
        return (layer_uid(layer), index, self._version(layer))

    def _plane(self, layer, index: tuple[int, ...]) -> np.ndarray:
        data = layer.data[0] if layer.multiscale else layer.data
        return np.asarray(data[index] if index else data)

    def _error(self, message: str) -> None:
        self.status.value = message
        show_error(message)

    # -- everything mode --------------------------------------------------
    def run_everything(self, _=None) -> None:
        """Segment the current slice (or all slices) of the chosen image layer in a worker thread."""
        layer = self.image.value
        if layer is None:
            self._error("Open or add an image layer first (File > Open, or a FastSAM sample).")
            return
        if self.busy:
            return
        try:
            session = self.session()
        except ValueError as exc:
            self._error(str(exc))
            return
        shape = spatial_shape(layer)
        if self.all_slices.value and len(shape) > 2:
            indices = list(np.ndindex(*shape[:-2]))
        else:
            indices = [self._slice_index(layer)]
        self._cancel.clear()
        everything = ensure_labels(self.viewer, "everything", layer, f"{layer.name} FastSAM objects")

        def work():
            try:
                _ = session.segmenter  # load (and maybe download) the weights off the GUI thread
                for index in indices:
                    plane = self._plane(layer, index)
                    result = session.segment(plane, key=self._key(layer, index), cancel=self._cancel.is_set)
                    yield index, result, None
            except (Cancelled, *USER_ERRORS) as exc:  # expected: reported as a message, not a traceback
                yield None, None, exc

        def show(out):
            index, result, exc = out
            if exc is not None:
                self._report(exc)
            else:
                self._show_everything(layer, everything, index, result)

        worker = create_worker(
            work, _progress={"total": len(indices), "desc": "FastSAM everything"}, _connect={"yielded": show}, _start_thread=False
        )
        self._start(worker, f"segmenting {len(indices)} slice(s)...")

    def _start(self, worker, message: str) -> None:
        worker.finished.connect(self._worker_done)
        self._worker = worker
        self.status.value = message
        self.run_button.enabled = self.find.enabled = False
        self.cancel_button.enabled = True
        worker.start()

    def _worker_done(self) -> None:
        self._worker = None
        self.run_button.enabled = self.find.enabled = True
        self.cancel_button.enabled = False
        if self.status.value.endswith("..."):
            self.status.value = "done"

    def _report(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            self.status.value = "cancelled"
            show_info("FastSAM: cancelled")
            return
        self._error(f"FastSAM: {exc}")

    def cancel(self, _=None) -> None:
        """Stop the running job between tiles or slices."""
        self._cancel.set()
        if self._worker is not None:
            self._worker.quit()

    def _show_everything(self, image_layer, labels_layer, index, result) -> None:
        if labels_layer not in self.viewer.layers:  # the user deleted our layer meanwhile
            labels_layer = ensure_labels(self.viewer, "everything", image_layer, f"{image_layer.name} FastSAM objects")
        labels_layer.data[index] = result.labels()
        labels_layer.refresh()
        if self.show_boxes.value and not index:
            self._show_proposals(image_layer, result)
        self.status.value = f"slice {index or 0}: {len(result)} objects ..."
        self.update_prompts()

    def _show_proposals(self, image_layer, result) -> None:
        source = layer_uid(image_layer)
        rects = [np.array([[y0, x0], [y1, x1]]) for x0, y0, x1, y1 in result.boxes]
        old = find_owned(self.viewer, "proposals", source)
        if old is not None:
            self.viewer.layers.remove(old)
        if rects:
            self.viewer.add_shapes(
                rects, shape_type="rectangle", edge_color="yellow", face_color="transparent", edge_width=1,
                name=f"{image_layer.name} FastSAM boxes", features={"score": result.scores},
                metadata={KEY: {"role": "proposals", "source": source}}, **spatial_geometry(image_layer),
            )

    def show_edges(self, _=None) -> None:
        """Show the thinned object boundaries of the displayed slice as an Image layer."""
        from ..engine.edges import edge_map

        image, result = self.image.value, self.current_result()
        if image is None or result is None:
            self._error("Run 'Segment everything' first: edges come from its objects.")
            return
        index = self._slice_index(image)
        source = layer_uid(image)
        layer = find_owned(self.viewer, "edges", source)
        if layer is None or layer.data.shape != spatial_shape(image):
            if layer is not None:
                self.viewer.layers.remove(layer)
            layer = self.viewer.add_image(
                np.zeros(spatial_shape(image), np.float32), name=f"{image.name} FastSAM edges", colormap="magma",
                blending="additive", contrast_limits=(0, 1), metadata={KEY: {"role": "edges", "source": source}},
                **spatial_geometry(image),
            )
        layer.data[index if index else ...] = edge_map(result)
        layer.refresh()

    def current_result(self):
        """The cached result of the displayed slice, or None before segmentation."""
        layer = self.image.value
        if layer is None or self._session is None:
            return None
        return self._session.cached(self._key(layer, self._slice_index(layer)))

    # -- prompts ----------------------------------------------------------
    def _prompt_layer(self, role: str):
        layer = self.image.value
        return None if layer is None else find_owned(self.viewer, role, layer_uid(layer))

    def _ensure_prompt_layer(self, role: str, add_layer, mode: str):
        """The plugin's prompt layer for ``role`` on the chosen image, created by ``add_layer(image, meta)``."""
        image = self.image.value
        if image is None:
            self._error("Open or add an image layer first.")
            return None
        layer = self._prompt_layer(role)
        if layer is None:
            meta = {"metadata": {KEY: {"role": role, "source": layer_uid(image)}}, **spatial_geometry(image)}
            layer = add_layer(image, meta)
            layer.events.data.connect(lambda e=None: self.update_prompts(role))
        layer.mode = mode
        self.viewer.layers.selection.active = layer
        return layer

    def new_points_layer(self, _=None):
        """Add the Points layer for prompts; polarity is the point feature ``positive``."""

        def add(image, meta):
            layer = self.viewer.add_points(ndim=len(spatial_shape(image)), name=f"{image.name} FastSAM points",
                                           size=8, features={POSITIVE: np.zeros(0, bool)}, **meta)
            layer.feature_defaults[POSITIVE] = not self.background.value
            layer.bind_key("b", lambda ly: self._toggle_background(), overwrite=True)
            return layer

        return self._ensure_prompt_layer("points", add, "add")

    def _toggle_background(self) -> None:
        self.background.value = not self.background.value

    def _set_polarity(self, background: bool) -> None:
        layer = self._prompt_layer("points")
        if layer is not None:
            layer.feature_defaults[POSITIVE] = not background

    def new_boxes_layer(self, _=None):
        """Add the Shapes layer for box prompts (draw rectangles)."""

        def add(image, meta):
            return self.viewer.add_shapes(ndim=len(spatial_shape(image)), name=f"{image.name} FastSAM box prompts",
                                          edge_color="cyan", face_color="transparent", edge_width=2, **meta)

        return self._ensure_prompt_layer("boxes", add, "add_rectangle")

    def _to_image_rows_cols(self, prompt_layer, coords: np.ndarray) -> np.ndarray:
        """Prompt-layer data coordinates to (..., row, col) of the image layer's data."""
        image = self.image.value
        world = np.array([prompt_layer.data_to_world(c) for c in coords]).reshape(len(coords), -1)
        return np.array([image.world_to_data(w) for w in world]).reshape(len(coords), -1)

    def update_prompts(self, kind: str | None = None) -> None:
        """Recompute the selection from the point or box prompts on the displayed slice (no model run)."""
        result = self.current_result()
        image = self.image.value
        if image is None:
            return
        kind = kind or self._last_kind
        prompt = self._prompt_layer(kind) if kind else None
        if prompt is None:
            return
        self._last_kind = kind
        if result is None:
            self.status.value = "Run 'Segment everything' first: prompts select from its objects."
            return
        index = self._slice_index(image)
        lead = len(index)
        try:
            if kind == "points":
                selection = self._points_selection(prompt, result, index, lead)
            else:
                selection = self._boxes_selection(prompt, result, index, lead)
        except ValueError as exc:
            self._error(str(exc))
            return
        self._write_selection(image, index, selection)

    def _points_selection(self, layer, result, index, lead) -> np.ndarray:
        if len(layer.data) == 0:
            return np.zeros(result.shape, np.int32)
        rc = self._to_image_rows_cols(layer, layer.data)
        on_slice = np.all(np.round(rc[:, :lead]) == np.array(index), axis=1) if lead else np.ones(len(rc), bool)
        positive = np.asarray(layer.features[POSITIVE], bool)
        layer.face_color = np.where(positive[:, None], [[0.1, 0.9, 0.2, 1.0]], [[0.95, 0.1, 0.1, 1.0]])
        if not on_slice.any():
            return np.zeros(result.shape, np.int32)
        xy = rc[on_slice][:, -2:][:, ::-1]
        h, w = result.shape
        inside = (xy[:, 0] > -0.5) & (xy[:, 0] < w - 0.5) & (xy[:, 1] > -0.5) & (xy[:, 1] < h - 0.5)
        if not inside.all():
            self.status.value = "points outside the image are ignored"
        if not inside.any():
            return np.zeros(result.shape, np.int32)
        sel = self._session.select_points(result, xy[inside], positive[on_slice][inside], smooth=self.smooth.value)
        self.status.value = f"{int(inside.sum())} point(s): {int(sel.sum())} pixels selected"
        return sel.astype(np.int32)

    def _boxes_selection(self, layer, result, index, lead) -> np.ndarray:
        boxes = []
        for verts, kind in zip(layer.data, layer.shape_type):
            if kind != "rectangle":
                continue
            rc = self._to_image_rows_cols(layer, verts)
            if lead and not np.all(np.round(rc[:, :lead]) == np.array(index)):
                continue
            rows, cols = rc[:, -2], rc[:, -1]
            # rectangle corners sit on pixel centres: the box spans half a pixel beyond them
            boxes.append([cols.min() + 0.5, rows.min() + 0.5, cols.max() + 0.5, rows.max() + 0.5])
        if not boxes:
            return np.zeros(result.shape, np.int32)
        self.status.value = f"{len(boxes)} box(es) selected"
        return self._session.selection_labels(result, self._session.select_boxes(result, np.array(boxes)),
                                              smooth=self.smooth.value)

    def _write_selection(self, image, index, selection: np.ndarray) -> None:
        layer = ensure_labels(self.viewer, "selection", image, f"{image.name} FastSAM selection", opacity=0.7)
        if index:
            layer.data[index] = selection
        else:
            layer.data[...] = selection
        layer.refresh()

    def find_text(self, _=None) -> None:
        """Select the objects whose crops best match the text (CLIP), in a worker thread."""
        image, result, text = self.image.value, self.current_result(), self.text.value.strip()
        if image is None or result is None:
            self._error("Run 'Segment everything' first: text prompts rank its objects.")
            return
        if not text:
            self._error("Type what to find, e.g. 'a red circle'.")
            return
        session, k, index = self._session, int(self.top_k.value), self._slice_index(image)

        def work():
            try:
                return session.select_text(result, text, top_k=k)
            except USER_ERRORS as exc:
                return exc

        def show(match):
            if isinstance(match, BaseException):
                self._report(match)
                return
            self._write_selection(image, index, session.selection_labels(result, match.indices[0], first_on_top=True))
            self.last_scores = [(int(i), float(s)) for i, s in zip(match.indices[0], match.scores[0])]
            self.status.value = "matches: " + ", ".join(f"#{r + 1} object {i} ({s:.2f})" for r, (i, s) in
                                                        enumerate(self.last_scores))

        worker = create_worker(work, _progress={"total": 0, "desc": "FastSAM text"}, _connect={"returned": show}, _start_thread=False)
        self._start(worker, f"matching {text!r}...")

    # -- accept / undo ----------------------------------------------------
    def accept_selection(self, _=None) -> None:
        """Add the current selection as one new object id to the annotation layer."""
        image = self.image.value
        selection_layer = self._prompt_layer("selection")
        if image is None or selection_layer is None:
            self._error("Nothing selected yet: add point, box or text prompts first.")
            return
        index = self._slice_index(image)
        selected = np.asarray(selection_layer.data[index] if index else selection_layer.data) > 0
        if not selected.any():
            self._error("The selection is empty: nothing to accept.")
            return
        target = self._annotation_layer(image)
        if target is None:
            return
        plane = target.data[index] if index else target.data
        new_id = int(np.max(target.data)) + 1
        where = np.nonzero(selected)
        self._undo.append((target, index, where, plane[where].copy()))
        plane[where] = new_id
        target.refresh()
        self.status.value = f"accepted as object {new_id} in '{target.name}'"

    def _annotation_layer(self, image):
        choice = self.target.value
        if choice != NEW_ANNOTATION:
            layer = self.viewer.layers[choice]
            if layer.data.shape != spatial_shape(image):
                self._error(f"'{layer.name}' has shape {layer.data.shape}, the image {spatial_shape(image)}: "
                            "choose another annotation layer or 'new layer'.")
                return None
            return layer
        layer = ensure_labels(self.viewer, "annotation", image, f"{image.name} annotations")
        self.target.reset_choices()
        self.target.value = layer.name
        return layer

    def undo_accept(self, _=None) -> None:
        """Undo the last accept (restores the previous pixels)."""
        if not self._undo:
            self.status.value = "nothing to undo"
            return
        layer, index, where, previous = self._undo.pop()
        plane = layer.data[index] if index else layer.data
        plane[where] = previous
        layer.refresh()
        self.status.value = f"undid the last accept in '{layer.name}'"
