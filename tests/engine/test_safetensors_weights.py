"""Weights that never need unpickling: the safetensors + JSON pair, its conversion, the bundled models."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from fastsam_plugin.engine.checkpoints import ChecksumMismatchError
from fastsam_plugin.engine.loader import CheckpointLimitError
from fastsam_plugin.engine.model import EverythingParams, FastSAMSegmenter, result_from_raw
from fastsam_plugin.engine.safetensors_weights import (
    WeightsFormatError,
    convert_checkpoint,
    load_weights_file,
    pair_paths,
    read_description,
)
from fastsam_plugin.engine.session import Session
from fastsam_plugin.engine.weights import BUNDLED_SEGMENTERS, BUNDLED_SHA256, PACKAGE_MODELS
from fastsam_plugin.errors import FastSAMError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints"
OLD = FIXTURES / "yolov8-seg-tiny-ul8.0.120.pt"


def _refuse(*args, **kwargs):
    raise AssertionError("something was unpickled")


class _RefusingUnpickler(pickle.Unpickler):
    """Still a class (modules imported meanwhile may subclass it), but loading anything fails the test."""

    def load(self):
        _refuse()


def forbid_unpickling(monkeypatch) -> None:
    """From here on, any unpickling (torch.load, pickle.load/loads, an Unpickler) fails the test."""
    monkeypatch.setattr(torch, "load", _refuse)
    monkeypatch.setattr(pickle, "load", _refuse)
    monkeypatch.setattr(pickle, "loads", _refuse)
    monkeypatch.setattr(pickle, "Unpickler", _RefusingUnpickler)


@pytest.fixture
def no_unpickling(monkeypatch):
    """Any unpickling in the test fails it."""
    forbid_unpickling(monkeypatch)


def _masks(segmenter, image):
    params = EverythingParams(256, 0.25, 0.9)
    return result_from_raw(segmenter.predict_raw(image, params), image)


def _iou(a, b):
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    out = tmp_path_factory.mktemp("converted") / "fastsam-old"
    return convert_checkpoint(OLD, out)


def test_converted_legacy_checkpoint_loads_without_unpickling_and_segments_the_same(converted, monkeypatch):
    from fastsam_plugin.training.synthetic import make_scene

    image = make_scene(3, (256, 256)).image.astype(np.uint8)
    reference = _masks(FastSAMSegmenter(OLD, device="cpu"), image)
    weights, meta = converted
    assert weights.suffix == ".safetensors" and meta.suffix == ".json"
    forbid_unpickling(monkeypatch)
    for path in (weights, meta):
        ours = _masks(FastSAMSegmenter(path, device="cpu"), image)
        assert len(ours) == len(reference) >= 10
        assert min(_iou(a, b) for a, b in zip(ours.masks, reference.masks)) >= 0.99


def test_description_records_architecture_and_operating_point(converted, tmp_path):
    from fastsam_plugin.engine.operating_point import CHECKPOINT_KEY
    from fastsam_plugin.training.train import record_operating_point

    desc = read_description(converted[0])
    assert desc["architecture"]["nc"] == 1 and desc["stride"] == [8.0, 16.0, 32.0]
    assert len(desc["architecture"]["backbone"]) + len(desc["architecture"]["head"]) == 23
    trained = tmp_path / "best.pt"
    trained.write_bytes(OLD.read_bytes())
    record_operating_point(trained, 288, 0.33, bands=[4, 1, 2])
    weights, _ = convert_checkpoint(trained, tmp_path / "best")
    _, checkpoint = load_weights_file(weights)
    assert checkpoint[CHECKPOINT_KEY] == {"imgsz": 288, "conf": 0.33, "bands": [4, 1, 2]}
    session = Session(str(weights), device="cpu")
    assert session.model_bands == (4, 1, 2) and session.params.imgsz == 288


def test_changed_weights_or_description_are_refused(converted, tmp_path):
    weights, meta = converted
    copy_w, copy_m = pair_paths(tmp_path / "copy")
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    copy_w.write_bytes(bytes(data))
    copy_m.write_text(meta.read_text().replace(weights.name, copy_w.name))
    with pytest.raises(ChecksumMismatchError, match="sha256"):
        load_weights_file(copy_w)

    copy_w.write_bytes(weights.read_bytes())
    desc = json.loads(copy_m.read_text())
    desc["architecture"]["backbone"][0] = [-1, 1, "TorchVision", [16, "resnet18", "DEFAULT", True, 2]]
    copy_m.write_text(json.dumps(desc))
    with pytest.raises(CheckpointLimitError, match="TorchVision"):  # and no download (the network is off)
        load_weights_file(copy_w)

    copy_m.write_text("{not json")
    with pytest.raises(WeightsFormatError, match="not valid JSON"):
        load_weights_file(copy_w)
    copy_m.unlink()
    with pytest.raises(FastSAMError, match="description") as err:
        FastSAMSegmenter(copy_w, device="cpu")
    assert str(copy_w) in str(err.value)


def test_bundled_models_are_pinned_pairs_that_load_without_unpickling(no_unpickling):
    shipped = {p.name for p in PACKAGE_MODELS.iterdir() if p.suffix in (".safetensors", ".json", ".pt")}
    assert not any(name.endswith(".pt") for name in shipped), "bundled models ship as safetensors + JSON"
    assert shipped == set(BUNDLED_SHA256)
    for name, path in BUNDLED_SEGMENTERS.items():
        assert path.suffix == ".safetensors"
        model, _ = load_weights_file(path)
        assert hasattr(model.model[-1], "proto")


def test_changed_bundled_description_is_caught(tmp_path, monkeypatch):
    from fastsam_plugin.engine import weights

    fake = tmp_path / "models"
    fake.mkdir()
    weights_file, meta = pair_paths(BUNDLED_SEGMENTERS["demo"])
    (fake / weights_file.name).write_bytes(weights_file.read_bytes())
    (fake / meta.name).write_text(meta.read_text().replace('"nc": 1', '"nc": 2'))
    monkeypatch.setattr(weights, "PACKAGE_MODELS", fake)
    with pytest.raises(ChecksumMismatchError, match="Reinstall"):
        load_weights_file(fake / weights_file.name)
