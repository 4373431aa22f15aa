"""``napari-fastsam segment``: everything mode and prompts on images, folders and stacks; files out."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import tifffile

from ..engine.model import ModelLoadError
from ..engine.pipeline import ImageOptions, TileOptions, stack_labels
from ..engine.weights import WeightsNotFoundError
from ..errors import USER_ERRORS
from ..io import IMAGE_SUFFIXES, OutputExistsError, check_free, read_image, result_to_coco, write_json, write_labels
from . import geo
from .args import add_model_args, box_arg, floats, model_params, point_arg

# one file's failure (bad input, or a runtime error such as out-of-memory) is reported; the batch goes on
PER_FILE_ERRORS = (*USER_ERRORS, RuntimeError)


def add_parser(sub) -> None:
    seg = sub.add_parser("segment", help="segment images or folders; write label TIFFs (and COCO JSON)")
    seg.add_argument("inputs", nargs="+", help="image files or folders")
    seg.add_argument("--out", required=True, type=Path, help="output folder")
    add_model_args(seg, None)
    seg.add_argument("--points", type=point_arg, nargs="+", metavar="X,Y[,L]", help="point prompts")
    seg.add_argument("--box", type=box_arg, nargs="+", metavar="X0,Y0,X1,Y1", help="box prompts")
    seg.add_argument("--text", help="text prompt (needs CLIP weights)")
    seg.add_argument("--top-k", type=int, default=1)
    seg.add_argument("--clip-model", default="ViT-B-32", help="open_clip model name, or demo")
    seg.add_argument("--clip-pretrained", default=None, help="open_clip tag or local checkpoint")
    seg.add_argument("--channels", type=lambda s: tuple(int(c) for c in s.split(",")), help="e.g. 0,2")
    seg.add_argument("--percentiles", type=lambda s: tuple(floats(s, 2, "percentiles")), help="e.g. 1,99.8")
    seg.add_argument("--stack", action="store_true", help="treat 3D arrays (Z, H, W) as stacks of slices")
    seg.add_argument("--tile", choices=("auto", "on", "off"), default="auto")
    seg.add_argument("--tile-size", type=int, default=1024)
    seg.add_argument("--smooth", action="store_true", help="close/open prompt selections")
    seg.add_argument("--coco", action="store_true", help="also write COCO JSON with RLE masks and box proposals")
    seg.add_argument("--edges", action="store_true", help="also write the edge map (<name>_edges.tif)")
    seg.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    geo.add_arguments(seg)
    seg.set_defaults(func=cmd_segment)


def _collect_inputs(items: list[str]) -> list[Path]:
    files: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            files += sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            files.append(p)
    return files


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
        params=model_params(args),
        image_options=ImageOptions(channels=args.channels, percentiles=args.percentiles),
        tiling=TileOptions(enabled={"auto": None, "on": True, "off": False}[args.tile], tile=args.tile_size),
    )
    try:
        _ = session.segmenter  # fail once, early, on missing weights
        params = session.use_operating_point(args.imgsz, args.conf)  # demo / trained checkpoint: their imgsz, conf
    except (WeightsNotFoundError, ModelLoadError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"operating point: imgsz {params.imgsz}, conf {params.conf}")
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
    if geo.wants(path, args):  # GeoTIFF: read by windows, outputs keep CRS and transform
        return geo.segment_one(session, path, args)
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
