"""mask_selectors and its tests run without torch, napari or the plugin (design invariant 1)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "torchvision", "napari", "fastsam_plugin", "ultralytics", "open_clip", "qtpy")


def test_selectors_and_their_tests_import_no_torch_napari_or_plugin():
    # every test module of tests/selectors and the shared strategies, imported in a fresh interpreter
    # (not through pytest: the top-level conftest is not part of what a selectors user installs)
    modules = sorted(f"tests.selectors.{p.stem}" for p in (ROOT / "tests" / "selectors").glob("test_*.py"))
    code = (
        "import importlib, sys\n"
        "import mask_selectors, tests.strategies\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
