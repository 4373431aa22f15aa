"""Score a nuclei model on the DSB2018 stage-1 images it never saw, fluorescence and stained tissue apart.

    .venv/bin/python scripts/evaluate_nuclei_dsb.py --weights W [--split test] [--splits WORKDIR/dataset/splits.tsv]
    .venv/bin/python scripts/evaluate_nuclei_dsb.py --weights W --split train --limit 40 --sweep   # choose conf

The split file is the one the training run wrote (whole experiments on one side,
fastsam_plugin/training/dsb2018.py). The model runs at its defaults (the
engine's operating point and scale rule) unless --imgsz/--conf are given;
figures are pooled over the images of each modality (StarDist's matching
accuracy TP/(TP+FP+FN), precision, recall, F1, COCO AP at IoU 0.5..0.9).
--speed times everything mode on 256 x 256 held-out images (images/s, after
one warm-up image). --sweep scores a grid of confidences (choose on --split
train, never on test).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fastsam_plugin.engine.pipeline import ImageOptions
from fastsam_plugin.engine.session import Session
from fastsam_plugin.evaluation.instances import evaluate_instances, format_instances
from fastsam_plugin.io import read_image
from fastsam_plugin.training.dsb2018 import experiment_splits, read_splits

CONFS = (0.1, 0.2, 0.3, 0.4, 0.5)


def pairs_by_modality(items, limit: int | None) -> dict[str, list[tuple[Path, Path]]]:
    out: dict[str, list[tuple[Path, Path]]] = {}
    for it in items:
        out.setdefault(it.modality, []).append((it.image_path, it.label_path))
    if limit:  # an even spread over the (id-sorted) list, not its first images
        out = {m: p[:: max(len(p) // limit, 1)][:limit] for m, p in out.items()}
    return out


def images_per_second(session: Session, paths: list[Path], n: int = 20) -> float:
    """Everything mode on up to ``n`` 256 x 256 images, after one warm-up image."""
    images = [im for im in (read_image(p) for p in paths) if im.shape[:2] == (256, 256)][: n + 1]
    if len(images) < 2:
        return float("nan")
    session.segment(images[0])
    start = time.perf_counter()
    for im in images[1:]:
        session.segment(im)
    return (len(images) - 1) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="demo-nuclei")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared/data/microscopy/dsb2018-stage1")
    ap.add_argument("--splits", type=Path, default=None,
                    help="a training run's splits.tsv (default: the same split, worked out from the images)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--imgsz", type=int, default=None)
    ap.add_argument("--conf", type=float, default=None)
    ap.add_argument("--iou", type=float, default=None, help="NMS IoU (default: the weights' operating point)")
    ap.add_argument("--modality", choices=("fluorescence", "colour"), default=None, help="only this modality")
    ap.add_argument("--limit", type=int, default=None, help="at most N images per modality")
    ap.add_argument("--sweep", action="store_true", help=f"score conf in {CONFS} (accuracy at IoU 0.5)")
    ap.add_argument("--speed", action="store_true", help="images/s at 256 x 256")
    ap.add_argument("--stain", choices=("model", "rgb", "hematoxylin"), default="model",
                    help="stained tissue in the form the model records (model: the engine decides), as it is "
                         "(rgb), or as its hematoxylin channel (colour deconvolution)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args(argv)

    splits = read_splits(args.splits, args.data) if args.splits else experiment_splits(args.data)
    groups = pairs_by_modality(splits[args.split], args.limit)
    if args.modality:
        groups = {args.modality: groups[args.modality]}
    stain = None if args.stain == "model" else args.stain  # the engine's choice, or the one asked for
    session = Session(args.weights, "cpu", image_options=ImageOptions(stain=stain))
    params = session.choose(imgsz=args.imgsz, conf=args.conf, iou=args.iou)  # None: the weights' operating point
    report: dict = {"weights": args.weights, "split": args.split, "stain": args.stain, "imgsz": params.imgsz,
                    "conf": params.conf, "iou": params.iou}
    if args.sweep:
        for conf in CONFS:
            session.choose(conf=conf)
            row = {m: evaluate_instances(session, p)["by_threshold"][0.5]["accuracy"] for m, p in groups.items()}
            print(f"conf {conf:.2f}: " + "  ".join(f"{m} {v:.3f}" for m, v in row.items()), flush=True)
            report[f"conf {conf}"] = row
        session.choose(conf=args.conf)
    else:
        for modality, pairs in groups.items():
            r = evaluate_instances(session, pairs)
            print(f"== {modality} ({args.split}) model {args.weights} imgsz {params.imgsz} conf {params.conf} "
                  f"NMS IoU {params.iou}")
            print(format_instances(r), flush=True)
            report[modality] = {**r, "by_threshold": {str(t): s for t, s in r["by_threshold"].items()}}
    if args.speed:
        paths = [p for pairs in groups.values() for p, _ in pairs]
        report["images per second at 256 x 256"] = ips = images_per_second(session, paths)
        print(f"speed: {ips:.1f} images/s at 256 x 256 (everything mode, CPU)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
