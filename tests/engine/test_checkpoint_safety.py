"""Loading a model never runs code hidden in it: the pickle scan, its allow-list, sha256 pins and records."""

from __future__ import annotations

import pathlib
import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from fastsam_plugin.engine import checkpoints, weights
from fastsam_plugin.engine.checkpoints import (
    ALLOWED_GLOBALS,
    ENV_TRUST,
    ChecksumMismatchError,
    UnsafeCheckpointError,
    is_allowed_global,
    read_record,
    scan_checkpoint,
    scan_pickle,
    sha256_file,
    write_record,
)
from fastsam_plugin.engine.model import FastSAMSegmenter, ModelLoadError
from fastsam_plugin.engine.session import Session
from fastsam_plugin.engine.weights import (
    BUNDLED_SHA256,
    DEMO_SEGMENTER,
    EXPECTED_SHA256,
    PACKAGE_MODELS,
    UnrecognisedWeightsWarning,
    cache_dir,
    verify_weights,
)
from fastsam_plugin.errors import USER_ERRORS
from tests.checkpoint_payloads import (
    ExecPayload,
    SystemPayload,
    evil_checkpoint,
    harmless_unknown_checkpoint,
)


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "PAYLOAD-RAN"
    yield path
    assert not path.exists(), "the checkpoint's payload ran"


@pytest.fixture
def evil(tmp_path, marker):
    return evil_checkpoint(tmp_path / "evil.pt", marker)


def assert_clear_refusal(err: pytest.ExceptionInfo, path, offending: str) -> None:
    msg = str(err.value)
    assert isinstance(err.value, USER_ERRORS)
    assert str(path) in msg and offending in msg
    assert ENV_TRUST in msg and "trust=True" in msg  # what to do


# --- the payloads are real: without the scan they run --------------------------------------------------------

@pytest.mark.parametrize("payload", [SystemPayload, ExecPayload])
def test_payloads_run_when_unpickled_without_the_scan(tmp_path, payload):
    marker = tmp_path / "ran"
    torch.load(evil_checkpoint(tmp_path / "evil.pt", marker, payload), weights_only=False)
    assert marker.exists()


# --- the scan ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("payload", "protocol", "offending"),
    [(SystemPayload, 2, "posix.system"), (ExecPayload, 2, "builtins.exec"), (SystemPayload, 4, "posix.system"),
     (ExecPayload, 5, "builtins.exec")],
)
def test_scan_names_the_offending_global_without_running_it(tmp_path, marker, payload, protocol, offending):
    path = evil_checkpoint(tmp_path / "evil.pt", marker, payload, protocol)
    report = scan_checkpoint(path)
    assert not report.safe and report.refused == (offending,)
    with pytest.raises(UnsafeCheckpointError) as err:
        report.raise_if_unsafe()
    assert_clear_refusal(err, path, offending)


def test_unknown_but_harmless_global_is_refused_too(tmp_path):
    path = harmless_unknown_checkpoint(tmp_path / "odd.pt")
    assert torch.load(path, weights_only=False)["date"].days == 1  # harmless indeed
    report = scan_checkpoint(path)
    assert report.refused == ("datetime.timedelta",)


@pytest.mark.parametrize(
    "name",
    ["os.system", "posix.system", "nt.system", "subprocess.Popen", "subprocess.check_output", "builtins.eval",
     "builtins.exec", "builtins.__import__", "builtins.compile", "builtins.open", "sys.modules", "importlib.import_module",
     "runpy.run_path", "webbrowser.open", "torch.load", "torch.hub.load", "numpy.load", "pickle.loads",
     "ultralytics.utils.downloads.safe_download", "ultralytics.nn.tasks.torch_safe_load",
     "ultralytics.nn.modules.conv.autopad", "torch.nn.modules.module._global_forward_hooks", "shutil.rmtree"],
)
def test_dangerous_names_are_not_allowed(name):
    assert not is_allowed_global(name)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[a-z_]{1,12}(\.[A-Za-z_]{1,12}){1,3}", fullmatch=True))
def test_allow_list_admits_only_listed_names_and_layer_classes(name):
    layer_space = name.startswith(("torch.nn.modules.", "ultralytics.nn.modules.", "ultralytics.nn.tasks."))
    if name not in ALLOWED_GLOBALS and not layer_space:
        assert not is_allowed_global(name)


def test_layer_classes_are_resolved_in_the_installed_packages():
    assert is_allowed_global("ultralytics.nn.modules.block.C2f")
    assert is_allowed_global("ultralytics.nn.tasks.SegmentationModel")
    assert is_allowed_global("torch.nn.modules.conv.Conv2d")
    assert not is_allowed_global("ultralytics.nn.modules.block.NoSuchLayer")
    assert not is_allowed_global("ultralytics.nn.tasks.Path")  # a class, but not a layer


