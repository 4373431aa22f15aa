"""Every command-line route to a model loader refuses a checkpoint that would run code; nothing from it runs."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from fastsam_plugin.cli.main import main
from fastsam_plugin.engine.weights import cache_dir
from tests.checkpoint_payloads import ExecPayload, evil_checkpoint


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "PAYLOAD-RAN"
    yield path
    assert not path.exists(), "the payload ran"


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "img.tif"
    tifffile.imwrite(path, np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    return path


def assert_refused(code: int, err: str, offending: str) -> None:
    assert code == 2  # a user error with advice, not a crash
    assert "refused to load" in err and offending in err and "NAPARI_FASTSAM_TRUST_CHECKPOINTS" in err


def test_segment_weights_flag(image, tmp_path, marker, capsys):
    evil = evil_checkpoint(tmp_path / "evil.pt", marker)
    code = main(["segment", str(image), "--out", str(tmp_path / "out"), "--weights", str(evil), "--device", "cpu"])
    err = capsys.readouterr().err
    assert_refused(code, err, "posix.system")
    assert str(evil) in err


def test_segment_weights_from_environment(image, tmp_path, marker, capsys, monkeypatch):
    evil = evil_checkpoint(tmp_path / "evil.pt", marker)
    monkeypatch.setenv("NAPARI_FASTSAM_WEIGHTS", str(evil))
    code = main(["segment", str(image), "--out", str(tmp_path / "out"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert_refused(code, err, "posix.system")
    assert str(evil) in err


def test_segment_planted_cache_file(image, tmp_path, marker, capsys):
    planted = cache_dir() / "FastSAM-s.pt"
    planted.parent.mkdir(parents=True)
    evil_checkpoint(planted, marker, ExecPayload)
    code = main(["segment", str(image), "--out", str(tmp_path / "out"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert_refused(code, err, "builtins.exec")
    assert str(planted) in err


def test_train_model_checkpoint(tmp_path, marker, capsys):
    evil = evil_checkpoint(tmp_path / "evil.pt", marker)
    code = main(["train", "--synthetic", "2", "--n-val", "1", "--imgsz", "64", "--epochs", "1",
                 "--model", str(evil), "--workdir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert_refused(code, err, "posix.system")
    assert not (tmp_path / "runs" / "train" / "weights").exists()  # refused before training started


def test_train_dataset_yaml_download_code_never_runs(tmp_path, marker, capsys):
    data = tmp_path / "evil.yaml"
    data.write_text(
        "path: not-downloaded-yet\ntrain: images/train\nval: images/val\nnames: {0: object}\n"
        f"download: |\n  open({str(marker)!r}, 'w').close()\n"
    )
    code = main(["train", "--data", str(data), "--epochs", "1", "--imgsz", "64", "--workdir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert code == 2
    assert "download" in err and str(data) in err and "not on disk" in err


def test_train_dataset_yaml_with_python_tags_is_refused(tmp_path, marker, capsys):
    data = tmp_path / "tagged.yaml"
    data.write_text(f"path: !!python/object/apply:os.system ['touch {marker}']\ntrain: a\nval: a\n")
    code = main(["train", "--data", str(data), "--workdir", str(tmp_path / "runs")])
    assert code == 2 and "not plain YAML" in capsys.readouterr().err


# --- weights convert --------------------------------------------------------------------------------------------

LEGACY = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints" / \
    "yolov8-seg-tiny-ul8.0.120.pt"


def test_weights_convert_then_segment_from_the_pair(image, tmp_path, capsys):
    out = tmp_path / "converted" / "fastsam-old"
    assert main(["weights", "convert", str(LEGACY), str(out)]) == 0
    pair = out.with_name("fastsam-old.safetensors"), out.with_name("fastsam-old.json")
    assert all(p.is_file() for p in pair) and str(pair[0]) in capsys.readouterr().out
    code = main(["segment", str(image), "--out", str(tmp_path / "seg"), "--weights", str(pair[0]), "--device", "cpu",
                 "--imgsz", "64"])
    assert code == 0, capsys.readouterr().err
    assert main(["weights", "convert", str(LEGACY), str(out)]) == 2  # exists: not replaced without --overwrite
    assert "--overwrite" in capsys.readouterr().err


def test_weights_convert_refuses_a_hostile_checkpoint(tmp_path, marker, capsys):
    evil = evil_checkpoint(tmp_path / "evil.pt", marker)
    code = main(["weights", "convert", str(evil), str(tmp_path / "out")])
    assert_refused(code, capsys.readouterr().err, "posix.system")
    assert not list(tmp_path.glob("out.*"))


def test_weights_convert_with_trust_unpickles_that_file_once(tmp_path, capsys):
    import torch

    from fastsam_plugin.engine.loader import load_checkpoint
    from tests.checkpoint_payloads import HarmlessUnknown

    ckpt = load_checkpoint(LEGACY).checkpoint
    ckpt["date"] = HarmlessUnknown()  # outside the allow-list: the restricted loader refuses it
    odd = tmp_path / "odd.pt"
    torch.save(ckpt, odd)
    assert main(["weights", "convert", str(odd), str(tmp_path / "odd")]) == 2
    assert "datetime.timedelta" in capsys.readouterr().err
    assert main(["weights", "convert", str(odd), str(tmp_path / "odd"), "--trust"]) == 0
    from fastsam_plugin.engine.model import FastSAMSegmenter

    assert FastSAMSegmenter(tmp_path / "odd.safetensors", device="cpu").model is not None  # no trust needed now
