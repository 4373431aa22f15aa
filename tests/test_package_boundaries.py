"""The design's invariants that a test can check."""

import subprocess
import sys
from pathlib import Path

SELECTOR_TESTS = Path(__file__).parent / "selectors" / "test_boxes.py"


def run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_mask_selectors_imports_no_torch_napari_or_plugin():
    loaded = run(
        "import sys, mask_selectors\n"
        "print(sorted(m for m in ('torch', 'napari', 'fastsam_plugin', 'ultralytics', 'open_clip', 'qtpy')"
        " if m in sys.modules))"
    )
    assert loaded == "[]"


def test_standard_library_selectors_is_not_shadowed():
    # asyncio and subprocess import the standard-library ``selectors``; our package must not replace it
    assert run("import mask_selectors, selectors, asyncio; print(hasattr(selectors, 'DefaultSelector'))") == "True"


def test_engine_import_is_light():
    # importing the engine must not pull in napari or Qt (the CLI and Python users never need them)
    loaded = run(
        "import sys, fastsam_plugin.engine.session, fastsam_plugin.cli\n"
        "print(sorted(m for m in ('napari', 'qtpy', 'PyQt6') if m in sys.modules))"
    )
    assert loaded == "[]"


def test_selector_tests_run_without_torch():
    # mask-selectors is installable without torch: its tests (and the shared conftest) must not need it
    loaded = run(
        "import sys, pytest\n"
        f"code = pytest.main(['-q', '-p', 'no:cacheprovider', {str(SELECTOR_TESTS)!r}])\n"
        "assert code == 0, code\n"
        "print(sorted(m for m in ('torch', 'torchvision', 'fastsam_plugin') if m in sys.modules))"
    )
    assert loaded.splitlines()[-1] == "[]"
