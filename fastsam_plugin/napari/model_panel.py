"""The model panel: weights, device, everything-mode and image settings."""

from __future__ import annotations

from dataclasses import dataclass

from magicgui.widgets import CheckBox, ComboBox, Container, FileEdit, FloatSpinBox, Label, LineEdit, SpinBox

from ..engine.imaging import DEFAULT_PERCENTILES
from ..engine.model import EverythingParams
from ..engine.operating_point import UserChoice, operating_point
from ..engine.pipeline import ImageOptions, TileOptions
from ..engine.weights import cache_dir, resolve_weights

POINT_FIELDS = ("imgsz", "conf", "iou", "max_det")  # the operating point's fields, in _shown_values' order
WEIGHT_CHOICES = ("FastSAM-s", "FastSAM-x", "demo", "demo-nuclei", "demo-trees", "file")
TEXT_CHOICES = ("ViT-B-32 (openai)", "demo", "file")


GET_FASTSAM_S = ("Using the bundled demo model (synthetic shapes only). For real images choose FastSAM-s: it "
                 "downloads once, or copy FastSAM-s.pt from github.com/ultralytics/assets/releases to {path}.")


def fastsam_s_path():
    """The cached FastSAM-s checkpoint, or None when it is not on this machine (never downloads)."""
    try:
        return resolve_weights("FastSAM-s", download=False)
    except FileNotFoundError:
        return None


@dataclass(frozen=True)
class ModelSettings:
    """What a Session is built from; a change of these loads new models."""

    weights: str
    device: str
    clip_model: str
    clip_pretrained: str | None


