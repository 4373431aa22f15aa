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