class _CallsTouch:
    """Uses only allowed globals (PosixPath, getattr) to call ``Path(marker).touch()``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return pathlib.PosixPath(self.marker).touch, ()


def test_allowed_globals_cannot_be_composed_into_a_call(tmp_path, marker):
    path = tmp_path / "composed.pt"
    torch.save({"x": _CallsTouch(str(marker))}, path)
    report = scan_checkpoint(path)
    assert not report.refused  # every global is on the list ...
    assert report.problems  # ... but getattr(path, "touch") and calling its result are refused
    with pytest.raises(UnsafeCheckpointError, match="getattr"):
        report.raise_if_unsafe()


def test_getattr_of_a_layer_forward_passes():
    # protocol-2 pickles of nested functions (old Ultralytics' ``self.detect = Detect.forward``) use getattr
    from fastsam_plugin.engine._ultralytics import ultralytics

    ultralytics()  # imported offline-configured first
    from ultralytics.nn.modules.head import Detect

    names, problems = scan_pickle(pickle.dumps({"detect": Detect.forward}, protocol=2))
    assert "builtins.getattr" in names and problems == []
    names, problems = scan_pickle(pickle.dumps({"x": pathlib.PosixPath("/tmp").touch}, protocol=2))
    assert problems


def test_setting_state_on_an_allowed_class_is_refused():
    # GLOBAL collections.OrderedDict, then BUILD with a slot-state dict: setattr on the class itself
    data = b"\x80\x02ccollections\nOrderedDict\nq\x00N}q\x01X\x08\x00\x00\x00__repr__q\x02K\x01s\x86q\x03b."
    names, problems = scan_pickle(data)
    assert names == {"collections.OrderedDict"} and any("changes a class" in p for p in problems)


@pytest.mark.parametrize("data", [b"", b"\x80\x02}q\x00", b"\x80\x02\xff.", b"\x80\x02q\x00."])
def test_malformed_pickles_are_errors_not_crashes(data):
    with pytest.raises(ValueError):
        scan_pickle(data)


def test_a_second_record_under_the_same_name_is_scanned_and_refused(tmp_path, marker):
    import warnings
    import zipfile

    evil = evil_checkpoint(tmp_path / "evil.pt", marker)
    benign = tmp_path / "benign.pt"
    torch.save({"a": 1}, benign)
    mixed = tmp_path / "mixed.pt"
    with zipfile.ZipFile(evil) as src_evil, zipfile.ZipFile(benign) as src_ok, zipfile.ZipFile(mixed, "w") as out:
        evil_pkl = next(n for n in src_evil.namelist() if n.endswith("data.pkl"))
        prefix = evil_pkl.rsplit("/", 1)[0]
        ok_pkl = next(n for n in src_ok.namelist() if n.endswith("data.pkl"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
            for name in src_evil.namelist():
                out.writestr(name, src_evil.read(name))
            out.writestr(f"{prefix}/data.pkl", src_ok.read(ok_pkl))  # Python's zipfile reads this one by name
    report = scan_checkpoint(mixed)
    assert "posix.system" in report.refused and any("two records" in p for p in report.problems)


def test_non_checkpoints_are_unreadable_not_unsafe(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a zip at all")
    report = scan_checkpoint(junk)
    assert report.unreadable and not report.refused
    legacy = tmp_path / "legacy.pt"
    torch.save({"a": 1}, legacy, _use_new_zipfile_serialization=False)
    assert scan_checkpoint(legacy).unreadable


def test_scan_is_static_on_a_real_model_checkpoint(fastsam_s_checkpoint):
    report = scan_checkpoint(fastsam_s_checkpoint)
    assert report.safe
    assert {"ultralytics.nn.tasks.SegmentationModel", "torch._utils._rebuild_tensor_v2"} <= report.globals


# --- every route to the loader --------------------------------------------------------------------------------

def test_route_weights_path(evil):
    with pytest.raises(UnsafeCheckpointError) as err:
        FastSAMSegmenter(evil, device="cpu")
    assert_clear_refusal(err, evil, "posix.system")


def test_route_session(evil):
    session = Session(str(evil), device="cpu")
    with pytest.raises(UnsafeCheckpointError) as err:
        session.segment(np.zeros((64, 64, 3), np.uint8))
    assert_clear_refusal(err, evil, "posix.system")


def test_route_environment_variable(evil, monkeypatch):
    monkeypatch.setenv("NAPARI_FASTSAM_WEIGHTS", str(evil))
    with pytest.raises(UnsafeCheckpointError) as err:
        FastSAMSegmenter(None, device="cpu")
    assert_clear_refusal(err, evil, "posix.system")


def test_route_planted_cache_file(tmp_path, marker):
    planted = cache_dir() / "FastSAM-s.pt"
    planted.parent.mkdir(parents=True)
    evil_checkpoint(planted, marker, ExecPayload)
    with pytest.raises(UnsafeCheckpointError) as err:
        FastSAMSegmenter(device="cpu")  # no weights given: the production default FastSAM-s
    assert_clear_refusal(err, planted, "builtins.exec")
    assert read_record(planted) is None  # a refused file never gets a record


def test_route_clip_local_checkpoint(tmp_path, marker):
    from fastsam_plugin.engine.clip import ClipEmbedder

    path = evil_checkpoint(tmp_path / "clip.pt", marker)
    with pytest.raises(UnsafeCheckpointError) as err:
        ClipEmbedder("demo", pretrained=path, device="cpu")
    assert_clear_refusal(err, path, "posix.system")


def test_clip_loader_keeps_torch_weights_only(tmp_path, marker, monkeypatch):
    # even with the scan skipped, open_clip's weights_only loader blocks the payload
    from fastsam_plugin.engine.clip import ClipEmbedder, ClipLoadError

    monkeypatch.setenv(ENV_TRUST, "1")
    path = evil_checkpoint(tmp_path / "clip.pt", marker)
    with pytest.raises(ClipLoadError, match="could not load CLIP"):
        ClipEmbedder("demo", pretrained=path, device="cpu")


# --- the opt-out ----------------------------------------------------------------------------------------------

@pytest.fixture
def odd_but_trusted(fastsam_s_checkpoint, tmp_path):
    """A real model checkpoint plus a harmless global outside the allow-list."""
    from tests.checkpoint_payloads import HarmlessUnknown

    ckpt = torch.load(fastsam_s_checkpoint, weights_only=False)  # our own fixture
    ckpt["date"] = HarmlessUnknown()
    path = tmp_path / "odd-model.pt"
    torch.save(ckpt, path)
    return path


def test_trust_is_never_the_default_and_loads_when_asked(odd_but_trusted, monkeypatch):
    with pytest.raises(UnsafeCheckpointError, match="datetime.timedelta"):
        FastSAMSegmenter(odd_but_trusted, device="cpu")
    assert FastSAMSegmenter(odd_but_trusted, device="cpu", trust=True).model is not None
    monkeypatch.setenv(ENV_TRUST, "1")
    assert FastSAMSegmenter(odd_but_trusted, device="cpu").model is not None
    monkeypatch.setenv(ENV_TRUST, "0")
    with pytest.raises(UnsafeCheckpointError):
        FastSAMSegmenter(odd_but_trusted, device="cpu")


def test_ultralytics_safe_load_stays_on_after_a_trusted_load(odd_but_trusted):
    from ultralytics.nn import tasks

    FastSAMSegmenter(odd_but_trusted, device="cpu", trust=True)
    assert tasks.SAFE_LOAD is True


# --- legitimate checkpoints still load ------------------------------------------------------------------------

def test_bundled_models_are_pinned_and_load_without_unpickling(monkeypatch):
    # the bundled models ship as safetensors + JSON (no pickle to scan); every file is pinned
    shipped = {p.name for p in PACKAGE_MODELS.iterdir() if p.suffix in (".pt", ".safetensors", ".json")}
    assert not any(n.endswith(".pt") for n in shipped)
    assert shipped == set(BUNDLED_SHA256), "pin every bundled model file in weights.BUNDLED_SHA256 (and only those)"
    for name, digest in BUNDLED_SHA256.items():
        path = PACKAGE_MODELS / name
        assert sha256_file(path) == digest

    from tests.engine.test_safetensors_weights import forbid_unpickling

    forbid_unpickling(monkeypatch)  # torch.load, pickle.load/loads and Unpickler.load all fail the test
    assert FastSAMSegmenter("demo", device="cpu").model is not None


def test_fine_tuned_checkpoint_with_operating_point_record_loads(fastsam_s_checkpoint, tmp_path):
    # what `napari-fastsam train` writes: Ultralytics' trainer layout plus the operating-point record
    from fastsam_plugin.training.train import record_operating_point

    path = tmp_path / "best.pt"
    path.write_bytes(fastsam_s_checkpoint.read_bytes())
    record_operating_point(path, 320, 0.3)
    assert scan_checkpoint(path).safe
    assert FastSAMSegmenter(path, device="cpu").model is not None


def test_old_layout_with_getattr_of_detect_forward_loads(fastsam_s_checkpoint, tmp_path):
    # Ultralytics 8.0.x Segment heads kept ``self.detect = Detect.forward``; their files pickle it via getattr
    from ultralytics.nn.modules.head import Detect

    ckpt = torch.load(fastsam_s_checkpoint, weights_only=False)  # our own fixture
    ckpt["model"].model[-1].detect = Detect.forward
    path = tmp_path / "old-layout.pt"
    torch.save(ckpt, path)
    report = scan_checkpoint(path)
    assert "builtins.getattr" in report.globals and report.safe
    assert FastSAMSegmenter(path, device="cpu").model is not None


@pytest.mark.parametrize("scale", ["n", "s", pytest.param("m", marks=pytest.mark.slow),
                                   pytest.param("l", marks=pytest.mark.slow),
                                   pytest.param("x", marks=pytest.mark.slow)])
def test_every_yolov8_seg_scale_scans_clean_and_loads(scale, tmp_path):
    from fastsam_plugin.training.train import save_architecture_checkpoint

    path = save_architecture_checkpoint(f"yolov8{scale}-seg.yaml", tmp_path / f"yolov8{scale}-seg.pt")
    report = scan_checkpoint(path)
    assert report.safe, report
    assert FastSAMSegmenter(path, device="cpu").model is not None


# --- sha256: bundled pins and cache records -------------------------------------------------------------------

def test_changed_bundled_file_is_caught(monkeypatch, tmp_path):
    fake_models = tmp_path / "models"
    fake_models.mkdir()
    copy = fake_models / DEMO_SEGMENTER.name
    copy.write_bytes(DEMO_SEGMENTER.read_bytes()[:-10] + b"0123456789")
    monkeypatch.setattr(weights, "PACKAGE_MODELS", fake_models)
    with pytest.raises(ChecksumMismatchError, match="Reinstall"):
        verify_weights(copy)


def test_cache_record_catches_substitution_and_truncation(fastsam_s_checkpoint, detect_checkpoint):
    cached = cache_dir() / "FastSAM-s.pt"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(fastsam_s_checkpoint.read_bytes())
    with pytest.warns(UnrecognisedWeightsWarning, match="not the widely seen FastSAM-s.pt"):
        verify_weights(cached)  # put there by hand: scanned, then recorded
    assert read_record(cached) == sha256_file(cached)
    verify_weights(cached)  # unchanged: passes silently

    cached.write_bytes(detect_checkpoint.read_bytes())  # substituted by a clean but different file
    with pytest.raises(ChecksumMismatchError) as err:
        FastSAMSegmenter("FastSAM-s", device="cpu")
    msg = str(err.value)
    assert str(cached) in msg and "download a fresh copy" in msg and isinstance(err.value, USER_ERRORS)

    cached.write_bytes(fastsam_s_checkpoint.read_bytes()[:1000])  # truncated
    with pytest.raises(ChecksumMismatchError, match="replaced or truncated"):
        verify_weights(cached)


def test_download_scans_before_placing_and_records(monkeypatch, fastsam_s_checkpoint, tmp_path, marker):
    def fake_fetch(url, dst, progress=True):  # stands in for the network
        pathlib.Path(dst).write_bytes(source.read_bytes())

    monkeypatch.setattr("torch.hub.download_url_to_file", fake_fetch)
    source = fastsam_s_checkpoint
    with pytest.warns(UnrecognisedWeightsWarning):
        path = weights.resolve_weights("FastSAM-s")
    assert read_record(path) == sha256_file(path)
    assert list(cache_dir().glob("*.partial")) == []

    source = evil_checkpoint(tmp_path / "served.pt", marker)
    with pytest.raises(UnsafeCheckpointError):
        weights.resolve_weights("FastSAM-x")
    assert not (cache_dir() / "FastSAM-x.pt").exists()
    assert list(cache_dir().glob("*.partial")) == []


def test_expected_sha256_values_are_the_published_ones():
    assert EXPECTED_SHA256["FastSAM-s"] == (23_832_055,
                                           "e9034d7478a8e9d1bfb57b51592e521a253287c7cdcf79258f61ea6d68584a0d")
    assert EXPECTED_SHA256["FastSAM-x"] == (144_943_063,
                                           "c0be4e7ddbe4c15333d15a859c676d053c486d0a746a3be6a7a9790d52a9b6d7")


def test_record_is_sha256sum_format(tmp_path):
    f = tmp_path / "w.pt"
    f.write_bytes(b"abc")
    digest = write_record(f)
    assert checkpoints.record_path(f).read_text() == f"{digest}  w.pt\n"
    assert digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"  # sha256("abc")
    checkpoints.record_path(f).write_text("garbage")
    assert read_record(f) is None


def test_truncated_checkpoint_outside_the_cache_is_a_load_error(fastsam_s_checkpoint, tmp_path):
    bad = tmp_path / "cut.pt"
    bad.write_bytes(fastsam_s_checkpoint.read_bytes()[: 1 << 20])
    with pytest.raises(ModelLoadError, match="truncated"):
        FastSAMSegmenter(bad, device="cpu")
