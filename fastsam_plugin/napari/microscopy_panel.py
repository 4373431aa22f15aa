"""Microscopy: channel layers segmented together, slices linked into 3D objects, measurements as layer features.

* **channels**: an image opened with ``channel_axis`` arrives as one Image layer
  per channel. Choosing two or more here segments them together as the channels
  of one image (up to three shown as red, green, blue, each contrast-stretched
  on its own; more are combined by their maximum), as the engine does for
  multi-channel arrays. Results attach to the first chosen layer.
* **link slices**: after *all slices* of a stack are segmented, objects of
  consecutive slices whose masks overlap with IoU above **link IoU** become one
  3D object (or one track over time) in the objects layer; **split waists**
  then cuts objects stacked along Z that the linking joined (0 for time series).
* **measure**: the objects and annotation layers get a measurement table as
  their ``features`` (napari's *Layers > Features table*): area in pixels and in
  the image's physical units, centroid, bounding box, eccentricity, solidity,
  intensity per channel of the original data, and the model's score. It is
  refreshed after each run and each accept.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import CheckBox, Container, FloatSpinBox, PushButton, Select

from ..engine.session import Session
from .controller import Controller
from .jobs import plural
from .label_edits import map_centroids
from .layers import layer_uid, owned, spatial_shape

RGB_NAMES = ("red", "green", "blue", "alpha")


def physical_spacing(image_layer) -> tuple[tuple[float, ...] | None, str]:
    """``(spacing, unit)`` of an image layer's spatial axes from its scale and units; None when uncalibrated."""
    n = image_layer.ndim
    scale = tuple(float(s) for s in image_layer.scale[:n])
    units = [str(u) for u in getattr(image_layer, "units", ())[:n]]
    if units and all(u == "micrometer" for u in units[-2:]):
        return scale, "µm"
    if all(s == 1.0 for s in scale) and all(u in ("pixel", "") for u in units):
        return None, "px"
    plane_units = set(units[-2:])
    return scale, (plane_units.pop() if len(plane_units) == 1 and "pixel" not in plane_units else "world")


