"""``napari-fastsam eval``: COCO AR/AP with pycocotools and BSDS500 boundaries, thin over evaluation/."""

from __future__ import annotations

import sys
from pathlib import Path

from ..engine.pipeline import TileOptions
from .args import add_model_args, model_params


def add_parser(sub) -> None:
    ev = sub.add_parser("eval", help="class-agnostic AR with pycocotools; BSDS500 boundary ODS/OIS")
    src = ev.add_mutually_exclusive_group(required=True)
    src.add_argument("--gt", type=Path, metavar="JSON", help="COCO ground truth (with --images)")
    src.add_argument("--bsds", type=Path, metavar="ROOT", help="BSDS500 root: region AR and boundary ODS/OIS")
    ev.add_argument("--images", type=Path, help="image folder for --gt")
    ev.add_argument("--predictions", type=Path, help="score this COCO results JSON instead of running a model")
    ev.add_argument("--box-prompts", action="store_true", help="also ground-truth boxes as prompts -> AP")
    ev.add_argument("--split", default="val")
    ev.add_argument("--limit", type=int, default=None, help="evaluate the first N images only")
    add_model_args(ev, None)
    ev.set_defaults(func=cmd_eval)


def cmd_eval(args) -> int:
    from ..engine.session import Session
    from ..evaluation.runner import evaluate_bsds, evaluate_coco

    session = Session(args.weights, args.device, params=model_params(args), tiling=TileOptions(enabled=False))
    if args.predictions is None:  # a model will run: at the weights' operating point unless imgsz/conf are given
        session.use_operating_point(args.imgsz, args.conf)
    if args.bsds:
        scores = evaluate_bsds(session, args.bsds, split=args.split, limit=args.limit)
    else:
        if args.images is None and args.predictions is None:
            print("error: --gt needs --images (or --predictions)", file=sys.stderr)
            return 2
        scores = evaluate_coco(session, args.gt, args.images, predictions=args.predictions,
                               box_prompts=args.box_prompts, limit=args.limit)
    width = max(len(k) for k in scores)
    for key, value in scores.items():
        print(f"{key:<{width}}  {value:.4f}")
    return 0
