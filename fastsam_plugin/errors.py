"""The errors a user can cause and fix; faces show their message instead of a traceback."""

from __future__ import annotations

from .engine.backends import BackendError
from .engine.clip import ClipLoadError
from .engine.device import DeviceError
from .engine.imaging import ImageError
from .engine.model import ModelLoadError
from .engine.progress import Cancelled
from .engine.session import PromptError
from .engine.weights import WeightsNotFoundError
from .io import OutputExistsError

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
