"""The dock's model runs: one at a time, always ended, every failure said in the dock.

A run is a napari worker (a thread). Whatever happens in it, the dock must
come back: the run buttons are enabled again as soon as the worker stops, and
the failure is said in the status line with what to do (never only in the
terminal). Two traps of superqt's workers are closed here:

* a job that *returns* an exception (a pattern some panels used to hand an
  expected error to the GUI thread) is re-raised: superqt drops a returned
  ``RuntimeError`` with a "RuntimeError in aborted thread" warning and never
  emits ``finished`` (the dock stayed busy for good), and re-raises any other
  returned exception as an unexpected error;
* an error raised by the job is sorted: the user's mistakes and a cancel are
  a message with the fix (:meth:`Jobs.report`), never a pop-up; anything
  else goes to the log with a one-line summary (and napari's traceback
  notification). Error handlers connected to a worker before
  :meth:`Jobs.start` are replaced by this one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from psygnal import Signal

from ..engine.progress import Cancelled
from ..errors import USER_ERRORS, describe_unexpected, log_unexpected
from .status import StatusBar

log = logging.getLogger(__name__)
_FOLLOWING = object()  # Jobs._worker while a finished job's follow-ups run
#: what a run raises that is the user's to fix (or their cancel): a message, not a traceback
EXPECTED: tuple[type[BaseException], ...] = (Cancelled, *USER_ERRORS)
FIRST_RUN_NOTE = "a first run also loads the model: up to a minute on a CPU"


@dataclass(frozen=True)
class Failed:
    """What :func:`guarded` returns instead of raising an expected error."""

    error: BaseException


def guarded(func: Callable, expected: tuple[type[BaseException], ...] = ()) -> Callable:
    """``func`` returning :class:`Failed` instead of raising :data:`EXPECTED` (or ``expected``) errors."""

    def call(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (*EXPECTED, *expected) as exc:
            return Failed(exc)

    return call


def _raise_returned_errors(worker) -> None:
    """Make ``worker`` raise an exception its job returns (superqt would drop a returned RuntimeError silently)."""
    work = worker.work

    def work_raising():
        result = work()
        if isinstance(result, BaseException):
            raise result
        return result

    worker.work = work_raising  # run() calls self.work(): this instance's, not the class's


def plural(n: int, noun: str) -> str:
    """``'1 object'``, ``'3 objects'``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class Jobs:
    """One model run at a time for one dock: busy state, cancel, follow-ups and failure messages.

    Parameters
    ----------
    status : StatusBar
        Where progress, results and failures are said.
    report : callable
        Shows an expected failure (a :data:`EXPECTED` error); the controller's
        adds the trust dialog for refused checkpoints.
    """

    busy_changed = Signal(bool)  # a run started (True) or ended (False)

    def __init__(self, status: StatusBar, report: Callable[[BaseException], None]) -> None:
        self.status, self.report = status, report
        self._cancel = threading.Event()
        self._worker = None
        self._cancellable = True
        self._kind = ""
        self._started = 0.0
        self._failed = False
        self._took: dict[str, float] = {}  # kind of run -> seconds the last one of that kind took
        # called when a job ends, before the widgets are told it did; one may start a follow-up job (busy goes on)
        self.after_run: list[Callable[[], None]] = []
        status.cancel_button.changed.connect(self.cancel)

    @property
    def busy(self) -> bool:
        """True while a run (or a follow-up run) is in progress."""
        return self._worker is not None

    @property
    def cancel_requested(self) -> Callable[[], bool]:
        """What a cancellable job polls between tiles or slices."""
        return self._cancel.is_set

    def start(self, worker, message: str, *, cancellable: bool = True, kind: str | None = None) -> None:
        """Run a napari worker; the widgets disable their run buttons until it ends.

        ``cancellable`` says whether the job checks the cancel flag between
        steps (tiles, slices); Cancel on any other job says how long it may
        still take instead. ``kind`` names the sort of run for that estimate
        (default: the message's last words).
        """
        self._cancel.clear()
        self._cancellable = cancellable
        self._kind = kind or message.rstrip(". ").split(" ")[-1]
        self._started = time.monotonic()
        self._failed = False  # a failed run's time says nothing about how long the next one takes
        _raise_returned_errors(worker)
        try:  # superqt's create_worker re-raises every error on the GUI thread (a pop-up): errors are sorted here
            worker.errored.disconnect()
        except (TypeError, RuntimeError):  # nothing connected
            pass
        worker.errored.connect(self._errored)
        worker.finished.connect(self._done)
        if hasattr(worker, "aborted"):  # a generator worker stopped by Cancel at its next yield
            worker.aborted.connect(lambda: self.report(Cancelled("cancelled by the user")))
        following = self._worker is _FOLLOWING  # a follow-up job of the run that just ended: still busy
        self._worker = worker
        if following:  # e.g. measuring after 'Segment everything': the run's result stays readable
            self.status.append(message)
        else:
            self.status.show(message)
        self.status.cancel_button.enabled = True
        if not following:
            self.busy_changed.emit(True)
        worker.start()

    def run(self, job: Callable, on_result: Callable, message: str, *, cancellable: bool = False,
            expected: tuple[type[BaseException], ...] = (), kind: str | None = None, progress: str | None = None):
        """Run ``job()`` in a worker; call ``on_result(value)`` on the GUI thread, or report its expected error.

        ``expected``: more exception types that are a message here (e.g. ValueError of a measurement).
        ``progress``: the title of a napari progress bar (an endless one) while it runs.
        Returns the worker (started).
        """
        from napari.qt.threading import create_worker

        def returned(value) -> None:
            if isinstance(value, Failed):
                self._failed = True
                self.report(value.error)
            else:
                on_result(value)

        bar = {"_progress": {"total": 0, "desc": progress}} if progress else {}
        worker = create_worker(guarded(job, expected), _start_thread=False, **bar)
        worker.returned.connect(returned)
        self.start(worker, message, cancellable=cancellable, kind=kind)
        return worker

    def _errored(self, exc: BaseException) -> None:
        """The user's mistakes and a cancel: a message. Anything else: logged, one line, and re-raised
        (napari's traceback notification, as superqt's own handler would)."""
        self._failed = True
        if isinstance(exc, EXPECTED):
            self.report(exc)
            return
        self.unexpected(exc)
        raise exc

    def unexpected(self, exc: BaseException) -> None:
        """A bug or an environment failure: its traceback to a log file, one line in the dock."""
        self.status.error(f"FastSAM: {describe_unexpected(exc, log_unexpected(exc, 'napari widget'))}")

    def _done(self) -> None:
        """The worker stopped (returned, failed or cancelled): follow-ups, then the dock is free again."""
        if not self._failed:
            self._took[self._kind] = time.monotonic() - self._started
        self._worker = _FOLLOWING
        try:
            for follow_up in self.after_run:  # e.g. measure the new objects: may start a job of its own
                try:
                    follow_up()
                except Exception as exc:  # noqa: BLE001 - a bug in one follow-up must not leave the dock busy
                    self.unexpected(exc)
        finally:
            if self._worker is _FOLLOWING:  # else busy until the follow-up job ends
                self._free()

    def _free(self) -> None:
        self._worker = None
        self.status.cancel_button.enabled = False
        self.busy_changed.emit(False)
        if not self.status.is_error and self.status.value.endswith("..."):
            self.status.show("done")

    def cancel(self, _=None) -> None:
        """Stop the running job between tiles or slices, or say how long a job that cannot stop may take."""
        if self._worker is not None and not self._cancellable:
            self.status.show(self.cannot_cancel_message())
            return
        self._cancel.set()
        if self._worker is not None and self._worker is not _FOLLOWING:
            self._worker.quit()

    def cannot_cancel_message(self) -> str:
        """Why Cancel does nothing now, and how long the run may still take."""
        elapsed = time.monotonic() - self._started
        last = self._took.get(self._kind)
        estimate = f"the last one took {last:.0f} s" if last is not None else FIRST_RUN_NOTE
        return (f"This run cannot be cancelled (one model call, nothing between which to stop): it has run "
                f"{elapsed:.0f} s; {estimate}. The buttons come back when it ends.")
