"""The errors a user can cause and fix; faces show their message instead of a traceback."""

from __future__ import annotations

from .backends import BackendError
from .clip import ClipLoadError
from .device import DeviceError
from .imaging import ImageError
from .io import OutputExistsError
from .model import ModelLoadError
from .progress import Cancelled
from .session import PromptError
from .weights import WeightsNotFoundError

#: Raised on bad input, missing weights or absent devices; each message says what to do.
USER_ERRORS: tuple[type[BaseException], ...] = (
    BackendError,
    ClipLoadError,
    DeviceError,
    ImageError,
    ModelLoadError,
    OutputExistsError,
    PromptError,
    WeightsNotFoundError,
    ValueError,
    FileNotFoundError,
    MemoryError,
)

__all__ = ["USER_ERRORS", "Cancelled"]
