"""Import Ultralytics with every network attempt switched off.

Ultralytics checks DNS at import, syncs settings, downloads Arial.ttf when it
plots and checks for updates. A scientific workstation is often offline, so
this module is the only place that imports it, after:

* ``YOLO_OFFLINE=1``: no DNS check, no events, no update checks;
* ``OMP_NUM_THREADS`` set to the CPU count when the user left it unset
  (Ultralytics would set it to 1, halving CPU inference speed on 2 cores);
* font lookups answered with matplotlib's bundled DejaVuSans when the
  requested font is not on disk, instead of a download;
* ``ULTRALYTICS_SAFE_LOAD=1``: Ultralytics loads checkpoints with
  ``torch.load(weights_only=True)`` against its own allow-list and builds
  models from YAML without ``eval`` (a second gate after
  :mod:`fastsam_plugin.engine.checkpoints`; :func:`trusted_loading` lifts it).

Weights are downloaded by :mod:`fastsam_plugin.engine.weights`, never by Ultralytics.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import ModuleType


def _local_font(font: str = "Arial.ttf", *_, **__) -> Path:
    import matplotlib
    from ultralytics.utils import USER_CONFIG_DIR

    own = USER_CONFIG_DIR / Path(font).name
    if own.exists():
        return own
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


@cache
def ultralytics() -> ModuleType:
    """Return the ``ultralytics`` module, configured to stay offline."""
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["ULTRALYTICS_SAFE_LOAD"] = "1"
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    import ultralytics as ul
    from ultralytics.data import utils as data_utils
    from ultralytics.utils import checks, plotting

    checks.check_font = _local_font
    plotting.check_font = _local_font
    data_utils.check_font = _local_font
    from ultralytics.nn import tasks

    tasks.SAFE_LOAD = True  # also when Ultralytics was imported before this module set the variable
    return ul


_TRUST_LOCK = threading.Lock()


@contextmanager
def trusted_loading(trust: bool):
    """Within the block, Ultralytics loads checkpoints with full unpickling when ``trust`` is True.

    Only for files the user explicitly trusts (``trust=True`` /
    ``NAPARI_FASTSAM_TRUST_CHECKPOINTS=1``); the lock keeps other threads'
    loads from running unrestricted meanwhile.
    """
    if not trust:
        yield
        return
    ultralytics()
    from ultralytics.nn import tasks

    with _TRUST_LOCK:
        tasks.SAFE_LOAD = False
        try:
            yield
        finally:
            tasks.SAFE_LOAD = True
