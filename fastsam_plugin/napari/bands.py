"""Bands of a 3- or 4-band image that napari opened as RGB(A), and a preview of what the model sees."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from magicgui.widgets import ComboBox, Container, Label
from qtpy.QtGui import QImage, QPixmap

from ..engine.imaging import normalize_image
from .controller import Controller
from .reader import GEOREF, file_band_layers

CUSTOM = "custom (channels field)"
MODEL_BANDS = "the model's bands (from its weights)"
PRESETS = {  # band count -> preset name -> channels shown as red, green, blue
    3: {"RGB (bands 1, 2, 3)": "0,1,2"},
    # the model's own bands: those its checkpoint records (demo-trees: NIR false colour), else bands 1-3
    4: {MODEL_BANDS: "", "RGB (bands 1, 2, 3)": "0,1,2", "NIR false colour (bands 4, 1, 2)": "3,0,1"},
}
PREVIEW_PX = 160  # longest side of the preview


def band_count(layer) -> int:
    """Bands of an image layer napari shows as RGB(A) (3 or 4), else 0."""
    if layer is None or not getattr(layer, "rgb", False):
        return 0
    data = layer.data[-1] if layer.multiscale else layer.data  # the smallest level is enough for a count
    return int(data.shape[-1]) if data.shape[-1] in (3, 4) else 0


class BandPicker(Container):
    """**bands** presets for RGB(A)-opened images and a small preview of the model's 8-bit input."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self.hint = Label(value="", visible=False)
        self.hint.native.setWordWrap(True)
        # choices from a callable: napari resets a docked widget's choices on every layer change
        self.preset = ComboBox(label="bands", choices=self._choices, visible=False)
        self.preview = Label(value="", tooltip="the 8-bit RGB image the model sees (channels, contrast stretch)")
        self._preset_channels = None  # the channels text the last preset wrote
        super().__init__(widgets=[self.hint, self.preset, self.preview])
        self.preset.changed.connect(self._apply_preset)
        controller.image.changed.connect(lambda _: self.refresh())
        model = controller.model
        for widget in (model.channels, model.low, model.high):
            widget.changed.connect(lambda _: self.update_preview())
        controller.viewer.dims.events.current_step.connect(lambda e=None: self.update_preview())
        self.refresh()

    def bands(self) -> int:
        """Bands the chosen image offers: its GeoTIFF file's (plugin reader's composite), or 3/4 for RGB(A), else 0."""
        layer = self.controller.image.value
        in_file = file_band_layers(self.controller.viewer, layer) if layer is not None else None
        return len(in_file) if in_file else band_count(layer)

    def refresh(self) -> None:
        """Offer presets when the chosen image has 3 or 4 bands; say which bands the layer shows."""
        layer = self.controller.image.value
        n = self.bands()
        presets = PRESETS.get(n, {})
        self.preset.reset_choices()
        self.preset.visible = bool(presets)
        # a GeoTIFF composite standing for a file of more than 3 bands: say which bands the model gets
        composite = layer is not None and n > 3 and n != band_count(layer)
        self.hint.visible = n == 4 or composite
        if composite:
            shown = ",".join(map(str, layer.metadata[GEOREF].get("bands", ())))
            where = "picked here:" if presets else "given in 'channels' (numbered from 0, e.g. 3,2,1)."
            self.hint.value = f"This layer shows bands {shown} of a {n}-band GeoTIFF; the model segments the file's bands {where}"
        elif n == 4:
            self.hint.value = ("4-band image shown as RGBA: napari draws band 4 (often near-infrared) as "
                               "transparency. Pick the bands the model sees:")
        channels = self.controller.model.channels
        if not presets and channels.value == self._preset_channels:  # a preset of the previous image: drop it
            channels.value = ""
        if presets:
            current = channels.value.replace(" ", "")
            match = [name for name, channels in presets.items() if channels == current]
            self.preset.value = match[0] if match else next(iter(presets))
            self._apply_preset(self.preset.value)
        self.update_preview()

    def _choices(self, _=None) -> list[str]:
        return [*PRESETS.get(self.bands(), {}), CUSTOM]

    def _apply_preset(self, name: str) -> None:
        channels = PRESETS.get(self.bands(), {}).get(name)
        if channels is not None:
            self._preset_channels = channels
            self.controller.model.channels.value = channels

    def model_input(self) -> np.ndarray | None:
        """(h, w, 3) uint8: the displayed slice as the model sees it, subsampled to about 2x the preview size."""
        c = self.controller
        layer = c.image.value
        if layer is None:
            return None
        index = c.slice_index(layer)
        sources = c.channels_of(layer)  # channel layers, or a GeoTIFF composite's band layers, as segmented
        planes = []
        for source in sources:
            data = source.data[-1] if source.multiscale else source.data  # the smallest level is plenty
            hw = data.shape[len(index):len(index) + 2]
            step = max(1, max(hw) // (2 * PREVIEW_PX))
            planes.append(np.asarray(data[(*index, slice(None, None, step), slice(None, None, step))]))  # only that
        plane = planes[0] if len(planes) == 1 else np.stack(planes, axis=-1)
        session = c.existing_session  # the model's band record once it has loaded (no load for a preview)
        bands = session.loaded_model_bands if session is not None else None
        options = replace(c.image_options(layer), model_bands=bands).for_image(plane.shape)
        return normalize_image(plane, rgb=options.rgb, channels=options.channels,
                               percentiles=options.percentiles, channels_axis=options.channels_axis)

    def update_preview(self) -> None:
        """Redraw the preview; a setting the engine refuses is said in the preview's place."""
        try:
            rgb = self.model_input()
        except ValueError as exc:  # ImageError and bad channel text are ValueErrors with the way out
            self.preview.native.clear()
            self.preview.value = f"preview: {exc}"
            return
        if rgb is None:
            self.preview.native.clear()
            return
        rgb = np.ascontiguousarray(rgb)
        h, w = rgb.shape[:2]
        qimage = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        scale = PREVIEW_PX / max(h, w)
        pixmap = QPixmap.fromImage(qimage.copy()).scaled(max(1, int(w * scale)), max(1, int(h * scale)))
        self.preview.native.setPixmap(pixmap)
