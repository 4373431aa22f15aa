"""Model loading and everything mode through the production path (Ultralytics checkpoints)."""

import numpy as np
import pytest

from fastsam_plugin.engine.device import DeviceError, resolve_device
from fastsam_plugin.engine.model import EverythingParams, FastSAMSegmenter, ModelLoadError
from fastsam_plugin.engine.weights import WeightsNotFoundError, cache_dir, resolve_weights


def random_rgb(h=200, w=300, seed=0):
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def test_untrained_fastsam_s_loads_and_returns_masks_in_the_image_grid(fastsam_s_checkpoint):
    seg = FastSAMSegmenter(fastsam_s_checkpoint, device="cpu")
    result = seg.segment(random_rgb(), imgsz=320, conf=0.0)  # untrained: only conf 0 yields objects
    assert len(result) > 0
    assert result.shape == (200, 300)
    assert result.masks.shape == (len(result), 200, 300)
    b = result.pixel_boxes
    assert (b[:, 0] >= 0).all() and (b[:, 2] <= 300).all() and (b[:, 1] >= 0).all() and (b[:, 3] <= 200).all()
    assert all(c.any() for c in result.crops)
    assert result.labels().max() <= len(result)
    assert result.image.shape == (200, 300, 3)


def test_fastsam_defaults():
    p = EverythingParams()
    assert (p.imgsz, p.conf, p.iou) == (1024, 0.4, 0.9)
    with pytest.raises(ValueError, match="conf"):
        EverythingParams(conf=1.5)
    with pytest.raises(ValueError, match="imgsz"):
        EverythingParams(imgsz=7)


def test_segment_rejects_non_rgb_input_with_advice(fastsam_s_checkpoint):
    seg = FastSAMSegmenter(fastsam_s_checkpoint, device="cpu")
    with pytest.raises(ValueError, match="normalize_image"):
        seg.segment(np.zeros((50, 50), np.uint16))


def test_truncated_checkpoint_is_a_clear_error(fastsam_s_checkpoint, tmp_path):
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(fastsam_s_checkpoint.read_bytes()[:5000])
    with pytest.raises(ModelLoadError, match="truncated or not a model"):
        FastSAMSegmenter(bad, device="cpu")
    junk = tmp_path / "notes.pt"
    junk.write_text("hello")
    with pytest.raises(ModelLoadError, match="could not load"):
        FastSAMSegmenter(junk, device="cpu")


def test_detection_checkpoint_is_refused(detect_checkpoint):
    with pytest.raises(ModelLoadError, match="not a segmentation model"):
        FastSAMSegmenter(detect_checkpoint, device="cpu")


def test_named_weights_offline_name_the_file_and_folder():
    with pytest.raises(WeightsNotFoundError) as err:
        resolve_weights("FastSAM-s")
    msg = str(err.value)
    assert "FastSAM-s.pt" in msg and str(cache_dir()) in msg and "weights='demo'" in msg
    with pytest.raises(WeightsNotFoundError, match="FastSAM-x.pt is not on this machine"):
        resolve_weights("fastsam-x.pt", download=False)


def test_weights_from_cache_path_and_environment(fastsam_s_checkpoint, monkeypatch):
    target = cache_dir() / "FastSAM-s.pt"
    target.parent.mkdir(parents=True)
    target.write_bytes(fastsam_s_checkpoint.read_bytes())
    assert resolve_weights("FastSAM-s") == target
    assert resolve_weights(None) == target  # the production default
    monkeypatch.setenv("NAPARI_FASTSAM_WEIGHTS", str(fastsam_s_checkpoint))
    assert resolve_weights(None) == fastsam_s_checkpoint
    assert resolve_weights("demo").name == "fastsam-demo-n.safetensors"
    with pytest.raises(WeightsNotFoundError, match="give an existing checkpoint"):
        resolve_weights("/no/such/file.pt")


def test_device_choice():
    import torch

    assert resolve_device("cpu") == "cpu"
    expected = "cuda:0" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert resolve_device("auto") == expected
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="no CUDA GPU"):
            resolve_device("cuda")
    if not torch.backends.mps.is_available():
        with pytest.raises(DeviceError, match="MPS is not available"):
            resolve_device("mps")
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu")


def test_importing_ultralytics_through_the_project_keeps_threads_and_stays_offline():
    import os
    import subprocess
    import sys

    code = (
        "import os; os.environ.pop('OMP_NUM_THREADS', None)\n"
        "from fastsam_plugin.engine._ultralytics import ultralytics; ultralytics()\n"
        "from ultralytics.utils import ONLINE; from ultralytics.utils.checks import check_font\n"
        "print(os.environ['OMP_NUM_THREADS'], ONLINE, check_font('Arial.ttf'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    threads, online, font = out.stdout.split()
    assert int(threads) == (os.cpu_count() or 1)
    assert online == "False"
    assert font.endswith("DejaVuSans.ttf") or font.endswith("Arial.ttf")
