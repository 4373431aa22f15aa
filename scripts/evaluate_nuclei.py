"""Measure the nuclei segmenter on real data it never saw and write the figures into docs/models.md.

    .venv/bin/python scripts/evaluate_nuclei.py [--weights demo-nuclei] [--data ../shared/data/microscopy]

1. Operating point: imgsz and conf are chosen on the real image's *training*
   columns (0-319), by the best DSB-style AP at IoU 0.5; the held-out columns
   (342-511) are never used to choose anything.
2. Held-out figures (columns 342-511, 36 nuclei) at that operating point and a
   few others: COCO recall at IoU 0.5 / 0.75 and AP at IoU 0.5 (pycocotools),
   DSB-style AP = TP / (TP + FP + FN) at IoU 0.5; the shapes demo model beside it.
3. 3D: the synthetic volume segmented slice by slice, linked into 3D objects
   with ``mask_selectors.stitch_labels``; 3D object recall at IoU 0.5.

The markdown table replaces the block between the ``nuclei-eval`` markers in
docs/models.md and is printed; the machine is read at run time.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from _common import cpu_name

REPO = Path(__file__).resolve().parents[1]
START, END = "<!-- nuclei-eval:start -->", "<!-- nuclei-eval:end -->"
IMGSZ = (384, 512, 640)
CONFS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
NMS_IOUS = (0.5, 0.7, 0.9)  # box IoU of Ultralytics' NMS; FastSAM's everything mode uses 0.9


def machine() -> str:
    import torch

    cpu = cpu_name()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{cpu}, {cores} cores available, {platform.system()} {platform.release()}, Python "
            f"{platform.python_version()}, torch {torch.__version__}, "
            f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")


def object_recall_3d(true: np.ndarray, pred: np.ndarray, threshold: float = 0.5) -> tuple[int, int, int]:
    """(matched true objects, true objects, predicted objects): one-to-one 3D matches at IoU >= threshold."""
    from evaluate_nuclei_3d import match_3d  # the same matching as the CLI's 3-D figures

    found, n_true, n_pred, _ = match_3d(true, pred, threshold)
    return found, n_true, n_pred


def main() -> int:
    import tifffile
    from mask_selectors import stitch_labels

    from fastsam_plugin.engine.imaging import normalize_image
    from fastsam_plugin.engine.model import FastSAMSegmenter
    from fastsam_plugin.evaluation.instances import iou_matrix, matched_pairs, score_image
    from fastsam_plugin.training.nuclei_data import HELD_OUT_COLUMNS, TRAIN_COLUMNS, load_real

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="demo-nuclei")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "microscopy")
    ap.add_argument("--docs", type=Path, default=REPO / "docs" / "models.md")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()

    real = load_real(args.data)
    train, held = real.train_part(), real.held_out_part()
    seg = FastSAMSegmenter(args.weights, device="cpu")

    # 1. operating point from the training columns only (one low-conf pass per imgsz, then thresholds)
    best = None
    train_rgb = normalize_image(train.image)
    for imgsz in IMGSZ:
        for nms in NMS_IOUS:
            low = seg.segment(train_rgb, imgsz=imgsz, conf=min(CONFS), iou=nms, max_det=1000)
            iou = iou_matrix(train.labels, low.masks)  # once per pass; each conf keeps a subset of columns
            for conf in CONFS:
                sub = iou[:, low.scores >= conf]
                tp = matched_pairs(sub, 0.5)
                dsb = tp / (sub.shape[0] + sub.shape[1] - tp)
                print(f"train columns imgsz {imgsz} iou {nms} conf {conf}: {sub.shape[1]} objects, "
                      f"DSB AP@0.5 {dsb:.3f}", flush=True)
                if best is None or dsb > best[0]:
                    best = (dsb, imgsz, conf, nms)
    _, op_imgsz, op_conf, op_iou = best
    print(f"operating point chosen on the training columns: imgsz {op_imgsz}, conf {op_conf}, iou {op_iou}")

    # 2. held-out columns
    rows = []
    t0 = time.perf_counter()
    settings = [(op_imgsz, op_conf, op_iou), *((i, op_conf, op_iou) for i in IMGSZ if i != op_imgsz),
                (op_imgsz, op_conf, 0.9), (op_imgsz, 0.05, op_iou)]
    for imgsz, conf, nms in dict.fromkeys(settings):
        s = score_image(seg, held.image, held.labels, imgsz, conf, iou=nms)
        rows.append((args.weights, imgsz, conf, nms, s))
    seconds = (time.perf_counter() - t0) / len(rows)
    demo = FastSAMSegmenter("demo", device="cpu")
    rows.append(("demo (shapes)", 416, 0.25, 0.9, score_image(demo, held.image, held.labels, 416, 0.25, iou=0.9)))

    # 3. the 3D volume, slice by slice, linked
    volume = tifffile.imread(str(args.data / "nuclei3d_synthetic.tif"))
    true3d = tifffile.imread(str(args.data / "nuclei3d_synthetic_labels.tif"))
    lo, hi = np.percentile(volume, (1.0, 99.8))  # one stretch for the whole volume, not per slice
    volume8 = np.clip((volume.astype(np.float64) - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(np.uint8)
    lines3d = []
    for imgsz in dict.fromkeys((op_imgsz, 128, 64)):  # slices are 61 x 57: the op point upsamples 8x
        per_slice = [seg.segment(normalize_image(volume8[z]), imgsz=imgsz, conf=op_conf, iou=op_iou).labels()
                     for z in range(len(volume8))]
        linked = stitch_labels(np.stack(per_slice), 0.25)
        hit, n_true, n_pred = object_recall_3d(true3d, linked)
        lines3d.append(f"| {imgsz} | {op_conf} | {op_iou} | {hit} / {n_true} = **{hit / n_true:.2f}** | {n_pred} |")

    table = [
        f"Measured by `scripts/evaluate_nuclei.py` on {machine()}.",
        "",
        (f"Held-out real nuclei: `nuclei2d_dsb2018.tif` columns {HELD_OUT_COLUMNS.start}-{HELD_OUT_COLUMNS.stop - 1}"
        f" ({held.labels.shape[0]} x {held.labels.shape[1]} px, {len(np.unique(held.labels)) - 1} nuclei); "
        f"training used columns {TRAIN_COLUMNS.start}-{TRAIN_COLUMNS.stop - 1} only. Operating point chosen on "
        f"the training columns (best DSB-style AP@0.5 over imgsz {IMGSZ} x NMS IoU {NMS_IOUS} x conf {CONFS}): "
        f"**imgsz {op_imgsz}, conf {op_conf}, NMS IoU {op_iou}**. "
        f"About {seconds:.1f} s per held-out image on this CPU."),
        "",
        "| weights | imgsz | conf | NMS IoU | objects found | recall@0.5 | recall@0.75 | COCO AP@0.5 | DSB AP@0.5 | F1@0.5 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, imgsz, conf, nms, s in rows:
        table.append(f"| {name} | {imgsz} | {conf} | {nms} | {s.n_pred} | {s.recall50:.3f} | {s.recall75:.3f} | "
                     f"{s.coco_ap50:.3f} | {s.dsb_ap50:.3f} | {s.f1_50:.3f} |")
    table += [
        "",
        ("3D: `nuclei3d_synthetic.tif` (31 x 61 x 57, 51 labelled nuclei), each slice segmented with the nuclei "
        "model, slices linked by `mask_selectors.stitch_labels` (IoU > 0.25); a true 3D nucleus counts as found "
        "when one linked object matches it with 3D IoU >= 0.5 (one-to-one):"),
        "",
        "| imgsz | conf | NMS IoU | 3D object recall@0.5 | linked objects |",
        "|---|---|---|---|---|",
        *lines3d,
    ]
    text = "\n".join(table)
    print(text)
    if not args.no_write:
        doc = args.docs.read_text(encoding="utf-8")
        if START not in doc or END not in doc:
            raise SystemExit(f"{args.docs} lacks the {START} ... {END} markers.")
        doc = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: f"{START}\n{text}\n{END}", doc,
                     flags=re.DOTALL)
        args.docs.write_text(doc, encoding="utf-8")
        print(f"written into {args.docs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
