"""Tiling: time, peak memory and seam quality on large mosaics, and a 20-slice stack.

Each size runs in a fresh process so that its peak RSS is its own. The image
is a mosaic of 384-px demo scenes, so ground truth is known; tiles of 640 px
(overlap 128) do not line up with the scenes, so many objects cross tile
borders. Quality: recall at IoU 0.5 of ground-truth objects over 200 px, each
found as one mask.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np
from _common import table

CELL = 384


def _mosaic(size: int):
    from fastsam_plugin.training.synthetic import make_scene

    n = size // CELL
    image = np.zeros((size, size, 3), np.uint8)
    truth = {}
    for r in range(n):
        for c in range(n):
            s = make_scene(r * n + c, (CELL, CELL))
            image[r * CELL:(r + 1) * CELL, c * CELL:(c + 1) * CELL] = s.image
            truth[(r, c)] = s.masks[s.masks.sum(axis=(1, 2)) > 200]
    return image, truth


def peak_rss_gb() -> float:
    """Peak resident memory of this process in GB.

    ``VmHWM`` belongs to the address space created at exec, unlike ``ru_maxrss``,
    which keeps the parent's peak from before the fork.
    """
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024**2  # kB -> GB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def one_size(size: int) -> dict:
    from fastsam_plugin.engine.model import EverythingParams
    from fastsam_plugin.engine.pipeline import TileOptions
    from fastsam_plugin.engine.session import Session

    image, truth = _mosaic(size)
    session = Session("demo", "cpu", params=EverythingParams(imgsz=640), tiling=TileOptions(True, 640, 128))
    t0 = time.perf_counter()
    result = session.segment(image)
    elapsed = time.perf_counter() - t0
    found = total = 0
    b = result.pixel_boxes
    for (r, c), masks in truth.items():
        box = (c * CELL, r * CELL, (c + 1) * CELL, (r + 1) * CELL)
        cand = np.flatnonzero((b[:, 0] < box[2]) & (b[:, 2] > box[0]) & (b[:, 1] < box[3]) & (b[:, 3] > box[1]))
        pred = result.window(cand, box)
        for m in masks:
            inter = (pred & m).sum(axis=(1, 2))
            union = (pred | m).sum(axis=(1, 2))
            found += int(len(cand) > 0 and (inter / np.maximum(union, 1)).max() >= 0.5)
            total += 1
    rss = peak_rss_gb()
    return {"size": size, "seconds": elapsed, "objects": len(result), "recall50": found / total, "rss_gb": rss}


def stack(depth: int = 20) -> float:
    from fastsam_plugin.engine.model import EverythingParams
    from fastsam_plugin.engine.session import Session
    from fastsam_plugin.training.synthetic import make_stack

    vol = make_stack(0, depth=depth, size=(256, 256))
    session = Session("demo", "cpu", params=EverythingParams(imgsz=320))
    t0 = time.perf_counter()
    session.segment_stack(vol)
    return time.perf_counter() - t0


def run(quick: bool = False) -> list[tuple]:
    rows = []
    for size in ((2048, 4096) if quick else (4096, 8192)):
        out = subprocess.run([sys.executable, __file__, "--one", str(size)], capture_output=True, text=True, check=True)
        d = json.loads(out.stdout.strip().splitlines()[-1])
        goal = "peak RSS < 6 GB" if size == 8192 else ""
        rows.append((f"{size} x {size} RGB, tiles 640/128", f"{d['seconds']:.0f} s", d["objects"],
                     f"{d['recall50']:.3f}", f"{d['rss_gb']:.2f} GB", goal))
    t = stack(20)
    rows.append(("stack 20 x 256 x 256 uint16", f"{t:.1f} s ({t / 20:.2f} s/slice)", "", "", "", ""))
    return rows


HEADER = ("tiling (demo model, CPU)", "time", "objects", "recall@0.5", "peak RSS", "goal")

if __name__ == "__main__":
    if "--one" in sys.argv:
        print(json.dumps(one_size(int(sys.argv[sys.argv.index("--one") + 1]))))
    else:
        print(table(run("--quick" in sys.argv), HEADER))
