"""Issue #27, CLI part: outputs kept only when whole, user mistakes as clear errors, one job per file."""

from __future__ import annotations

import ast
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastsam_plugin.cli import perfile, segment
from fastsam_plugin.cli.job import SegmentJob
from fastsam_plugin.cli.main import build_parser, main
from fastsam_plugin.io import write_labels
from fastsam_plugin.io.outputs import (
    MANIFEST_NAME,
    TEMP_PREFIX,
    atomic_path,
    output_complete,
    read_manifest,
    recording_outputs,
    remove_stale_temps,
    temp_name,
)

from ..paths import REPO
from .conftest import DEMO, scene_png


@pytest.fixture(autouse=True)
def log_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_FASTSAM_LOG_DIR", str(tmp_path / "logs"))
    return tmp_path / "logs"


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test loudly (exit 3) if the command gets as far as building the model."""
    def refuse(args):
        raise AssertionError("the model was loaded before the usage error")

    monkeypatch.setattr(segment, "_session", refuse)


def is_temp(name: str) -> bool:
    return name.startswith(TEMP_PREFIX) and not name.startswith(MANIFEST_NAME.rsplit(".", 1)[0])


# -- whole outputs only -----------------------------------------------------------------------------------------


def test_a_tiff_header_without_pages_is_not_whole(tmp_path):
    header_only = tmp_path / "b_labels.tif"
    header_only.write_bytes(b"II*\x00\x08\x00\x00\x00")  # 8 bytes: a TIFF header, no pages
    assert not output_complete(header_only)


def test_a_tiff_with_a_damaged_strip_is_not_whole(tmp_path):
    path = tmp_path / "x_labels.tif"
    tifffile.imwrite(path, np.arange(64 * 64, dtype=np.int32).reshape(64, 64), compression="zlib")
    assert output_complete(path)  # no manifest entry: the TIFF's own end check
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[0].dataoffsets[0]
    data = bytearray(path.read_bytes())
    data[offset:offset + 16] = b"\xff" * 16  # same size, strips inside the file, but the data no longer decodes
    path.write_bytes(bytes(data))
    assert not output_complete(path)


def test_csv_without_a_manifest_entry_is_not_whole(tmp_path):
    cut = tmp_path / "a_measurements.csv"
    cut.write_text("label,area,centroid_y\n1,40,3.5\n2,1")  # cut mid-row
    header = tmp_path / "b_measurements.csv"
    header.write_text("label,area,centroid_y\n")  # header only
    assert not output_complete(cut) and not output_complete(header)


def test_measurements_csv_cut_after_the_run_is_rewritten(two_scenes, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["segment", str(two_scenes / "scene1.png"), "--out", str(out), *DEMO, "--measure"]
    assert main(args) == 0
    csv = out / "scene1_measurements.csv"
    rows = len(pd.read_csv(csv))
    assert rows > 0 and output_complete(csv) and "scene1_measurements.csv" in read_manifest(out)
    text = csv.read_text()
    csv.write_text(text[: text.index("\n") + 1])  # header only: as a killed copy or an older version leaves it
    assert not output_complete(csv)
    capsys.readouterr()
    assert main(args) == 0
    assert "1 output(s) written, 1 already complete" in capsys.readouterr().out
    assert len(pd.read_csv(csv)) == rows and output_complete(csv)


def test_an_eight_byte_label_tiff_is_rewritten_not_kept(two_scenes, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "scene1_labels.tif").write_bytes(b"II*\x00\x08\x00\x00\x00")
    assert main(["segment", str(two_scenes / "scene1.png"), "--out", str(out), *DEMO]) == 0
    assert "1 output(s) written, 0 already complete" in capsys.readouterr().out
    assert tifffile.imread(out / "scene1_labels.tif").shape == (128, 128)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(min_size=1, max_size=2000), cut=st.integers(min_value=0, max_value=1999))
def test_any_truncation_of_a_recorded_output_is_not_whole(tmp_path_factory, content, cut):
    folder = tmp_path_factory.mktemp("m")
    path = folder / "x_measurements.csv"
    with recording_outputs(), atomic_path(path) as tmp:
        tmp.write_bytes(content)
    assert output_complete(path)
    path.write_bytes(content[: cut % len(content)])
    assert not output_complete(path)


def _recorded(path, content: bytes):
    with recording_outputs(), atomic_path(path, overwrite=True) as tmp:
        tmp.write_bytes(content)


def test_a_manifest_line_cut_by_a_kill_loses_only_its_own_entry(tmp_path):
    _recorded(tmp_path / "a_measurements.csv", b"label\n1\n")
    with open(tmp_path / MANIFEST_NAME, "ab") as fh:
        fh.write(b'{"name": "b_measurements.csv", "sha2')  # a writer killed mid-append
    (tmp_path / "b_measurements.csv").write_bytes(b"label\n1\n")
    _recorded(tmp_path / "c_measurements.csv", b"label\n1\n2\n")
    assert sorted(read_manifest(tmp_path)) == ["a_measurements.csv", "c_measurements.csv"]
    assert output_complete(tmp_path / "a_measurements.csv") and output_complete(tmp_path / "c_measurements.csv")
    assert not output_complete(tmp_path / "b_measurements.csv")  # its entry was cut: written again


def test_the_manifest_log_is_compacted_and_keeps_the_last_entry(tmp_path):
    for k in range(400):  # --overwrite reruns append a new entry each time
        _recorded(tmp_path / "a_labels.tif", b"run %d" % k)
    lines = (tmp_path / MANIFEST_NAME).read_text().splitlines()
    assert len(lines) < 300
    assert output_complete(tmp_path / "a_labels.tif") and list(read_manifest(tmp_path)) == ["a_labels.tif"]


def test_outside_the_command_line_no_manifest_is_written(tmp_path):
    write_labels(tmp_path / "a_labels.tif", np.ones((4, 4), np.int32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_labels.tif"]


# -- temporary files of killed runs ----------------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_only_stale_temporary_files_of_ours_are_removed(tmp_path):
    old = time.time() - 10
    dead, host = _dead_pid(), temp_name("x").split("-")[2]
    names = {
        "killed": f"{TEMP_PREFIX}{host}-{dead}-0123abcd-a_labels.tif",          # our machine, writer gone
        "older_version": f"{TEMP_PREFIX}0123456789ab-a_edges.tif",             # an older version's temp name
        "alive": f"{TEMP_PREFIX}{host}-{os.getppid()}-0123abcd-b_labels.tif",  # its writer still runs
        "foreign_young": f"{TEMP_PREFIX}ffffffff-{dead}-0123abcd-c_labels.tif",  # another machine, recent
        "foreign_old": f"{TEMP_PREFIX}eeeeeeee-{dead}-0123abcd-d_labels.tif",    # another machine, 2 h old
        "user_hidden": f"{TEMP_PREFIX}my-notes.txt",                           # the user's, despite the prefix
        "user": "notes.txt",
        "manifest": MANIFEST_NAME,
    }
    for key, name in names.items():
        (tmp_path / name).write_bytes(b"x")
        os.utime(tmp_path / name, (old, old))
    stamp = time.time() - 2 * 3600
    os.utime(tmp_path / names["foreign_old"], (stamp, stamp))
    fresh = tmp_path / f"{TEMP_PREFIX}{host}-{dead}-0123abcd-e_labels.tif"  # written after this run started
    fresh.write_bytes(b"x")
    removed = remove_stale_temps(tmp_path, started=time.time() - 1)
    assert sorted(p.name for p in removed) == sorted([names["killed"], names["older_version"], names["foreign_old"]])
    left = {p.name for p in tmp_path.iterdir()}
    assert {names[k] for k in ("alive", "foreign_young", "user_hidden", "user", "manifest")} | {fresh.name} == left


def test_sigkill_leaves_temporary_files_that_a_rerun_removes(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    n = 40
    for k in range(n):
        scene_png(folder / f"s{k:02d}.png", k)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the user's")
    cmd = [sys.executable, "-m", "fastsam_plugin.cli", "segment", str(folder), "--out", str(out), *DEMO, "--coco"]
    env = {**os.environ, "NAPARI_FASTSAM_LOG_DIR": str(tmp_path / "logs"), "YOLO_OFFLINE": "1"}
    with open(tmp_path / "log.txt", "w") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 900  # the event: a first output; generous for a loaded machine
        while (not [p for p in out.glob("*_labels.tif") if not p.name.startswith(".")]
               and proc.poll() is None and time.monotonic() < deadline):
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.kill()  # SIGKILL: no finally blocks, temporary files stay
        proc.wait(timeout=60)
    # as a killed writer leaves it, whether or not the kill landed mid-write
    host = temp_name("x").split("-")[2]
    (out / f"{TEMP_PREFIX}{host}-{proc.pid}-0123abcd-s39_labels.tif").write_bytes(b"II*\x00")
    assert [p for p in out.iterdir() if is_temp(p.name)]
    rerun = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "temporary file(s) left in" in rerun.stdout and f"{n} of {n} input(s) complete" in rerun.stdout
    assert not [p.name for p in out.iterdir() if is_temp(p.name)]
    assert (out / "notes.txt").read_text() == "the user's"
    outputs = [p for p in out.iterdir() if p.name.endswith(("_labels.tif", "_proposals.json"))]
    assert len(outputs) == 2 * n and all(output_complete(p) for p in outputs)


# -- two runs on the same --out ----------------------------------------------------------------------------------


def test_an_output_another_run_wrote_meanwhile_is_kept_not_failed(two_scenes, tmp_path, capsys, monkeypatch):
    from fastsam_plugin.cli import microscopy

    real = microscopy.write_labels

    def other_run_first(path, labels, meta, overwrite):
        if not path.exists():  # the other run finishes this output between our plan and our write
            with recording_outputs():
                real(path, labels, meta, False)
        return real(path, labels, meta, overwrite)

    monkeypatch.setattr(microscopy, "write_labels", other_run_first)
    out = tmp_path / "out"
    assert main(["segment", str(two_scenes), "--out", str(out), *DEMO]) == 0
    text = capsys.readouterr().out
    assert text.count("written meanwhile by another run, whole; kept") == 2
    assert "2 of 2 input(s) complete; 0 output(s) written, 2 already complete" in text


def test_two_runs_on_the_same_out_both_succeed(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    n = 12
    for k in range(n):
        scene_png(folder / f"s{k:02d}.png", k)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "fastsam_plugin.cli", "segment", str(folder), "--out", str(out), *DEMO, "--edges"]
    env = {**os.environ, "NAPARI_FASTSAM_LOG_DIR": str(tmp_path / "logs"), "YOLO_OFFLINE": "1"}
    runs = [subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    results = [run.communicate(timeout=600) for run in runs]
    for run, (stdout, stderr) in zip(runs, results):
        assert run.returncode == 0, stdout[-2000:] + stderr[-2000:]
        assert f"{n} of {n} input(s) complete" in stdout and " 0 input(s) failed" in stdout and "FAILED" not in stdout
    outputs = sorted(p for p in out.iterdir() if not p.name.startswith("."))
    assert len(outputs) == 2 * n and all(output_complete(p) for p in outputs)


# -- user mistakes: clear errors naming the flag or file, before any model loads ---------------------------------


@pytest.mark.parametrize(("extra", "words"), [
    (["--vector", "foo.txt"], ["argument --vector", "foo.txt", ".gpkg"]),
    (["--scheduler", "bogus"], ["argument --scheduler", "bogus", "tcp://host:8786"]),
    (["--scheduler", "tcp://host"], ["argument --scheduler"]),
    (["--workers", "2"], ["argument --workers", "--scheduler local"]),
    (["--scheduler", "tcp://10.0.0.5:8786", "--workers", "2"], ["argument --workers"]),
], ids=["vector-suffix", "scheduler-bogus", "scheduler-no-port", "workers-alone", "workers-remote"])
def test_flag_mistakes_stop_before_the_model_loads(two_scenes, tmp_path, capsys, no_model, extra, words):
    assert main(["segment", str(two_scenes), "--out", str(tmp_path / "out"), *DEMO, *extra]) == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words) and "Traceback" not in err and "please report" not in err


def test_a_missing_input_is_a_usage_error_before_the_model_loads(two_scenes, tmp_path, capsys, no_model):
    missing = tmp_path / "nope.png"
    assert main(["segment", str(two_scenes), str(missing), "--out", str(tmp_path / "out"), *DEMO]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "no such file" in err


def test_an_unreadable_folder_is_named_and_the_other_inputs_go_on(two_scenes, tmp_path, capsys, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real_iterdir = Path.iterdir

    def iterdir(self):  # as chmod 000 does for anyone but root (the tests may run as root)
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    out = tmp_path / "out"
    assert main(["segment", str(locked), str(two_scenes / "scene1.png"), "--out", str(out), *DEMO]) == 1
    captured = capsys.readouterr()
    assert f"FAILED {locked}: cannot read the folder (Permission denied)" in captured.out
    assert "1 of 1 input(s) complete" in captured.out and "please report" not in captured.out + captured.err
    assert (out / "scene1_labels.tif").is_file()
    # only unreadable folders: nothing to do, a usage error before the model loads
    monkeypatch.setattr(segment, "_session", lambda args: pytest.fail("model loaded"))
    assert main(["segment", str(locked), "--out", str(out), *DEMO]) == 2
    assert "cannot read the folder" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_a_clear_error(two_scenes, tmp_path, capsys):
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    code = main(["segment", str(two_scenes), "--out", str(tmp_path / "out"), *DEMO,
                 "--scheduler", f"tcp://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 2 and f"127.0.0.1:{port}" in err and "please report" not in err
    assert time.monotonic() - start < 120


def test_train_mistakes_are_usage_errors(tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    missing = tmp_path / "no-labels"
    assert main(["train", "--label-folder", str(missing), "--images", str(images), "--workdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "argument --label-folder" in err and str(missing) in err
    assert main(["train", "--label-folder", str(images), "--workdir", str(tmp_path)]) == 2
    assert "needs --images" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--synthetic", "4", "--epochs", "0", "--workdir", str(tmp_path)])
    assert exit_info.value.code == 2 and "argument --epochs" in capsys.readouterr().err
    assert not (tmp_path / "train").exists()


def test_demo_out_on_an_existing_file_is_a_usage_error(tmp_path, capsys):
    target = tmp_path / "results.png"
    target.write_bytes(b"user data")
    assert main(["demo", "--out", str(target), "--device", "cpu"]) == 2
    assert "argument --out" in capsys.readouterr().err and target.read_bytes() == b"user data"


# -- duplicates, empty point selections ---------------------------------------------------------------------------


def test_the_same_file_three_times_is_segmented_once(two_scenes, tmp_path, capsys, monkeypatch):
    from fastsam_plugin.engine.session import Session

    calls = []
    real = Session.segment

    def counting(self, image, *args, **kwargs):
        calls.append(1)
        return real(self, image, *args, **kwargs)

    monkeypatch.setattr(Session, "segment", counting)
    one = two_scenes / "scene1.png"
    assert main(["segment", str(one), str(one), str(two_scenes), "--out", str(tmp_path / "out"), *DEMO]) == 0
    text = capsys.readouterr().out
    assert len(calls) == 2  # scene1 once (given twice and through its folder), scene2 once
    assert f"{one} was given 3 times; segmented once" in text and "2 of 2 input(s) complete" in text


def test_a_point_prompt_that_selects_nothing_says_so(two_scenes, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["segment", str(two_scenes / "scene1.png"), "--out", str(out), *DEMO, "--points", "5,5,0"]) == 0
    text = capsys.readouterr().out
    notes = [line for line in text.splitlines() if "point prompt selects no object" in line]
    assert len(notes) == 1 and notes[0].startswith("scene1.png")
    assert tifffile.imread(out / "scene1_points.tif").max() == 0


# -- one job per file, no import cycle --------------------------------------------------------------------------


def test_the_job_is_frozen_picklable_and_plans_outputs_by_one_rule(tmp_path):
    args = build_parser().parse_args(["segment", "a.png", "--out", str(tmp_path), "--coco", "--edges",
                                      "--points", "1,2", "3,4,0", "--box", "0,0,5,5", "--measure"])
    job = SegmentJob.from_args(args)
    with pytest.raises(AttributeError):
        job.out = Path("elsewhere")  # frozen
    assert pickle.loads(pickle.dumps(job)) == job  # what a Dask worker receives
    xy, lab = job.point_arrays()
    assert xy.shape == (2, 2) and lab.tolist() == [1, 0]
    paths = perfile.output_paths(job, Path("a.png"), "a", "plain")
    assert [p.name for p in paths.values()] == ["a_labels.tif", "a_proposals.json", "a_edges.tif", "a_points.tif",
                                                "a_box.tif", "a_measurements.csv"]
    assert [p.name for p in perfile.output_paths(job, Path("a.tif"), "a", "huge").values()] == ["a_labels.ome.zarr"]


def _cli_imports(module: str) -> set[str]:
    tree = ast.parse((REPO / "fastsam_plugin" / "cli" / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {a.name for a in node.names}
    return found


def test_segment_and_distributed_do_not_import_each_other():
    assert "segment" not in _cli_imports("distributed")
    assert {"job", "perfile"} <= _cli_imports("distributed")
    assert not {"segment", "distributed", "perfile", "geo", "microscopy", "batch"} & _cli_imports("job")


def test_text_with_a_clip_model_that_cannot_load_offline_is_exit_2_with_the_fix(two_scenes, tmp_path, capsys,
                                                                                 monkeypatch):
    from fastsam_plugin.engine.clip import ClipLoadError
    from fastsam_plugin.engine.session import Session

    def offline(self):  # what engine/clip raises at once offline when ViT-B-32 is not cached
        raise ClipLoadError("could not load CLIP 'ViT-B-32': not cached and offline; use --clip-model demo")

    monkeypatch.setattr(Session, "embedder", property(offline))
    out = tmp_path / "out"
    assert main(["segment", str(two_scenes), "--out", str(out), *DEMO, "--text", "a red circle"]) == 2
    err = capsys.readouterr().err
    assert err.count("--clip-model demo") == 1 and "please report" not in err
    assert not list(out.glob("*_labels.tif"))  # stopped before the batch


def test_an_output_written_in_place_is_not_whole_until_recorded(tmp_path):
    from fastsam_plugin.io.outputs import mark_pending, record_output

    path = tmp_path / "a_labels.tif"
    mark_pending(path)  # as before a GDAL writer starts
    tifffile.imwrite(path, np.ones((8, 8), np.int32))  # a TIFF that would pass its own end check
    assert not output_complete(path)  # a kill here leaves it: written again on rerun
    record_output(path)
    assert output_complete(path)
