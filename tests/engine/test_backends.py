import numpy as np
import pytest

from fastsam_plugin.engine.backends import (
    BackendError,
    create_segmenter,
    embedder_names,
    new_plugin_manager,
    segmenter_names,
)
from fastsam_plugin.engine.session import Session

from ..components_backend import ComponentsPlugin, ComponentsSegmenter


def test_builtins_are_registered_as_plugins():
    pm = new_plugin_manager(load_entry_points=False)
    assert segmenter_names(pm) == ["fastsam"]
    assert embedder_names(pm) == ["open_clip"]


def test_a_second_backend_is_selected_by_name():
    pm = new_plugin_manager(load_entry_points=False)
    pm.register(ComponentsPlugin())
    assert segmenter_names(pm) == ["components", "fastsam"]
    seg = create_segmenter("components", pm, weights="ignored")
    assert isinstance(seg, ComponentsSegmenter) and seg.options == {"weights": "ignored"}
    img = np.zeros((40, 40, 3), np.uint8)
    img[5:15, 5:15] = 255
    assert len(seg.segment(img)) == 1


def test_unknown_backend_lists_what_is_installed():
    with pytest.raises(BackendError, match=r"installed: \['fastsam'"):
        create_segmenter("nope", new_plugin_manager(load_entry_points=False))


def test_session_uses_the_backend_registry(monkeypatch):
    from fastsam_plugin.engine import backends

    pm = new_plugin_manager(load_entry_points=False)
    pm.register(ComponentsPlugin())
    monkeypatch.setattr(backends, "plugin_manager", lambda: pm)
    session = Session(backend="components")
    assert isinstance(session.segmenter, ComponentsSegmenter)


def test_entry_point_group_is_loaded(monkeypatch):
    import pluggy

    calls = []

    monkeypatch.setattr(pluggy.PluginManager, "load_setuptools_entrypoints", lambda self, group: calls.append(group))
    new_plugin_manager()
    assert calls == ["napari_fastsam.backends"]
