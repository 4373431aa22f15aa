"""Progress reporting and cancellation for long runs (tiles, stack slices, files).

The engine takes two plain callables so that any face can drive it: napari's
worker threads, a tqdm bar in the CLI, or nothing at all.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]


class Cancelled(Exception):
    """The user asked to stop; partial results were discarded."""


def check_cancel(cancel: CancelCheck | None) -> None:
    """Raise :class:`Cancelled` when ``cancel()`` says so."""
    if cancel is not None and cancel():
        raise Cancelled("cancelled by the user")


def report(progress: ProgressCallback | None, done: int, total: int) -> None:
    """Call ``progress(done, total)`` when a callback was given."""
    if progress is not None:
        progress(done, total)
