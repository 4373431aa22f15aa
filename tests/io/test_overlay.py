"""Overlay pictures: distinct colours, half-transparent fills, dark outlines."""

import numpy as np

from fastsam_plugin.io.outputs import label_colours, overlay


def test_palette_hues_are_distinct():
    pal = label_colours(40).astype(int)
    assert (pal[0] == 0).all() and len({tuple(c) for c in pal[1:]}) == 40
    assert np.abs(np.diff(pal[1:], axis=0)).sum(axis=1).min() > 60  # consecutive ids never look alike


def test_fill_is_half_blended_and_outline_dark():
    img = np.full((12, 12, 3), 100, np.uint8)
    lab = np.zeros((12, 12), np.int32)
    lab[2:9, 2:9] = 1
    out = overlay(img, lab).astype(int)
    colour = label_colours(1)[1].astype(int)
    np.testing.assert_allclose(out[5, 5], (100 + colour) / 2, atol=1)  # inside: 50% blend
    np.testing.assert_allclose(out[2, 5], 0.45 * colour, atol=1)  # border pixel: dark shade, opaque
    assert (out[0, 0] == 100).all()  # background untouched
    thick = overlay(img, lab, outline=2).astype(int)
    np.testing.assert_allclose(thick[3, 5], 0.45 * colour, atol=1)  # second ring of the 2-px outline
    gray = overlay(img[..., 0], lab, outline=0)
    assert gray.shape == (12, 12, 3) and (gray[2, 5] == gray[5, 5]).all()
