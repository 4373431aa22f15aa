import numpy as np
import pytest

from fastsam_plugin.engine.imaging import ImageError, normalize_image


def test_uint8_rgb_passes_through():
    img = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    out = normalize_image(img)
    np.testing.assert_array_equal(out, img)
    assert out.dtype == np.uint8 and out.shape == (20, 30, 3)


def test_rgba_drops_alpha_and_gray_is_repeated():
    img = np.zeros((10, 12, 4), np.uint8)
    img[..., 0] = 200
    img[..., 3] = 7
    assert (normalize_image(img)[..., 0] == 200).all() and normalize_image(img).shape == (10, 12, 3)
    gray = np.arange(120, dtype=np.uint8).reshape(10, 12)
    out = normalize_image(gray)
    assert (out[..., 0] == gray).all() and (out[..., 1] == gray).all()


def test_16bit_is_stretched_between_percentiles():
    img = np.linspace(1000, 5000, 100 * 100).reshape(100, 100).astype(np.uint16)
    out = normalize_image(img)
    assert out.min() == 0 and out.max() == 255
    custom = normalize_image(img, percentiles=(0, 50))
    assert (custom[50:] == 255).all()


def test_float_with_nan_and_inf_is_ignored_for_contrast():
    img = np.random.default_rng(1).normal(size=(30, 30)).astype(np.float32)
    img[0, 0], img[0, 1], img[0, 2] = np.nan, np.inf, -np.inf
    out = normalize_image(img)
    assert out[0, 0, 0] == 0
    assert out[5:, :, 0].max() == 255 and out[5:, :, 0].min() == 0


def test_multichannel_picks_channels_or_composite():
    img = np.zeros((16, 16, 5), np.uint16)
    img[..., 1] = np.arange(16)[None] * 100
    img[..., 4] = np.arange(16)[:, None] * 100
    picked = normalize_image(img, channels=[4, 1])
    assert picked[..., 2].max() == 0            # two channels: red and green
    assert picked[15, 0, 0] == 255 and picked[0, 15, 1] == 255
    composite = normalize_image(img)            # 5 channels: max composite, gray
    assert (composite[..., 0] == composite[..., 1]).all()
    assert composite[15, 15, 0] == 255
    with pytest.raises(ImageError, match="channel\\(s\\) \\[7\\] do not exist"):
        normalize_image(img, channels=[7])
    with pytest.raises(ImageError, match="one to three"):
        normalize_image(img, channels=[0, 1, 2, 3])


def test_two_channel_and_bool():
    img = np.ones((10, 10, 2), np.float64)
    img[:5, :, 0] = 0
    out = normalize_image(img)
    assert out.shape == (10, 10, 3) and out[..., 2].max() == 0
    assert normalize_image(np.eye(10, dtype=bool))[0, 0, 0] == 255


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((2, 3, 4, 5)), "segment_stack"),
        (np.zeros((4, 4)), "at least 8 x 8"),
        (np.array([["a"] * 10] * 10), "not numeric"),
    ],
)
def test_bad_images_say_what_to_do(bad, match):
    with pytest.raises(ImageError, match=match):
        normalize_image(bad)


def test_flat_image_does_not_crash():
    assert normalize_image(np.full((10, 10), 7, np.uint16)).max() == 0
    assert normalize_image(np.full((10, 10), np.nan)).max() == 0


@pytest.mark.parametrize("fill", [np.nan, np.inf, -np.inf])
def test_shapes_of_one_value_on_a_no_data_background_are_the_foreground(fill):
    img = np.full((32, 32), fill)
    img[8:16, 8:20] = 3.0  # one intensity, as a mask or a thresholded product
    out = normalize_image(img)[..., 0]
    assert (out[8:16, 8:20] == 255).all() and out.sum() == 255 * 8 * 12


def test_extreme_finite_ranges_do_not_overflow():
    img = np.zeros((32, 32))
    img[:, :16], img[:, 16:] = -1e308, 1e308
    out = normalize_image(img, percentiles=(0, 100))[..., 0]
    assert (out[:, :16] == 0).all() and (out[:, 16:] == 255).all()
    img[4:8, 4:8] = 0.0  # the middle of the range is mid-gray, not NaN/0
    assert abs(int(normalize_image(img, percentiles=(0, 100))[5, 5, 0]) - 127) <= 1


def test_nan_stretch_uses_finite_values_only():
    img = np.full((20, 20), np.nan)
    img[5:15, 5:15] = np.linspace(100.0, 200.0, 100).reshape(10, 10)
    out = normalize_image(img, percentiles=(0, 100))[..., 0]
    assert out[5, 5] == 0 and out[14, 14] == 255 and (out[:5] == 0).all()
