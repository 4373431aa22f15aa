"""The one checkpoint loader: hostile archives of issue 28 refused, limits before work, real layouts still load."""

from __future__ import annotations

import os
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fastsam_plugin.engine import loader
from fastsam_plugin.engine.checkpoints import CheckpointFormatError, UnsafeCheckpointError, scan_checkpoint
from fastsam_plugin.engine.loader import CheckpointLimitError, check_archive, load_checkpoint
from fastsam_plugin.engine.model import EverythingParams, FastSAMSegmenter, result_from_raw
from fastsam_plugin.engine.operating_point import file_operating_point
from fastsam_plugin.errors import FastSAMError
from tests.checkpoint_payloads import (
    HarmlessUnknown,
    case_variant_checkpoint,
    deflate_bomb,
    evil_checkpoint,
    expanded_linear_checkpoint,
    getattr_build_checkpoint,
    legacy_with_zip_appended,
    torch_zip,
    two_archives,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "checkpoints"
OLD = FIXTURES / "yolov8-seg-tiny-ul8.0.120.pt"
TODAY = next(p for p in sorted(FIXTURES.glob("yolov8-seg-tiny-ul*.pt")) if p != OLD)


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "PAYLOAD-RAN"
    yield path
    assert not path.exists(), "the checkpoint's payload ran"


def _prepended(path, marker):
    path.write_bytes(b"#!/bin/sh\n" + evil_checkpoint(path.with_suffix(".inner"), marker).read_bytes())
    return path


def _appended(path, marker):
    path.write_bytes(evil_checkpoint(path.with_suffix(".inner"), marker).read_bytes() + b"trailing bytes")
    return path


HOSTILE = {
    "allowed globals composed with INST getattr + BUILD": (getattr_build_checkpoint, "getattr"),
    "data.PKL case variant beside data.pkl": (case_variant_checkpoint, "differ only in case"),
    "data.PKL alone": (lambda p, m: case_variant_checkpoint(p, m, with_lowercase=False), "never writes"),
    "legacy stream with a zip appended": (legacy_with_zip_appended, "legacy"),
    "two central directories": (two_archives, "belong to no member"),
    "data before the archive": (_prepended, "precedes"),
    "data after the archive": (_appended, "followed by other data"),
}
# the first five run their payload under a full unpickle (torch.load(weights_only=False)), as issue 28 found
RUN_WHEN_UNPICKLED = list(HOSTILE)[:5]


@pytest.mark.parametrize("name", RUN_WHEN_UNPICKLED)
def test_hostile_archives_are_real(tmp_path, name):
    from fastsam_plugin.engine._ultralytics import ultralytics

    ultralytics()  # imported offline-configured before a pickle names it
    ran = tmp_path / "ran"
    build, _ = HOSTILE[name]
    torch.load(build(tmp_path / "x.pt", ran), weights_only=False)
    assert ran.exists()


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_archives_are_refused_on_every_reader(tmp_path, marker, name):
    build, reason = HOSTILE[name]
    path = build(tmp_path / "hostile.pt", marker)
    for read in (lambda: FastSAMSegmenter(path, device="cpu"), lambda: file_operating_point(path),
                 lambda: load_checkpoint(path)):
        with pytest.raises(UnsafeCheckpointError) as err:
            read()
        assert str(path) in str(err.value) and reason in str(err.value)
        assert isinstance(err.value, FastSAMError)


def test_the_restricted_unpickler_refuses_without_the_opcode_walk(tmp_path, marker, monkeypatch):
    # the hand-written scan is a second gate only: with it passing everything, PyTorch's unpickler still refuses
    monkeypatch.setattr(loader, "scan_pickle", lambda data: (set(), []))
    for path in (getattr_build_checkpoint(tmp_path / "g.pt", marker), evil_checkpoint(tmp_path / "e.pt", marker)):
        with pytest.raises(UnsafeCheckpointError, match="restricted unpickler") as err:
            load_checkpoint(path)
        assert str(path) in str(err.value)


def test_trusted_load_in_one_thread_never_opens_the_gate_for_another(tmp_path, marker):
    trusted = tmp_path / "odd.pt"
    torch.save({"model": None, "date": HarmlessUnknown()}, trusted)
    evil = evil_checkpoint(tmp_path / "evil.pt", marker)
    stop = threading.Event()

    def trusted_loads():
        while not stop.is_set():
            assert load_checkpoint(trusted, trust=True).checkpoint["date"].days == 1

    worker = threading.Thread(target=trusted_loads)
    worker.start()
    try:
        for _ in range(20):
            with pytest.raises(UnsafeCheckpointError):
                file_operating_point(evil)
    finally:
        stop.set()
        worker.join(timeout=60)
    with pytest.raises(UnsafeCheckpointError, match="datetime.timedelta"):
        load_checkpoint(trusted)  # trust was for that call only


def test_no_process_wide_switch_is_left():
    from fastsam_plugin.engine import _ultralytics

    assert not hasattr(_ultralytics, "trusted_loading")


# --- limits before work ---------------------------------------------------------------------------------------

def _peak_mib(fn) -> float:
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / 2**20


def test_deflate_bomb_is_refused_before_inflating(tmp_path):
    bomb = deflate_bomb(tmp_path / "bomb.pt")  # 64 KB that would inflate to 64 MiB

    def load():
        with pytest.raises(CheckpointLimitError, match="compression ratio") as err:
            load_checkpoint(bomb)
        assert str(bomb) in str(err.value)

    start = time.perf_counter()
    assert _peak_mib(load) < 8
    assert time.perf_counter() - start < 10


def test_total_unpacked_size_is_capped(tmp_path, monkeypatch):
    path = tmp_path / "big.pt"
    torch.save({"w": torch.zeros(1000)}, path)
    monkeypatch.setattr(loader, "MAX_UNPACKED_BYTES", 2000)
    with pytest.raises(CheckpointLimitError, match="unpack to"):
        load_checkpoint(path)


def test_file_size_is_capped_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.pt"
    torch.save({"w": torch.zeros(1000)}, path)
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 1000)
    with pytest.raises(CheckpointLimitError) as err:
        FastSAMSegmenter(path, device="cpu")
    assert str(path) in str(err.value) and "limit" in str(err.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_non_regular_files_are_refused_without_waiting(tmp_path):
    fifo = tmp_path / "weights.pt"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointFormatError, match="not a regular file"):
        load_checkpoint(fifo)


