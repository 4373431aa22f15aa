"""gentle_imports: garbage collection paused and restored, torch's libraries preloaded without breaking torch."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading

import pytest

from fastsam_plugin.napari import gentle_import
from fastsam_plugin.napari.gentle_import import gentle_imports, preload_libraries, torch_library_dir
from tests.paths import REPO

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the preload is Linux-only")


@pytest.fixture
def no_preload(monkeypatch):
    monkeypatch.setattr(gentle_import, "preload_torch", list)
    yield
    gc.unfreeze()  # leave the test process's collector as it was


def test_collection_paused_inside_and_restored_after(no_preload):
    before = gc.get_threshold()
    with gentle_imports():
        assert gc.get_threshold()[0] == 0  # no automatic collection while importing
        gc.enable()  # what some libraries do while they import: must not bring collection back
        assert gc.get_threshold()[0] == 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() > 0  # the objects that existed then are out of later full collections


def test_overlapping_blocks_restore_the_original_thresholds(no_preload):
    before = gc.get_threshold()
    inner_entered, outer_may_leave = threading.Event(), threading.Event()

    def other_worker():
        with gentle_imports():
            inner_entered.set()
            outer_may_leave.wait(5)

    with gentle_imports():
        thread = threading.Thread(target=other_worker)
        thread.start()
        inner_entered.wait(5)
    assert gc.get_threshold()[0] == 0  # the other block still runs
    outer_may_leave.set()
    thread.join(5)
    assert gc.get_threshold() == before


def test_thresholds_restored_when_the_import_fails(no_preload):
    before = gc.get_threshold()
    with pytest.raises(ImportError), gentle_imports():
        import fastsam_plugin_no_such_module  # noqa: F401
    assert gc.get_threshold() == before


@linux_only
def test_preload_skips_missing_files_and_loads_existing_ones(tmp_path):
    folder = torch_library_dir()
    if folder is None:
        pytest.skip("torch not installed")
    real = folder / "libc10.so"
    assert preload_libraries([tmp_path / "missing.so", real]) == [real]


@linux_only
def test_torch_works_after_its_libraries_were_preloaded():
    # a fresh process: the preload must come before torch's own import to mean anything
    code = (
        "import sys\n"
        "from fastsam_plugin.napari.gentle_import import preload_torch\n"
        "loaded = preload_torch()\n"
        "assert 'torch' not in sys.modules, 'the preload must not import torch'\n"
        "assert any(p.name == 'libtorch_cpu.so' for p in loaded), loaded\n"
        "import torch\n"
        "assert float(torch.nn.functional.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 3, 3)).sum()) == 9.0\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_opening_the_dock_imports_neither_torch_nor_pandas():
    # napari imports the widget's module on its GUI thread: seconds of heavy imports there freeze the window.
    # Only what the widget adds counts: napari 0.5.6's own layers import pandas (napari 0.9 does not).
    code = (
        "import sys\n"
        "import napari.layers\n"
        "napari_own = set(sys.modules)\n"
        "import fastsam_plugin.napari.widget\n"
        "heavy = ('torch', 'ultralytics', 'open_clip', 'pandas', 'scipy.spatial')\n"
        "print(sorted(m for m in heavy if m in sys.modules and m not in napari_own))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


abc_dump = pytest.importorskip("_abc")._get_dump  # CPython's view of an ABC's caches


def test_type_checks_are_cached_again_after_imports_emptied_them():
    import abc
    import collections.abc

    class Registered:  # registering any class empties every ABC's negative cache (what imports do)
        pass

    collections.abc.Sized.register(Registered)
    *_, version = abc_dump(collections.abc.Iterable)
    assert version != abc.get_cache_token()  # stale: the next check of a non-member walks every subclass
    gentle_import.warm_type_checks()
    *_, negative, version = abc_dump(collections.abc.Iterable)
    # the GUI thread's next isinstance(0, Iterable) finds the answer cached
    assert version == abc.get_cache_token()
    assert {ref() for ref in negative} >= {int, float, type(None)}


@linux_only
def test_preload_soon_runs_once_in_a_background_thread(monkeypatch):
    opened = []
    monkeypatch.setattr(gentle_import, "_preloading", [])
    monkeypatch.setitem(sys.modules, "torch", None)
    assert gentle_import.preload_torch_soon() is None  # torch already imported: nothing to open
    monkeypatch.delitem(sys.modules, "torch")
    monkeypatch.setattr(gentle_import, "preload_torch", lambda: opened.append(threading.current_thread()))
    thread = gentle_import.preload_torch_soon()
    thread.join(10)
    assert opened == [thread] and thread is not threading.main_thread()
    assert gentle_import.preload_torch_soon() is None  # once per process
