"""The model panel: what a Session is built from."""

import pytest

from fastsam_plugin.engine.model import DEMO_PARAMS


def test_demo_choice_sets_models_and_operating_point(dock):
    panel = dock.model
    settings = panel.model_settings()
    assert (settings.weights, settings.clip_model, settings.device) == ("demo", "demo", "cpu")
    assert (panel.params().imgsz, panel.params().conf) == (DEMO_PARAMS.imgsz, DEMO_PARAMS.conf)


def test_channels_text_becomes_image_options_or_a_clear_error(dock):
    panel = dock.model
    panel.channels.value = "3, 0,1"
    assert panel.image_options().channels == (3, 0, 1)
    panel.channels.value = "red"
    with pytest.raises(ValueError, match="channel numbers separated by commas"):
        panel.image_options()


def test_file_choice_shows_the_file_picker(dock):
    assert dock.model.weights_file.native.isHidden()
    dock.model.weights.value = "file"
    assert not dock.model.weights_file.native.isHidden()
