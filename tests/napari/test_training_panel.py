"""The training panel: fine-tune on annotation layers in a worker, select the new model, export training sets."""

from __future__ import annotations

import numpy as np

from fastsam_plugin.training.synthetic import make_scene

from .conftest import wait_idle


def _stack(n: int = 3, size=(160, 160)):
    images, labels = [], []
    for i in range(n):
        scene = make_scene(70 + i, size, n_objects=(3, 5))
        lab = np.zeros(size, np.int32)
        for k, m in enumerate(scene.masks):
            lab[m] = k + 1
        images.append(scene.image)
        labels.append(lab)
    return np.stack(images), np.stack(labels)


def test_fine_tune_on_user_labels_selects_the_new_model(dock, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_FASTSAM_CACHE", str(tmp_path / "cache"))
    images, labels = _stack()
    image = dock.viewer.add_image(images, rgb=True, name="scenes")
    dock.viewer.add_labels(labels, name="cellpose labels")  # labels from another tool
    dock.controller.image.value = image
    panel = dock.training
    assert "cellpose labels" in panel.layers.choices
    panel.layers.value = ["cellpose labels"]
    panel.epochs.value = 1
    dock.model.imgsz.value = 160
    panel.fine_tune.native.click()  # as a user clicks it
    wait_idle(qtbot, dock, timeout=300_000)
    result = panel.last_result
    assert result is not None and result.checkpoint.exists()
    assert str(result.checkpoint).startswith(str(tmp_path / "cache"))
    assert dock.model.weights.value == "file" and str(dock.model.weights_file.value) == str(result.checkpoint)
    assert "recall@0.5" in panel.report.value and "AP50" in panel.report.value
    assert np.array_equal(dock.viewer.layers["cellpose labels"].data, labels)  # the user's labels untouched


def test_export_writes_the_training_set(dock, tmp_path):
    images, labels = _stack(2)
    image = dock.viewer.add_image(images, rgb=True, name="scenes")
    dock.viewer.add_labels(labels, name="hand labels")
    dock.controller.image.value = image
    dock.training.layers.value = ["hand labels"]
    dock.training.export_folder.value = tmp_path / "set"
    dock.training.export_now()
    assert (tmp_path / "set" / "data.yaml").exists() and (tmp_path / "set" / "annotations.json").exists()
    assert len(list((tmp_path / "set" / "images").rglob("*.png"))) == 2
    assert "exported 1 training and 1 validation" in dock.status.value


def test_fine_tune_without_objects_says_what_to_do(dock):
    image = dock.viewer.add_image(np.zeros((64, 64), np.uint8), name="blank")
    dock.viewer.add_labels(np.zeros((64, 64), np.int32), name="empty")
    dock.controller.image.value = image
    dock.training.layers.value = ["empty"]
    dock.training.run()
    assert "accept some objects first" in dock.status.value and not dock.busy
