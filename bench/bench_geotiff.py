"""A 20000 x 20000 3-band GeoTIFF segmented by tiles: time and peak memory, outputs georeferenced.

The raster (EPSG:32633, 0.5 m pixels, tiled and deflate-compressed, 1.2 GB
of pixels uncompressed) is a mosaic of 384-px demo scenes, written once
under ``--workdir`` and reused. A fresh process opens it lazily, segments it
tile by tile (each tile read as one window; the raster is never read whole),
writes the label raster as a Cloud-Optimised GeoTIFF and the objects as a
GeoPackage, and reports its peak resident memory (``VmHWM``: Python, torch,
GDAL's block cache and everything else). The script writes its table into
``docs/benchmarks.md`` (between ``<!-- bench_geotiff -->`` markers) with the
machine read at run time.

Run with ``nice -n 10 python bench/bench_geotiff.py [--size 20000] [--backend demo|components]``.
``demo`` is the bundled demo segmenter; ``components`` finds the same objects as
the model-free connected-components backend of the tests (the cost of reading,
merging and writing alone; the demo model needs far more CPU than two shared
cores give in an afternoon at this size).
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table

CELL = 384
DISTINCT_SCENES = 64
GOAL_GB = 4.0
MARK = ("<!-- bench_geotiff -->", "<!-- /bench_geotiff -->")
HEADER = ("GeoTIFF by tiles", "segment", "label COG", "GeoPackage", "objects", "tiles (= window reads)",
          "peak RSS", "goal")


def make_raster(path: Path, size: int, black_background: bool = False) -> None:
    """Write the mosaic strip by strip (never more than one strip of cells in memory).

    With ``black_background`` only the scenes' objects keep their colours (for
    the connected-components backend, which takes every non-black region as one object).
    """
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    from fastsam_plugin.training.synthetic import make_scene

    scenes = []
    for k in range(DISTINCT_SCENES):
        s = make_scene(k, (CELL, CELL))
        image = s.image * s.masks.any(axis=0)[..., None] if black_background else s.image
        scenes.append(image.transpose(2, 0, 1))
    profile = {"driver": "GTiff", "height": size, "width": size, "count": 3, "dtype": "uint8", "crs": "EPSG:32633",
               "transform": from_origin(500_000, 5_600_000, 0.5, 0.5), "tiled": True, "blockxsize": 512,
               "blockysize": 512, "compress": "deflate", "BIGTIFF": "IF_SAFER"}
    tmp = path.with_suffix(".part.tif")
    n = -(-size // CELL)
    with rasterio.open(tmp, "w", **profile) as dst:
        for r in range(n):
            h = min(CELL, size - r * CELL)
            strip = np.zeros((3, h, size), np.uint8)
            for c in range(n):
                w = min(CELL, size - c * CELL)
                strip[:, :, c * CELL:c * CELL + w] = scenes[(r * n + c) % DISTINCT_SCENES][:, :h, :w]
            dst.write(strip, window=Window(0, r * CELL, size, h))
    tmp.rename(path)


def peak_rss_gb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024**2
    return float("nan")


class CroppedComponents:
    """The objects of ``tests/components_backend.py`` (8-connected non-black regions, score 1), built
    box-cropped with regionprops instead of as N full-tile masks: a model-free backend cheap enough for
    20000 x 20000 on two shared cores, so the rows measure reading, merging and writing."""

    def segment(self, image, **params):
        from skimage import measure

        from fastsam_plugin.engine.result import SegmentationResult

        lab = measure.label(np.asarray(image).max(axis=-1) > 0, connectivity=2)
        props = measure.regionprops(lab)
        boxes = np.array([[p.bbox[1], p.bbox[0], p.bbox[3], p.bbox[2]] for p in props]).reshape(-1, 4)
        return SegmentationResult([p.image for p in props], boxes, boxes, np.ones(len(props)), lab.shape, image)


def one(path: Path, out: Path, backend: str, tile: int, overlap: int) -> dict:
    """Runs in a fresh process: segment, write the label COG and the GeoPackage."""
    from fastsam_plugin.engine.model import EverythingParams
    from fastsam_plugin.engine.pipeline import TileOptions
    from fastsam_plugin.engine.session import Session
    from fastsam_plugin.io.geotiff import open_geotiff, write_label_raster
    from fastsam_plugin.io.vectors import write_vectors

    if backend == "components":
        session = Session(segmenter=CroppedComponents(), tiling=TileOptions(True, tile, overlap))
    else:
        session = Session("demo", "cpu", params=EverythingParams(imgsz=tile), tiling=TileOptions(True, tile, overlap))
        _ = session.segmenter
    raster = open_geotiff(path)
    t0 = time.perf_counter()
    result = session.segment(raster)
    t1 = time.perf_counter()
    write_label_raster(out / "labels.tif", result, raster, overwrite=True)
    t2 = time.perf_counter()
    write_vectors(out / "objects.gpkg", result, raster, overwrite=True)
    t3 = time.perf_counter()
    import rasterio

    with rasterio.open(out / "labels.tif") as ds:
        layout = ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT", "GTiff")
        assert ds.crs == raster.crs and ds.transform == raster.transform
    biggest = max(max(x1 - x0, y1 - y0) for x0, y0, x1, y1 in raster.reads)
    return {"segment_s": t1 - t0, "cog_s": t2 - t1, "gpkg_s": t3 - t2, "objects": len(result),
            "reads": len(raster.reads), "largest_read": biggest, "layout": layout, "rss_gb": peak_rss_gb()}


def write_doc(rows: list[tuple], note: str) -> Path:
    doc = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    section = f"{MARK[0]}\n## GeoTIFF (remote sensing)\n\n{note}\n\n{table(rows, HEADER)}\n{MARK[1]}\n"
    if MARK[0] in text and MARK[1] in text:
        head, rest = text.split(MARK[0], 1)
        text = head + section + rest.split(MARK[1], 1)[1].lstrip("\n")
    else:
        anchor = "## How to read these figures"
        text = text.replace(anchor, section + "\n" + anchor, 1) if anchor in text else text + "\n" + section
    doc.write_text(text)
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=20000)
    ap.add_argument("--backend", choices=("demo", "components"), default="demo")
    ap.add_argument("--tile", type=int, default=640)
    ap.add_argument("--overlap", type=int, default=128)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/napari-fastsam-bench"))
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-doc", action="store_true", help="print the table only")
    args = ap.parse_args()
    path = args.workdir / f"mosaic_{args.size}{'_black' if args.backend == 'components' else ''}.tif"
    out = args.workdir / f"out_{args.size}_{args.backend}"
    if args.one:
        print(json.dumps(one(path, out, args.backend, args.tile, args.overlap)))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    out.mkdir(exist_ok=True)
    if not path.exists():
        t0 = time.perf_counter()
        make_raster(path, args.size, black_background=args.backend == "components")
        print(f"wrote {path} in {time.perf_counter() - t0:.0f} s", flush=True)
    cmd = [sys.executable, __file__, "--one", "--size", str(args.size), "--backend", args.backend,
           "--tile", str(args.tile), "--overlap", str(args.overlap), "--workdir", str(args.workdir)]
    d = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
    model = ("demo segmenter, imgsz = tile" if args.backend == "demo"
             else "connected components (no model), objects on black")
    rows = [(f"{args.size} x {args.size} x 3 uint8, tiles {args.tile}/{args.overlap}, {model}",
             f"{d['segment_s']:.0f} s", f"{d['cog_s']:.0f} s ({d['layout']})", f"{d['gpkg_s']:.0f} s", d["objects"],
             f"{d['reads']} (largest {d['largest_read']} px)", f"{d['rss_gb']:.2f} GB",
             f"< {GOAL_GB:.0f} GB: {'met' if d['rss_gb'] < GOAL_GB else 'NOT met'}")]
    print(table(rows, HEADER))
    if not args.no_doc:
        whole = args.size * args.size * 3 / 1e9
        note = (f"Measured {datetime.date.today()} on {machine()}: "
                f"`nice -n 10 python bench/bench_geotiff.py --size {args.size} --backend {args.backend} "
                f"--tile {args.tile} --overlap {args.overlap}` "
                f"(fresh process; peak RSS of everything in it). Read whole, the picture alone would take "
                f"{whole:.1f} GB and its int32 label image {whole * 4 / 3:.1f} GB; here every tile is one "
                "windowed read, the label raster is painted and written in 2048-px blocks and then "
                "turned into a Cloud-Optimised GeoTIFF, and the polygons are traced block by block.")
        if args.backend == "components":
            note += (" Objects are found without a model (connected components: the objects of the tests' "
                     "backend), so the row measures reading, merging and writing; a model adds its time per tile "
                     "and its weights' memory (the demo segmenter: see the tiling table; at 20000 x 20000 it needs "
                     "far more CPU than two shared cores give).")
        print(f"wrote {write_doc(rows, note)}")


if __name__ == "__main__":
    main()
