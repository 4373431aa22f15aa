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
