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


def open_geotiff_bands(dock, path, bands: int):
    """Write a (bands, 32, 48) uint16 GeoTIFF, open it with the plugin's reader, choose its composite."""
    import rasterio
    from rasterio.transform import from_origin

    data = np.random.default_rng(bands).integers(0, 4000, (bands, 32, 48)).astype(np.uint16)
    with rasterio.open(path, "w", driver="GTiff", height=32, width=48, count=bands, dtype="uint16",
                       crs="EPSG:32633", transform=from_origin(500_000, 5_600_000, 10, 10)) as dst:
        dst.write(data)
    layers = dock.viewer.open(str(path), plugin="napari-fastsam")
    dock.controller.image.value = layers[-1]
    return data, layers


def test_a_geotiff_composite_gets_its_files_bands(dock, tmp_path):
    data, layers = open_geotiff_bands(dock, tmp_path / "four.tif", 4)
    composite = layers[-1]
    assert composite.rgb and composite.data.shape == (32, 48, 3)  # shows bands 1-3
    np.testing.assert_array_equal(dock.controller.plane(composite, ()), np.moveaxis(data, 0, -1))  # segments all 4
    assert "shows bands 1,2,3 of a 4-band GeoTIFF" in dock.bands.hint.value
    dock.bands.preset.value = "NIR false colour (bands 4, 1, 2)"
    expected = normalize_image(np.moveaxis(data, 0, -1), rgb=False, channels=(3, 0, 1))
    np.testing.assert_array_equal(dock.bands.model_input(), expected)  # the preview: the file's bands 4, 1, 2


def test_geotiffs_of_other_band_counts_say_where_bands_are_chosen(dock, tmp_path):
    open_geotiff_bands(dock, tmp_path / "six.tif", 6)
    assert dock.bands.preset.native.isHidden()  # no presets for six bands: the channels field chooses
    assert "6-band GeoTIFF" in dock.bands.hint.value and "'channels'" in dock.bands.hint.value
    assert dock.bands.model_input().shape[-1] == 3
    data, layers = open_geotiff_bands(dock, tmp_path / "one.tif", 1)  # one band: nothing to choose, no hint
    assert dock.bands.hint.native.isHidden() and dock.bands.preset.native.isHidden()
    np.testing.assert_array_equal(dock.controller.plane(layers[-1], ()), data[0])
