"""The dock's **image** field: which image layer the runs and prompts work on.

It follows the user, as napari's own layer controls do: an image the user
opens or adds, or selects in the layer list, becomes the chosen image. The
plugin's own layers are never offered. A GeoTIFF opened with the plugin's
reader arrives as its bands (hidden channel layers) plus an RGB composite that
stands for the whole file (the widget segments the file's bands through it,
see ``reader.file_band_layers``): the composite is followed, its band layers
are not (a click on a band to change its contrast does not switch the model
to one band); the field still offers them.
"""

from __future__ import annotations

from magicgui.widgets import ComboBox
from napari.layers import Image

from .layers import owned
from .reader import GEOREF


def is_file_band(layer) -> bool:
    """Whether ``layer`` is one band of a GeoTIFF that the plugin's reader opened (its composite stands for it)."""
    georef = getattr(layer, "metadata", {}).get(GEOREF)
    return (not getattr(layer, "rgb", False) and isinstance(georef, dict)
            and layer.name in (georef.get("band_layers") or ()))


class ImageChoice:
    """The image ComboBox of one viewer, following the layers the user opens and selects.

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        Whose image layers are offered.
    """

    def __init__(self, viewer) -> None:
        self.viewer = viewer
        self.widget = ComboBox(label="image", choices=self.layers, tooltip="the image to segment; follows the "
                               "image layer you open or select")
        viewer.layers.events.inserted.connect(self._inserted)
        viewer.layers.events.removed.connect(self._removed)
        viewer.layers.selection.events.active.connect(self._selected)
        self._choose(self.default())

    def layers(self, _=None) -> list:
        """The user's image layers (never the plugin's own)."""
        return [ly for ly in self.viewer.layers if isinstance(ly, Image) and not owned(ly)]

    def follows(self, layer) -> bool:
        """Whether opening or selecting ``layer`` makes it the chosen image."""
        return isinstance(layer, Image) and not owned(layer) and not is_file_band(layer)

    def default(self):
        """The image to choose when none is: the top-most followed image layer, else any image layer."""
        layers = self.layers()
        return next((ly for ly in reversed(layers) if self.follows(ly)), layers[-1] if layers else None)

    def _choose(self, layer) -> None:
        self.widget.reset_choices()
        if layer is not None and layer is not self.widget.value and layer in self.widget.choices:
            self.widget.value = layer

    def _inserted(self, event=None) -> None:
        layer = getattr(event, "value", None)
        self._choose(layer if self.follows(layer) else self._kept())

    def _removed(self, event=None) -> None:
        self._choose(self._kept())

    def _kept(self):
        """The chosen image while it is still in the viewer, else the default."""
        value = self.widget.value
        return value if value is not None and value in self.viewer.layers else self.default()

    def _selected(self, event=None) -> None:
        layer = getattr(event, "value", None)
        if self.follows(layer):
            self._choose(layer)
