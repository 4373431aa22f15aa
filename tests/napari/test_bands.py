"""Bands of RGB(A)-opened images: presets, the RGBA hint, and the preview of the model's input."""

import numpy as np

from fastsam_plugin.engine.imaging import normalize_image


def four_band(dock):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 4000, (64, 80, 4)).astype(np.uint16)
    data[16:48, 20:60, 3] = 60000  # a bright "vegetation" patch seen only in band 4 (near-infrared)
    image = dock.viewer.add_image(data, rgb=True, name="naip")
    dock.controller.image.value = image
    return image


def test_four_band_image_opened_as_rgba_gets_presets_and_a_hint(dock):
    four_band(dock)
    bands = dock.bands
    assert not bands.hint.native.isHidden() and "transparency" in bands.hint.value
    assert "NIR false colour (bands 4, 1, 2)" in bands.preset.choices
    assert bands.preset.value == "the model's bands (from its weights)"  # by default: what the model learnt
    assert dock.model.channels.value == ""  # (bands 1-3 for a model without a band record)
    bands.preset.value = "RGB (bands 1, 2, 3)"
    assert dock.model.channels.value == "0,1,2"
    bands.preset.value = "NIR false colour (bands 4, 1, 2)"
    assert dock.model.channels.value == "3,0,1"
    assert dock.model.image_options().channels == (3, 0, 1)


def test_preview_shows_what_the_model_sees(dock):
    image = four_band(dock)
    dock.bands.preset.value = "NIR false colour (bands 4, 1, 2)"
    seen = dock.bands.model_input()
    expected = normalize_image(image.data, channels=(3, 0, 1))
    np.testing.assert_array_equal(seen, expected)  # small image: no subsampling
    assert seen[30, 40, 0] == 255 and seen[5, 5, 0] < 255  # the NIR patch is red
    pixmap = dock.bands.preview.native.pixmap()
    assert max(pixmap.width(), pixmap.height()) == 160


def test_plain_images_get_no_presets_and_bad_channels_are_explained(dock):
    dock.controller.image.value = dock.viewer.add_image(np.zeros((32, 32), np.uint16))
    assert dock.bands.preset.native.isHidden() and dock.bands.hint.native.isHidden()
    dock.model.channels.value = "zero"
    assert "channel numbers separated by commas" in dock.bands.preview.value


def test_switching_to_a_plain_image_drops_the_preset_channels(dock):
    four_band(dock)
    dock.bands.preset.value = "NIR false colour (bands 4, 1, 2)"
    dock.controller.image.value = dock.viewer.add_image(np.zeros((32, 32), np.uint16))
    assert dock.model.channels.value == ""


def test_the_models_bands_preset_follows_the_loaded_models_record(dock, tmp_path):
    """A model trained on NIR, red, green (its checkpoint says so) gets those bands by default, in the preview too."""
    from fastsam_plugin.training.train import record_operating_point, save_architecture_checkpoint

    path = save_architecture_checkpoint("demo", tmp_path / "banded.pt")
    record_operating_point(path, 128, 0.01, bands=[4, 1, 2])
    image = four_band(dock)
    dock.model.weights.value = "file"
    dock.model.weights_file.value = path
    np.testing.assert_array_equal(dock.bands.model_input()[..., 0], normalize_image(image.data)[..., 0])  # not loaded
    assert dock.controller.session().model_bands == (4, 1, 2)  # loads the model (in the worker when segmenting)
    dock.bands.update_preview()
    np.testing.assert_array_equal(dock.bands.model_input(), normalize_image(image.data, channels=(3, 0, 1)))
