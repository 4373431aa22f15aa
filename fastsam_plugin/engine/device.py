"""Choose the torch device: CUDA, then Apple MPS, then CPU."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import FastSAMError

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


class DeviceError(FastSAMError, RuntimeError):
    """The requested device is not available on this machine."""


def resolve_device(device: str | None = "auto") -> str:
    """Return a torch device string that exists here.

    Parameters
    ----------
    device : {"auto", "cuda", "cuda:N", "mps", "cpu"}
        ``"auto"`` (or None) picks CUDA, then MPS, then CPU.

    Raises
    ------
    DeviceError
        When an explicit device is absent.
    """
    import torch

    wanted = (device or "auto").strip().lower()
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if wanted == "auto":
        if torch.cuda.is_available():
            return "cuda:0"
        return "mps" if has_mps else "cpu"
    if wanted == "cpu":
        return "cpu"
    if wanted.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device {device!r} was requested but no CUDA GPU is available; use 'auto' or 'cpu'.")
        index = int(wanted.split(":")[1]) if ":" in wanted else 0
        if index >= torch.cuda.device_count():
            raise DeviceError(f"device {device!r} does not exist: {torch.cuda.device_count()} CUDA device(s) found.")
        return f"cuda:{index}"
    if wanted == "mps":
        if not has_mps:
            raise DeviceError("device 'mps' was requested but Apple MPS is not available; use 'auto' or 'cpu'.")
        return "mps"
    raise DeviceError(f"unknown device {device!r}; choose one of {DEVICE_CHOICES} or 'cuda:N'.")


@contextmanager
def torch_threads_kept() -> Iterator[int]:
    """Give torch its CPU thread count back, as it was on entry, when the block ends; yields that count.

    Ultralytics' ``select_device`` (run by its predictors, trainers and validators) caps CPU work at
    ``cpu_count - 1`` threads: one thread on a 2-core machine.
    """
    import torch

    threads = torch.get_num_threads()
    try:
        yield threads
    finally:
        torch.set_num_threads(threads)
