"""A whole aerial scene end to end with demo-trees: time, tiles and km^2 per minute, peak memory (issue #29).

Builds a SIZE x SIZE 4-band GeoTIFF (0.6 m pixels, EPSG:26911, tiled, deflate) from the real NAIP
tiles of ``../shared/data/aerial/urban-trees`` laid side by side, then runs
``napari-fastsam segment SCENE --weights demo-trees --vector gpkg`` in a fresh process and reports
its wall time, the model tiles it ran (the scale rule's 256 px tiles), the area per minute and the
process's peak resident memory.

    .venv/bin/python bench/bench_scene.py [--size 10000] [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def build_scene(path: Path, size: int, shared: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    from fastsam_plugin.training.trees_data import dataset_root, read_tile, split_names

    root = dataset_root(shared)
    names = split_names(root, "train") + split_names(root, "val")
    tiles = [read_tile(root, n)[0] for n in names]
    side = tiles[0].shape[0]
    profile = dict(driver="GTiff", width=size, height=size, count=4, dtype="uint8", crs="EPSG:26911",
                   transform=from_origin(430000, 3780000, 0.6, 0.6), tiled=True, blockxsize=512, blockysize=512,
                   compress="deflate", BIGTIFF="IF_SAFER")
    rng = np.random.default_rng(0)
    with rasterio.open(path, "w", **profile) as ds:
        for y in range(0, size, side):
            for x in range(0, size, side):
                tile = tiles[rng.integers(len(tiles))]
                h, w = min(side, size - y), min(side, size - x)
                ds.write(np.moveaxis(tile[:h, :w], -1, 0), window=Window(x, y, w, h))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scene = Path(tmp) / "scene.tif"
        t0 = time.perf_counter()
        build_scene(scene, args.size, args.shared)
        print(f"scene {args.size} x {args.size} x 4 built in {time.perf_counter() - t0:.0f} s "
              f"({scene.stat().st_size / 1e6:.0f} MB on disk)")
        cmd = [sys.executable, "-m", "fastsam_plugin.cli", "segment", str(scene), "--out", str(Path(tmp) / "out"),
               "--weights", "demo-trees", "--device", "cpu", "--vector", "gpkg"]
        t0 = time.perf_counter()
        run = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if run.returncode != 0:
            print(run.stdout[-2000:], run.stderr[-2000:])
            return 1
        peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6  # kB on Linux
        plan = next(line for line in run.stdout.splitlines() if line.startswith("scene.tif:"))
        from fastsam_plugin.engine.tiling import plan_tiles

        tile = int(plan.split("tiles of ")[1].split(" px")[0])
        n_tiles = len(plan_tiles((args.size, args.size), tile, tile // 8))
        km2 = (args.size * 0.6) ** 2 / 1e6
        print(plan)
        print(f"end to end {seconds:.0f} s: {n_tiles} model tiles, {n_tiles / seconds:.1f} tiles/s, "
              f"{km2 / seconds * 60:.2f} km^2/min at 0.6 m; peak memory {peak_gb:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
