"""Dask scale-out: folder throughput with 1 and 2 local workers, and peak memory per worker on a huge Zarr image.

Run alone with ``python bench/bench_distributed.py`` (writes its section of
docs/benchmarks.md) or through ``make bench``. Workers are started and their
models loaded before the clock starts, so the ratio measures the spread of the
work, not start-up. The single-process CLI path runs in the same run as the
reference: more workers must be faster than it, not only than one worker.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table, write_section

TITLE = "Dask scale-out"
HEADER = ("workload", "1 process", "1 worker", "2 workers", "2 workers / 1 worker", "peak RSS per worker")


def _folder(root: Path, n: int, size: int) -> list[Path]:
    import cv2

    from fastsam_plugin.training.synthetic import make_scene

    root.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        p = root / f"scene{i:03d}.png"
        cv2.imwrite(str(p), cv2.cvtColor(make_scene(i, (size, size), n_objects=(6, 10)).image, cv2.COLOR_RGB2BGR))
        files.append(p)
    return files


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _segment_files(client, files, spec) -> float:
    from fastsam_plugin.distributed.batch import run_files

    t0 = time.perf_counter()
    report = run_files(client, files, _task(spec))
    assert report.ok, report.failed
    return time.perf_counter() - t0


def _task(spec):
    from functools import partial

    return partial(_segment_one_file, spec=spec)


def _segment_one_file(path, spec):
    import cv2

    from fastsam_plugin.distributed.worker import worker_session

    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    return len(worker_session(spec).segment(image))


def run(quick: bool = False) -> list[tuple]:
    from distributed import Client, LocalCluster

    from fastsam_plugin.distributed.huge import segment_huge, write_result_ome_zarr
    from fastsam_plugin.distributed.worker import SessionSpec, warm_up, worker_session
    from fastsam_plugin.engine.model import DEMO_PARAMS
    from fastsam_plugin.engine.operating_point import UserChoice
    from fastsam_plugin.io.lazy import LazyImage

    spec = SessionSpec(weights="demo", device="cpu", choice=UserChoice.fixed(DEMO_PARAMS))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        n = 16 if quick else 48
        files = _folder(Path(tmp) / "in", n, 512)
        session = worker_session(spec)  # the single-process reference, model loaded before timing
        t0 = time.perf_counter()
        for f in files:
            _segment_one_file(f, spec)
        single = time.perf_counter() - t0
        del session
        times = {}
        for workers in (1, 2):
            threads = str(2 // workers)
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                              env={"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}) as cluster, \
                    Client(cluster) as client:
                client.run(warm_up, spec)  # start-up and model load outside the clock
                _segment_files(client, files[:2], spec)
                times[workers] = _segment_files(client, files, spec)
        rows.append((f"{n} images 512 x 512 (demo model)", f"{n / single:.2f} img/s", f"{n / times[1]:.2f} img/s",
                     f"{n / times[2]:.2f} img/s", f"{times[1] / times[2]:.2f}x", ""))

        import zarr

        side = 8192 if quick else 16384
        z = zarr.open_array(str(Path(tmp) / "huge.zarr"), mode="w", shape=(side, side, 3), chunks=(1024, 1024, 3),
                            dtype="uint8")
        from fastsam_plugin.training.synthetic import make_scene

        for y in range(0, side, 1024):  # written block by block: this process never holds the image either
            for x in range(0, side, 1024):
                z[y:y + 1024, x:x + 1024] = make_scene(y * 31 + x, (1024, 1024), n_objects=(12, 20)).image
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                          env={"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}) as cluster, Client(cluster) as client:
            client.run(warm_up, spec)
            t0 = time.perf_counter()
            result = segment_huge(client, LazyImage(Path(tmp) / "huge.zarr"), spec)
            write_result_ome_zarr(result, Path(tmp) / "huge_labels.ome.zarr")
            elapsed = time.perf_counter() - t0
            peaks = client.run(_peak_rss_mb)
        rows.append((f"{side} x {side} Zarr, {len(result)} objects, tiles on 2 workers -> OME-Zarr",
                     "", "", f"{elapsed:.0f} s", "",
                     (f"{max(peaks.values()) / 1024:.2f} GB (image {side * side * 3 / 2**30:.2f} GB; "
                      f"client {_peak_rss_mb() / 1024:.2f} GB)")))
    return rows


def main() -> None:
    quick = "--quick" in sys.argv
    rows = run(quick)
    text = table(rows, HEADER)
    print(text)
    write_section(TITLE, f"Measured on {machine()}. `python bench/bench_distributed.py` rewrites this section. "
                         "1 process = the same per-image work in this process with torch on every core; "
                         "workers get one task at a time and torch threads = cores / workers.\n\n" + text)


if __name__ == "__main__":
    main()
