"""The FastSAM dock as napari's Plugins menu opens it: on screen at once, built while the window stays live.

napari imports a dock widget's module, builds the widget and docks it in one
call on the GUI thread. For the full widget that froze the window for about
0.6 s on a 2-core machine when nothing of the plugin was imported yet (its
modules, OpenCV, scikit-image and scipy 0.4 s; a dozen magicgui panels
0.15 s; docking). :class:`FastSAMDock` is what the manifest names instead: a
light frame saying "loading" that napari docks at once. It then

1. imports :mod:`fastsam_plugin.napari.widget` in a background thread, with
   automatic garbage collection paused (the GUI thread keeps drawing: the
   longest hold of the GIL is OpenCV's module set-up, about 0.1 s);
2. builds the :class:`~fastsam_plugin.napari.widget.FastSAMWidget` a part per
   event-loop turn (``staged=True``, :meth:`FastSAMWidget.build_step`);
3. puts it in the frame.

Scripts keep working: the full widget's parts (``dock.everything``,
``dock.controller``, see ``FORWARDED``) read from the frame build it at once
if it is not built yet, and :meth:`FastSAMDock.build` returns it.
"""

from __future__ import annotations

import logging
import threading
from importlib import import_module
from typing import TYPE_CHECKING

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from .gentle_import import paused_collection

if TYPE_CHECKING:
    import napari

    from .widget import FastSAMWidget


log = logging.getLogger(__name__)
POLL_MS = 15  # between build steps: the window redraws and takes input in between

# what a script may read from the frame as from the full widget (built on first use)
FORWARDED = frozenset({"model", "bands", "everything", "status", "points", "boxes", "text", "annotations",
                       "label_edit", "microscopy", "training", "controller", "busy", "busy_changed"})


class FastSAMDock(QWidget):
    """A frame that becomes the FastSAM widget a moment after napari docks it.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer the widget works on (napari passes it).
    """

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self._viewer = napari_viewer
        self._built: FastSAMWidget | None = None
        self._loading = QLabel("Loading FastSAM...")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._loading)
        # napari adds a stretch under a docked widget that does not expand; with the widget put in later, below
        # that stretch, the top 40 % of the dock stayed empty. The frame expands: no stretch is added
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self._import_error: BaseException | None = None
        # started by the first tick, once napari has docked the frame: napari's docking would share the GIL with it
        self._importer = threading.Thread(target=self._import_widget_module, name="fastsam-import-widget", daemon=True)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._step)
        self._poll.start()

    @property
    def widget(self) -> FastSAMWidget | None:
        """The full widget once it is in the frame, or None while it is still being built."""
        return self._built if self._loading is None else None

    def _import_widget_module(self) -> None:  # background thread
        try:
            with paused_collection():
                import_module(f"{__package__}.widget")
        except BaseException as exc:  # noqa: BLE001 - shown in the frame by the GUI thread (see _step)
            self._import_error = exc

    def _step(self) -> None:
        """One piece of the build per timer tick: wait for the import, then a part of the widget, then dock it."""
        if self._loading is None or self._importer.is_alive():
            return
        if self._importer.ident is None:  # not started yet
            self._importer.start()
            return
        if self._import_error is not None:
            self._poll.stop()
            self._loading.setWordWrap(True)
            self._loading.setText(f"FastSAM could not load: {self._import_error}. Reinstall it "
                                  "(pip install --force-reinstall napari-fastsam); details are in the log.")
            log.error("importing the FastSAM widget failed", exc_info=self._import_error)
            return
        if self._built is None:
            self._staged_widget()
        elif self._built.build_step():
            self._poll.stop()
            self.build()

    def _staged_widget(self) -> FastSAMWidget:
        """The widget, with none of its parts built yet the first time (its module imported by then)."""
        if self._built is None:
            from .widget import FastSAMWidget

            self._built = FastSAMWidget(self._viewer, staged=True)
        return self._built

    def build(self) -> FastSAMWidget:
        """Build the full widget into the frame now (once); return it."""
        if self._built is None:
            if self._importer.ident is None:
                self._importer.start()
            self._importer.join()
            if self._import_error is not None:
                raise self._import_error
        built = self._staged_widget().finish()
        if self._loading is not None:
            self._poll.stop()
            layout = self.layout()
            layout.removeWidget(self._loading)
            self._loading.deleteLater()
            self._loading = None
            for i in reversed(range(layout.count())):  # any stretch added while loading: the panels start at the top
                if layout.itemAt(i).spacerItem() is not None:
                    layout.takeAt(i)
            layout.addWidget(built.native, 1)
        return built

    def __getattr__(self, name: str):
        # only reached for names the frame itself lacks. Only the widget's own parts are passed on: napari (and
        # others) probe a docked object for ``native`` and the like, which must not build it early.
        if name not in FORWARDED:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(self.build(), name)
