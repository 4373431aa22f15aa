"""Connect to a Dask scheduler, or start a local cluster of worker processes."""

from __future__ import annotations

import os

from ..errors import FastSAMError, UsageError
from .watch import LOST_WORKER_RETRIES


#: Seconds to reach a running scheduler before giving up with a clear error (Dask's own default is 30).
CONNECT_TIMEOUT = 10.0

#: Dask settings of the local cluster (``--scheduler local``), set in this process while it runs:
#:
#: * ``allowed-failures``: a task whose worker died is started again at most this many more times.
#: * ``worker-saturation`` 1.0: a worker holds only the task it runs (tasks take seconds; queueing more on a
#:   worker gains nothing), so a worker that dies costs no queued task one of its tries.
#: * ``lost-worker-timeout``: 15 s after a worker is lost, LocalCluster closes its nanny for good unless a
#:   worker of that name is registered again *at that moment*. A worker killed again while its nanny restarts
#:   it then never comes back (issue #27: four SIGKILLs 6 s apart left no workers). The nanny restarts its
#:   worker itself, and closes itself when it cannot, so the cluster need not: the timer is pushed out of reach.
LOCAL_CLUSTER_CONFIG = {
    "distributed.scheduler.allowed-failures": LOST_WORKER_RETRIES,
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.deploy.lost-worker-timeout": "7d",
}


def make_client(scheduler: str = "local", workers: int | None = None, *, timeout: float = CONNECT_TIMEOUT):
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
    timeout : float
        Seconds to reach a running scheduler.

    Returns
    -------
    distributed.Client

    Raises
    ------
    UsageError
        For an address Dask cannot parse, or ``workers < 1``.
    FastSAMError
        When the scheduler cannot be reached within ``timeout`` seconds, or Dask is not installed.

    Notes
    -----
    Each local worker runs one task at a time and gives torch its share of the
    cores (``OMP_NUM_THREADS = cores // workers``), so workers do not fight over
    cores and one worker is as fast as a single process. A task whose worker
    process dies is started again on another worker at most
    :data:`.watch.LOST_WORKER_RETRIES` times (Dask's ``allowed-failures``; a remote
    scheduler uses its own setting). A local cluster sets :data:`LOCAL_CLUSTER_CONFIG`
    in this process's Dask config.
    """
    try:
        import dask
        from distributed import Client
    except ImportError:
        raise FastSAMError(
            "--scheduler needs Dask: pip install 'napari-fastsam[distributed]' (dask, distributed, zarr)."
        ) from None

    if scheduler != "local":
        return _connect(Client, scheduler, timeout)
    cores = os.cpu_count() or 1
    n = cores if workers is None else int(workers)
    if n < 1:
        raise UsageError(f"--workers must be at least 1; got {n}.")
    threads = str(max(1, cores // n))
    # Set for the rest of this process, not only while the cluster starts: the local cluster's scheduler and
    # its lost-worker timer run in this process and read the lost-worker timeout whenever a worker is lost.
    dask.config.set(LOCAL_CLUSTER_CONFIG)
    # the client owns the cluster it starts: closing the client stops the workers too
    return Client(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                  env={"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads})


def _connect(client_type, address: str, timeout: float):
    """A client of the running scheduler at ``address``, or a clear error within ``timeout`` seconds."""
    try:
        return client_type(address, timeout=timeout)
    except ValueError as exc:  # Dask could not parse the address (e.g. no port)
        raise UsageError(f"--scheduler {address!r} is not a scheduler address ({exc}); give 'local' or the "
                         "address the scheduler printed, e.g. tcp://10.0.0.5:8786.") from None
    except (OSError, TimeoutError) as exc:
        raise FastSAMError(
            f"could not reach the Dask scheduler at {address} within {timeout:g} s ({exc}). Check the address "
            "(the one `dask scheduler` printed), that the scheduler is running and that this machine can reach "
            "it (firewall, VPN), or use --scheduler local."
        ) from None
