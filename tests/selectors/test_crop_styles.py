"""mask_crops styles: the project's tight crop and the original FastSAM full frame, white outside the box."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mask_selectors import contour_boxes, mask_crops


def scene():
    img = np.zeros((40, 50, 3), np.uint8)
    img[..., 0] = 50
    m = np.zeros((2, 40, 50), bool)
    m[0, 2:22, 2:22] = True
    m[1, 10:30, 25:45] = True
    m[1, 10:15, 25:30] = False  # a notch: inside the box, outside the mask
    img[m[0]] = (200, 0, 0)
    img[m[1]] = (0, 0, 200)
    return img, m


def test_fastsam_style_keeps_the_frame_and_whites_out_only_outside_the_box():
    img, m = scene()
    crops = mask_crops(img, m, style="fastsam")
    assert [c.shape for c in crops.crops] == [(40, 50, 3), (40, 50, 3)]
    pic = crops.crops[1]
    assert (pic[10:15, 25:30] == (50, 0, 0)).all()  # the notch keeps the image: only the box counts
    assert (pic[10:30, 25:45] == img[10:30, 25:45]).all()
    assert (pic[:10] == 255).all() and (pic[:, :25] == 255).all()  # outside the box: white


def test_tight_style_is_the_default_and_whites_out_the_notch():
    img, m = scene()
    tight = mask_crops(img, m)
    assert tight.crops[1].shape == (20, 20, 3) and (tight.crops[1][0:5, 0:5] == 255).all()
    assert all((a == b).all() for a, b in zip(tight.crops, mask_crops(img, m, style="tight").crops))


def test_unknown_style_is_a_clear_error():
    img, m = scene()
    with pytest.raises(ValueError, match="style"):
        mask_crops(img, m, style="loose")


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_the_box_region_of_a_fastsam_picture_is_the_tight_unfilled_crop(seed):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
    m = np.zeros((3, 30, 40), bool)
    for k in range(3):
        y, x = rng.integers(0, 20, 2)
        m[k, y : y + rng.integers(11, 12), x : x + rng.integers(11, 20)] = True
    full = mask_crops(img, m, style="fastsam")
    tight = mask_crops(img, m, fill_background=False)
    boxes = contour_boxes(m)
    assert full.indices.tolist() == tight.indices.tolist()
    for j, i in enumerate(full.indices):
        x0, y0, x1, y1 = boxes[i]
        assert (full.crops[j][y0:y1, x0:x1] == tight.crops[j]).all()
        outside = np.ones((30, 40), bool)
        outside[y0:y1, x0:x1] = False
        assert (full.crops[j][outside] == 255).all()
