"""Two kinds of failure: the user's mistakes, and everything else.

* :class:`FastSAMError` is the one base class of every mistake a user can make
  and fix (a missing weights file, an image the model cannot read, a prompt
  outside the image, an output that exists...). It is raised where the input
  is checked, and its message says what to do. The faces (CLI, napari) show
  just the message.
* Any other exception is a bug or an environment failure (numpy, torch, the
  project itself). Its traceback must never be lost: :func:`log_unexpected`
  writes it to a log file, and the faces show a one-line summary with that
  file's path (:func:`describe_unexpected`).

Project error types subclass :class:`FastSAMError` *and* the built-in they
used to be (``ValueError``, ``FileNotFoundError``...), so existing ``except``
clauses keep working. ``ValueError`` or ``MemoryError`` raised by a library is
*not* a user mistake: it goes to the log.

This module imports nothing from the rest of the package, so every layer
(engine, io, faces) can raise these errors.
"""

from __future__ import annotations

import datetime as _dt
import os
import traceback
import uuid
from pathlib import Path

ENV_LOG_DIR = "NAPARI_FASTSAM_LOG_DIR"


class FastSAMError(Exception):
    """A mistake the user can fix; the message says what to do (faces show it without a traceback)."""


class UsageError(FastSAMError, ValueError):
    """An argument or setting out of range (CLI: reported as a usage error naming the flag)."""


#: What the faces report as a plain message. Kept as a tuple for ``except USER_ERRORS``.
USER_ERRORS: tuple[type[BaseException], ...] = (FastSAMError,)


def log_dir() -> Path:
    """Folder for tracebacks of unexpected errors.

    ``$NAPARI_FASTSAM_LOG_DIR``, else ``~/.cache/napari-fastsam/logs``.
    """
    env = os.environ.get(ENV_LOG_DIR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "napari-fastsam" / "logs"


def log_unexpected(exc: BaseException, context: str = "") -> Path | None:
    """Write ``exc``'s full traceback (and ``context``) to a new log file; return its path.

    Returns ``None`` only when no log file could be written (read-only home);
    the caller then prints the traceback instead.
    """
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        # a random part: two errors in one second may share an address (id) once the first is freed
        path = folder / f"error-{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}.log"
        path.write_text(f"{context}\n{text}" if context else text, encoding="utf-8")
    except OSError:
        return None
    return path


def log_finalizer_errors(context: str = "") -> None:
    """From now on, write errors raised in objects' finalizers to log files instead of the terminal.

    For after Ctrl-C: the interrupt can land inside a library's constructor (imageio's Pillow plugin,
    while reading an image), and the half-built object's ``__del__`` then fails when it is freed.
    Python prints such "Exception ignored in" tracebacks on stderr, under the one-line "interrupted"
    message; they are a consequence of the interrupt, not a second failure, so they go to the log.
    """
    import sys

    def to_log(unraisable) -> None:
        exc = unraisable.exc_value
        if exc is not None and log_unexpected(exc, f"{context} (ignored in {unraisable.object!r})") is None:
            sys.__unraisablehook__(unraisable)

    sys.unraisablehook = to_log


def describe_unexpected(exc: BaseException, path: Path | None) -> str:
    """One line for an unexpected error: what happened and where the traceback is."""
    where = f"; the full traceback is in {path}" if path else ""
    return f"unexpected {type(exc).__name__}: {exc}{where} (please report it with that file)"


__all__ = ["ENV_LOG_DIR", "USER_ERRORS", "FastSAMError", "UsageError", "describe_unexpected", "log_dir",
           "log_finalizer_errors", "log_unexpected"]