def test_expanded_tensors_are_refused_before_any_conversion(tmp_path, marker):
    path = expanded_linear_checkpoint(tmp_path / "linear.pt")  # 24 x Linear(16384, 16384): 24 GiB as float32
    assert path.stat().st_size < 20_000

    def load():
        with pytest.raises(CheckpointLimitError, match="claims") as err:
            FastSAMSegmenter(path, device="cpu")
        assert str(path) in str(err.value)

    assert _peak_mib(load) < 64


def _fixture_checkpoint():
    return load_checkpoint(TODAY).checkpoint  # the raw unpickled dict, through the restricted loader


def test_torchvision_layer_in_the_architecture_is_refused(tmp_path):
    ckpt = _fixture_checkpoint()
    ckpt["model"].yaml["backbone"][0] = [-1, 1, "TorchVision", [16, "resnet18", "DEFAULT", True, 2]]
    path = tmp_path / "tv.pt"
    torch.save(ckpt, path)
    with pytest.raises(CheckpointLimitError, match="TorchVision") as err:  # the no_network fixture would fail first
        FastSAMSegmenter(path, device="cpu")
    assert str(path) in str(err.value)


def test_architecture_far_beyond_fastsam_x_is_refused_before_allocation(tmp_path):
    ckpt = _fixture_checkpoint()
    ckpt["model"].yaml["scales"] = {"n": [1.0, 16.0, 16384]}  # width x16 of yolov8-seg: billions of parameters
    path = tmp_path / "huge.pt"
    torch.save(ckpt, path)

    def load():
        with pytest.raises(CheckpointLimitError, match="parameters") as err:
            FastSAMSegmenter(path, device="cpu")
        assert "Nothing was allocated" in str(err.value)

    assert _peak_mib(load) < 256  # the model would need gigabytes


def test_weights_that_do_not_match_the_architecture_are_refused(tmp_path):
    ckpt = _fixture_checkpoint()
    ckpt["model"].model[0].conv.weight = torch.nn.Parameter(torch.zeros(3, 3, 3, 3, dtype=torch.float16))
    path = tmp_path / "mismatch.pt"
    torch.save(ckpt, path)
    with pytest.raises(CheckpointLimitError, match="do not match its architecture"):
        FastSAMSegmenter(path, device="cpu")


def test_archive_check_accepts_what_torch_save_writes(tmp_path):
    for obj in ({"a": torch.zeros(3)}, {"m": torch.nn.Linear(2, 2)}, [1, 2, 3]):
        path = tmp_path / "ok.pt"
        torch.save(obj, path)
        archive = check_archive(path.read_bytes(), path)
        assert archive.prefix in ("archive", path.stem) and archive.member("data.pkl").size > 0


def test_members_torch_never_writes_are_refused(tmp_path):
    data = torch_zip({"archive/data.pkl": b"\x80\x02}q\x00.", "archive/evil.py": b"print(1)"})
    with pytest.raises(UnsafeCheckpointError, match="never writes"):
        check_archive(data, tmp_path / "x.pt")


# --- real layouts load with no trust, and give the same masks as a trusted full load ----------------------------

def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


