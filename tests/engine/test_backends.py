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


def test_an_installed_entry_point_adds_a_working_backend(tmp_path, monkeypatch):
    """A package installed with an entry point in our group is found, named and used, like a real plugin."""
    (tmp_path / "fake_fastsam_backend.py").write_text(
        "import numpy as np\n"
        "from fastsam_plugin.engine.hookspecs import hookimpl\n"
        "from fastsam_plugin.engine.result import SegmentationResult\n"
        "class Everything:\n"
        "    def __init__(self, **options):\n"
        "        self.options = options\n"
        "    def segment(self, image, **params):\n"
        "        mask = np.ones((1, *image.shape[:2]), bool)\n"
        "        return SegmentationResult.from_masks(mask, np.array([[0, 0, 1, 1]]), np.ones(1), image)\n"
        "@hookimpl\n"
        "def fastsam_segmenters():\n"
        "    return {'whole-image': Everything}\n"
    )
    dist = tmp_path / "fake_fastsam_backend-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-fastsam-backend\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[napari_fastsam.backends]\nwhole-image = fake_fastsam_backend\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    pm = new_plugin_manager()  # loads the entry points of installed packages
    assert "whole-image" in segmenter_names(pm)
    assert "whole-image" not in segmenter_names(new_plugin_manager(load_entry_points=False))
    seg = create_segmenter("whole-image", pm, device="cpu")
    assert seg.options == {"device": "cpu"}
    result = seg.segment(np.zeros((12, 16, 3), np.uint8))
    assert len(result) == 1 and result.labels().min() == 1
