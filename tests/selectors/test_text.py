import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mask_selectors import mask_crops, select_by_text, text_similarity


def scene():
    img = np.zeros((40, 50, 3), np.uint8)
    img[..., 0] = 50
    m = np.zeros((3, 40, 50), bool)
    m[0, 2:22, 2:22] = True                   # 400 px
    m[1, 30:35, 30:35] = True                 # 25 px: too small
    m[2, 10:30, 25:45] = True                 # 400 px
    m[2, 10:15, 25:30] = False                # with a notch
    img[m[0]] = (200, 0, 0)
    img[m[2]] = (0, 0, 200)
    return img, m


def test_crops_are_boxes_with_white_outside_and_skip_small_masks():
    img, m = scene()
    crops = mask_crops(img, m)
    assert crops.indices.tolist() == [0, 2]
    assert crops.crops[0].shape == (20, 20, 3)
    notch = crops.crops[1][0:5, 0:5]
    assert (notch == 255).all()                       # outside the mask: white
    assert (crops.crops[1][10, 10] == (0, 0, 200)).all()
    kept = mask_crops(img, m, fill_background=False)
    assert (kept.crops[1][0:5, 0:5] == (50, 0, 0)).all()
    assert mask_crops(img, m, min_area=1000).indices.tolist() == []


def test_crops_validate_the_image():
    img, m = scene()
    with pytest.raises(ValueError, match="height and width"):
        mask_crops(img[:30], m)
    with pytest.raises(TypeError, match="uint8"):
        mask_crops(img.astype(np.float32), m)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        mask_crops(img[..., 0], m)


def test_best_match_maps_back_to_mask_indices():
    crops_emb = np.array([[1.0, 0.0], [0.0, 1.0]])
    match = select_by_text(crops_emb, np.array([0.1, 0.9]), np.array([0, 2]))
    assert match.indices.tolist() == [[2]]
    assert match.scores[0, 0] == pytest.approx(0.9 / np.hypot(0.1, 0.9))
    both = select_by_text(crops_emb, np.array([[1.0, 0.2], [0.0, 1.0]]), np.array([0, 2]), top_k=5)
    assert both.indices.tolist() == [[0, 2], [2, 0]]


def test_text_errors():
    with pytest.raises(ValueError, match="same model"):
        text_similarity(np.ones((2, 3)), np.ones(4))
    with pytest.raises(ValueError, match="one entry per crop"):
        select_by_text(np.ones((2, 3)), np.ones(3), np.array([0]))
    with pytest.raises(ValueError, match="top_k"):
        select_by_text(np.ones((2, 3)), np.ones(3), np.array([0, 1]), top_k=0)
    with pytest.raises(ValueError, match=r"\(M, D\)"):
        select_by_text(np.ones((0, 3)), np.ones(3), np.array([], int))


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_scores_are_cosine_and_invariant_to_scale(data):
    m = data.draw(st.integers(1, 6))
    d = data.draw(st.integers(2, 5))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    crops = rng.normal(size=(m, d))
    text = rng.normal(size=d)
    sim = text_similarity(crops, text)
    assert np.all(np.abs(sim) <= 1 + 1e-9)
    np.testing.assert_allclose(text_similarity(crops * 7.5, text * 0.1), sim, atol=1e-12)
    idx = np.arange(m) * 3
    match = select_by_text(crops, text, idx, top_k=m)
    assert sorted(match.indices[0].tolist()) == idx.tolist()
    assert np.all(np.diff(match.scores[0]) <= 1e-12)
