"""The open_clip embedder: offline errors, batching, caching."""

import numpy as np
import pytest

from fastsam_plugin.engine.clip import ClipEmbedder, ClipLoadError


@pytest.fixture(scope="module")
def demo_clip():
    return ClipEmbedder("demo", device="cpu", batch_size=3)


@pytest.fixture
def empty_hf_cache(tmp_path, monkeypatch):
    """A Hugging Face cache with nothing in it (try_to_load_from_cache reads this at call time)."""
    import huggingface_hub.constants

    cache = tmp_path / "hf"
    cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.cache/clip either
    return cache


@pytest.mark.parametrize("offline", ["HF_HUB_OFFLINE", "no network"])
def test_uncached_production_clip_offline_fails_at_once_with_the_fix(empty_hf_cache, monkeypatch, offline):
    import time

    import open_clip  # noqa: F401 - imported before the clock starts: the import is not the wait under test

    from fastsam_plugin.engine import clip

    if offline == "HF_HUB_OFFLINE":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    else:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setattr(clip, "reachable", lambda host, port, timeout=0: False)
    start = time.monotonic()
    with pytest.raises(ClipLoadError) as err:
        ClipEmbedder("ViT-B-32", device="cpu")
    assert time.monotonic() - start < 10  # no download retries (open_clip alone retried for about 75 s)
    message = str(err.value)
    assert "not on this machine" in message and "demo text model" in message and "--clip-model demo" in message


def test_a_missing_checkpoint_file_is_a_clear_error(tmp_path):
    with pytest.raises(ClipLoadError, match="could not load CLIP model") as err:
        ClipEmbedder("ViT-B-32", pretrained=str(tmp_path / "missing.pt"), device="cpu")
    assert "demo text model" in str(err.value)


def test_an_unknown_weights_tag_names_the_known_ones(empty_hf_cache):
    with pytest.raises(ClipLoadError, match="openai"):
        ClipEmbedder("ViT-B-32", pretrained="no-such-tag", device="cpu")


def test_cached_weights_load_from_the_cache_with_their_record(empty_hf_cache, monkeypatch):
    """A cached tag is loaded as a file (no network), with the activation and preprocessing of its record."""
    import open_clip

    from fastsam_plugin.engine.clip import cached_pretrained

    cfg = open_clip.get_pretrained_cfg("ViT-B-32", "openai")
    repo = cfg["hf_hub"].rstrip("/")
    snapshot = empty_hf_cache / f"models--{repo.replace('/', '--')}" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "open_clip_model.safetensors").write_bytes(b"weights")
    (empty_hf_cache / f"models--{repo.replace('/', '--')}" / "refs").mkdir()
    (empty_hf_cache / f"models--{repo.replace('/', '--')}" / "refs" / "main").write_text("abc123")
    _, found = cached_pretrained("ViT-B-32", "openai")
    assert found == str(snapshot / "open_clip_model.safetensors")
    seen = {}

    def create(model, pretrained=None, **options):
        seen.update(options, model=model, pretrained=pretrained)
        raise RuntimeError("stop here")  # what was asked is all this test needs

    monkeypatch.setattr(open_clip, "create_model_and_transforms", create)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # would fail at once if the cache were not used
    with pytest.raises(ClipLoadError, match="stop here"):
        ClipEmbedder("ViT-B-32", device="cpu")
    assert seen["pretrained"] == found and seen["force_quick_gelu"] is True  # OpenAI weights need QuickGELU
    assert tuple(seen["image_mean"]) == tuple(cfg["mean"]) and seen["image_interpolation"] == "bicubic"


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
