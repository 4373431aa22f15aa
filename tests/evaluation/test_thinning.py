import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.morphology import thin as sk_thin

from fastsam_plugin.evaluation.thinning import thin


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.05, 0.9), st.integers(1, 40), st.integers(1, 40))
def test_equals_scikit_image(seed, density, h, w):
    img = np.random.default_rng(seed).random((h, w)) < density
    assert np.array_equal(thin(img), sk_thin(img))


def test_thick_bar_becomes_a_line_and_input_is_untouched():
    img = np.zeros((20, 40), bool)
    img[8:13, 5:35] = True
    out = thin(img)
    assert img.sum() == 150  # not modified in place
    assert out.sum() < 40 and out[10, 10]
    assert np.array_equal(out, sk_thin(img))
