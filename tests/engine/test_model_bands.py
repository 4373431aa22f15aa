"""A model that records its input bands (the trees model: NIR, red, green) sees a raw multi-band image in them."""

import numpy as np
import pytest

from fastsam_plugin.engine.operating_point import CHECKPOINT_KEY, model_bands
from fastsam_plugin.engine.pipeline import ImageOptions
from fastsam_plugin.engine.session import Session


@pytest.fixture(scope="module")
def banded_checkpoint(tmp_path_factory):
    """An untrained YOLOv8n-seg whose record says it was trained on bands 4, 1, 2."""
    from fastsam_plugin.training.train import record_operating_point, save_architecture_checkpoint

    path = save_architecture_checkpoint("demo", tmp_path_factory.mktemp("bands") / "banded.pt")
    record_operating_point(path, 128, 0.01, bands=[4, 1, 2])
    return path


def _tile(seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (96, 128, 4), dtype=np.uint8)


def test_record_is_read_and_damaged_entries_ignored():
    assert model_bands({CHECKPOINT_KEY: {"bands": [4, 1, 2]}}) == (4, 1, 2)
    for bad in ([0, 1, 2], [4, 1, 2, 3], "4,1,2", [4.0, 1, 2], [True, 1, 2], []):
        assert model_bands({CHECKPOINT_KEY: {"bands": bad}}) is None
    assert model_bands(None) is None and model_bands({}) is None


def test_options_apply_model_bands_only_when_the_choice_is_open():
    auto = ImageOptions(model_bands=(4, 1, 2))
    assert auto.for_image((8, 8, 4)).channels == (3, 0, 1)
    assert auto.for_image((8, 8, 3)) == auto  # plain RGB: nothing to pick
    assert auto.for_image((8, 8)) == auto
    assert ImageOptions(model_bands=(5, 1, 2)).for_image((8, 8, 4)).channels is None  # band 5 is missing
    assert ImageOptions(channels=(0, 1, 2), model_bands=(4, 1, 2)).for_image((8, 8, 4)).channels == (0, 1, 2)
    assert ImageOptions(rgb=True, model_bands=(4, 1, 2)).for_image((8, 8, 4)).channels is None


def test_session_shows_a_raw_four_band_tile_in_the_models_bands(banded_checkpoint):
    tile = _tile()
    session = Session(str(banded_checkpoint), device="cpu")
    assert session.model_bands == (4, 1, 2)
    assert session.params.imgsz == 128  # the record's operating point came with it
    result = session.segment(tile, key="tile")
    np.testing.assert_array_equal(result.image, tile[..., [3, 0, 1]])
    assert session.cached("tile") is result  # the key holds the bands the result was made with
    # the user's channels win over the model's record
    session.image_options = ImageOptions(channels=(0, 1, 2))
    np.testing.assert_array_equal(session.segment(tile).image, tile[..., :3])


def test_models_without_a_band_record_see_rgb(banded_checkpoint, tmp_path):
    from fastsam_plugin.training.train import save_architecture_checkpoint

    plain = save_architecture_checkpoint("demo", tmp_path / "plain.pt")
    session = Session(str(plain), device="cpu")
    assert session.model_bands is None
    tile = _tile(1)
    np.testing.assert_array_equal(session.segment(tile).image, tile[..., :3])  # RGBA rule: band 4 dropped
