"""The model panel: what a Session is built from."""

import pytest

from fastsam_plugin.engine.model import DEMO_PARAMS, EverythingParams
from fastsam_plugin.engine.operating_point import UserChoice


def test_demo_choice_sets_models_and_operating_point(dock):
    panel = dock.model
    settings = panel.model_settings()
    assert (settings.weights, settings.clip_model, settings.device) == ("demo", "demo", "cpu")
    assert (panel.imgsz.value, panel.conf.value) == (DEMO_PARAMS.imgsz, DEMO_PARAMS.conf)
    assert panel.choice() == UserChoice()  # shown, not chosen: the engine decides


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


def test_default_is_the_demo_model_with_a_note_when_fastsam_s_is_missing(make_napari_viewer):
    from fastsam_plugin.napari.model_panel import ModelPanel

    make_napari_viewer()  # a Qt application
    panel = ModelPanel()  # the test cache holds no FastSAM-s.pt
    assert panel.weights.value == "demo" and panel.text_model.value == "demo"
    assert (panel.imgsz.value, panel.conf.value) == (DEMO_PARAMS.imgsz, DEMO_PARAMS.conf)
    assert not panel.note.native.isHidden() and "FastSAM-s" in panel.note.value


def test_default_is_fastsam_s_when_it_is_cached(make_napari_viewer, tmp_path, monkeypatch):
    from fastsam_plugin.napari.model_panel import ModelPanel

    monkeypatch.setenv("NAPARI_FASTSAM_CACHE", str(tmp_path))
    (tmp_path / "FastSAM-s.pt").write_bytes(b"a checkpoint")
    make_napari_viewer()
    panel = ModelPanel()
    assert panel.weights.value == "FastSAM-s" and panel.note.native.isHidden()
    assert (panel.imgsz.value, panel.conf.value) == (EverythingParams().imgsz, EverythingParams().conf)


def test_choosing_a_model_applies_its_operating_point(dock):
    panel = dock.model
    panel.weights.value = "FastSAM-s"
    assert (panel.imgsz.value, panel.conf.value) == (EverythingParams().imgsz, EverythingParams().conf)
    panel.weights.value = "demo"
    assert (panel.imgsz.value, panel.conf.value) == (DEMO_PARAMS.imgsz, DEMO_PARAMS.conf)


def test_only_the_fields_the_user_changes_are_passed_on_and_runs_show_what_was_used(dock):
    panel = dock.model
    panel.conf.value = 0.5
    panel.object_size.value = 30.0
    assert panel.choice() == UserChoice(conf=0.5, object_size=30.0)
    panel.weights.value = "demo-nuclei"  # another model: its operating point is shown, nothing chosen but the size
    assert panel.choice() == UserChoice(object_size=30.0)
    panel.conf.value = 0.45
    # a run on a checkpoint whose record says imgsz 320: shown in the free fields, the user's conf stays theirs
    panel.show_used(EverythingParams(imgsz=320, conf=0.45, iou=0.5), panel.choice())
    assert (panel.imgsz.value, panel.conf.value) == (320, 0.45)
    assert panel.choice() == UserChoice(conf=0.45, object_size=30.0)


def test_rare_settings_are_folded_away_until_asked_for(dock):
    panel = dock.model
    assert all(w.native.isHidden() for w in (panel.iou, panel.tiling, panel.low))
    panel.more.value = True
    assert not any(w.native.isHidden() for w in (panel.iou, panel.tiling, panel.low))
