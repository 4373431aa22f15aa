"""Import torch and its companions in a worker thread without freezing napari's window.

The widget imports torch, Ultralytics and open_clip in a napari worker
thread, yet measured on a cold process the Qt event loop still stalled for
up to ~1 s at a time (``bench/bench_gui_stall.py``), because two things hold
Python's GIL for long stretches during those imports:

* **the dynamic loader**: ``import torch`` opens about 1 GB of shared
  libraries (``libtorch_cpu``, ``libtorch_cuda``) with ``dlopen`` while
  holding the GIL (ctypes' own ``CDLL`` holds it too), 0.3-1 s each;
* **the cyclic garbage collector**: the imports create millions of objects,
  and every full (generation 2) collection walks all objects napari and
  torch hold, 0.2-1 s each, several times per import.

:func:`gentle_imports` opens the big libraries first by calling libc's
``dlopen`` as a foreign function through ctypes, which releases the GIL for
the call (the import then finds them loaded), and pauses automatic
collection while the imports run. Afterwards it moves the objects that exist
then, almost all module-level and long-lived, into the permanent generation
(:func:`gc.freeze`), so later full collections no longer walk them. The cost:
reference cycles that became garbage before that moment are never freed (a
one-time amount; objects freed by reference counting are freed as usual).
"""

from __future__ import annotations

import ctypes
import gc
import importlib.util
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

# torch's big libraries, in dependency order (a missing one, e.g. the CUDA part of a CPU build, is skipped)
TORCH_LIBRARIES = ("libc10", "libtorch_cpu", "libc10_cuda", "libtorch_cuda", "libtorch")

_LOCK = threading.Lock()
_saved: list[tuple[int, ...]] = []  # the collector's thresholds, saved by the outermost of overlapping blocks


def torch_library_dir() -> Path | None:
    """The folder of torch's shared libraries, found without importing torch; None when torch is absent."""
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


def preload_libraries(paths) -> list[Path]:
    """``dlopen`` each existing path with the GIL released (Linux); return the ones now loaded.

    Failures are left for the real import to report in its own words.
    """
    if not sys.platform.startswith("linux"):
        return []
    try:
        libc = ctypes.CDLL(None)  # a foreign call through CDLL releases the GIL, unlike CDLL(path) itself
        dlopen = libc.dlopen
    except (OSError, AttributeError):
        return []
    dlopen.restype, dlopen.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_int]
    loaded = []
    for path in paths:
        path = Path(path)
        if path.is_file() and dlopen(os.fsencode(path), os.RTLD_NOW | os.RTLD_LOCAL):
            loaded.append(path)
    return loaded


def preload_torch() -> list[Path]:
    """Open torch's large libraries without holding the GIL, unless torch is already imported."""
    folder = torch_library_dir()
    if "torch" in sys.modules or folder is None:
        return []
    return preload_libraries(folder / f"{name}.so" for name in TORCH_LIBRARIES)


@contextmanager
def gentle_imports() -> Iterator[None]:
    """Within the block, heavy imports leave other threads (napari's GUI) the GIL as often as they can.

    Opens torch's libraries first (:func:`preload_torch`), pauses automatic
    garbage collection, and on exit freezes the objects that exist then
    (:func:`gc.freeze`) before collection resumes.
    """
    with _LOCK:  # blocks may overlap (two workers): the outermost saves and restores the thresholds
        _saved.append(gc.get_threshold())
        # a zero threshold rather than gc.disable(): some libraries call gc.enable() while they import
        gc.set_threshold(0)
    try:
        preload_torch()
        yield
    finally:
        with _LOCK:
            thresholds = _saved.pop()
            if not _saved:
                gc.freeze()
                gc.set_threshold(*thresholds)
