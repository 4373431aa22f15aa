"""The status line under the run buttons: one short line, details on demand, and Cancel."""

from __future__ import annotations

from magicgui.widgets import Container, Label, PushButton
from qtpy.QtCore import Qt


class StatusBar(Container):
    """One-line status with a Details button for long messages, and the Cancel button.

    Errors show their first sentence in red; the full text is the line's
    tooltip and appears under it on **Details**. The next plain message
    clears the error.
    """

    MAX_CHARS = 110  # about two lines of the dock at its default width

    def __init__(self) -> None:
        self.line = Label(value="")
        self.line.native.setWordWrap(True)
        self.line.native.setMinimumWidth(200)
        self.line.native.setMinimumHeight(4 * self.line.native.fontMetrics().lineSpacing())  # MAX_CHARS fit
        self.details = PushButton(text="Details", visible=False)
        self.full = Label(value="", visible=False)
        self.full.native.setWordWrap(True)
        self.full.native.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # copy into a bug report
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        super().__init__(widgets=[self.line, self.details, self.full, self.cancel_button], labels=False)
        self.details.changed.connect(self._toggle_details)
        self.is_error = False

    @property
    def value(self) -> str:
        """The complete current message (short line or full error text)."""
        return self.full.value if self.is_error else self.line.value

    @value.setter
    def value(self, message: str) -> None:
        self.show(message)

    def show(self, message: str) -> None:
        """A plain message; clears any error shown before."""
        self.is_error = False
        self.line.native.setStyleSheet("")
        self.line.value, self.line.tooltip = message, None
        self.full.value, self.full.visible, self.details.visible = "", False, False
        self.details.text = "Details"

    def error(self, message: str) -> None:
        """An error: its first sentence in the line, the rest behind Details."""
        short = _first_sentence(message, self.MAX_CHARS)
        self.is_error = True
        self.line.native.setStyleSheet("color: #ff6060;")
        self.line.value, self.line.tooltip = short, message
        self.full.value, self.full.visible = message, False
        self.details.visible = short != message.strip()

    def _toggle_details(self, _=None) -> None:
        opened = self.full.native.isHidden()  # (``visible`` is False while the dock itself is hidden)
        self.full.visible = opened
        self.details.text = "Hide details" if opened else "Details"


def _first_sentence(message: str, limit: int) -> str:
    """The first line/sentence of ``message``, cut to ``limit`` characters with an ellipsis."""
    text = message.strip().splitlines()[0] if message.strip() else ""
    cut = text.find(". ")
    if 0 < cut < limit:
        text = text[: cut + 1]
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
