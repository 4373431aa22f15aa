"""npe2 manifest, discovery, sample data and writer contributions."""

import json
from pathlib import Path

import numpy as np
import pytest
from npe2 import PluginManager, PluginManifest

from fastsam_plugin.io import decode_rle
from fastsam_plugin.napari.sample_data import large_mosaic, nuclei_stack, shapes_scene
from fastsam_plugin.napari.writer import write_labels_coco

from ..paths import REPO as ROOT


def test_manifest_validates_and_is_shipped_in_the_package():
    manifest = PluginManifest.from_file(ROOT / "napari.yaml")
    assert manifest.name == "napari-fastsam"
    packaged = ROOT / "fastsam_plugin" / "napari.yaml"
    assert packaged.read_text() == (ROOT / "napari.yaml").read_text()


def test_npe2_discovers_the_installed_plugin():
    pm = PluginManager()
    pm.discover()
    assert "napari-fastsam" in pm._manifests
    contributions = pm.get_manifest("napari-fastsam").contributions
    assert [w.display_name for w in contributions.widgets] == ["FastSAM"]
    assert {s.key for s in contributions.sample_data} == {"shapes", "nuclei_stack", "nuclei_scene", "large"}
    assert contributions.writers[0].layer_types == ["labels"]


def test_sample_data():
    (img, meta), = shapes_scene()
    assert img.dtype == np.uint8 and img.shape[2] == 3 and meta["rgb"]
    (stack, _), = nuclei_stack()
    assert stack.dtype == np.uint16 and stack.ndim == 3
    (big, _), = large_mosaic(tiles=3, tile_px=128)
    assert big.shape == (384, 384, 3)


def test_writer_round_trips_labels(tmp_path):
    lab = np.zeros((30, 40), np.int32)
    lab[2:10, 3:9] = 4
    lab[20:25, 30:38] = 9
    (path,) = write_labels_coco(str(tmp_path / "out.json"), lab, {"name": "cells"})
    coco = json.loads(Path(path).read_text())
    assert len(coco["annotations"]) == 2
    for ann in coco["annotations"]:
        np.testing.assert_array_equal(decode_rle(ann["segmentation"]), lab == ann["label_id"])
    stack = np.stack([lab, lab * 0])
    (path,) = write_labels_coco(str(tmp_path / "stack.json"), stack, {"name": "cells"})
    coco = json.loads(Path(path).read_text())
    assert len(coco["images"]) == 2 and len(coco["annotations"]) == 2


@pytest.mark.parametrize("key", ["shapes", "nuclei_stack", "nuclei_scene"])
def test_sample_data_opens_in_napari(make_napari_viewer, key):
    from napari.layers import Image, Labels

    viewer = make_napari_viewer()
    viewer.open_sample("napari-fastsam", key)
    image = viewer.layers[0]
    assert isinstance(image, Image) and np.ptp(np.asarray(image.data)) > 0  # a picture, not a blank
    if key == "shapes":
        assert image.rgb and image.data.shape[-1] == 3 and image.data.dtype == np.uint8
    elif key == "nuclei_stack":
        assert not image.rgb and image.data.ndim == 3 and image.data.shape[0] > 1
    else:  # the scene comes with its true labels, on the same pixel grid
        (truth,) = viewer.layers[1:]
        assert isinstance(truth, Labels) and truth.data.shape == image.data.shape[: truth.data.ndim]
        assert truth.data.max() > 1 and (truth.data > 0).mean() < 0.9
    assert len(viewer.layers) == (2 if key == "nuclei_scene" else 1)


def test_widget_opens_from_the_plugins_menu_and_sees_the_viewers_images(make_napari_viewer):
    viewer = make_napari_viewer()
    before = viewer.add_image(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8), name="before")
    dock, frame = viewer.window.add_plugin_dock_widget("napari-fastsam", "FastSAM")
    assert type(frame).__name__ == "FastSAMDock"  # docked at once; the widget is built in it a moment later
    widget = frame.build()
    assert type(widget).__name__ == "FastSAMWidget" and frame.controller is widget.controller
    assert dock in viewer.window._qt_window.findChildren(type(dock))
    after = viewer.add_image(np.zeros((32, 32), np.uint8), name="after")
    choices = widget.controller.image.choices
    assert before in choices and after in choices  # images opened before and after the widget
    viewer.layers.remove(after)
    assert after not in widget.controller.image.choices


def test_built_wheel_ships_manifest_models_and_entry_point(tmp_path):
    """A non-editable install gets the manifest and demo models from the wheel."""
    import subprocess
    import sys
    import zipfile

    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT),
                    "-w", str(tmp_path)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("napari_fastsam-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in names if n.endswith("entry_points.txt"))
        manifest = z.read("fastsam_plugin/napari.yaml").decode()
    assert {"fastsam_plugin/models/fastsam-demo-n.safetensors", "fastsam_plugin/models/fastsam-demo-n.json",
            "fastsam_plugin/models/fastsam-demo-clip.safetensors"} <= names
    assert manifest == (ROOT / "napari.yaml").read_text()
    assert "napari-fastsam = fastsam_plugin:napari.yaml" in entry_points