class MicroscopyPanel(Container):
    """Channel layers of one image, 3D linking of slices, measurements in the layers' features."""

    def __init__(self, controller: Controller, annotations=None) -> None:
        self.controller = controller
        self.annotations = annotations
        self.channels = Select(label="channels", choices=controller.image_layers, allow_multiple=True,
                               tooltip="choose 2 or more image layers (e.g. opened with channel_axis) "
                                       "to segment them together as the channels of one image")
        self.link = CheckBox(text="link slices into 3D objects (after all slices)", value=False)
        self.link_iou = FloatSpinBox(label="link IoU", min=0.05, max=0.95, step=0.05, value=0.25)
        self.split = FloatSpinBox(label="split waists", min=0.0, max=0.95, step=0.05, value=0.5,
                                  tooltip="cut a linked object where a slice is narrower than this times the widest "
                                          "slice on both sides (objects stacked along Z); 0 = off, e.g. for tracks")
        self.measure_button = PushButton(text="Measure objects")
        self._done: tuple | None = None  # what the objects layer was last linked/measured from
        super().__init__(widgets=[self.channels, self.link, self.link_iou, self.split, self.measure_button], label="Microscopy")
        self.channels.native.setMaximumHeight(90)
        controller.channel_layers = lambda: list(self.channels.value)
        self.channels.changed.connect(self._channels_chosen)
        viewer = controller.viewer
        viewer.layers.events.inserted.connect(lambda e=None: self.channels.reset_choices())
        viewer.layers.events.removed.connect(lambda e=None: self.channels.reset_choices())
        controller.after_run.append(self.after_run)
        self.measure_button.changed.connect(self.measure)
        if annotations is not None:  # refreshed after the annotation panel's own handlers ran
            annotations.accept.changed.connect(lambda e=None: self.measure_annotations())
            annotations.undo.changed.connect(lambda e=None: self.measure_annotations())

    # -- channels ----------------------------------------------------------
    def _channels_chosen(self, chosen) -> None:
        c = self.controller
        chosen = list(chosen)
        if len(chosen) < 2:
            return
        if len({spatial_shape(ly) for ly in chosen}) > 1:
            c.error("The chosen channel layers differ in size: choose the channel layers of one image.")
            return
        if c.image.value is not chosen[0]:  # results attach to the first chosen layer
            c.image.value = chosen[0]
        c.status.show(f"{len(chosen)} layers segmented together as channels: {', '.join(ly.name for ly in chosen)}")

    def channel_names(self, image_layer) -> tuple[str, ...] | None:
        layers = self.controller.channels_of(image_layer)
        if len(layers) > 1:
            return tuple(ly.name for ly in layers)
        if image_layer.rgb:
            n = (image_layer.data[0] if image_layer.multiscale else image_layer.data).shape[-1]
            return RGB_NAMES[:n]
        return None

    def original(self, image_layer) -> np.ndarray:
        """The image data as the user has it (channels last), all slices: the intensities to measure."""
        c = self.controller
        shape = spatial_shape(image_layer)
        if len(shape) == 2:
            return c.plane(image_layer, ())
        planes = [c.plane(image_layer, index) for index in np.ndindex(*shape[:-2])]
        return np.stack(planes).reshape(*shape[:-2], *planes[0].shape)

    # -- after a run: link slices, measure ---------------------------------
    def slice_results(self, image_layer) -> list | None:
        """The cached result of every slice of a stack, or None when some slice was not segmented."""
        c = self.controller
        session = c.existing_session
        shape = spatial_shape(image_layer)
        if session is None or len(shape) < 3:
            return None
        results = [session.cached(c.key(image_layer, index)) for index in np.ndindex(*shape[:-2])]
        return None if any(r is None for r in results) else results

    def after_run(self) -> None:
        """Link the slices (when asked and all are segmented) and refresh the objects' measurements."""
        c = self.controller
        image, objects = c.image.value, c.owned_layer("everything")
        if image is None or objects is None or objects.metadata.get("fastsam", {}).get("stale"):
            return
        if len(spatial_shape(image)) > 2:
            results = self.slice_results(image)
            if results is None or not self.link.value:
                return  # per-slice ids repeat across slices: nothing to measure as 3D objects yet
            if len(spatial_shape(image)) > 3:
                c.error("Linking works on one stack axis (Z or T); this image has more.")
                return
            done = (layer_uid(objects), tuple(r.uid for r in results), self.link_iou.value, self.split.value)
            if done == self._done:
                return
            self._done = done
            objects.data = Session.stitch(results, float(self.link_iou.value), split=float(self.split.value) or None)
            objects.metadata["fastsam"]["linked"] = float(self.link_iou.value)
            self.measure_layer(objects, image, results, background=True)
            return
        result = c.current_result()
        if result is not None and (layer_uid(objects), result.uid) != self._done:
            self._done = (layer_uid(objects), result.uid)
            self.measure_layer(objects, image, result, background=True)

    def measure_layer(self, labels_layer, image_layer, results=None, *, background: bool = False) -> None:
        """Set ``labels_layer.features`` to the measurement table of its objects (one row per label).

        ``background``: measure in a worker thread (a job of the controller, so the run buttons wait for it)
        and set the features when it returns, unless the layer's data changed meanwhile; after a run, where
        thousands of objects would otherwise freeze the window.
        """
        spacing, unit = physical_spacing(image_layer)
        labels = np.asarray(labels_layer.data)
        original, names = self.original(image_layer), self.channel_names(image_layer)
        c = self.controller

        def table():
            return Session.measure(labels, original, results=results, spacing=spacing, unit=unit,
                                   channel_names=names)

        def show(out) -> None:
            if labels_layer in c.viewer.layers and labels_layer.data is labels:  # not replaced meanwhile
                out = map_centroids(out, image_layer.metadata.get("georef"))  # map coordinates for a GeoTIFF
                labels_layer.features = out.assign(index=out["label"])  # napari maps label ids through 'index'
                # added to the result it follows (a run's count, an accept): that stays readable
                c.status.append(f"{plural(len(out), 'object')} measured in '{labels_layer.name}' (features table)")

        if background:
            c.run(table, show, f"measuring the objects of '{labels_layer.name}'...", expected=(ValueError,),
                  kind="measure")
            return
        try:
            out = table()
        except ValueError as exc:  # e.g. labels and image of different sizes: the message says which
            c.error(f"measurements: {exc}")
            return
        show(out)

    def measure_annotations(self) -> None:
        c = self.controller
        image = c.image.value
        if image is None or self.annotations is None:
            return
        name = self.annotations.target.value
        layer = c.viewer.layers[name] if name in c.viewer.layers else None  # noqa: SIM401 - LayerList has no get
        if layer is not None and tuple(layer.data.shape) == spatial_shape(image):
            self.measure_layer(layer, image)

    def measure(self, _=None) -> None:
        """Measure the objects layer (after linking, for stacks) and the annotation layers of the chosen image."""
        c = self.controller
        image = c.image.value
        if image is None:
            c.error("Open or add an image layer first.")
            return
        done = 0
        objects = c.owned_layer("everything")
        if objects is not None:
            linked = "linked" in objects.metadata.get("fastsam", {})
            if len(spatial_shape(image)) == 2:
                self.measure_layer(objects, image, c.current_result())
                done += 1
            elif linked:
                self.measure_layer(objects, image, self.slice_results(image))
                done += 1
        for layer in [ly for ly in c.viewer.layers if owned(ly, "annotation", layer_uid(image))]:
            self.measure_layer(layer, image)
            done += 1
        if not done:
            c.error("Nothing to measure yet: run 'Segment everything' (for stacks: all slices, linked) or accept "
                    "objects into an annotation layer.")
