"""Outputs of huge images: COCO RLE per object crop and edge maps per tile, against whole-image work.

A synthetic everything-mode result (random ellipses, 5 to 60 px radius, as
many objects as the issue's 20000 x 20000 run found) stands in for the model,
whose own cost is measured in "Tiling and stacks". Each case runs in a fresh
process so its peak RSS (VmHWM) is its own.

* COCO: ``result_to_coco`` encodes each object's RLE from its crop. The
  former way built a full-size mask per object; it is timed on a sample of
  objects and scaled to all of them.
* Edges: ``edge_map`` works in 2048-px tiles; ``tile = image side`` is the
  former whole-image computation (full-size magnitude, gradient and angle
  arrays), run side by side at a size this machine can hold.

Run: ``nice -n 10 python bench/bench_outputs.py`` (writes its section of
docs/benchmarks.md), or through ``bench/run_all.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import table, write_section  # noqa: E402

HEADER = ("case", "image", "objects", "time", "peak RSS", "vs former")
TITLE = "Huge images: COCO and edge outputs"


def synthetic_result(size: int, n: int, seed: int = 0):
    """A SegmentationResult of ``n`` ellipses on a ``size`` x ``size`` image (crops only; no image)."""
    import cv2

    from fastsam_plugin.engine.result import SegmentationResult

    rng = np.random.default_rng(seed)
    crops, boxes = [], []
    for _ in range(n):
        r = int(rng.integers(5, 61))
        canvas = np.zeros((2 * r + 1, 2 * r + 1), np.uint8)
        axes = (r, max(2, int(r * rng.uniform(0.4, 1.0))))
        cv2.ellipse(canvas, (r, r), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        ys, xs = np.nonzero(canvas)
        crop = canvas[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1].astype(bool)
        x0, y0 = int(rng.integers(0, size - crop.shape[1])), int(rng.integers(0, size - crop.shape[0]))
        crops.append(crop)
        boxes.append((x0, y0, x0 + crop.shape[1], y0 + crop.shape[0]))
    boxes = np.array(boxes)
    return SegmentationResult(crops, boxes, boxes.astype(np.float32), np.ones(n), (size, size))


def peak_rss_gb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024**2
    return float("nan")


def child(case: str, size: int, n: int) -> dict:
    """One measurement, in this (fresh) process."""
    result = synthetic_result(size, n)
    base = peak_rss_gb()
    t0 = time.perf_counter()
    if case == "coco":
        from fastsam_plugin.io.coco import result_to_coco

        coco = result_to_coco(result)
        assert len(coco["annotations"]) == n
    elif case == "coco-former":  # a full-size mask per object, as before; a sample of objects
        from fastsam_plugin.io.coco import encode_rle

        for i in range(n):
            full = np.zeros(result.shape, bool)
            x0, y0, x1, y1 = result.pixel_boxes[i]
            full[y0:y1, x0:x1] = result.crops[i]
            encode_rle(full)
    elif case.startswith("edges"):
        from fastsam_plugin.engine.edges import edge_map

        edge_map(result, tile=size if case == "edges-whole" else 2048)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_gb": peak_rss_gb(), "base_gb": base}


def measure(case: str, size: int, n: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", case, str(size), str(n)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> list[tuple]:
    big, n_big = (6000, 2000) if quick else (20000, 20861)  # 20,861 objects: the 20000 x 20000 run
    mid = 3000 if quick else 8000
    n_mid = max(1, n_big * mid * mid // (big * big))
    sample = 3 if quick else 5
    rows = []
    coco = measure("coco", big, n_big)
    former = measure("coco-former", big, sample)
    former_total = former["seconds"] / sample * n_big
    rows.append(("COCO RLE per crop", f"{big} x {big}", n_big, f"{coco['seconds']:.1f} s",
                 f"{coco['peak_gb']:.2f} GB", f"{former_total / coco['seconds']:.0f}x faster"))
    rows.append(("COCO, full mask per object (former; timed on a sample)", f"{big} x {big}", n_big,
                 f"{former_total / 60:.0f} min (est.)", f"{former['peak_gb']:.2f} GB", ""))
    tiled_big = measure("edges", big, n_big)
    rows.append(("edge map per 2048-px tile", f"{big} x {big}", n_big, f"{tiled_big['seconds']:.1f} s",
                 f"{tiled_big['peak_gb']:.2f} GB", ""))
    tiled, whole = measure("edges", mid, n_mid), measure("edges-whole", mid, n_mid)
    rows.append(("edge map per 2048-px tile", f"{mid} x {mid}", n_mid, f"{tiled['seconds']:.1f} s",
                 f"{tiled['peak_gb']:.2f} GB",
                 f"{(whole['peak_gb'] - whole['base_gb']) / max(tiled['peak_gb'] - tiled['base_gb'], 1e-3):.1f}x "
                 "less added memory"))
    rows.append(("edge map, whole image at once (former)", f"{mid} x {mid}", n_mid, f"{whole['seconds']:.1f} s",
                 f"{whole['peak_gb']:.2f} GB", ""))
    return rows


if __name__ == "__main__":
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        print(json.dumps(child(sys.argv[i + 1], int(sys.argv[i + 2]), int(sys.argv[i + 3]))))
    else:
        rows = run("--quick" in sys.argv)
        text = table(rows, HEADER)
        print(text)
        import os

        write_section(TITLE, f"{text}\n\nSynthetic results (ellipses, 5-60 px radius) stand in for the model; peak RSS "
                      "includes the result itself. Measured with `nice -n 10 python bench/bench_outputs.py` at load "
                      f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPU(s).")
