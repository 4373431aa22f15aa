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

Two more one-time costs would otherwise land on the GUI thread just as the
first results arrive; the worker pays them instead:

* :func:`warm_type_checks`: every ``ABC.register`` call (the imports make
  many) empties the caches behind ``isinstance(x, collections.abc.Iterable)``
  and friends, and the next check of a type that is *not* a member walks the
  ABC's whole subclass tree: about 0.2 s on napari's GUI thread when a new
  layer becomes active (its status line checks the value under the cursor);
* :func:`preload_torch_soon`: opening torch's libraries holds the dynamic
  loader's lock for about 0.3 s, which stalls the GUI thread when it loads
  anything itself (it does, while drawing the first progress bar); the
  widget starts this in a background thread shortly after its dock opens,
  so a run finds them open.
"""

from __future__ import annotations

import collections.abc
import ctypes
import gc
import importlib.util
import logging
import numbers
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


_preloading: list[threading.Thread] = []


def preload_torch_soon() -> threading.Thread | None:
    """Open torch's libraries in a background thread (once per process); the thread, or None when not needed."""
    with _LOCK:
        if _preloading or "torch" in sys.modules or not sys.platform.startswith("linux"):
            return None
        thread = threading.Thread(target=preload_torch, name="fastsam-preload-torch", daemon=True)
        _preloading.append(thread)
    thread.start()
    return thread


# ABCs napari and numpy check values against on the GUI thread, and value types that are not members
CHECKED_ABCS = (collections.abc.Iterable, collections.abc.Sequence, collections.abc.Mapping,
                collections.abc.Sized, collections.abc.Collection, numbers.Number)


def warm_type_checks() -> None:
    """Refill the ABC caches for scalar value types after imports emptied them (cheap while they are full)."""
    import numpy as np

    scalars = {type(None), bool, int, float, complex, np.bool_, *(np.dtype(c).type for c in "bBhHiIlLqQefdgFD")}
    for abc in CHECKED_ABCS:
        for kind in scalars:
            issubclass(kind, abc)


@contextmanager
def paused_collection() -> Iterator[None]:
    """Within the block, no automatic garbage collection; on exit the objects that exist then are frozen.

    For imports in a worker thread: a full collection during them walks every
    object napari holds while holding the GIL (0.2-1 s of frozen window), and
    what the imports create is almost all long-lived (:func:`gc.freeze`).
    Blocks may overlap (two threads): the outermost restores the thresholds.
    """
    with _LOCK:
        _saved.append(gc.get_threshold())
        # a zero threshold rather than gc.disable(): some libraries call gc.enable() while they import
        gc.set_threshold(0)
    try:
        yield
    finally:
        with _LOCK:
            thresholds = _saved.pop()
            if not _saved:
                gc.freeze()
                gc.set_threshold(*thresholds)
        warm_type_checks()


@contextmanager
def gentle_imports() -> Iterator[None]:
    """Within the block, heavy imports leave other threads (napari's GUI) the GIL as often as they can.

    Opens torch's libraries first (:func:`preload_torch`) and pauses automatic
    garbage collection (:func:`paused_collection`).
    """
    with paused_collection():
        for thread in _preloading:  # a preload started when the dock opened: let it finish, GIL-free
            thread.join()
        preload_torch()
        yield
