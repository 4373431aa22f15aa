"""The FastSAM dock widget: the small widgets of the plugin, stacked in one dock.

The dock is a thin face: each part has one job (model settings, everything
mode, point, box and text prompts, accept/undo) and talks to one shared
:class:`~fastsam_plugin.napari.controller.Controller`, which holds the engine
:class:`~fastsam_plugin.engine.session.Session`, the cache keys and the
layers the plugin owns (see :mod:`fastsam_plugin.napari.layers`). Model runs
happen in napari worker threads with a progress bar and a cancel button.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from magicgui.widgets import Container
from qtpy.QtCore import QTimer

from . import gentle_import
from .annotations import AnnotationPanel
from .bands import BandPicker
from .box_prompts import BoxPrompts
from .controller import Controller
from .dock_scroll import CalmFields, ScrollWidth, with_footer
from .everything_panel import EverythingPanel
from .label_editing import LabelEditPanel
from .microscopy_panel import MicroscopyPanel
from .model_panel import ModelPanel
from .point_prompts import PointPrompts
from .status import StatusBar
from .text_prompts import TextPrompts
from .training_panel import TrainingPanel

if TYPE_CHECKING:
    import napari

PRELOAD_DELAY_MS = 1500
_DONE = object()


class FastSAMWidget(Container):
    """Segment everything, then select objects by points, boxes or text and accept them.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer the widget works on.
    staged : bool
        Build nothing yet: :meth:`build_step` builds a part per call and
        :meth:`finish` the rest (the dock frame spreads the build over
        event-loop turns). By default the whole widget is built at once.

    Attributes
    ----------
    model, bands, everything, status, points, boxes, text, annotations, label_edit, training
        The small widgets, top to bottom.
    controller : Controller
        Session, cache keys, worker and layer bookkeeping they share.
    """

    def __init__(self, napari_viewer: napari.viewer.Viewer, *, staged: bool = False) -> None:
        self.viewer = napari_viewer
        super().__init__(scrollable=True)  # a tall dock scrolls instead of stretching the window past the screen
        self._steps = self._parts()
        if not staged:
            self.finish()

    def build_step(self) -> bool:
        """Build the next part (``staged=True``); True once the widget is complete.

        The dock frame calls this once per event-loop turn, so the window
        redraws and takes input between parts (each part is a few hundredths
        of a second of magicgui work; all of them at once froze it for 0.15 s).
        """
        return next(self._steps, _DONE) is _DONE

    def finish(self) -> FastSAMWidget:
        """Build whatever parts are still missing, now; return the widget."""
        for _ in self._steps:
            pass
        return self

    def _parts(self) -> Iterator[None]:
        self.model = ModelPanel()
        yield
        self.status = StatusBar()
        self.controller = Controller(self.viewer, self.model, self.status)
        self.bands = BandPicker(self.controller)
        yield
        self.everything = EverythingPanel(self.controller)
        self.points = PointPrompts(self.controller)
        self.boxes = BoxPrompts(self.controller)
        yield
        self.text = TextPrompts(self.controller)
        self.annotations = AnnotationPanel(self.controller)
        yield
        self.label_edit = LabelEditPanel(self.controller)  # merge, split, delete, renumber any Labels layer
        yield
        self.microscopy = MicroscopyPanel(self.controller, self.annotations)  # channels, 3D linking, measurements
        self.training = TrainingPanel(self.controller)  # fine-tune on accepted annotations, export them
        yield
        self.extend([
            self.model, self.controller.image, self.microscopy, self.bands, self.everything,
            self.points, self.boxes, self.controller.smooth, self.text, self.annotations, self.label_edit, self.training,
        ])
        # the status line (and Cancel) sit under the scrolling panels, always visible: a result or a failure
        # is read next to whichever button was pressed, however far the panels are scrolled
        self._frame = with_footer(self.root_native_widget, self.status.native)
        self._width = ScrollWidth(self.root_native_widget)  # the dock is never narrower than the rows
        self._calm = CalmFields(self.root_native_widget.widget())  # no value changes under a passing wheel
        # once the dock is built and drawn (the loader's lock would stall that), open torch's libraries in the
        # background: a first run finds them open (see gentle_import)
        QTimer.singleShot(PRELOAD_DELAY_MS, gentle_import.preload_torch_soon)

    @property
    def native(self):
        """What napari docks: the scrolling panels above the status line (see ``dock_scroll``).

        The scroll area itself is :attr:`scroll`.
        """
        return getattr(self, "_frame", None) or self.root_native_widget

    @property
    def scroll(self):
        """The scroll area around the panels."""
        return self.root_native_widget

    @property
    def busy(self) -> bool:
        """True while a model run is in progress."""
        return self.controller.busy
