"""The training panel: fine-tune on annotation layers in a worker, select the new model, export training sets."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from fastsam_plugin.engine.progress import Cancelled
from fastsam_plugin.napari.training_panel import result_message, wrap_anywhere
from fastsam_plugin.napari.widget import FastSAMWidget
from fastsam_plugin.training import finetune as finetune_module
from fastsam_plugin.training.export import ExportSummary
from fastsam_plugin.training.finetune import FinetuneResult, finetuned_is_better
from fastsam_plugin.training.synthetic import make_scene

from .conftest import wait_idle
from .test_dock_layout import settle


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


def test_fine_tune_on_user_labels_keeps_the_better_model(dock, qtbot, tmp_path, monkeypatch):
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
    before = (dock.model.weights.value, dock.model.weights_file.value)
    panel.fine_tune.native.click()  # as a user clicks it
    wait_idle(qtbot, dock, timeout=300_000)
    result = panel.last_result
    assert result is not None and result.checkpoint.exists(), dock.status.value
    assert str(result.checkpoint).startswith(str(tmp_path / "cache"))
    assert result.improved == finetuned_is_better(result.before, result.after)
    if result.improved:  # the better model is the one selected
        assert dock.model.weights.value == "file" and str(dock.model.weights_file.value) == str(result.checkpoint)
        assert "Kept the fine-tuned model" in panel.report.value
    else:
        assert (dock.model.weights.value, dock.model.weights_file.value) == before
        assert "Kept the original model" in panel.report.value
    assert "recall@0.5" in panel.report.value and "AP50" in panel.report.value and not dock.status.is_error
    assert np.array_equal(dock.viewer.layers["cellpose labels"].data, labels)  # the user's labels untouched


def _annotated_dock(dock):
    images, labels = _stack(2)
    image = dock.viewer.add_image(images, rgb=True, name="scenes")
    dock.viewer.add_labels(labels, name="hand labels")
    dock.controller.image.value = image
    dock.training.layers.value = ["hand labels"]
    return dock.training


def _finetune_scoring(before, after, tmp_path):
    """A stand-in for training.finetune.finetune: the panel's decision is what these tests check."""
    def fake(session, images, labels, work_dir, **kwargs):
        ckpt = tmp_path / "best.pt"
        ckpt.write_bytes(b"not a model: never loaded by these tests")
        summary = ExportSummary(tmp_path / "data.yaml", tmp_path / "a.json", ["image000"], ["image001"],
                                {"image000": 3, "image001": 4})
        return FinetuneResult(ckpt, before, after, summary, improved=finetuned_is_better(before, after))
    return fake


def test_a_worse_fine_tuned_model_is_not_selected_and_the_report_says_which_was_kept(dock, qtbot, tmp_path,
                                                                                       monkeypatch):
    panel = _annotated_dock(dock)
    before = (dock.model.weights.value, dock.model.weights_file.value)
    # the run: recall@0.5 1.00 -> 0.00, AP50 0.33 -> 0.00
    monkeypatch.setattr(finetune_module, "finetune",
                        _finetune_scoring({"recall50": 1.0, "AP50": 0.33}, {"recall50": 0.0, "AP50": 0.0}, tmp_path))
    panel.fine_tune.native.click()
    wait_idle(qtbot, dock)
    assert (dock.model.weights.value, dock.model.weights_file.value) == before
    assert "1.00 -> 0.00" in panel.report.value and "Kept the original model" in panel.report.value
    assert "kept the original" in dock.status.value and not dock.status.is_error

    monkeypatch.setattr(finetune_module, "finetune",
                        _finetune_scoring({"recall50": 0.5, "AP50": 0.3}, {"recall50": 0.5, "AP50": 0.6}, tmp_path))
    panel.fine_tune.native.click()
    wait_idle(qtbot, dock)
    assert dock.model.weights.value == "file" and str(dock.model.weights_file.value) == str(tmp_path / "best.pt")
    assert "Kept the fine-tuned model" in panel.report.value


def test_cancel_is_reported_as_a_cancel(dock, qtbot, tmp_path, monkeypatch):
    panel = _annotated_dock(dock)

    def until_cancelled(session, images, labels, work_dir, *, progress=None, cancel=None, **kwargs):
        for epoch in range(1, 10_000):  # the real loop checks cancel after each epoch in the same way
            progress(epoch, 10_000, {"loss": 1.0})
            if cancel():
                raise Cancelled("fine-tuning cancelled")
            threading.Event().wait(0.01)
        raise AssertionError("never cancelled")

    monkeypatch.setattr(finetune_module, "finetune", until_cancelled)
    panel.fine_tune.native.click()
    qtbot.waitUntil(lambda: dock.status.value.startswith("epoch"), timeout=60_000)
    dock.status.cancel_button.native.click()
    wait_idle(qtbot, dock)
    assert not dock.status.is_error and "unexpected" not in dock.status.value
    assert "cancelled" in dock.status.value and "cancelled" in panel.report.value
    assert "model is unchanged" in panel.report.value and panel.fine_tune.enabled


def test_a_long_result_wraps_and_never_widens_the_dock(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    window = viewer.window._qt_window
    window.resize(1200, 700)
    widget = FastSAMWidget(viewer)
    viewer.window.add_dock_widget(widget, name="FastSAM", area="right")
    settle(qtbot)
    scroll = getattr(widget, "scroll", widget.native)  # the scroll area around the panels
    needed = scroll.minimumWidth()
    canvas = viewer.window._qt_viewer.canvas.native.width()
    path = "/home/someone/.cache/napari-fastsam/finetuned/20261207-184455/run/weights/best.pt" * 2
    summary = ExportSummary(Path("d.yaml"), Path("a.json"), ["image000"], ["image001"], {"image000": 3, "image001": 4})
    outcome = FinetuneResult(Path(path), {"recall50": 1.0, "AP50": 0.33}, {"recall50": 0.0, "AP50": 0.0}, summary)
    widget.training.report.value = wrap_anywhere(result_message(outcome))
    settle(qtbot)
    assert scroll.minimumWidth() <= needed  # the dock may stay as narrow as before
    assert viewer.window._qt_viewer.canvas.native.width() >= canvas - 2  # the canvas keeps its room
    report = widget.training.report.native
    assert report.height() > 2 * report.fontMetrics().height()  # wrapped over several lines
    assert report.width() <= scroll.viewport().width()


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
