"""The FastSAM dock as napari's Plugins menu opens it: on screen at once, built over the next event-loop turns.

napari imports a dock widget's module, builds the widget and docks it in one
call on the GUI thread. For the full widget that is about 0.35 s of frozen
window on a 2-core machine (the plugin's modules 0.13 s, a dozen panels 0.15 s,
docking 0.07 s). :class:`FastSAMDock` is what the manifest names instead: a
light frame saying "loading" that napari docks at once; its first event-loop
turn imports :mod:`fastsam_plugin.napari.widget`, the next builds the
:class:`~fastsam_plugin.napari.widget.FastSAMWidget`, the one after puts it in
the frame, so the window redraws between the steps.

Scripts keep working: the full widget's parts (``dock.everything``,
``dock.controller``, see ``FORWARDED``) read from the frame build it at once
if it is not built yet, and :meth:`FastSAMDock.build` returns it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

if TYPE_CHECKING:
    import napari

    from .widget import FastSAMWidget


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
        QTimer.singleShot(0, self._import_step)

    @property
    def widget(self) -> FastSAMWidget | None:
        """The full widget once it is in the frame, or None while it is still being built."""
        return self._built if self._loading is None else None

    def _import_step(self) -> None:
        from . import widget  # noqa: F401 - the plugin's modules, one event-loop turn before the panels

        QTimer.singleShot(0, self._build_step)

    def _build_step(self) -> None:
        self._construct()
        QTimer.singleShot(0, self.build)  # laid out and drawn in the next turn

    def _construct(self) -> FastSAMWidget:
        if self._built is None:
            from .widget import FastSAMWidget

            self._built = FastSAMWidget(self._viewer)
        return self._built

    def build(self) -> FastSAMWidget:
        """Build the full widget into the frame now (once); return it."""
        built = self._construct()
        if self._loading is not None:
            self.layout().removeWidget(self._loading)
            self._loading.deleteLater()
            self._loading = None
            self.layout().addWidget(built.native)
        return built

    def __getattr__(self, name: str):
        # only reached for names the frame itself lacks. Only the widget's own parts are passed on: napari (and
        # others) probe a docked object for ``native`` and the like, which must not build it early.
        if name not in FORWARDED:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(self.build(), name)
