"""Connect to a Dask scheduler, or start a local cluster of worker processes."""

from __future__ import annotations

import os

from ..errors import FastSAMError, UsageError


def make_client(scheduler: str = "local", workers: int | None = None):
    """A ``dask.distributed.Client`` for ``scheduler``.

    Parameters
    ----------
    scheduler : str
        ``"local"`` starts a ``LocalCluster`` of worker processes on this machine;
        anything else is a scheduler address (``tcp://host:8786``) of a running
        cluster, e.g. one started with dask-jobqueue on an HPC system.
    workers : int, optional
        Worker processes of a local cluster; one per CPU core by default.
        Each loads its own model, so memory grows with the number of workers.

    Returns
    -------
    distributed.Client

    Notes
    -----
    Each local worker runs one task at a time and gives torch its share of the
    cores (``OMP_NUM_THREADS = cores // workers``), so workers do not fight over
    cores and one worker is as fast as a single process.
    """
    try:
        from distributed import Client
    except ImportError:
        raise FastSAMError(
            "--scheduler needs Dask: pip install 'napari-fastsam[distributed]' (dask, distributed, zarr)."
        ) from None

    if scheduler != "local":
        return Client(scheduler)
    cores = os.cpu_count() or 1
    n = cores if workers is None else int(workers)
    if n < 1:
        raise UsageError(f"--workers must be at least 1; got {n}.")
    threads = str(max(1, cores // n))
    # the client owns the cluster it starts: closing the client stops the workers too
    return Client(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                  env={"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads})
