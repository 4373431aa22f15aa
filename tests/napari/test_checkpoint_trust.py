"""The widget's weights field reaches the checkpoint scan; the opt-out is asked for, never assumed."""

from __future__ import annotations

import torch

from fastsam_plugin.napari.sample_data import shapes_scene
from tests.checkpoint_payloads import HarmlessUnknown, evil_checkpoint

from .conftest import layer, wait_idle


def run_everything_with(dock, qtbot, weights_file, answer: bool) -> list[str]:
    """Pick ``weights_file`` in the model panel, run everything mode; return the questions asked."""
    asked: list[str] = []
    dock.controller.confirm_trust = lambda message: asked.append(message) or answer
    dock.model.weights.value = "file"
    dock.model.weights_file.value = weights_file
    data, meta = shapes_scene()[0]
    dock.controller.image.value = dock.viewer.add_image(data, **meta)
    dock.everything.run()
    wait_idle(qtbot, dock)
    return asked


def test_malicious_weights_file_is_refused_in_the_widget(dock, qtbot, tmp_path):
    marker = tmp_path / "PAYLOAD-RAN"
    evil = evil_checkpoint(tmp_path / "evil.pt", marker)
    asked = run_everything_with(dock, qtbot, evil, answer=False)
    assert not marker.exists()
    assert dock.status.is_error and "refused to load" in dock.status.line.tooltip
    assert len(asked) == 1 and "posix.system" in asked[0]  # the user was asked, and said no
    assert dock.controller.current_result() is None  # nothing segmented
    objects = layer(dock.viewer, "everything")
    assert objects is None or objects.data.max() == 0
    dock.everything.run()  # a second run is refused again: No was not remembered as Yes
    wait_idle(qtbot, dock)
    assert not marker.exists() and len(asked) == 2


def test_trusting_a_refused_file_loads_it_on_the_next_run(dock, qtbot, tmp_path, fastsam_s_checkpoint):
    ckpt = torch.load(fastsam_s_checkpoint, weights_only=False)  # our own fixture
    ckpt["date"] = HarmlessUnknown()  # harmless, but outside the allow-list
    odd = tmp_path / "odd-model.pt"
    torch.save(ckpt, odd)
    asked = run_everything_with(dock, qtbot, odd, answer=True)
    assert len(asked) == 1 and "datetime.timedelta" in asked[0]
    assert "run again" in dock.status.value
    dock.everything.run()
    wait_idle(qtbot, dock)
    assert not dock.status.is_error, dock.status.value
    assert dock.controller.session().trust is True
    assert len(asked) == 1  # not asked twice
