"""Everything mode: segment the displayed slice (or all slices), the edge map and box proposals."""

from __future__ import annotations

import threading

import numpy as np
from magicgui.widgets import CheckBox, Container, PushButton
from napari.qt.threading import create_worker
from qtpy.QtCore import QTimer

from ..engine.progress import Cancelled
from ..errors import USER_ERRORS
from . import gentle_import
from .controller import Controller, import_backends
from .jobs import plural
from .layers import KEY, ensure_labels, find_owned, layer_uid, new_labels, spatial_geometry, spatial_shape

# The worker's first message, once torch, napari's Labels warm-up and the model are loaded: the GUI thread adds
# the objects layer then, before the model runs (which takes both CPUs), not with the results: napari's work for
# a new layer (adding it, then its first draw, in separate turns) and writing the results freeze the window in
# short pieces, not in one long one (docs/performance.md).
READY = "ready"
OBJECTS_STYLE = {"opacity": 0.7}
FIRST_DRAW_MS = 100  # time for the first paint of the new layer
READY_WAIT_S = 2.0  # the worker goes on anyway after this (a GUI thread busy elsewhere)


def _objects_name(image_layer) -> str:
    return f"{image_layer.name} FastSAM objects"


class EverythingPanel(Container):
    """**Segment everything** into a Labels layer; optional box proposals and edge map."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.all_slices = CheckBox(text="all slices (stacks)", value=False)
        self.show_boxes = CheckBox(text="object boxes as Shapes", value=False)
        self.run_button = PushButton(text="Segment everything")
        self.edges_button = PushButton(text="Edge map")
        # (a multi-layer channel chooser and a 3D-stitch option belong in this panel, above the run button)
        super().__init__(widgets=[self.all_slices, self.show_boxes, self.run_button, self.edges_button], labels=False)
        self.run_button.changed.connect(self.run)
        self.edges_button.changed.connect(self.show_edges)
        controller.busy_changed.connect(lambda busy: setattr(self.run_button, "enabled", not busy))

    @property
    def viewer(self):
        return self.controller.viewer

    def run(self, _=None) -> None:
        """Segment the current slice (or all slices) of the chosen image layer in a worker thread."""
        c = self.controller
        layer = c.image.value
        if layer is None:
            c.error("Open or add an image layer first (File > Open, or a FastSAM sample).")
            return
        if c.busy:
            return
        try:
            session = c.session()
        except ValueError as exc:
            c.error(str(exc))
            return
        shape = spatial_shape(layer)
        if self.all_slices.value and len(shape) > 2:
            indices = list(np.ndindex(*shape[:-2]))
        else:
            indices = [c.slice_index(layer)]
        keys = {index: c.key(layer, index) for index in indices}  # the data version this run starts from
        version, found, made, gone, plans, forms = c.version(layer), [], [], [], [], []
        size = c.pixel_size(layer)  # a GeoTIFF's ground pixel size: the model's scale rule (engine/scale.py)
        layer_added, removed = threading.Event(), threading.Event()

        def cancelled() -> bool:  # Cancel, or the image deleted: stop at the next tile or slice
            return c.cancel_requested() or removed.is_set()

        def watch_removal(event=None) -> None:
            if getattr(event, "value", None) is layer:
                removed.set()

        self.viewer.layers.events.removed.connect(watch_removal)

        def work():
            try:
                import_backends()  # torch, Ultralytics, open_clip: seconds on a first run, never on the GUI thread
                _ = session.segmenter  # load (and maybe download) the weights
                # the objects layer, built here (the GUI thread only adds it, if it is needed)
                yield READY, self._new_objects_layer(layer), None
                layer_added.wait(READY_WAIT_S)  # the model's threads would slow the GUI thread's work down
                for index in indices:
                    if removed.is_set():
                        return  # the image was deleted: the remaining slices are not segmented
                    result = session.segment(c.plane(layer, index), key=keys[index], cancel=cancelled,
                                             pixel_size=size[0], unit=size[1])
                    plans.append(result.scale_plan)
                    forms.append(result.input_note)  # e.g. a stained image shown as its hematoxylin channel
                    labels = result.labels()  # painted here, not on the GUI thread
                    gentle_import.warm_type_checks()  # lazy imports during the run emptied them again
                    yield index, (result, labels), None
            except (Cancelled, *USER_ERRORS) as exc:  # expected: reported as a message, not a traceback
                yield None, None, exc

        def show(out):
            if layer not in self.viewer.layers:  # the user deleted the image: draw nothing over what is left
                if not gone:
                    gone.append(True)
                    c.status.show(f"'{layer.name}' was removed during the run: its objects were discarded.")
                layer_added.set()
                found.append(None)
                return
            if out[0] is READY:
                existing = find_owned(self.viewer, "everything", layer_uid(layer))
                objects = self._objects_layer(layer, prepared=out[1])
                made.append(objects if objects is not existing else None)
                # the model starts once Qt has drawn the new layer too: a paint sharing the GIL with the
                # model set-up (deep copies of its weights) takes twice as long
                QTimer.singleShot(FIRST_DRAW_MS, layer_added.set)
                return
            index, (result, labels), exc = out[0], out[1] or (None, None), out[2]
            if exc is not None:
                found.append(None)
                c.report(exc)
            elif c.version(layer) != version:  # the image data changed during the run
                found.append(None)
                c.book.mark_stale(layer)
                c.error("The image changed during the run: its objects were discarded. Run 'Segment everything' again.")
            else:
                found.append(len(result))
                self._show(layer, index, result, labels)

        def summary():
            self.viewer.layers.events.removed.disconnect(watch_removal)
            if session.is_loaded("segmenter"):  # what the engine used (a checkpoint's record included)
                c.model.show_used(session.params, session.choice)
            if found and None not in found:
                where = f" in {len(found)} slices" if len(found) > 1 else ""
                scale = plans[-1].describe(*size) if plans and plans[-1] is not None else ""
                warning = f" Warning: {plans[-1].warning}" if plans and plans[-1] is not None and plans[-1].warning else ""
                form = f" The {forms[-1]}." if forms and forms[-1] else ""
                c.status.show(f"{plural(sum(found), 'object')} found{where}" + (f" ({scale}).{warning}" if scale else "")
                              + form)
            new = made[0] if made else None
            if new is not None and new in self.viewer.layers and all(n is None for n in found):  # failed: none stays
                self.viewer.layers.remove(new)

        worker = create_worker(
            work, _progress={"total": len(indices), "desc": "FastSAM everything"}, _connect={"yielded": show}, _start_thread=False
        )
        worker.finished.connect(summary)
        # a single untiled image is one model call: the cancel flag is only checked between tiles and slices
        cancellable = len(indices) > 1 or session.tiling.applies(shape[-2:])
        c.start(worker, f"{c.loading_message('segmenter')}segmenting {plural(len(indices), 'slice')}...",
                cancellable=cancellable, kind="everything")

    def _show(self, image_layer, index, result, labels: np.ndarray | None = None) -> None:
        """Write a result (and its (H, W) int32 label image, when already painted) into the objects layer."""
        with self.controller.book.keep_focus():
            layer = self._objects_layer(image_layer)
            self.controller.book.mark_stale(image_layer, False, ("everything", "proposals"))
            layer.data[index] = result.labels() if labels is None else labels
            layer.refresh()
            if self.show_boxes.value and not index:
                self._show_proposals(image_layer, result)
        self.controller.status.show(f"slice {index or 0}: {plural(len(result), 'object')} ...")
        self.controller.update_prompts()

    @staticmethod
    def _new_objects_layer(image_layer):
        """A new objects layer for ``image_layer``, not yet in the viewer (a worker may build it)."""
        return new_labels("everything", image_layer, _objects_name(image_layer), **OBJECTS_STYLE)

    def _objects_layer(self, image_layer, prepared=None):
        """The image's objects layer, added (the active layer kept) when it has none of the image's shape.

        ``prepared``: the layer to add then, built by the worker (:meth:`_new_objects_layer`).
        """
        with self.controller.book.keep_focus():
            return ensure_labels(self.viewer, "everything", image_layer, _objects_name(image_layer),
                                 prepared=prepared, **OBJECTS_STYLE)

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

        c = self.controller
        image, result = c.image.value, c.current_result()
        if image is None or result is None:
            c.error("Run 'Segment everything' first: edges come from its objects.")
            return
        index = c.slice_index(image)
        source = layer_uid(image)
        layer = find_owned(self.viewer, "edges", source)
        if layer is None or layer.data.shape != spatial_shape(image):
            with c.book.keep_focus():
                if layer is not None:
                    self.viewer.layers.remove(layer)
                layer = self.viewer.add_image(
                    np.zeros(spatial_shape(image), np.float32), name=f"{image.name} FastSAM edges", colormap="magma",
                    blending="additive", contrast_limits=(0, 1), metadata={KEY: {"role": "edges", "source": source}},
                    **spatial_geometry(image),
                )
        layer.data[index if index else ...] = edge_map(result)
        layer.refresh()
        c.book.mark_stale(image, False, ("edges",))
        c.status.show(f"edge map of {plural(len(result), 'object')}")