class ModelPanel(Container):
    """Weights, device, imgsz/conf/iou, channels, contrast and tiling."""

    def __init__(self) -> None:
        fastsam_s = fastsam_s_path()
        self.weights = ComboBox(label="weights", choices=WEIGHT_CHOICES, value="FastSAM-s" if fastsam_s else "demo")
        self.weights_file = FileEdit(label="weights file", filter="*.pt", visible=False)
        self.note = Label(value="" if fastsam_s else GET_FASTSAM_S.format(path=cache_dir() / "FastSAM-s.pt"),
                          visible=not fastsam_s)
        self.note.native.setWordWrap(True)
        self.device = ComboBox(label="device", choices=("auto", "cuda", "mps", "cpu"), value="auto")
        self.text_model = ComboBox(label="text model", choices=TEXT_CHOICES,
                                   value=TEXT_CHOICES[0] if fastsam_s else "demo")
        self.text_file = FileEdit(label="CLIP checkpoint", visible=False)
        # imgsz, conf, iou and max objects show the weights' operating point (the engine's); only fields the
        # user changes from it are passed on as their choice (choice()), the rest the engine resolves
        self.imgsz = SpinBox(label="imgsz", min=64, max=4096, step=32)
        self.conf = FloatSpinBox(label="conf", min=0.0, max=1.0, step=0.05)
        self.iou = FloatSpinBox(label="iou", min=0.0, max=1.0, step=0.05)
        self.max_det = SpinBox(label="max objects", min=1, max=1000)
        self.show_settings(operating_point(self.weights.value))
        self.object_size = FloatSpinBox(
            label="object size (px)", min=0.0, max=10000.0, step=1.0, value=0.0,
            tooltip="typical object diameter in pixels; 0 = automatic (the image's pixel size, else an estimate). "
                    "Images are resized so objects match what the model was trained on (models that record a scale).")
        self.channels = LineEdit(label="channels", value="", tooltip="e.g. 0,2 (empty: automatic)")
        self.low = FloatSpinBox(label="contrast low %", min=0.0, max=50.0, step=0.5, value=DEFAULT_PERCENTILES[0])
        self.high = FloatSpinBox(label="contrast high %", min=50.0, max=100.0, step=0.1, value=DEFAULT_PERCENTILES[1])
        self.tiling = ComboBox(label="tiling", choices=("auto", "on", "off"), value="auto")
        self.tile_size = SpinBox(label="tile size", min=256, max=4096, step=128, value=1024)
        self.more = CheckBox(text="more settings (iou, contrast, tiling)", value=False)
        self._advanced = (self.iou, self.max_det, self.low, self.high, self.tiling, self.tile_size)
        for widget in self._advanced:  # rarely changed: folded away so the prompts fit on the screen
            widget.visible = False
        super().__init__(
            widgets=[self.weights, self.weights_file, self.note, self.device, self.text_model, self.text_file, self.imgsz,
                     self.conf, self.object_size, self.channels, self.more, *self._advanced],
            label="Model",
        )
        self.more.changed.connect(lambda on: [setattr(w, "visible", on) for w in self._advanced])
        self.weights.changed.connect(self._weights_chosen)
        self.text_model.changed.connect(lambda v: setattr(self.text_file, "visible", v == "file"))
        self.weights_file.changed.connect(self._file_chosen)

    def _weights_chosen(self, choice: str) -> None:
        """Show the file picker for 'file'; apply a named model's operating point (imgsz, conf)."""
        self.weights_file.visible = choice == "file"
        self.note.visible = choice == "demo" and fastsam_s_path() is None
        if choice != "file":
            self.show_settings(operating_point(choice))

    def use_demo(self) -> None:
        """Switch to the bundled demo models (their operating point follows)."""
        self.weights.value = "demo"
        self.text_model.value = "demo"

    def _file_chosen(self, path) -> None:
        """A checkpoint from ``napari-fastsam train`` records its imgsz and conf: use them (the user can still edit)."""
        from ..engine.operating_point import file_operating_point

        try:
            point = file_operating_point(path) if path and str(path).endswith(".pt") else None
        except Exception:  # noqa: BLE001 - unreadable or refused file: the run reports why, with advice
            point = None
        self.show_settings(point or EverythingParams())  # no record: FastSAM's defaults, as the engine will use

    def model_settings(self) -> ModelSettings:
        weights = str(self.weights_file.value) if self.weights.value == "file" else self.weights.value
        if self.text_model.value == "demo":
            clip, pretrained = "demo", None
        elif self.text_model.value == "file":
            clip, pretrained = "ViT-B-32", str(self.text_file.value)
        else:
            clip, pretrained = "ViT-B-32", "openai"
        return ModelSettings(weights, self.device.value, clip, pretrained)

    def chosen_object_size(self) -> float | None:
        """The user's typical object diameter in pixels, or None for automatic (field at 0)."""
        return float(self.object_size.value) or None

    def _shown_values(self) -> tuple:
        return (int(self.imgsz.value), float(self.conf.value), float(self.iou.value), int(self.max_det.value))

    def show_settings(self, params: EverythingParams) -> None:
        """Show ``params`` (the weights' operating point, or what a run used) as the fields' unchosen values."""
        self.imgsz.value, self.conf.value, self.iou.value, self.max_det.value = (
            params.imgsz, params.conf, params.iou, params.max_det)
        self._shown = self._shown_values()  # read back: the widgets round to their steps and decimals

    def show_used(self, params: EverythingParams, choice: UserChoice) -> None:
        """After a run: show the settings the engine used in the fields the user left to it (``choice`` None)."""
        # left to the engine in that run and not edited since (an edit during the run stays the user's)
        free = [getattr(choice, n) is None and now == shown
                for n, now, shown in zip(POINT_FIELDS, self._shown_values(), self._shown)]
        for name, update in zip(POINT_FIELDS, free):
            if update:
                getattr(self, name).value = getattr(params, name)
        used = self._shown_values()
        self._shown = tuple(u if update else s for u, update, s in zip(used, free, self._shown))

    def choice(self) -> UserChoice:
        """What the user set: each field changed from the shown operating point, and the object size."""
        chosen = {n: v for n, v, shown in zip(POINT_FIELDS, self._shown_values(), self._shown) if v != shown}
        return UserChoice(**chosen, object_size=self.chosen_object_size())

    def image_options(self) -> ImageOptions:
        text = self.channels.value.strip()
        try:
            channels = tuple(int(c) for c in text.split(",")) if text else None
        except ValueError:
            raise ValueError(f"channels {text!r}: give channel numbers separated by commas, e.g. 0,2") from None
        limits = (float(self.low.value), float(self.high.value))
        # default limits: leave 8-bit images as they are, stretch the rest (imaging's own rule)
        return ImageOptions(channels=channels, percentiles=None if limits == DEFAULT_PERCENTILES else limits)

    def tile_options(self) -> TileOptions:
        enabled = {"auto": None, "on": True, "off": False}[self.tiling.value]
        return TileOptions(enabled=enabled, tile=int(self.tile_size.value))