@pytest.mark.parametrize("path", [OLD, TODAY], ids=["ultralytics-8.0.120", "ultralytics-today"])
def test_checkpoints_of_old_and_new_releases_load_untrusted_with_the_same_masks(path):
    from fastsam_plugin.engine._ultralytics import ultralytics
    from fastsam_plugin.engine.loader import yolo_from_model
    from fastsam_plugin.training.synthetic import make_scene

    image = make_scene(3, (256, 256)).image.astype(np.uint8)
    params = EverythingParams(256, 0.25, 0.9)
    segmenter = FastSAMSegmenter(path, device="cpu")  # no trust asked
    ours = result_from_raw(segmenter.predict_raw(image, params), image)

    ultralytics()
    from ultralytics.nn.tasks import torch_safe_load

    full, _ = torch_safe_load(str(path), safe_only=False)  # the trusted full load, as Ultralytics does it
    segmenter.model = yolo_from_model((full.get("ema") or full["model"]).float().eval(), full, path)
    reference = result_from_raw(segmenter.predict_raw(image, params), image)

    assert len(ours) == len(reference) >= 10
    np.testing.assert_allclose(ours.scores, reference.scores, atol=1e-4)
    ious = [_iou(a, b) for a, b in zip(ours.masks, reference.masks)]
    assert min(ious) >= 0.99


def test_trusted_full_load_of_an_old_release_maps_its_module_paths_for_that_call_only():
    import sys

    loaded = load_checkpoint(OLD, trust=True)
    assert loaded.trusted and type(loaded.checkpoint["model"]).__name__ == "SegmentationModel"
    assert "ultralytics.yolo" not in sys.modules  # no process-wide module aliasing
    model, _ = loader.segmentation_model_from_checkpoint(loaded)
    assert hasattr(model.model[-1], "proto")


def test_old_release_layout_is_the_one_users_have():
    report = scan_checkpoint(OLD)
    assert report.safe
    # 8.0.x: Segment.detect = Detect.forward pickled via getattr; arguments under the pre-8.0.44 module path
    assert {"builtins.getattr", "ultralytics.nn.tasks.SegmentationModel"} <= report.globals
    loaded = load_checkpoint(OLD)
    assert loaded.checkpoint["version"] == "8.0.120" and loaded.checkpoint["model"].model[-1].detect.__name__ == \
        "forward"
    assert OLD.stat().st_size < 2_000_000 and TODAY.stat().st_size < 2_000_000


def test_untrained_model_yaml_is_counted_before_it_is_built(tmp_path):
    import yaml

    arch = dict(load_checkpoint(TODAY).checkpoint["model"].yaml)
    arch["scales"] = {"n": [1.0, 16.0, 16384]}
    arch["scale"] = "n"
    path = tmp_path / "huge-seg.yaml"
    path.write_text(yaml.safe_dump(arch))

    def build():
        with pytest.raises(CheckpointLimitError, match="parameters") as err:
            FastSAMSegmenter(path, device="cpu", allow_untrained=True)
        assert str(path) in str(err.value)

    assert _peak_mib(build) < 256


# --- the archive check on arbitrary bytes: a clear refusal or a layout, never a crash ----------------------------

def _small_archive() -> bytes:
    import io

    buf = io.BytesIO()
    torch.save({"w": torch.arange(6, dtype=torch.float16), "n": 3}, buf)
    return buf.getvalue()


_ARCHIVE = _small_archive()


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_archive_check_never_crashes_on_damaged_bytes(data):
    blob = bytearray(_ARCHIVE)
    kind = data.draw(st.sampled_from(["flip", "cut", "insert", "zero-run"]))
    at = data.draw(st.integers(0, len(blob) - 1))
    if kind == "flip":
        blob[at] ^= data.draw(st.integers(1, 255))
    elif kind == "cut":
        del blob[at:]
    elif kind == "insert":
        blob[at:at] = data.draw(st.binary(min_size=1, max_size=64))
    else:
        blob[at:at + 16] = bytes(min(16, len(blob) - at))
    try:
        archive = check_archive(bytes(blob), "damaged.pt")
    except FastSAMError:
        return
    assert archive.member("data.pkl").size >= 0  # accepted: a flip inside member data changes no structure


def test_trust_from_the_environment_can_name_the_one_file(tmp_path, marker, monkeypatch):
    from fastsam_plugin.engine.checkpoints import ENV_TRUST

    trusted = tmp_path / "odd.pt"
    torch.save({"model": None, "date": HarmlessUnknown()}, trusted)
    other = tmp_path / "other.pt"
    torch.save({"model": None, "date": HarmlessUnknown()}, other)
    evil = evil_checkpoint(tmp_path / "evil.pt", marker)
    monkeypatch.setenv(ENV_TRUST, str(trusted))
    assert load_checkpoint(trusted).trusted
    for path in (other, evil):  # not named: restricted as always
        with pytest.raises(UnsafeCheckpointError):
            load_checkpoint(path)
