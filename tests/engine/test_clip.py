"""The open_clip embedder: offline errors, batching, caching."""

import numpy as np
import pytest

from fastsam_plugin.engine.clip import ClipEmbedder, ClipLoadError


@pytest.fixture(scope="module")
def demo_clip():
    return ClipEmbedder("demo", device="cpu", batch_size=3)


def test_production_clip_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # no cached weights
    with pytest.raises(ClipLoadError, match="Offline, open_clip cannot download weights"):
        ClipEmbedder("ViT-B-32", device="cpu")
    with pytest.raises(ClipLoadError, match="could not load CLIP model"):
        ClipEmbedder("ViT-B-32", pretrained=str(tmp_path / "missing.pt"), device="cpu")


def test_batches_give_the_same_embeddings_as_one_pass(demo_clip):
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (int(rng.integers(8, 40)), int(rng.integers(8, 40)), 3), dtype=np.uint8)
             for _ in range(7)]
    batched = demo_clip.encode_images(crops)  # batches of 3, 3, 1
    single = np.concatenate([demo_clip.encode_images([c]) for c in crops])
    assert batched.shape == (7, demo_clip.dim)
    np.testing.assert_allclose(batched, single, atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)


def test_text_embeddings_and_text_checks(demo_clip):
    text = demo_clip.encode_text(["a red circle", "a blue square"])
    assert text.shape == (2, demo_clip.dim)
    with pytest.raises(ValueError, match="non-empty text"):
        demo_clip.encode_text(["  "])


def test_demo_clip_tells_colours_apart(demo_clip):
    red = np.zeros((40, 40, 3), np.uint8)
    red[5:35, 5:35] = (220, 30, 30)
    blue = red[..., ::-1].copy()
    emb = demo_clip.encode_images([red, blue])
    text = demo_clip.encode_text(["a red rectangle", "a blue rectangle"])
    sim = text @ emb.T
    assert sim[0, 0] > sim[0, 1] and sim[1, 1] > sim[1, 0]
