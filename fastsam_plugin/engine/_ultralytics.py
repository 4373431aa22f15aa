"""Import Ultralytics with every network attempt switched off.

Ultralytics checks DNS at import, syncs settings, downloads Arial.ttf when it
plots and checks for updates. A scientific workstation is often offline, so
this module is the only place that imports it, after:

* ``YOLO_OFFLINE=1``: no DNS check, no events, no update checks;
* ``OMP_NUM_THREADS`` set to the CPU count when the user left it unset
  (Ultralytics would set it to 1, halving CPU inference speed on 2 cores);
* font lookups answered with matplotlib's bundled DejaVuSans when the
  requested font is not on disk, instead of a download;
* ``ULTRALYTICS_SAFE_LOAD=1``: Ultralytics builds models from YAML without
  ``eval`` and, for the files it reads itself (only the checkpoints a training
  run of this process wrote), uses ``torch.load(weights_only=True)``. Nothing
  switches this off: a checkpoint the user trusts is unpickled by
  :func:`fastsam_plugin.engine.loader.load_checkpoint` for that one call;
* dataset label caches are neither read nor written: Ultralytics reads a
  ``labels/*.cache`` next to a dataset with ``np.load(allow_pickle=True)``, so a
  hostile cache in a shared dataset would run code. Labels are rescanned each run.

Weights are downloaded by :mod:`fastsam_plugin.engine.weights`, never by Ultralytics,
and every checkpoint the user names is read by :mod:`fastsam_plugin.engine.loader`.
"""

from __future__ import annotations

import os
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
    _no_label_caches()
    return ul


class _NoCache(FileNotFoundError):
    """Raised in place of reading a dataset label cache (Ultralytics then rescans the labels)."""


def _refuse_cache(path, *_, **__):
    raise _NoCache(f"napari-fastsam does not read dataset caches ({path})")


def _skip_cache(prefix, path, x: dict, version: str, *_, **__) -> None:
    """Writes no cache into the user's dataset folder (it would only be refused next time)."""
    x["version"] = version  # as Ultralytics' own writer does: the dataset pops this key after "saving"


def _no_label_caches() -> None:
    """Make Ultralytics' datasets rescan labels instead of unpickling ``*.cache`` files from the dataset."""
    from ultralytics.data import dataset, utils

    for module in (dataset, utils):
        module.load_dataset_cache_file = _refuse_cache
        module.save_dataset_cache_file = _skip_cache
