"""``napari-fastsam`` command line: segment, demo, train, eval.

The CLI only parses arguments and writes files; all work is done by
:class:`fastsam_plugin.engine.session.Session` and the training/evaluation modules.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import tifffile

from ..errors import USER_ERRORS
from ..engine.imaging import ImageError
from ..io import IMAGE_SUFFIXES, OutputExistsError, check_free, read_image, result_to_coco, write_json, write_labels
from ..engine.model import DEFAULT_CONF, DEFAULT_IMGSZ, DEFAULT_IOU, DEFAULT_MAX_DET, EverythingParams, ModelLoadError
from ..engine.pipeline import ImageOptions, TileOptions, stack_labels
from ..engine.weights import WeightsNotFoundError

# one file's failure (bad input, or a runtime error such as out-of-memory) is reported; the batch goes on
PER_FILE_ERRORS = (*USER_ERRORS, RuntimeError)


def _floats(text: str, n: int | tuple[int, ...], what: str) -> list[float]:
    counts = n if isinstance(n, tuple) else (n,)
    try:
        values = [float(p) for p in text.replace(" ", "").split(",") if p]
    except ValueError:
        values = []
    if len(values) not in counts:
        raise argparse.ArgumentTypeError(f"{what} {text!r}: expected {' or '.join(map(str, counts))} comma-separated numbers")
    return values


def point_arg(text: str) -> list[float]:
    """``x,y`` (foreground) or ``x,y,label`` with label 1 foreground / 0 background."""
    return _floats(text, (2, 3), "point")


def box_arg(text: str) -> list[float]:
    """``x0,y0,x1,y1`` in image pixels."""
    return _floats(text, 4, "box")


def _collect_inputs(items: list[str]) -> list[Path]:
    files: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(p)
    return files


def _add_model_args(p: argparse.ArgumentParser, default_weights: str | None) -> None:
    p.add_argument("--weights", default=default_weights, help="demo, FastSAM-s, FastSAM-x or a .pt path "
                   "(default: $NAPARI_FASTSAM_WEIGHTS, else FastSAM-s)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--imgsz", type=int, default=DEFAULT_IMGSZ)
    p.add_argument("--conf", type=float, default=DEFAULT_CONF)
    p.add_argument("--iou", type=float, default=DEFAULT_IOU)
    p.add_argument("--max-det", type=int, default=DEFAULT_MAX_DET, help="most objects per image (proposals: up to 1000)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="napari-fastsam", description="FastSAM for scientific images.")
    sub = parser.add_subparsers(dest="command", required=True)

    seg = sub.add_parser("segment", help="segment images or folders; write label TIFFs (and COCO JSON)")
    seg.add_argument("inputs", nargs="+", help="image files or folders")
    seg.add_argument("--out", required=True, type=Path, help="output folder")
    _add_model_args(seg, None)
    seg.add_argument("--points", type=point_arg, nargs="+", metavar="X,Y[,L]", help="point prompts")
    seg.add_argument("--box", type=box_arg, nargs="+", metavar="X0,Y0,X1,Y1", help="box prompts")
    seg.add_argument("--text", help="text prompt (needs CLIP weights)")
    seg.add_argument("--top-k", type=int, default=1)
    seg.add_argument("--clip-model", default="ViT-B-32", help="open_clip model name, or demo")
    seg.add_argument("--clip-pretrained", default=None, help="open_clip tag or local checkpoint")
    seg.add_argument("--channels", type=lambda s: tuple(int(c) for c in s.split(",")), help="e.g. 0,2")
    seg.add_argument("--percentiles", type=lambda s: tuple(_floats(s, 2, "percentiles")), help="e.g. 1,99.8")
    seg.add_argument("--stack", action="store_true", help="treat 3D arrays (Z, H, W) as stacks of slices")
    seg.add_argument("--tile", choices=("auto", "on", "off"), default="auto")
    seg.add_argument("--tile-size", type=int, default=1024)
    seg.add_argument("--smooth", action="store_true", help="close/open prompt selections")
    seg.add_argument("--coco", action="store_true", help="also write COCO JSON with RLE masks and box proposals")
    seg.add_argument("--edges", action="store_true", help="also write the edge map (<name>_edges.tif)")
    seg.add_argument("--overwrite", action="store_true", help="replace existing outputs")

    demo = sub.add_parser("demo", help="run the bundled demo models on a generated scene (offline)")
    demo.add_argument("--out", type=Path, default=Path("demo_out"))
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument("--device", default="auto")

    train = sub.add_parser("train", help="train or fine-tune a class-agnostic FastSAM-style model")
    src = train.add_mutually_exclusive_group(required=True)
    src.add_argument("--synthetic", type=int, metavar="N", help="generate N synthetic training scenes")
    src.add_argument("--coco", type=Path, metavar="JSON", help="COCO instance annotations (with --images)")
    src.add_argument("--sa1b", type=Path, metavar="DIR", help="SA-1B folder of image + per-image JSON")
    src.add_argument("--label-folder", type=Path, metavar="DIR", help="label images (with --images)")
    src.add_argument("--bsds", type=Path, metavar="ROOT", help="BSDS500 root (images/, groundTruth/)")
    src.add_argument("--data", type=Path, metavar="YAML", help="an existing Ultralytics data.yaml")
    train.add_argument("--images", type=Path, help="image folder for --coco / --label-folder")
    train.add_argument("--val-fraction", type=float, default=0.1)
    train.add_argument("--n-val", type=int, default=100, help="validation scenes for --synthetic")
    train.add_argument("--model", default="demo", help="demo, FastSAM-s, FastSAM-x, a YAML or a .pt")
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--imgsz", type=int, default=320)
    train.add_argument("--batch", type=int, default=16)
    train.add_argument("--device", default="cpu")
    train.add_argument("--reg-max", type=int, default=None)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--workdir", type=Path, default=Path("runs/fastsam"))
    train.add_argument("--name", default="train")
    clip = sub.add_parser("train-demo-clip", help="train the small demo CLIP on synthetic shape crops")
    clip.add_argument("--out", type=Path, required=True, help="checkpoint to write (.pt)")
    clip.add_argument("--scenes", type=int, default=2000)
    clip.add_argument("--steps", type=int, default=800)
    clip.add_argument("--batch", type=int, default=256)
    clip.add_argument("--seed", type=int, default=0)

    ev = sub.add_parser("eval", help="class-agnostic AR with pycocotools; BSDS500 boundary ODS/OIS")
    src = ev.add_mutually_exclusive_group(required=True)
    src.add_argument("--gt", type=Path, metavar="JSON", help="COCO ground truth (with --images)")
    src.add_argument("--bsds", type=Path, metavar="ROOT", help="BSDS500 root: region AR and boundary ODS/OIS")
    ev.add_argument("--images", type=Path, help="image folder for --gt")
    ev.add_argument("--predictions", type=Path, help="score this COCO results JSON instead of running a model")
    ev.add_argument("--box-prompts", action="store_true", help="also ground-truth boxes as prompts -> AP")
    ev.add_argument("--split", default="val")
    ev.add_argument("--limit", type=int, default=None, help="evaluate the first N images only")
    _add_model_args(ev, None)
    return parser


def cmd_eval(args) -> int:
    from ..evaluation.runner import evaluate_bsds, evaluate_coco
    from ..engine.session import Session

    session = Session(args.weights, args.device, params=EverythingParams(args.imgsz, args.conf, args.iou, args.max_det),
                      tiling=TileOptions(enabled=False))
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


def _selection_outputs(session, result, args) -> dict[str, np.ndarray]:
    outs: dict[str, np.ndarray] = {}
    if args.points:
        pts = np.array([p[:2] for p in args.points])
        lab = np.array([int(p[2]) if len(p) == 3 else 1 for p in args.points])
        outs["points"] = session.select_points(result, pts, lab, smooth=args.smooth).astype(np.int32)
    if args.box:
        # one id per box, in the order given
        outs["box"] = session.selection_labels(result, session.select_boxes(result, np.array(args.box)),
                                               smooth=args.smooth)
    if args.text:
        match = session.select_text(result, args.text, top_k=args.top_k)
        outs["text"] = session.selection_labels(result, match.indices[0], first_on_top=True)  # id 1 = best
        print(f"  text {args.text!r}: objects {match.indices[0].tolist()} scores {np.round(match.scores[0], 3).tolist()}")
    return outs


def cmd_segment(args) -> int:
    from tqdm import tqdm

    from ..engine.session import Session

    files = _collect_inputs(args.inputs)
    if not files:
        print("error: no input images found", file=sys.stderr)
        return 2
    session = Session(
        args.weights,
        args.device,
        clip_model=args.clip_model,
        clip_pretrained=args.clip_pretrained,
        params=EverythingParams(args.imgsz, args.conf, args.iou, args.max_det),
        image_options=ImageOptions(channels=args.channels, percentiles=args.percentiles),
        tiling=TileOptions(enabled={"auto": None, "on": True, "off": False}[args.tile], tile=args.tile_size),
    )
    try:
        _ = session.segmenter  # fail once, early, on missing weights
    except (WeightsNotFoundError, ModelLoadError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for path in tqdm(files, desc="segment", unit="image"):
        try:
            _segment_one(session, path, args)
        except OutputExistsError as exc:
            tqdm.write(f"skipped {path.name}: {exc}")
        except PER_FILE_ERRORS as exc:
            failed += 1
            tqdm.write(f"failed {path}: {exc}")
    print(f"{len(files) - failed} of {len(files)} image(s) done; outputs in {args.out}")
    return 1 if failed else 0


def _segment_one(session, path: Path, args) -> None:
    image = read_image(path)
    stem = args.out / path.stem
    if args.stack and image.ndim >= 3 and not (image.ndim == 3 and image.shape[-1] in (3, 4)):
        results = session.segment_stack(image)
        write_labels(f"{stem}_labels.tif", stack_labels(results), overwrite=args.overwrite)
        return
    result = session.segment(image)
    write_labels(f"{stem}_labels.tif", result.labels(), overwrite=args.overwrite)
    if args.coco:
        write_json(f"{stem}_proposals.json", result_to_coco(result, file_name=path.name), overwrite=args.overwrite)
    if args.edges:
        from ..engine.edges import edge_map

        check_free(Path(f"{stem}_edges.tif"), args.overwrite)
        tifffile.imwrite(f"{stem}_edges.tif", edge_map(result))
    for name, lab in _selection_outputs(session, result, args).items():
        write_labels(f"{stem}_{name}.tif", lab, overwrite=args.overwrite)


def cmd_train(args) -> int:
    from ..training import convert
    from ..training.train import synthetic_dataset, train

    work = args.workdir / args.name
    if args.data:
        data = args.data
    elif args.synthetic:
        data = synthetic_dataset(work / "dataset", args.synthetic, args.n_val, seed=args.seed, size=args.imgsz)
    else:
        data = convert.build_dataset(
            work / "dataset",
            coco=args.coco,
            sa1b=args.sa1b,
            label_folder=args.label_folder,
            bsds=args.bsds,
            images=args.images,
            val_fraction=args.val_fraction,
            seed=args.seed,
        )
    best = train(
        data, args.model, epochs=args.epochs, imgsz=args.imgsz, batch=args.batch, device=args.device,
        project=args.workdir, name=args.name, reg_max=args.reg_max, seed=args.seed,
    )
    print(f"best checkpoint: {best}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "segment":
            return cmd_segment(args)
        if args.command == "demo":
            from .demo import run_demo

            run_demo(args.out, seed=args.seed, device=args.device)
            return 0
        if args.command == "train":
            return cmd_train(args)
        if args.command == "eval":
            return cmd_eval(args)
        if args.command == "train-demo-clip":
            from ..training.clip_demo import train_demo_clip

            path = train_demo_clip(args.out, n_scenes=args.scenes, steps=args.steps, batch=args.batch, seed=args.seed)
            print(f"demo CLIP checkpoint: {path}")
            return 0
    except (WeightsNotFoundError, ModelLoadError, ImageError, OutputExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
