"""Shared fixtures. Every test runs with the network switched off."""

from __future__ import annotations

import socket

import pytest
from hypothesis import settings

# Speed goals live in bench/, not in tests: no per-example deadline (a loaded CI machine made
# hypothesis' default 200 ms flake on correct code)
settings.register_profile("napari-fastsam", deadline=None)
settings.load_profile("napari-fastsam")


def pytest_runtest_setup(item):
    """Import the torch stack before a test opens a napari viewer.

    Software OpenGL (Xvfb) maps Mesa's libLLVM, and triton (imported by torchvision) crashes when
    loaded after it. The plugin guards against this itself (fastsam_plugin.napari._gl_guard, tested in
    test_gl_guard.py); the suite must not depend on test order. Only viewer tests pay for the import:
    tests/selectors runs without torch (the mask-selectors distribution does not depend on it).
    """
    if "make_napari_viewer" in getattr(item, "fixturenames", ()):
        import torchvision  # noqa: F401


class NetworkAccessError(RuntimeError):
    pass


def _refuse(*args, **kwargs):
    raise NetworkAccessError(f"a test tried to reach the network: {args[:2]}")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail any attempt to resolve or connect to a non-local host."""
    real_connect = socket.socket.connect

    def guarded_connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1") or "/" in host):
            return real_connect(self, address)
        _refuse(address)

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host in (None, "localhost", "127.0.0.1", "::1"):
            return real_getaddrinfo(host, *args, **kwargs)
        _refuse(host)

    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: _refuse(address))


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Weights cache and Ultralytics settings in a temporary folder, never the user's home."""
    monkeypatch.setenv("NAPARI_FASTSAM_CACHE", str(tmp_path / "weights-cache"))
    monkeypatch.delenv("NAPARI_FASTSAM_WEIGHTS", raising=False)


@pytest.fixture(scope="session")
def fastsam_s_checkpoint(tmp_path_factory):
    """An untrained FastSAM-s (YOLOv8s-seg, one class) saved in Ultralytics' checkpoint layout."""
    from fastsam_plugin.training.train import save_architecture_checkpoint

    return save_architecture_checkpoint("FastSAM-s", tmp_path_factory.mktemp("ckpt") / "FastSAM-s-untrained.pt")


@pytest.fixture(scope="session")
def detect_checkpoint(tmp_path_factory):
    """A detection-only YOLOv8n checkpoint: loadable, but not a segmentation model."""
    from fastsam_plugin.engine._ultralytics import ultralytics

    path = tmp_path_factory.mktemp("ckpt") / "yolov8n-detect.pt"
    ultralytics().YOLO("yolov8n.yaml", task="detect").save(str(path))
    return path


@pytest.fixture(scope="session")
def demo_session():
    """Session on the bundled demo segmenter and demo CLIP (CPU)."""
    from fastsam_plugin.engine.session import demo_session as make

    return make("cpu")


def pytest_collection_modifyitems(config, items):
    """napari tests need a display: without one (and without pytest-xvfb) they are skipped with the reason."""
    import os

    if os.environ.get("DISPLAY") or config.pluginmanager.hasplugin("xvfb"):
        return
    skip = pytest.mark.skip(reason="no X display: install Xvfb and pytest-xvfb (make test does both)")
    for item in items:
        if "make_napari_viewer" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)
