"""Stained tissue to the form a fluorescence-trained nuclei model sees: the hematoxylin channel."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import hed2rgb

from fastsam_plugin.engine.imaging import ImageError, hematoxylin_channel
from fastsam_plugin.training.nuclei import make_nuclei_scene


def _stained(labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """An H&E-like uint8 RGB image: hematoxylin in the nuclei, eosin everywhere, a little noise."""
    rng = np.random.default_rng(seed)
    hed = np.zeros((*labels.shape, 3))
    hed[..., 0] = np.where(labels > 0, 0.9, 0.05) + rng.normal(0, 0.02, labels.shape)
    hed[..., 1] = 0.3 + rng.normal(0, 0.02, labels.shape)
    return (np.clip(hed2rgb(hed), 0, 1) * 255).astype(np.uint8)


def test_nuclei_are_bright_in_the_hematoxylin_channel():
    labels = make_nuclei_scene(5, (96, 128), diameter=16, bit_depth=8).labels
    rgb = _stained(labels)
    assert rgb[labels > 0].mean() < rgb[labels == 0].mean()  # dark nuclei in the colour image
    h = hematoxylin_channel(rgb)
    assert h.shape == labels.shape and h.dtype == np.uint8
    inside, outside = h[labels > 0].astype(float), h[labels == 0].astype(float)
    assert inside.mean() > outside.mean() + 100  # bright nuclei on a dark background, as fluorescence
    rgba = np.concatenate([rgb, np.full((*labels.shape, 1), 255, np.uint8)], axis=2)
    np.testing.assert_array_equal(hematoxylin_channel(rgba), h)  # alpha is ignored


def test_gray_input_is_refused_with_the_reason():
    with pytest.raises(ImageError, match="RGB"):
        hematoxylin_channel(np.zeros((8, 8), np.uint8))
