"""Datasets and model configs given to `train` never run code, and annotations cannot reach outside their folder."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from fastsam_plugin.errors import FastSAMError
from fastsam_plugin.training.convert import DatasetPathError, image_in_folder, read_coco
from fastsam_plugin.training.train import (
    DatasetYAMLError,
    DownloadEntryDroppedWarning,
    ModelConfigError,
    safe_data_yaml,
    synthetic_dataset,
    train,
)

from .interrupted import train_interrupted_after_first_epoch


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "PAYLOAD-RAN"
    yield path
    assert not path.exists(), "the payload ran"


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    return synthetic_dataset(tmp_path_factory.mktemp("data") / "ds", 2, 1, size=64)


def test_yaml_without_download_is_used_as_is(tiny_dataset, tmp_path):
    assert safe_data_yaml(tiny_dataset, tmp_path) == tiny_dataset


def test_download_entry_is_dropped_when_the_data_is_there(tiny_dataset, tmp_path, marker):
    cfg = yaml.safe_load(tiny_dataset.read_text())
    cfg.pop("path", None)  # Ultralytics then resolves train/val from the YAML's own folder
    cfg["download"] = f"open({str(marker)!r}, 'w').close()"
    data = tiny_dataset.parent / "with-download.yaml"
    data.write_text(yaml.safe_dump(cfg))
    with pytest.warns(DownloadEntryDroppedWarning, match="download"):
        out = safe_data_yaml(data, tmp_path / "run")
    clean = yaml.safe_load(out.read_text())
    assert "download" not in clean and Path(clean["path"]) == data.parent.resolve()

    from fastsam_plugin.engine._ultralytics import ultralytics

    ultralytics()
    from ultralytics.data.utils import check_det_dataset

    resolved = check_det_dataset(str(out))  # Ultralytics finds the same images, and has nothing to run
    assert Path(resolved["train"]) == (data.parent / cfg["train"]).resolve()


def test_download_entry_with_missing_data_is_refused(tmp_path, marker):
    data = tmp_path / "d.yaml"
    data.write_text(f"train: images/train\nval: images/val\nnames: {{0: a}}\ndownload: open({str(marker)!r}, 'w')\n")
    with pytest.raises(DatasetYAMLError) as err:
        safe_data_yaml(data, tmp_path / "run")
    assert isinstance(err.value, FastSAMError) and "not on disk" in str(err.value) and str(data) in str(err.value)


@pytest.mark.parametrize("text", ["- just\n- a list\n", "a: [unclosed\n", "x: !!python/name:os.system ''\n"])
def test_odd_yaml_is_a_clear_error(tmp_path, text):
    data = tmp_path / "odd.yaml"
    data.write_text(text)
    with pytest.raises(DatasetYAMLError):
        safe_data_yaml(data, tmp_path)


def test_data_must_be_a_yaml_file(tmp_path):
    archive = tmp_path / "dataset.zip"
    archive.write_bytes(b"PK")
    with pytest.raises(DatasetYAMLError, match="dataset YAML"):
        safe_data_yaml(archive, tmp_path)


def test_model_yaml_with_code_is_refused(tiny_dataset, tmp_path, marker):
    arch = tmp_path / "evil-seg.yaml"
    arch.write_text(
        f"nc: 1\nactivation: __import__('os').system('touch {marker}')\nscales: {{n: [0.33, 0.25, 1024]}}\n"
        "backbone:\n  - [-1, 1, Conv, [16, 3, 2]]\nhead:\n  - [[0], 1, Segment, [nc, 8, 16]]\n"
    )
    with pytest.raises(ModelConfigError, match="never evaluates code"):
        train(tiny_dataset, str(arch), epochs=1, imgsz=64, project=tmp_path / "runs", plots=False)


# --- COCO / SA-1B file names ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../secret.png", "sub/../../secret.png", "/etc/passwd"])
def test_file_names_outside_the_image_folder_are_refused(tmp_path, name):
    with pytest.raises(DatasetPathError) as err:
        image_in_folder(tmp_path / "images", name, "ann.json")
    assert name in str(err.value) and "ann.json" in str(err.value)


def test_file_names_inside_the_folder_pass(tmp_path):
    assert image_in_folder(tmp_path, "sub/../a.png", "x") == tmp_path.resolve() / "a.png"
    assert image_in_folder(tmp_path, "sub/b.png", "x") == tmp_path.resolve() / "sub" / "b.png"


def test_coco_conversion_never_reads_outside_the_image_folder(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    secret = np.full((8, 8, 3), 7, np.uint8)
    cv2.imwrite(str(tmp_path / "secret.png"), secret)  # beside, not inside, the image folder
    coco = {
        "images": [{"id": 1, "file_name": "../secret.png", "height": 8, "width": 8}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 16,
                         "bbox": [2, 2, 4, 4], "segmentation": [[2, 2, 6, 2, 6, 6, 2, 6]]}],
        "categories": [{"id": 1, "name": "object"}],
    }
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps(coco))
    with pytest.raises(DatasetPathError, match="outside the image folder"):
        list(read_coco(ann, images))


# --- caches and resume: Ultralytics reads nothing this run did not write ------------------------------------------

def _hostile_cache(path: Path, marker: Path) -> Path:
    """What Ultralytics reads with ``np.load(allow_pickle=True)``: here an object array that runs a payload."""
    from tests.checkpoint_payloads import SystemPayload

    with open(path, "wb") as f:  # np.save would add ".npy" to a name
        np.save(f, np.array(SystemPayload(marker), dtype=object), allow_pickle=True)
    return path


def test_hostile_label_cache_is_real(tmp_path):
    ran = tmp_path / "ran"
    cache = _hostile_cache(tmp_path / "train.cache", ran)
    np.load(cache, allow_pickle=True)
    assert ran.exists()


def test_hostile_label_caches_in_the_dataset_are_never_read(tmp_path, marker):
    data = synthetic_dataset(tmp_path / "ds", 2, 1, size=64)
    caches = [_hostile_cache(tmp_path / "ds" / "labels" / f"{split}.cache", marker) for split in ("train", "val")]
    before = [c.read_bytes() for c in caches]
    best = train(data, "demo", epochs=1, imgsz=64, batch=2, project=tmp_path / "runs", name="r", plots=False,
                 workers=0)
    assert best.is_file()
    assert [c.read_bytes() for c in caches] == before  # neither read nor replaced
    assert not list((tmp_path / "runs").rglob("*.cache"))


def test_train_model_checkpoint_with_a_downloading_layer_is_refused(tmp_path):
    import torch

    from fastsam_plugin.engine.loader import CheckpointLimitError, load_checkpoint

    legacy = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints" / "yolov8-seg-tiny-ul8.0.120.pt"
    ckpt = load_checkpoint(legacy).checkpoint
    ckpt["model"].yaml["backbone"][0] = [-1, 1, "TorchVision", [16, "resnet18", "DEFAULT", True, 2]]
    path = tmp_path / "tv.pt"
    torch.save(ckpt, path)
    data = synthetic_dataset(tmp_path / "ds", 2, 1, size=64)
    with pytest.raises(CheckpointLimitError, match="TorchVision"):  # the no_network fixture fails any download
        train(data, str(path), epochs=1, imgsz=64, project=tmp_path / "runs", plots=False, workers=0)
    assert not (tmp_path / "runs" / "train" / "weights").exists()


def test_resume_refuses_a_run_napari_fastsam_did_not_start(tmp_path):
    from fastsam_plugin.training.train import ResumeError, resume

    legacy = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints" / "yolov8-seg-tiny-ul8.0.120.pt"
    (tmp_path / "run" / "weights").mkdir(parents=True)
    (tmp_path / "run" / "weights" / "last.pt").write_bytes(legacy.read_bytes())
    with pytest.raises(ResumeError, match="not started by napari-fastsam") as err:
        resume(tmp_path / "run")
    assert isinstance(err.value, FastSAMError)


@pytest.mark.slow
def test_resume_takes_data_and_folders_from_the_run_never_from_the_checkpoint(tmp_path, marker):
    import torch

    from fastsam_plugin.engine.loader import load_checkpoint
    from fastsam_plugin.training.train import resume

    data = synthetic_dataset(tmp_path / "ds", 2, 1, size=64)
    last = train_interrupted_after_first_epoch(data, tmp_path / "runs", imgsz=64, batch=2)
    # a tampered last.pt: its train_args point at a dataset with download code and at a folder elsewhere
    evil_data = tmp_path / "evil.yaml"
    evil_data.write_text(f"path: missing\ntrain: a\nval: a\nnames: {{0: x}}\ndownload: open({str(marker)!r}, 'w')\n")
    ckpt = load_checkpoint(last).checkpoint
    ckpt["train_args"].update(data=str(evil_data), save_dir=str(tmp_path / "elsewhere"),
                              project=str(tmp_path / "elsewhere"))
    torch.save(ckpt, last)

    best = resume(tmp_path / "runs" / "r")
    assert best.parent == tmp_path / "runs" / "r" / "weights"
    assert not (tmp_path / "elsewhere").exists()
    rows = (tmp_path / "runs" / "r" / "results.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 2  # both epochs, the second after the interruption


def test_model_yaml_with_a_downloading_layer_is_refused_before_it_is_built(tiny_dataset, tmp_path):
    arch = tmp_path / "tv-seg.yaml"
    arch.write_text(
        "nc: 1\nscales: {n: [0.33, 0.25, 1024]}\n"
        "backbone:\n  - [-1, 1, TorchVision, [16, resnet18, DEFAULT, True, 2]]\n"
        "head:\n  - [[0], 1, Segment, [nc, 8, 16]]\n"
    )
    with pytest.raises(ModelConfigError, match="TorchVision"):  # the no_network fixture fails any download
        train(tiny_dataset, str(arch), epochs=1, imgsz=64, project=tmp_path / "runs", plots=False)
