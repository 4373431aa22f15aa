"""The status line under the run buttons: one short line, details on demand, and Cancel.

Messages wrap at the dock's width and never widen the dock: a label's
preferred width is its text on one line, which napari would honour by
squeezing the canvas (a long result once made the dock 1,250 px wide). The
labels here ignore their text's width (``QSizePolicy.Ignored``) and wrap
instead, taking the height they need for the width they get.
"""

from __future__ import annotations

from magicgui.widgets import Container, Label, PushButton
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QSizePolicy

MIN_WIDTH = 120  # pixels: the dock may be made this narrow; the text wraps


def wrap_to_width(label: Label) -> None:
    """Let a Label wrap at whatever width the dock gives it and never ask for more (its height follows)."""
    native = label.native
    native.setWordWrap(True)
    policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
    policy.setHeightForWidth(True)
    native.setSizePolicy(policy)
    native.setMinimumWidth(MIN_WIDTH)


class StatusBar(Container):
    """One-line status with a Details button for long messages, and the Cancel button.

    Errors show their first line in red (what went wrong and what to do, in
    whole sentences up to :attr:`MAX_CHARS`); the full text is the line's
    tooltip and appears under it on **Details**. The next plain message
    clears the error.
    """

    MAX_CHARS = 260  # about four wrapped lines of the dock at its default width: the message and its fix
    MAX_LINES = 6

    def __init__(self) -> None:
        self.line = Label(value="")
        wrap_to_width(self.line)
        # under the panels, always visible: a few lines at most (the whole text is the tooltip and in Details)
        self.line.native.setMaximumHeight(self.MAX_LINES * self.line.native.fontMetrics().lineSpacing() + 4)
        self.details = PushButton(text="Details", visible=False)
        self.full = Label(value="", visible=False)
        wrap_to_width(self.full)
        self.full.native.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # copy into a bug report
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        super().__init__(widgets=[self.line, self.details, self.full, self.cancel_button], labels=False)
        self.details.changed.connect(self._toggle_details)
        self.is_error = False
        self._base = ""  # the message that appended notes follow (see append)

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
        self._base = message
        self.line.native.setStyleSheet("")
        self.line.value, self.line.tooltip = message, message or None
        self.full.value, self.full.visible, self.details.visible = "", False, False
        self.details.text = "Details"

    def append(self, note: str) -> None:
        """Add ``note`` after the result shown (which stays readable); it replaces a progress message or a note.

        An error stays as it is: the note is only added to its details.
        """
        if self.is_error:
            self.full.value = f"{self.full.value}\n{note}"
            return
        base = self._base
        if not base or base.endswith("..."):
            self.show(note)
            return
        self.line.value = f"{base.rstrip('.')}; {note}"
        self.line.tooltip = self.line.value

    def error(self, message: str) -> None:
        """An error: its first line (whole sentences) in the line, the rest behind Details."""
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
    """The first line of ``message``, cut after its last whole sentence within ``limit`` characters (else an ellipsis)."""
    text = message.strip().splitlines()[0] if message.strip() else ""
    if len(text) <= limit:
        return text
    cut = text.rfind(". ", 0, limit)
    if cut > 0:
        return text[: cut + 1]
    return text[: limit - 1].rstrip() + "…"
