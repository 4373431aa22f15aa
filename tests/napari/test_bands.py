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
    assert dock.model.channels.value == "0,1,2"  # RGB by default
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
