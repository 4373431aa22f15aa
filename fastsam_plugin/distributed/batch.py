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
) -> BatchReport:
    """Run ``task(path)`` for every file on the cluster; report each as it finishes.

    ``task`` runs on a worker and writes its own outputs there (workers share the
    file system with the client, as on one machine or an HPC cluster), so no
    pixels travel back. A failed file is reported by name while the rest go on.
    Ctrl-C cancels the futures that have not finished; outputs are written under
    temporary names and renamed when complete, so nothing half-written remains.

    Parameters
    ----------
    client : distributed.Client
    files : sequence of Path
    task : callable
        Picklable ``task(path) -> summary``; raise to report a failure.
    on_result, on_failure : callable, optional
        Called on the client as each file finishes.

    Returns
    -------
    BatchReport
    """
    from distributed import as_completed

    futures = {client.submit(task, Path(f), pure=False, key=f"fastsam-{i}-{Path(f).name}"): Path(f)
               for i, f in enumerate(files)}
    report = BatchReport()
    try:
        for future in as_completed(futures):
            path = futures[future]
            exc = future.exception()
            if exc is None:
                report.done.append(path)
                if on_result is not None:
                    on_result(path, future.result())
            else:
                report.failed[path] = str(exc)
                if on_failure is not None:
                    on_failure(path, exc)
    except KeyboardInterrupt:
        client.cancel(list(futures))
        raise
    return report
