"""Hostile and odd checkpoints for the safety tests: files whose unpickling would create a marker file.

Each payload class pickles as a call; ``torch.load(weights_only=False)`` (what
Ultralytics does by default) runs it. The tests assert the marker never appears.
"""

from __future__ import annotations

import builtins
import datetime
import os
from pathlib import Path


class SystemPayload:
    """Unpickles as ``os.system("touch <marker>")`` (the global is ``posix.system`` on Linux)."""

    def __init__(self, marker: Path) -> None:
        self.marker = Path(marker)

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


class ExecPayload:
    """Unpickles as ``builtins.exec("open(<marker>, 'w').close()")``."""

    def __init__(self, marker: Path) -> None:
        self.marker = Path(marker)

    def __reduce__(self):
        return builtins.exec, (f"open({str(self.marker)!r}, 'w').close()",)


class HarmlessUnknown:
    """Unpickles as ``datetime.timedelta(days=1)``: harmless, but not on the allow-list."""

    def __reduce__(self):
        return datetime.timedelta, (1,)


def evil_checkpoint(path: Path, marker: Path, payload: type = SystemPayload, protocol: int = 2) -> Path:
    """A checkpoint laid out like Ultralytics' (``{"model": ..., ...}``) carrying a payload."""
    import torch

    torch.save({"model": None, "train_args": {"epochs": 1}, "payload": payload(marker)}, path,
               pickle_protocol=protocol)
    return Path(path)


def harmless_unknown_checkpoint(path: Path) -> Path:
    """A checkpoint whose only unusual content is a harmless global outside the allow-list."""
    import torch

    torch.save({"model": None, "date": HarmlessUnknown()}, path)
    return Path(path)
