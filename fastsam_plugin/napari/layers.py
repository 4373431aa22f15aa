"""Layers the plugin owns, recognised by metadata, never by name alone.

Every layer the plugin creates carries ``metadata["fastsam"] = {"role": ...,
"source": <image layer uid>}``. Results are only ever written into such
layers; a layer the user made is never overwritten or removed.
"""

from __future__ import annotations

import numpy as np

KEY = "fastsam"
#: a new layer is shown this long after it was added hidden: a zero-delay call would run before Qt repaints
SHOW_AFTER_MS = 20


def layer_uid(layer) -> str:
    """A stable identity for a layer during a session."""
    return str(getattr(layer, "unique_id", id(layer)))


def owned(layer, role: str | None = None, source: str | None = None) -> bool:
    """Whether ``layer`` was made by the plugin (optionally for ``role`` and ``source``)."""
    info = getattr(layer, "metadata", {}).get(KEY)
    if not isinstance(info, dict) or "role" not in info:  # a user's layer may carry only a prompt record
        return False
    return (role is None or info.get("role") == role) and (source is None or info.get("source") == source)


def find_owned(viewer, role: str, source: str):
    """The plugin's layer with this role for this image layer, if any."""
    return next((ly for ly in viewer.layers if owned(ly, role, source)), None)


def spatial_geometry(image_layer) -> dict:
    """``scale``/``translate`` (and physical ``units``) of an image layer's spatial axes (RGB channel excluded).

    Layers made with these lie exactly over the image in world coordinates (e.g. micrometres).
    """
    n = image_layer.ndim
    geometry = {"scale": tuple(image_layer.scale[:n]), "translate": tuple(image_layer.translate[:n])}
    units = getattr(image_layer, "units", None)  # napari >= 0.6
    if units is not None:
        geometry["units"] = tuple(str(u) for u in units[:n])
    return geometry


def spatial_shape(image_layer) -> tuple[int, ...]:
    """Shape of an image layer without the RGB axis (level 0 of multiscale data)."""
    data = image_layer.data[0] if image_layer.multiscale else image_layer.data
    return tuple(data.shape[:-1]) if image_layer.rgb else tuple(data.shape)


def new_labels(role: str, image_layer, name: str, **kwargs):
    """A Labels layer for ``role`` over ``image_layer`` (zeros, its shape and geometry), not yet in a viewer.

    Building the layer object touches no Qt widget, so a worker thread may do
    it and spare the GUI thread that part of adding a layer (see ``ensure_labels``).
    """
    from napari.layers import Labels

    return Labels(
        np.zeros(spatial_shape(image_layer), np.int32),
        name=name,
        # a GeoTIFF's CRS and transform (napari/reader.py) follow its labels, so they save as map polygons
        metadata={KEY: {"role": role, "source": layer_uid(image_layer)},
                  **{k: v for k, v in image_layer.metadata.items() if k == "georef"}},
        **spatial_geometry(image_layer),
        **kwargs,
    )


def ensure_labels(viewer, role: str, image_layer, name: str, prepared=None, **kwargs):
    """Return the plugin's Labels layer for ``role``, creating it with the image's shape and geometry.

    ``prepared``: a layer from :func:`new_labels` (made in a worker) to add when a new one is needed.
    """
    source = layer_uid(image_layer)
    shape = spatial_shape(image_layer)
    layer = find_owned(viewer, role, source)
    if layer is not None and layer.data.shape == shape:
        return layer
    if layer is not None:  # image changed shape: retire our own stale layer
        viewer.layers.remove(layer)
    fits = prepared is not None and prepared.data.shape == shape and owned(prepared, role, source)
    return add_in_two_turns(viewer, prepared if fits else new_labels(role, image_layer, name, **kwargs))


def add_in_two_turns(viewer, layer):
    """Add ``layer`` to ``viewer`` hidden and show it :data:`SHOW_AFTER_MS` later (when it was visible); return it.

    napari's work for a new layer on the GUI thread is two parts: adding it
    (its visuals, overlays and controls) and its first draw, 0.1-0.15 s each
    for a first Labels layer here. A hidden layer is drawn only once it is
    shown, so the window redraws and takes input in between: two short
    freezes instead of one long one.
    """
    from qtpy.QtCore import QTimer

    shown = layer.visible
    layer.visible = False
    viewer.add_layer(layer)
    if shown:
        QTimer.singleShot(SHOW_AFTER_MS, lambda: setattr(layer, "visible", True))
    return layer
