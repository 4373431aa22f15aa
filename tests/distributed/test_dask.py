"""Segmentation on a real dask.distributed LocalCluster of two worker processes, against the in-process run."""

from __future__ import annotations

import argparse
import os
import signal
import time
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile

from fastsam_plugin.cli import batch, main
from fastsam_plugin.cli.distributed import _segment_file
from fastsam_plugin.cli.segment import add_parser
from fastsam_plugin.distributed.batch import run_files
from fastsam_plugin.distributed.huge import label_window, segment_huge, write_result_ome_zarr
from fastsam_plugin.distributed.worker import SessionSpec
from fastsam_plugin.engine.model import DEMO_PARAMS
from fastsam_plugin.engine.pipeline import TileOptions
from fastsam_plugin.engine.session import Session
from fastsam_plugin.io.lazy import LazyImage
from fastsam_plugin.io.ome_zarr import pixel_size_of, read_labels_ome_zarr, write_labels_ome_zarr
from fastsam_plugin.training.synthetic import make_scene

pytestmark = pytest.mark.slow
SPEC = SessionSpec(weights="demo", device="cpu", params=DEMO_PARAMS)


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with Client(cluster) as c:
        yield c
    cluster.close()


def _write_scenes(folder: Path, n: int, size=(256, 256)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"scene{i}.png"
        cv2.imwrite(str(p), cv2.cvtColor(make_scene(i, size, n_objects=(4, 6)).image, cv2.COLOR_RGB2BGR))
        paths.append(p)
    return paths


def _objects(labels: np.ndarray) -> list[np.ndarray]:
    return [labels == i for i in np.unique(labels) if i]


def _match_all(a: np.ndarray, b: np.ndarray, min_iou: float) -> None:
    """Every object of ``a`` has one in ``b`` with IoU >= min_iou, and the counts agree (ids may differ)."""
    objs_a, objs_b = _objects(a), _objects(b)
    assert len(objs_a) == len(objs_b) > 0
    for m in objs_a:
        best = max(np.count_nonzero(m & o) / np.count_nonzero(m | o) for o in objs_b)
        assert best >= min_iou


def test_folder_on_two_workers_equals_single_process(client, tmp_path):
    _write_scenes(tmp_path / "in", 8)
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG not really")
    address = client.scheduler.address
    args = ["segment", str(tmp_path / "in"), "--weights", "demo", "--device", "cpu"]
    assert main([*args, "--out", str(tmp_path / "dask"), "--scheduler", address]) == 1  # the broken file failed
    assert main([*args, "--out", str(tmp_path / "local")]) == 1  # the same batch in this process
    for i in range(8):
        dask_labels = tifffile.imread(tmp_path / "dask" / f"scene{i}_labels.tif")
        local_labels = tifffile.imread(tmp_path / "local" / f"scene{i}_labels.tif")
        _match_all(dask_labels, local_labels, 0.99)
    assert not list((tmp_path / "dask").glob("broken*"))  # reported, nothing half-written


def test_huge_zarr_on_two_workers_equals_in_process_tiling(client, tmp_path):
    import zarr

    big = np.zeros((4096, 4096, 3), np.uint8)
    for k, (y, x) in enumerate(np.ndindex(8, 8)):
        big[y * 512:(y + 1) * 512, x * 512:(x + 1) * 512] = make_scene(200 + k, (512, 512), n_objects=(5, 8)).image
    z = zarr.open_array(str(tmp_path / "big.zarr"), mode="w", shape=big.shape, chunks=(512, 512, 3), dtype="uint8")
    z[:] = big

    result = segment_huge(client, LazyImage(tmp_path / "big.zarr"), SPEC)
    local = Session("demo", "cpu", params=DEMO_PARAMS, tiling=TileOptions(enabled=True)).segment(big)
    assert len(result) == len(local) > 100
    order = np.lexsort(result.pixel_boxes.T[::-1])
    local_order = np.lexsort(local.pixel_boxes.T[::-1])
    np.testing.assert_array_equal(result.pixel_boxes[order], local.pixel_boxes[local_order])
    for i, j in zip(order, local_order):  # object for object, the same pixels
        assert np.array_equal(result.crops[i], local.crops[j])

    out = write_result_ome_zarr(result, tmp_path / "big_labels.ome.zarr", chunk=1000)
    lazy = read_labels_ome_zarr(out)
    assert lazy.shape == (4096, 4096) and lazy.chunksize == (1000, 1000)
    np.testing.assert_array_equal(lazy[1500:2700, 300:3000].compute(), result.labels()[1500:2700, 300:3000])


def test_a_killed_worker_still_yields_complete_outputs(client, tmp_path):
    _write_scenes(tmp_path / "in", 8)
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["segment", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--weights", "demo"])
    files = sorted((tmp_path / "in").glob("*.png"))
    victim_pid = next(iter(client.run(os.getpid).values()))
    killed = []

    outcomes = []

    def kill_once(path, outcome):
        outcomes.append(outcome)
        if not killed:  # kill a worker process mid-run (SIGKILL); the scheduler reschedules its tasks
            killed.append(victim_pid)
            os.kill(victim_pid, signal.SIGKILL)

    task = partial(_segment_file, args=args, spec=SPEC, bases=batch.output_bases(files))
    report = run_files(client, files, task, on_result=kill_once)
    assert killed and report.ok and len(report.done) == 8
    assert len(outcomes) == 8 and not any(o.failed for o in outcomes)
    for f in files:
        labels = tifffile.imread(tmp_path / "out" / f"{f.stem}_labels.tif")
        assert labels.shape == (256, 256) and labels.max() > 0
    deadline = time.time() + 60  # the nanny restarts the killed worker
    while len(client.scheduler_info()["workers"]) < 2 and time.time() < deadline:
        time.sleep(0.5)


def test_interrupted_ome_zarr_write_leaves_nothing(tmp_path):
    calls = []

    def paint(box):
        calls.append(box)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return np.ones((box[3] - box[1], box[2] - box[0]), np.int32)

    with pytest.raises(KeyboardInterrupt):
        write_labels_ome_zarr(tmp_path / "x.ome.zarr", (300, 300), paint, chunk=128)
    assert list(tmp_path.iterdir()) == []
    out = write_labels_ome_zarr(tmp_path / "x.ome.zarr", (300, 300), lambda b: np.full((b[3] - b[1], b[2] - b[0]), 7, np.int32),
                                chunk=128, pixel_size=(0.65, 0.65), unit="micrometer")
    assert pixel_size_of(out) == (0.65, 0.65)
    assert int(read_labels_ome_zarr(out).sum().compute()) == 7 * 300 * 300


def test_label_window_equals_the_full_label_image():
    from fastsam_plugin.engine.result import SegmentationResult

    scene = make_scene(3, (300, 260), n_objects=(6, 9))
    masks = scene.masks
    result = SegmentationResult.from_masks(masks, np.zeros((len(masks), 4)), np.ones(len(masks)))
    full = result.labels()
    for box in [(0, 0, 260, 300), (17, 40, 130, 211), (250, 290, 260, 300)]:
        np.testing.assert_array_equal(label_window(result, box), full[box[1]:box[3], box[0]:box[2]])


def test_lazy_tiff_reads_windows_with_one_contrast_for_the_whole_image(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(100, 4000, (3000, 2200), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "big.tif", data, tile=(256, 256))
    lazy = LazyImage(tmp_path / "big.tif")
    assert lazy.shape == (3000, 2200, 3)
    a, valid = lazy.read_window((0, 0, 200, 100))
    b, _ = lazy.read_window((2000, 2900, 2200, 3000))
    assert a.shape == (100, 200, 3) and b.shape == (100, 200, 3) and a.dtype == np.uint8 and valid is None
    # one stretch for every window: equal raw values give equal output values anywhere in the image
    lo, hi = np.percentile(data, (1, 99.8))  # a 3000-px image is sampled at every pixel
    expect = (np.clip((data[:100, :200].astype(float) - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)
    assert np.abs(a[..., 0].astype(int) - expect).max() <= 1


def test_cli_writes_a_zarr_input_as_ome_zarr_and_a_rerun_keeps_it(client, tmp_path, capsys):
    import zarr

    image = make_scene(7, (700, 600), n_objects=(6, 8)).image
    z = zarr.open_array(str(tmp_path / "field.zarr"), mode="w", shape=image.shape, chunks=(256, 256, 3), dtype="uint8")
    z[:] = image
    args = ["segment", str(tmp_path / "field.zarr"), "--out", str(tmp_path / "out"), "--weights", "demo",
            "--device", "cpu", "--tile-size", "400", "--scheduler", client.scheduler.address]
    assert main(args) == 0
    labels = read_labels_ome_zarr(tmp_path / "out" / "field_labels.ome.zarr").compute()
    assert labels.shape == (700, 600) and len(np.unique(labels)) > 3
    assert main(args) == 0  # rerun: the complete result is kept, not recomputed
    assert "already complete" in capsys.readouterr().out


def test_scheduler_local_starts_and_stops_its_own_workers(tmp_path):
    _write_scenes(tmp_path / "in", 2)
    args = ["segment", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--weights", "demo", "--device", "cpu",
            "--scheduler", "local"]
    assert main([*args, "--workers", "1"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["scene0_labels.tif", "scene1_labels.tif"]
    with pytest.raises(SystemExit):  # a usage error naming the flag
        main([*args, "--workers", "0"])
