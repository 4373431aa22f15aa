"""Loading a checkpoint the safety scan refused: only when the user says so, for this dock's session."""

from __future__ import annotations

from collections.abc import Callable

from ..engine.checkpoints import UnsafeCheckpointError


def ask_to_trust(message: str) -> bool:
    """Ask whether to load a checkpoint the safety scan refused (default: No)."""
    from qtpy.QtWidgets import QMessageBox

    answer = QMessageBox.warning(
        None,
        "FastSAM: load a checkpoint that failed the safety check?",
        f"{message}\n\nLoad it anyway? Only do so if you know and trust where this file comes from: "
        "loading it may run code it contains.",
        QMessageBox.Yes | QMessageBox.No,
        QMessageBox.No,
    )
    return answer == QMessageBox.Yes


class TrustedWeights:
    """The segmenter checkpoints the user chose to load despite the safety scan.

    ``confirm`` (a callable taking the refusal message, returning True to
    trust the file) is asked each time; it defaults to a Qt dialog and can be
    replaced (tests, scripted use).
    """

    def __init__(self) -> None:
        self.confirm: Callable[[str], bool] = ask_to_trust
        self._trusted: set[str] = set()

    def __contains__(self, weights: str) -> bool:
        return weights in self._trusted

    def offer(self, exc: UnsafeCheckpointError, weights: str, clip_pretrained: str | None) -> bool:
        """Ask whether to trust the refused segmenter checkpoint ``weights``; True when the user did.

        CLIP files and refused downloads have no opt-out here.
        """
        if str(exc.path) == str(clip_pretrained) or "://" in str(exc.path):
            return False
        if not self.confirm(str(exc)):
            return False
        self._trusted.add(weights)
        return True
