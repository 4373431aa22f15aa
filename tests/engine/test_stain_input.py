"""Stained (H&E-like) colour images reach a nuclei model in the form it was trained on (issue 30)."""

from pathlib import Path

import numpy as np
import pytest
import tifffile

import fastsam_plugin.engine.operating_point as op
from fastsam_plugin.engine.imaging import hematoxylin_channel, looks_stained
from fastsam_plugin.engine.operating_point import CHECKPOINT_KEY, model_input_form
from fastsam_plugin.engine.pipeline import COLOUR_NOTE, STAINED_NOTE, ImageOptions
from fastsam_plugin.engine.session import Session

DSB = Path(__file__).resolve().parents[3] / "shared" / "data" / "microscopy" / "dsb2018-stage1"


def stained_tissue(seed: int = 0, size: int = 256) -> np.ndarray:
    """A brightfield-like H&E picture: pink tissue on white, dark purple nuclei (hematoxylin absorbs red/green)."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size, 3), (236, 220, 232), np.float64)  # light pink background
    yy, xx = np.mgrid[:size, :size]
    for _ in range(25):
        cy, cx, r = rng.uniform(15, size - 15), rng.uniform(15, size - 15), rng.uniform(6, 11)
        img[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = (90, 60, 140)  # hematoxylin purple
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_looks_stained_tells_brightfield_colour_from_fluorescence_and_gray():
    he = stained_tissue()
    assert looks_stained(he) and looks_stained(np.dstack([he, np.full(he.shape[:2], 255, np.uint8)]))  # RGBA too
    gray_rgb = np.repeat(he.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    assert not looks_stained(gray_rgb)  # gray saved as RGB
    assert not looks_stained(255 - he)  # dark background: fluorescence-like
    assert not looks_stained(he.astype(np.uint16) * 200)  # not 8-bit: a camera's channels, not a photo
    assert not looks_stained(he[..., 0]) and not looks_stained(he[..., :2])


@pytest.mark.skipif(not DSB.is_dir(), reason="shared DSB2018 stage-1 data absent")
def test_looks_stained_on_real_dsb2018_images():
    colour = sorted((DSB / "colour" / "images").glob("*.tif"))[:8]
    fluo = sorted((DSB / "fluorescence" / "images").glob("*.tif"))[:8]
    assert all(looks_stained(tifffile.imread(p)) for p in colour)
    assert not any(looks_stained(tifffile.imread(p)) for p in fluo)


@pytest.fixture
def fluorescence_only(monkeypatch):
    """demo-nuclei declared a fluorescence-only model (as the one bundled before the DSB2018 model was)."""
    monkeypatch.setitem(op.NAMED_INPUT_FORMS, "demo-nuclei", "hematoxylin")


def test_input_form_comes_from_the_name_or_the_record():
    assert model_input_form("demo-nuclei") == "rgb"  # the bundled one learnt DSB2018's stained tissue in colour
    assert model_input_form("/x.pt", {CHECKPOINT_KEY: {"input": "hematoxylin"}}) == "hematoxylin"
    assert model_input_form("/x.pt", {CHECKPOINT_KEY: {"input": "sepia"}}) is None  # damaged: as it is
    assert model_input_form("FastSAM-s") is None


def test_a_stained_image_is_segmented_as_its_hematoxylin_channel_and_says_so(fluorescence_only):
    he = stained_tissue(1)
    session = Session("demo-nuclei", "cpu")
    result = session.segment(he)
    assert result.input_note == STAINED_NOTE
    direct = Session("demo-nuclei", "cpu").segment(hematoxylin_channel(he))  # what the model was shown
    assert len(result) == len(direct) > 0
    np.testing.assert_array_equal(result.labels() > 0, direct.labels() > 0)

    fluorescence = 255 - he  # not stained-looking: as it is
    assert session.segment(fluorescence).input_note is None
    as_is = Session("demo-nuclei", "cpu", image_options=ImageOptions(stain="rgb"))  # the caller's choice wins
    assert as_is.segment(he).input_note == COLOUR_NOTE
    assert Session("demo", "cpu").segment(he).input_note is None  # a model that says nothing: as it is
    all_three = Session("demo-nuclei", "cpu", image_options=ImageOptions(channels=(0, 1, 2)))  # the dock's RGB
    assert all_three.segment(he).input_note == STAINED_NOTE
    one = Session("demo-nuclei", "cpu", image_options=ImageOptions(channels=(2,)))  # a channel the user chose
    assert one.segment(he).input_note is None


def test_a_model_that_learnt_colour_gets_the_stained_image_as_it_is():
    he = stained_tissue(2)
    result = Session("demo-nuclei", "cpu").segment(he)  # the bundled DSB2018 model records "rgb"
    assert result.input_note == COLOUR_NOTE
    assert Session("demo-nuclei", "cpu").segment(255 - he).input_note is None  # not stained-looking: nothing said
    forced = Session("demo-nuclei", "cpu", image_options=ImageOptions(stain="hematoxylin")).segment(he)
    assert forced.input_note == STAINED_NOTE
