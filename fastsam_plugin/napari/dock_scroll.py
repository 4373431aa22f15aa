"""A dock that scrolls vertically, is never narrower than its content, and whose fields ignore a passing wheel.

napari docks a magicgui widget's ``.native`` (the inner widget), not its
``root_native_widget``, so a ``scrollable=True`` container loses its scroll
area in the dock: the dock then grows as tall as all the panels (taller than
the screen) and, being as narrow as napari likes, cuts off the right edge of
every row. :class:`ScrollWidth` keeps the scroll area's minimum width equal to
what the content needs (plus the vertical scroll bar), so the dock can only
be made as narrow as the rows allow; the height scrolls.
"""

from __future__ import annotations

from qtpy.QtCore import QEvent, QObject, Qt
from qtpy.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)


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


CALMED = "fastsam_calm"


class CalmFields(QObject):
    """Number fields and drop-downs under ``root`` change only when the user means it.

    * A mouse wheel over a field that does not have the keyboard focus scrolls
      the dock instead of changing the value under the pointer (values used to
      jump while the user scrolled past them: min box IoU 0.10 to 0.55). A
      click or Tab gives the field focus; then the wheel steps it.
    * Typing in a number field is not corrected at each key press ("6" of
      "64" used to become the minimum at once); the value is checked and
      applied when editing ends (Enter, Tab, or a click elsewhere).

    Fields added later (panels built or shown afterwards) are found at the
    next layout change of ``root``.
    """

    FIELDS = (QAbstractSpinBox, QComboBox, QAbstractSlider)

    def __init__(self, root: QWidget) -> None:
        super().__init__(root)
        self.root = root
        root.installEventFilter(self)
        self.update()

    def update(self) -> None:
        """Calm every field under ``root`` not calmed yet."""
        for field in self.root.findChildren(QWidget):
            if isinstance(field, self.FIELDS) and not field.property(CALMED):
                field.setProperty(CALMED, True)  # a mark on the widget itself: ids are reused after deletion
                calm(field)
                field.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # Qt calls it by this name
        kind = event.type()
        if kind == QEvent.Type.LayoutRequest and obj is self.root:
            self.update()
        elif kind == QEvent.Type.Wheel and obj is not self.root and not obj.hasFocus():
            area = _scroll_area_of(obj)
            if area is not None:  # the dock scrolls instead (Qt passes a synthesised wheel event to no parent)
                QApplication.sendEvent(area.viewport(), event)
            else:
                event.ignore()  # unhandled: Qt passes a real wheel event on to the parents
            return True
        return False


def _scroll_area_of(widget: QWidget) -> QAbstractScrollArea | None:
    """The nearest scroll area around ``widget`` (the dock's), or None."""
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent


def calm(field: QWidget) -> None:
    """Focus by click or Tab only (not by the wheel); number fields apply typed text when editing ends."""
    field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    if isinstance(field, QAbstractSpinBox):
        field.setKeyboardTracking(False)


def with_footer(scroll: QScrollArea, footer: QWidget) -> QWidget:
    """A widget with ``scroll`` taking all the height and ``footer`` under it, always visible."""
    frame = QWidget()
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(scroll, 1)
    layout.addWidget(footer, 0)
    # expanding: napari adds no stretch of its own under it (which would leave an empty band in the dock)
    frame.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
    return frame
