"""A dock that scrolls vertically and is never narrower than its content.

napari docks a magicgui widget's ``.native`` (the inner widget), not its
``root_native_widget``, so a ``scrollable=True`` container loses its scroll
area in the dock: the dock then grows as tall as all the panels (taller than
the screen) and, being as narrow as napari likes, cuts off the right edge of
every row. :class:`ScrollWidth` keeps the scroll area's minimum width equal to
what the content needs (plus the vertical scroll bar), so the dock can only
be made as narrow as the rows allow; the height scrolls.
"""

from __future__ import annotations

from qtpy.QtCore import QEvent, QObject
from qtpy.QtWidgets import QScrollArea


class ScrollWidth(QObject):
    """Follow the content's minimum width whenever its layout changes (panels shown or folded)."""

    def __init__(self, scroll: QScrollArea) -> None:
        super().__init__(scroll)  # owned by the scroll area: lives and dies with it
        self.scroll = scroll
        scroll.widget().installEventFilter(self)
        self.update()

    def needed(self) -> int:
        """Pixels the scroll area needs for its content's widest row and the vertical scroll bar."""
        scroll = self.scroll
        content = scroll.widget().minimumSizeHint().width()
        return content + scroll.verticalScrollBar().sizeHint().width() + 2 * scroll.frameWidth()

    def update(self) -> None:
        self.scroll.setMinimumWidth(self.needed())

    def eventFilter(self, obj, event) -> bool:  # Qt calls it by this name
        if event.type() == QEvent.Type.LayoutRequest:
            self.update()
        return False
