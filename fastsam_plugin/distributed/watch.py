"""Waiting on Dask futures without ever hanging: lost workers, no workers, Ctrl-C.

Three ways a Dask run used to stop for good, and what happens now:

* A worker process dies (SIGKILL, out of memory, segfault) while running a task.
  The scheduler reruns the task on another worker, at most
  :data:`LOST_WORKER_RETRIES` more times (Dask's ``allowed-failures``); after that
  the task is reported as failed for its input (:class:`WorkerLostError`) and the
  others go on.
* Every worker is gone and none comes back (its nanny gave up restarting it, the
  batch system ended the jobs). Tasks would wait for a worker forever; instead
  :func:`as_finished` raises :class:`NoWorkersError` once the cluster has had no
  worker for ``no_worker_timeout`` seconds (``$NAPARI_FASTSAM_NO_WORKER_TIMEOUT``,
  default 60).
* Ctrl-C: the wait is a loop of short sleeps, so the interrupt lands at once;
  :func:`cancel_quietly` then cancels the outstanding tasks without waiting long
  on a scheduler that may be gone.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator

from ..errors import FastSAMError, UsageError

#: Environment variable: seconds a run waits with no worker before it ends with :class:`NoWorkersError`.
ENV_NO_WORKER_TIMEOUT = "NAPARI_FASTSAM_NO_WORKER_TIMEOUT"
DEFAULT_NO_WORKER_TIMEOUT = 60.0
#: How many more times a task is started after the worker running it died (Dask's ``allowed-failures``).
LOST_WORKER_RETRIES = 3
#: Seconds between looks for finished tasks (short: Ctrl-C and new results are noticed at once).
_TICK = 0.1
#: Seconds without a finished task before the scheduler is asked how many workers it has.
_CHECK_EVERY = 1.0


class NoWorkersError(FastSAMError):
    """The cluster had no worker for longer than the no-worker timeout; the run cannot go on.

    Attributes
    ----------
    unfinished : int
        Tasks that had not finished (their inputs have no output from this run).
    """

    def __init__(self, message: str, unfinished: int = 0) -> None:
        super().__init__(message)
        self.unfinished = unfinished


class WorkerLostError(FastSAMError):
    """A task's worker process died each time the task ran (Dask's ``KilledWorker``)."""


def resolve_no_worker_timeout(value: float | None = None) -> float:
    """Seconds to wait with no worker: ``value``, else ``$NAPARI_FASTSAM_NO_WORKER_TIMEOUT``, else 60.

    ``inf`` waits for ever (e.g. for batch jobs queued on an HPC cluster).

    Raises
    ------
    UsageError
        For a value that is not a number > 0.
    """
    source = "no_worker_timeout"
    if value is None:
        text = os.environ.get(ENV_NO_WORKER_TIMEOUT, "").strip()
        if not text:
            return DEFAULT_NO_WORKER_TIMEOUT
        source = f"${ENV_NO_WORKER_TIMEOUT}"
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"{source} must be a number of seconds (or inf); got {text!r}.") from None
    if not value > 0:  # also refuses nan
        raise UsageError(f"{source} must be a number of seconds > 0 (or inf); got {value!r}.")
    return float(value)


def worker_count(client) -> int | None:
    """Workers registered with the scheduler; ``None`` if the scheduler did not answer."""
    try:
        # only the count travels (a cluster may have thousands of workers); Dask before 2025 ignores
        # n_workers and sends every worker's record instead
        info = client.scheduler_info(n_workers=0)
    except (OSError, TimeoutError):
        return None
    if not info:
        return None
    count = info.get("n_workers")
    return int(count) if count is not None else len(info.get("workers") or {})


def as_finished(
    client,
    futures: Iterable,
    *,
    no_worker_timeout: float | None = None,
    what: str = "tasks",
) -> Iterator:
    """Yield ``futures`` as they finish (done, failed or cancelled), never waiting for ever.

    Parameters
    ----------
    client : distributed.Client
    futures : iterable of distributed.Future
    no_worker_timeout : float, optional
        Seconds with no worker in the cluster before giving up (see :func:`resolve_no_worker_timeout`).
    what : str
        What the futures are, for the error message ("images", "tiles").

    Yields
    ------
    distributed.Future
        Each future once, when it is no longer pending.

    Raises
    ------
    NoWorkersError
        When the cluster has had no worker for ``no_worker_timeout`` seconds while tasks wait.
    FastSAMError
        When the client lost its scheduler.
    """
    from distributed import as_completed

    limit = resolve_no_worker_timeout(no_worker_timeout)
    futures = list(futures)
    total = len(futures)
    pending = as_completed(futures, loop=client.loop)  # this client's loop, not the default client's
    finished = 0
    last_look = time.monotonic()  # when a task last finished, or the scheduler was last asked
    idle_since: float | None = None  # when the cluster was first seen without workers
    while not pending.is_empty():
        batch = pending.next_batch(block=False)
        if batch:
            finished += len(batch)
            last_look, idle_since = time.monotonic(), None
            yield from batch
            continue
        time.sleep(_TICK)  # short: Ctrl-C is handled between ticks, new results are seen within a tick
        now = time.monotonic()
        if now - last_look < _CHECK_EVERY:
            continue
        last_look = now
        if client.status in ("closing", "closed"):
            raise FastSAMError(
                f"lost the connection to the Dask scheduler with {total - finished} of {total} {what} unfinished; "
                "check that the scheduler is still running, then rerun the same command (complete outputs are kept)."
            )
        n = worker_count(client)
        if n != 0:  # workers, or no answer this time (the client reconnects or closes; checked above)
            idle_since = None
            continue
        idle_since = now if idle_since is None else idle_since
        if now - idle_since >= limit:
            raise NoWorkersError(_no_workers_message(client, limit, total - finished, total, what),
                                 unfinished=total - finished)


def _no_workers_message(client, limit: float, unfinished: int, total: int, what: str) -> str:
    local = getattr(client, "cluster", None) is not None
    cause = ("the local worker processes died and were not restarted in time (killed, e.g. by the "
             "out-of-memory killer, or this machine too busy to restart them within the limit)" if local else
             "its workers died, were stopped, or never started (batch jobs ended or still queued?)")
    address = getattr(getattr(client, "scheduler", None), "address", "?")
    return (f"the Dask cluster at {address} has had no workers for {limit:g} s: {cause}. "
            f"{unfinished} of {total} {what} unfinished; outputs already written are complete. "
            f"Rerun the same command to finish the rest (fewer --workers if memory ran out), check the workers' "
            f"logs, or wait longer for workers with {ENV_NO_WORKER_TIMEOUT}=<seconds>.")


def failure_of(future) -> BaseException | None:
    """The error of a finished ``future`` in the project's terms, or ``None`` if it succeeded.

    A worker that died under the task (``KilledWorker``) becomes :class:`WorkerLostError`, a cancelled
    task a :class:`FastSAMError`; other errors are returned as the task raised them.
    """
    from distributed import KilledWorker

    if future.status == "finished":
        return None
    if future.cancelled():
        return FastSAMError("its Dask task was cancelled: the connection to the scheduler was lost, or the "
                            "scheduler restarted; rerun the same command to finish it.")
    exc = future.exception()
    if isinstance(exc, KilledWorker):
        tries = getattr(exc, "allowed_failures", LOST_WORKER_RETRIES) + 1
        return WorkerLostError(
            f"the Dask worker running it died each of the {tries} times it was tried (killed, out of memory or "
            "crashed); not retried further. Check the workers' memory and logs, then rerun to try it again.")
    return exc


def cancel_quietly(client, futures: Iterable, wait_s: float = 5.0) -> None:
    """Cancel ``futures``, waiting at most ``wait_s`` seconds (the scheduler may be gone: Ctrl-C must return)."""
    futures = list(futures)

    def cancel() -> None:
        try:
            client.cancel(futures)
        except Exception:  # noqa: BLE001 - best effort: closing the client releases them anyway
            pass

    thread = threading.Thread(target=cancel, name="napari-fastsam-cancel", daemon=True)
    thread.start()
    thread.join(wait_s)
