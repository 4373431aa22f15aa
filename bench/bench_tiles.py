"""Tiles per second: a folder of real 256 x 256 NAIP tiles through ``napari-fastsam segment``.

The 43 validation tiles of the Urban Tree Detection data (``../shared/data/aerial/urban-trees``, read in place,
never copied) go through the command line's batch path, in this process: one ``Session``, the model
loaded once, then every tile read as a GeoTIFF, segmented and written as a georeferenced label raster.
Three settings of the same trees model, run in turn (interleaved, so load on a shared machine hits both):

* its operating point (imgsz 416: each 256-px tile upsampled 1.6x, the size chosen on the training tiles);
* imgsz 1024, FastSAM's default: each 256-px tile upsampled 4x (16x the pixels), as a model without
  an operating point would run it.
* both again with one torch thread (as ``OMP_NUM_THREADS=1`` sets it).

Per setting: the whole command on N tiles (one model load included) and on one tile; the steady
rate is ``(N - 1) / (T_N - T_1)``, the load and start-up cancelling out. N is all 43 tiles at the
operating point and the first 10 at imgsz 1024 (a rate per tile either way; two shared CPUs need
minutes for 43 tiles at 1024).

``nice -n 10 python bench/bench_tiles.py [--weights demo-trees] [--quick]`` writes its section of docs/benchmarks.md.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table, write_section

NAIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "aerial" / "urban-trees"
TITLE = "Tiles per second (256 x 256 NAIP tiles, `napari-fastsam segment`)"
HEADER = ("setting", "imgsz", "tiles", "whole command", "tiles/s (whole command)", "tiles/s (steady)",
          "ms per tile", "CPU ms per tile", "goal 10 tiles/s")
WEIGHTS = "demo-trees"
GOAL = 10.0
NOTE = ("The validation tiles (`val_socal`) of `../shared/data/aerial/urban-trees` through `napari-fastsam segment "
        "TILES... --out DIR` (GeoTIFF in, georeferenced label raster out), one model load per command; the model's "
        "recorded bands are applied by the command itself (no --bands). *Steady*: (N - 1) / (T_N - T_1), the command "
        "timed on N tiles and on one, so start-up and the model load cancel out (imgsz 1024 on the first 10 tiles). "
        "*CPU ms per tile*: the process's CPU time (all threads) per tile, the same way. On two CPUs shared with "
        "other work, torch's two threads wait for each other (each one's share of a CPU comes and goes): one thread "
        "(`OMP_NUM_THREADS=1`) costs far less CPU per tile there.")


def tiles(limit: int | None = None) -> list[Path]:
    """The validation tiles, in the split file's order."""
    names = (NAIP / "val_socal.txt").read_text().split()
    return [NAIP / "images" / f"{n}.tif" for n in names[:limit]]


def segment_seconds(files: list[Path], weights: str, imgsz: int | None, extra: tuple[str, ...] = (),
                    threads: int | None = None) -> tuple[float, float]:
    """Wall and CPU time (all threads of this process) of one ``napari-fastsam segment`` run over ``files``
    (fresh output folder; output silenced). ``threads``: torch's CPU threads for the run, as
    ``OMP_NUM_THREADS`` would set them (default: as they are)."""
    import torch

    from fastsam_plugin.cli.main import main

    argv = ["segment", *map(str, files), "--weights", weights, "--device", "cpu", *extra]
    if imgsz is not None:
        argv += ["--imgsz", str(imgsz)]
    with tempfile.TemporaryDirectory() as out:
        sink = io.StringIO()
        before = torch.get_num_threads()
        torch.set_num_threads(threads or before)
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                code = main([*argv, "--out", out])
        finally:
            seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
            torch.set_num_threads(before)
        written = len(list(Path(out).glob("*_labels.tif")))
    if code != 0 or written != len(files):
        raise RuntimeError(f"segment exited {code} with {written} of {len(files)} label rasters:\n{sink.getvalue()}")
    return seconds, cpu


def run(quick: bool = False, weights: str = WEIGHTS, extra: tuple[str, ...] = (), repeat: int = 1,
        label: str | None = None) -> list[tuple]:
    if not NAIP.is_dir():
        return [("../shared/data/aerial/urban-trees absent: not measured", *[""] * (len(HEADER) - 1))]
    files = tiles(10 if quick else None)
    # (name, imgsz, tiles, torch threads): imgsz None = the weights' operating point; threads None = as set
    settings = [("operating point", None, files, None), ("FastSAM's default size", 1024, files[:10], None),
                ("operating point, 1 torch thread (OMP_NUM_THREADS=1)", None, files, 1),
                ("FastSAM's default size, 1 torch thread", 1024, files[:10], 1)]
    segment_seconds(files[:1], weights, None, extra)  # imports and first-call set-up, not measured
    whole: dict[int, list[tuple[float, float]]] = {k: [] for k in range(len(settings))}
    one: dict[int, list[tuple[float, float]]] = {k: [] for k in range(len(settings))}
    for _ in range(repeat):  # interleaved, best of `repeat`
        for k, (_, imgsz, some, threads) in enumerate(settings):
            one[k].append(segment_seconds(some[:1], weights, imgsz, extra, threads))
            whole[k].append(segment_seconds(some, weights, imgsz, extra, threads))
    from fastsam_plugin.engine.session import Session

    point = Session(weights, "cpu").choose().imgsz  # a name's entry or a checkpoint's record
    rows = []
    for k, (name, imgsz, some, _) in enumerate(settings):
        n = len(some)
        (t_n, c_n), (t_1, c_1) = min(whole[k]), min(one[k])
        steady = (n - 1) / max(t_n - t_1, 1e-9)
        cpu = (c_n - c_1) / (n - 1)
        size = imgsz or point
        rows.append((f"{label or weights}, {name}", size, n, f"{t_n:.1f} s", f"{n / t_n:.1f}", f"{steady:.2f}",
                     f"{1000 / steady:.0f}", f"{cpu * 1000:.0f}", "met" if steady >= GOAL else "not met"))
    return rows


def main() -> None:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default=WEIGHTS)
    p.add_argument("--label", help="name of the weights in the table (default: --weights)")
    p.add_argument("--bands", help="pass --bands to segment (default: the bands the model records)")
    p.add_argument("--quick", action="store_true", help="10 tiles")
    p.add_argument("--repeat", type=int, default=1, help="runs per setting, interleaved; the best counts")
    p.add_argument("--print-only", action="store_true", help="print the table; leave docs/benchmarks.md alone")
    a = p.parse_args()
    extra = ("--bands", a.bands) if a.bands else ()
    conditions = machine()  # read before the run: the load average at the start
    rows = run(a.quick, a.weights, extra, a.repeat, a.label)
    text = table(rows, HEADER)
    print(text)
    if a.print_only:
        return
    write_section(TITLE, f"{text}\n\n{NOTE} Measured with `nice -n 10 python bench/bench_tiles.py` on {conditions}.")


if __name__ == "__main__":
    main()
