"""A napari user opens the widget after the GL canvas exists: importing torch then must not crash."""

import os
import subprocess
import sys

import pytest

SCRIPT = """
import threading
import napari
viewer = napari.Viewer(show=False)
from fastsam_plugin.napari._gl_guard import guard_triton
from fastsam_plugin.napari.controller import import_backends
guard_triton()   # the widget's GUI thread, when it builds the session
worker = threading.Thread(target=import_backends)   # the first run imports torch & co. in its worker
worker.start()
worker.join()
import torchvision
print("alive")
"""


@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs an X display (pytest-xvfb provides one)")
def test_torch_import_in_a_worker_after_the_gl_canvas_does_not_crash():
    out = subprocess.run([sys.executable, "-c", SCRIPT], check=False, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "alive" in out.stdout
