"""Whole aerial scenes vs tile by tile: demo-trees F1 at default settings (issue #29).

The held-out ``val_socal`` NAIP tiles (256 x 256, 0.6 m) are scored one by one, then laid 4 x 4
into 1024 x 1024 scenes (and 2 x 2 into 512 x 512) and scored again at the same defaults, once with
the model's recorded scale (tiles of the model's size) and once with the fixed input size of earlier
versions. Prints F1 for each and the ratio scene / tile-by-tile, measured side by side in one run.

    .venv/bin/python bench/bench_scale.py [--shared ../shared/data] [--grid 4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fastsam_plugin.engine.session import Session  # noqa: E402
from fastsam_plugin.evaluation.points import PointCounts, count_box_matches, pixel_centres  # noqa: E402
from fastsam_plugin.training.trees_data import dataset_root, false_colour, read_tile, split_names  # noqa: E402


def mosaics(root: Path, names: list[str], grid: int):
    """Yield (scene, points) for consecutive groups of grid x grid tiles; points in (x, y) scene pixels."""
    per = grid * grid
    for start in range(0, len(names) - per + 1, per):
        tiles = [read_tile(root, n) for n in names[start:start + per]]
        size = tiles[0][0].shape[0]
        scene = np.zeros((grid * size, grid * size, tiles[0][0].shape[2]), tiles[0][0].dtype)
        points = []
        for k, (image, pts) in enumerate(tiles):
            y, x = divmod(k, grid)
            scene[y * size:(y + 1) * size, x * size:(x + 1) * size] = image
            points.append(np.asarray(pts, float) + [x * size, y * size])
        yield scene, np.concatenate(points)


def score(session: Session, items, bands) -> tuple[float, float]:
    counts, seconds = PointCounts(), 0.0
    for image, points in items:
        t0 = time.perf_counter()
        result = session.segment(false_colour(image, bands))
        seconds += time.perf_counter() - t0
        counts += count_box_matches(pixel_centres(points), result.boxes)
    return counts.scores()["F1"], seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--grid", type=int, nargs="+", default=[4, 2])
    args = parser.parse_args()
    root = dataset_root(args.shared)
    names = split_names(root, "val")
    session = Session("demo-trees", "cpu")
    bands = session.model_bands
    fixed = Session("demo-trees", "cpu")
    fixed.segmenter  # noqa: B018
    fixed._model_scale = None  # the fixed 416 px input of earlier versions (the "before" row)
    used = 16 * (len(names) // 16)
    f1_tiles, s_tiles = score(session, (read_tile(root, n) for n in names[:used]), bands)
    print(f"{used} val_socal tiles one by one: F1 {f1_tiles:.3f} ({s_tiles:.1f} s)")
    for grid in args.grid:
        side = 256 * grid
        f1_scale, s_scale = score(session, mosaics(root, names[:used], grid), bands)
        f1_fixed, s_fixed = score(fixed, mosaics(root, names[:used], grid), bands)
        print(f"{side} x {side} scenes, model's scale: F1 {f1_scale:.3f} ({s_scale:.1f} s), "
              f"scene / tiles {f1_scale / f1_tiles:.3f}; fixed 416 px input: F1 {f1_fixed:.3f} ({s_fixed:.1f} s)")
        plan = session.scale_plan((side, side))
        print(f"  plan: {plan.describe(0.6, 'm')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
