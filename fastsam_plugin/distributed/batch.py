"""A folder of images as Dask tasks: results written by the workers, progress and failures on the client."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class BatchReport:
    """What a distributed batch did, file by file."""

    done: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def run_files(
    client,
    files: Sequence[Path],
    task: Callable[[Path], object],
    *,
    on_result: Callable[[Path, object], None] | None = None,
    on_failure: Callable[[Path, BaseException], None] | None = None,
    no_worker_timeout: float | None = None,
) -> BatchReport:
    """Run ``task(path)`` for every file on the cluster; report each as it finishes.

    ``task`` runs on a worker and writes its own outputs there (workers share the
    file system with the client, as on one machine or an HPC cluster), so no
    pixels travel back. A failed file is reported by name while the rest go on.
    A file whose worker died under it is run again on another worker, a bounded
    number of times (:data:`.watch.LOST_WORKER_RETRIES` on a local cluster), then
    reported failed (:class:`.watch.WorkerLostError`). Ctrl-C cancels the
    futures that have not finished and returns at once; outputs are written under
    temporary names and renamed when complete, so nothing half-written remains.

    Parameters
    ----------
    client : distributed.Client
    files : sequence of Path
    task : callable
        Picklable ``task(path) -> summary``; raise to report a failure.
    on_result, on_failure : callable, optional
        Called on the client as each file finishes.
    no_worker_timeout : float, optional
        Seconds the cluster may have no worker before the run ends with
        :class:`.watch.NoWorkersError` (default ``$NAPARI_FASTSAM_NO_WORKER_TIMEOUT`` or 60).

    Returns
    -------
    BatchReport

    Raises
    ------
    NoWorkersError
        No worker for ``no_worker_timeout`` seconds; files reported so far are done.
    """
    from .watch import as_finished, cancel_quietly, failure_of, resolve_no_worker_timeout

    limit = resolve_no_worker_timeout(no_worker_timeout)  # a bad setting fails before any task starts
    futures = {client.submit(task, Path(f), pure=False, key=f"fastsam-{i}-{Path(f).name}"): Path(f)
               for i, f in enumerate(files)}
    report = BatchReport()
    try:
        for future in as_finished(client, futures, no_worker_timeout=limit, what="images"):
            path = futures[future]
            exc = failure_of(future)
            if exc is None:
                report.done.append(path)
                if on_result is not None:
                    on_result(path, future.result())
            else:
                report.failed[path] = str(exc)
                if on_failure is not None:
                    on_failure(path, exc)
    except BaseException:  # Ctrl-C, no workers, a callback's error: no task may go on without us
        cancel_quietly(client, futures)
        raise
    return report
