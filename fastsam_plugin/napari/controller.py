"""State the FastSAM widgets share: session, per-layer cache keys, slice, prompt rules; runs, image choice, layers.

The small widgets (everything mode, point/box/text prompts, annotations) hold
only their buttons; they ask the :class:`Controller` for the session, the
chosen image, the displayed slice and the cached result, and report through
it. There is one controller per dock widget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from magicgui.widgets import CheckBox
from napari.layers import Image

from ..engine.checkpoints import UnsafeCheckpointError
from ..engine.progress import Cancelled
from ..engine.session import Session
from . import gentle_import
from ._gl_guard import guard_triton
from .image_choice import ImageChoice
from .jobs import Jobs
from .layer_book import LayerBook
from .layers import layer_uid, owned, spatial_shape
from .model_panel import ModelPanel, ModelSettings
from .reader import file_band_layers
from .status import StatusBar
from .trust import TrustedWeights

if TYPE_CHECKING:
    import napari

    from ..engine.pipeline import ImageOptions

# kind -> function(prompt layer, result, slice index, number of leading axes) -> (H, W) int32 selection
SelectionRule = Callable[[object, object, tuple, int], np.ndarray]


def import_backends() -> None:
    """Import torch, Ultralytics and open_clip, with the triton guard first (see ``_gl_guard``).

    Called in a worker thread; ``gentle_imports`` keeps the imports from
    holding the GIL for long stretches, which would freeze the GUI thread.
    """
    guard_triton()
    with gentle_import.gentle_imports():
        import open_clip  # noqa: F401
        import pandas  # noqa: F401 - napari needs it for the first Labels layer: import it here, not on the GUI thread

        from ..engine._ultralytics import ultralytics

        ultralytics()
        warm_labels_layer()


def warm_labels_layer() -> None:
    """Do napari's one-time work for a first Labels layer here, in the worker, instead of on the GUI thread.

    napari's first int32 Labels layer of a session compiles (or loads from
    numba's cache) its colour-mapping kernels and imports numba's
    implementation modules, and vispy computes the dash patterns of its line
    visuals (cached after the first time): about a second of GUI-thread time
    on an idle CPU, which would freeze the window just as the results
    arrive. A layer object outside any viewer creates no Qt widgets; a
    failure only costs the warm-up.
    """
    try:
        from napari.layers import Labels
        from vispy.visuals.line.dash_atlas import DashAtlas

        Labels(np.zeros((2, 2), np.int32))  # the dtype of the plugin's Labels layers (layers.ensure_labels)
        DashAtlas()
    except Exception:  # an optimisation: the GUI thread does the work if this fails
        logging.getLogger(__name__).debug("napari Labels warm-up failed", exc_info=True)


def _same_segmenter(a: ModelSettings, b: ModelSettings) -> bool:
    """Whether two model settings differ at most in the text model."""
    return (a.weights, a.device) == (b.weights, b.device)


class Controller:
    """The session and the bookkeeping behind the FastSAM widgets of one viewer.

    Its parts, one job each: :class:`~.image_choice.ImageChoice` (the image
    field, following the user's layers), :class:`~.jobs.Jobs` (one run at a
    time, busy state, cancel, failures said in the dock),
    :class:`~.trust.TrustedWeights` (refused checkpoints the user chose to
    load) and :class:`~.layer_book.LayerBook` (the plugin's layers). What is
    left here: cache keys per image data version, the session, and prompt
    dispatch.
    """

    def __init__(self, viewer: napari.viewer.Viewer, model: ModelPanel, status: StatusBar) -> None:
        self.viewer, self.model, self.status = viewer, model, status
        self.choice = ImageChoice(viewer)
        self.image = self.choice.widget
        self.smooth = CheckBox(text="smooth selection", value=False)  # shared by point and box prompts
        self.book = LayerBook(viewer, self.image)
        self.jobs = Jobs(status, self.report)
        self.busy_changed = self.jobs.busy_changed  # a model run started (True) or ended (False)
        self.after_run = self.jobs.after_run  # called when a job ends, before the widgets are told
        self.trusted = TrustedWeights()
        self._session: Session | None = None
        self._settings: ModelSettings | None = None
        self._versions: dict[str, int] = {}  # image layer uid -> number of data edits (part of the cache key)
        self._rules: dict[str, SelectionRule] = {}
        # image layers segmented together as the channels of one image (set by the microscopy panel)
        self.channel_layers: Callable[[], list] = list
        self.last_kind: str | None = None  # the prompt kind shown in the selection layer
        self.selection_prompts: list = []  # ObjectPrompt per selection id: how the selection was made
        self.image.changed.connect(lambda _: None if self.busy else status.show(""))  # old news of another image
        viewer.layers.events.inserted.connect(self._layer_added)
        for layer in self.image_layers():  # images opened before the widget
            self._watch(layer)
        viewer.dims.events.current_step.connect(lambda e=None: self.update_prompts())

    @property
    def confirm_trust(self) -> Callable[[str], bool]:
        """Asked before a refused checkpoint is loaded anyway (a Qt dialog; replaceable in tests and scripts)."""
        return self.trusted.confirm

    @confirm_trust.setter
    def confirm_trust(self, ask: Callable[[str], bool]) -> None:
        self.trusted.confirm = ask

    # -- images -----------------------------------------------------------
    def image_layers(self, _=None) -> list:
        """The user's image layers (never the plugin's own)."""
        return self.choice.layers()

    def _layer_added(self, event=None) -> None:
        layer = getattr(event, "value", None)
        if isinstance(layer, Image) and not owned(layer):
            self._watch(layer)

    def _watch(self, layer) -> None:
        """Invalidate cached results when the image data changes."""
        layer.events.data.connect(lambda e=None, ly=layer: self._image_changed(ly))

    def _image_changed(self, layer) -> None:
        self.book.mark_stale(layer)
        uid = layer_uid(layer)
        self._versions[uid] = self.version(layer) + 1
        if self._session is not None:  # drop this layer's results only; other layers keep theirs
            self._session.invalidate(lambda key: key[0] == uid)

    def version(self, layer) -> int:
        """How often the layer's data was replaced since the widget opened."""
        return self._versions.get(layer_uid(layer), 0)

    def key(self, layer, index: tuple[int, ...]) -> tuple:
        """Cache key of one slice of one layer at its current data version (and of its channel layers)."""
        channels = tuple((layer_uid(ly), self.version(ly)) for ly in self.channels_of(layer) if ly is not layer)
        return (layer_uid(layer), index, self.version(layer), *((channels,) if channels else ()))

    def channels_of(self, layer) -> list:
        """The layers whose planes make up ``layer``'s image.

        The chosen channel layers when ``layer`` is one of them; for the RGB
        composite of a GeoTIFF opened by the plugin's reader, the file's band
        layers (``reader.file_band_layers``); else ``[layer]``.
        """
        chosen = list(self.channel_layers())
        if len(chosen) > 1 and layer in chosen:
            return chosen
        return file_band_layers(self.viewer, layer) or [layer]

    def image_options(self, layer) -> ImageOptions:
        """The model panel's image options for ``layer``'s image (see :meth:`channels_of`).

        Separate channel layers (fluorescence channels, a GeoTIFF's bands) are stretched each on its own.
        """
        options = self.model.image_options()
        return replace(options, rgb=False) if len(self.channels_of(layer)) > 1 else options

    def slice_index(self, layer) -> tuple[int, ...]:
        """Index of the displayed 2D slice in the image's leading axes."""
        shape = spatial_shape(layer)
        lead = len(shape) - 2
        if lead <= 0:
            return ()
        data_point = layer.world_to_data(self.viewer.dims.point)
        return tuple(int(np.clip(round(float(v)), 0, shape[i] - 1)) for i, v in enumerate(data_point[:lead]))

    @staticmethod
    def pixel_size(layer) -> tuple[float | None, str | None]:
        """The ground pixel size of a GeoTIFF layer from the plugin's reader (metres), else (None, None)."""
        from ..io.pixel_size import of_georef_record
        from .reader import GEOREF

        return of_georef_record(getattr(layer, "metadata", {}).get(GEOREF)) or (None, None)

    def plane(self, layer, index: tuple[int, ...]) -> np.ndarray:
        """One 2D (or 2D + RGB) plane of the layer's level-0 data; (H, W, C) when channel layers are combined."""
        planes = []
        for ly in self.channels_of(layer):
            data = ly.data[0] if ly.multiscale else ly.data
            planes.append(np.asarray(data[index] if index else data))
        if len(planes) > 1 and len({p.shape for p in planes}) > 1:
            raise ValueError("the channel layers differ in shape: choose layers of one image (same size) as channels.")
        return planes[0] if len(planes) == 1 else np.stack(planes, axis=-1)

    def to_image_rows_cols(self, prompt_layer, coords: np.ndarray) -> np.ndarray:
        """Prompt-layer data coordinates to (..., row, col) of the chosen image layer's data."""
        image = self.image.value
        world = np.array([prompt_layer.data_to_world(c) for c in coords]).reshape(len(coords), -1)
        return np.array([image.world_to_data(w) for w in world]).reshape(len(coords), -1)

    # -- session ----------------------------------------------------------
    def session(self) -> Session:
        """The session for the current model settings (models and their libraries load in the worker)."""
        guard_triton()  # before any worker imports torchvision (see _gl_guard)
        settings = self.model.model_settings()
        if self._session is not None and self._settings is not None and _same_segmenter(settings, self._settings):
            # another text model only: the objects found so far stay (the fix for an offline text model is
            # "choose the demo text model", after which 'Find by text' must work on the same objects)
            self._session.use_text_model(settings.clip_model, settings.clip_pretrained)
            self._settings = settings
        if self._session is None or settings != self._settings:
            self._session = Session(
                settings.weights, settings.device, settings.clip_model, settings.clip_pretrained,
                trust=True if settings.weights in self.trusted else None,
            )
            self._settings = settings
        # only what the user changed; the engine resolves the rest against the weights (engine.operating_point)
        self._session.choice = self.model.choice()
        self._session.image_options = self.image_options(self.image.value)
        self._session.tiling = self.model.tile_options()
        return self._session

    def current_result(self):
        """The cached result of the displayed slice, or None before segmentation."""
        layer = self.image.value
        if layer is None or self._session is None:
            return None
        return self._session.cached(self.key(layer, self.slice_index(layer)))

    # -- runs -------------------------------------------------------------
    @property
    def existing_session(self) -> Session | None:
        """The session if one was built (for what must not build or load anything: previews, cached results)."""
        return self._session

    @property
    def busy(self) -> bool:
        """True while a model run is in progress."""
        return self.jobs.busy

    @property
    def cancel_requested(self) -> Callable[[], bool]:
        return self.jobs.cancel_requested

    def start(self, worker, message: str, *, cancellable: bool = True, kind: str | None = None) -> None:
        """Run a napari worker; the widgets disable their run buttons meanwhile (see :meth:`Jobs.start`)."""
        self.jobs.start(worker, message, cancellable=cancellable, kind=kind)

    def run(self, job: Callable, on_result: Callable, message: str, **options):
        """Run ``job()`` in a worker and ``on_result`` on its value; expected errors are messages (:meth:`Jobs.run`)."""
        return self.jobs.run(job, on_result, message, **options)

    def cancel(self, _=None) -> None:
        """Stop the running job between tiles or slices, or say how long it may still take."""
        self.jobs.cancel()

    def report(self, exc: BaseException) -> None:
        """Show an expected failure of a run (cancel, missing weights, bad input) as a message with its fix."""
        if isinstance(exc, Cancelled):
            self.status.show("cancelled")
            return
        self.error(f"FastSAM: {exc}")
        if isinstance(exc, UnsafeCheckpointError):
            self._offer_trust(exc)

    def _offer_trust(self, exc: UnsafeCheckpointError) -> None:
        """After a refused segmenter checkpoint, ask whether to trust it for this viewer's session."""
        settings = self._settings
        if settings is not None and self.trusted.offer(exc, settings.weights, settings.clip_pretrained):
            self._session = None  # rebuilt with trust on the next run
            self.status.show(f"{exc.path} will be loaded as trusted: run again.")

    def error(self, message: str) -> None:
        """One short line in the panel (details on demand); no toast that outlives the next success."""
        self.status.error(message)

    def loading_message(self, what: str) -> str:
        """'loading ...' when the session's models or libraries are not loaded yet, else ''."""
        session = self._session
        loaded = session is not None and session.is_loaded(what)
        return "" if loaded else f"loading the {'FastSAM' if what == 'segmenter' else 'text'} model… "

    # -- layers -----------------------------------------------------------
    def owned_layer(self, role: str):
        """The plugin's layer with ``role`` for the chosen image, if any."""
        return self.book.owned_layer(role)

    def ensure_prompt_layer(self, role: str, add_layer, mode: str):
        """The plugin's prompt layer for ``role`` on the chosen image, created by ``add_layer(image, meta)``."""
        if self.image.value is None:
            self.error("Open or add an image layer first.")
            return None
        return self.book.ensure_prompt_layer(role, add_layer, mode, lambda: self.update_prompts(role))

    # -- prompts ----------------------------------------------------------
    def register_prompt(self, kind: str, rule: SelectionRule) -> None:
        """Let the prompt widget for ``kind`` compute selections from its layer."""
        self._rules[kind] = rule

    def update_prompts(self, kind: str | None = None) -> None:
        """Recompute the selection from the point or box prompts on the displayed slice (no model run)."""
        image = self.image.value
        kind = kind or self.last_kind
        prompt = self.owned_layer(kind) if kind and image is not None else None
        if prompt is None:
            return
        self.last_kind = kind
        result = self.current_result()
        if result is None:
            if self.book.is_stale("everything"):
                self.error("The objects are stale: the image changed after 'Segment everything'. Run it again.")
            else:
                self.status.show("Run 'Segment everything' first: prompts select from its objects.")
            return
        index = self.slice_index(image)
        try:
            selection = self._rules[kind](prompt, result, index, len(index))
        except ValueError as exc:
            self.error(str(exc))
            return
        self.book.write_selection(image, index, selection)
