"""``napari-fastsam segment``: everything mode and prompts on images, folders and stacks; files out."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..engine.model import ModelLoadError
from ..engine.pipeline import ImageOptions, TileOptions
from ..engine.weights import WeightsNotFoundError
from ..errors import FastSAMError, UsageError, log_finalizer_errors
from ..io import result_to_coco, write_json, write_labels, write_tiff
from ..io.records import write_record
from . import batch, distributed, geo, microscopy, replay
from .args import (
    add_model_args,
    box_arg,
    channels_arg,
    int_range,
    model_params,
    nonempty_text,
    percentiles_arg,
    point_arg,
)


def add_parser(sub) -> None:
    seg = sub.add_parser("segment", help="segment images or folders; write label TIFFs (and COCO JSON)")
    seg.add_argument("inputs", nargs="+", help="image files or folders")
    seg.add_argument("--out", required=True, type=Path, help="output folder")
    add_model_args(seg, None)
    seg.add_argument("--points", type=point_arg, nargs="+", metavar="X,Y[,L]", help="point prompts")
    seg.add_argument("--box", type=box_arg, nargs="+", metavar="X0,Y0,X1,Y1", help="box prompts")
    seg.add_argument("--text", type=nonempty_text, help="text prompt (needs CLIP weights)")
    seg.add_argument("--top-k", type=int_range(1), default=1)
    seg.add_argument("--clip-model", default="ViT-B-32", help="open_clip model name, or demo")
    seg.add_argument("--clip-pretrained", default=None, help="open_clip tag or local checkpoint")
    seg.add_argument("--channels", type=channels_arg, help="one to three channels shown as R, G, B, e.g. 0,2")
    seg.add_argument("--channels-axis", type=int, choices=(0, -1), default=None,
                     help="0: 3-D arrays are (C, H, W), channels first; -1: channels last, never guess a stack")
    seg.add_argument("--percentiles", type=percentiles_arg, help="e.g. 1,99.8")
    seg.add_argument("--stack", action="store_true", help="treat 3D arrays (Z, H, W) as stacks of slices")
    microscopy.add_arguments(seg)
    seg.add_argument("--tile", choices=("auto", "on", "off"), default="auto")
    seg.add_argument("--tile-size", type=int_range(64, 16384), default=1024)
    seg.add_argument("--untrained", action="store_true",
                     help="accept a model YAML as --weights (random network: only to test the pipeline)")
    distributed.add_arguments(seg)
    replay.add_record_argument(seg)
    seg.add_argument("--smooth", action="store_true", help="close/open prompt selections")
    seg.add_argument("--coco", action="store_true", help="also write COCO JSON with RLE masks and box proposals")
    seg.add_argument("--edges", action="store_true", help="also write the edge map (<name>_edges.tif)")
    seg.add_argument("--overwrite", action="store_true",
                     help="replace existing outputs (default: keep complete ones, write what is missing)")
    geo.add_arguments(seg)
    seg.set_defaults(func=cmd_segment)


def _selection(session, result, args, kind: str) -> np.ndarray:
    """The (H, W) int32 label image of one prompt kind: ``points``, ``box`` or ``text``."""
    if kind == "points":
        pts = np.array([p[:2] for p in args.points])
        lab = np.array([int(p[2]) if len(p) == 3 else 1 for p in args.points])
        return session.select_points(result, pts, lab, smooth=args.smooth).astype(np.int32)
    if kind == "box":  # one id per box, in the order given
        return session.selection_labels(result, session.select_boxes(result, np.array(args.box)), smooth=args.smooth)
    match = session.select_text(result, args.text, top_k=args.top_k)
    print(f"  text {args.text!r}: objects {match.indices[0].tolist()} scores {np.round(match.scores[0], 3).tolist()}")
    return session.selection_labels(result, match.indices[0], first_on_top=True)  # id 1 = best


def cmd_segment(args) -> int:
    from tqdm import tqdm

    from ..engine.session import Session

    batch.check_output_folder(args.out)
    files, left_out = batch.collect_inputs(args.inputs, args.out, keep_dir=lambda p: p.suffix.lower() == ".zarr")
    if not files:
        raise UsageError("no input images found" + (f" (left out {len(left_out)} napari-fastsam output file(s))"
                                                    if left_out else ""))
    session = Session(
        args.weights,
        args.device,
        clip_model=args.clip_model,
        clip_pretrained=args.clip_pretrained,
        params=model_params(args),
        image_options=ImageOptions(channels=args.channels, percentiles=args.percentiles,
                                   channels_axis=args.channels_axis),
        tiling=TileOptions(enabled={"auto": None, "on": True, "off": False}[args.tile], tile=args.tile_size),
        allow_untrained=args.untrained,
    )
    try:
        _ = session.segmenter  # fail once, early, on missing weights
        if args.text:
            _ = session.embedder  # and on a CLIP model that cannot load, not once per image
        params = session.use_operating_point(args.imgsz, args.conf)  # demo / trained checkpoint: their imgsz, conf
    except (WeightsNotFoundError, ModelLoadError, FastSAMError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"operating point: imgsz {params.imgsz}, conf {params.conf}")
    if args.record is not None:  # written first: the record describes the run even if it is interrupted
        write_record(args.record, replay.records_for_batch(session, files, args), overwrite=True)
        print(f"prompt record: {args.record}")
    report = batch.BatchReport(left_out=left_out)
    if args.scheduler:
        return distributed.run(args, files, session, report)
    bases = batch.output_bases(files)
    try:
        for path in tqdm(files, desc="segment", unit="image"):
            outcome = batch.FileOutcome(path)
            report.outcomes.append(outcome)
            try:
                _segment_one(session, path, args, bases[path], outcome)
            except Exception as exc:  # noqa: BLE001 - one input's failure is reported by name; the batch goes on
                outcome.failed.append(batch.describe_failure(exc, path))
            for line in (*outcome.notes, *(f"failed {path.name}: {m}" for m in outcome.failed)):
                tqdm.write(line)
    except KeyboardInterrupt:
        log_finalizer_errors("napari-fastsam segment, interrupted")  # half-built objects of the interrupted read
        done = len(report.outcomes) - 1
        print(f"\ninterrupted after {done} of {len(files)} input(s); finished outputs are whole. "
              "Rerun the same command to complete the rest.", file=sys.stderr)
        return batch.EXIT_INTERRUPTED
    print(report.summary(args.out))
    return report.exit_code()


def _segment_one(session, path: Path, args, base: str | None = None, outcome: batch.FileOutcome | None = None) -> None:
    """Write the outputs of one input that are missing (or all, with ``--overwrite``) into ``outcome``."""
    if geo.wants(path, args):  # GeoTIFF: read by windows, outputs keep CRS and transform
        geo.segment_one(session, path, args, base, outcome)
        return
    outcome = outcome if outcome is not None else batch.FileOutcome(path)
    base_path = args.out / (base or path.stem)
    kinds = ["labels", *(k for k, on in (("proposals", args.coco), ("edges", args.edges), ("points", args.points),
                                         ("box", args.box), ("text", args.text), ("measurements", args.measure)) if on)]
    todo, kept = batch.plan(base_path, kinds, args.overwrite)
    outcome.kept += kept.values()
    if not todo:
        outcome.notes.append(f"{path.name}: all {len(kept)} output(s) already complete, kept")
        return
    image, meta = microscopy.read_input(path, args)  # channels last; axes and physical pixel sizes
    replace = {k: args.overwrite or p.exists() for k, p in todo.items()}  # existing = truncated: replace it
    if microscopy.is_stack(image, meta, args):
        if {"labels", "measurements"} & set(todo):
            results = session.segment_stack(image)
            labels = microscopy.stack_output(session, results, args, meta)  # per slice, or linked with --stitch
            if "labels" in todo:
                outcome.written.append(microscopy.write_labels(todo["labels"], labels, meta, replace["labels"]))
            if "measurements" in todo:
                outcome.written.append(microscopy.write_table(todo["measurements"], session, labels, image, meta,
                                                              results, replace["measurements"], args.stitch is not None))
        skipped = sorted(set(todo) - {"labels", "measurements"})
        if skipped:
            outcome.failed.append(f"{', '.join(skipped)} not made for stacks (only the label volume is)")
        return
    result = session.segment(image)

    def produce(kind: str, make) -> None:
        if kind not in todo:
            return
        try:
            outcome.written.append(make(todo[kind], replace[kind]))
        except Exception as exc:  # noqa: BLE001 - one output's failure must not lose the others
            outcome.failed.append(f"{todo[kind].name}: {batch.describe_failure(exc, path)}")

    produce("labels", lambda p, ow: microscopy.write_labels(p, result.labels(), meta, ow))
    produce("measurements", lambda p, ow: microscopy.write_table(p, session, result.labels(), image, meta, result, ow))
    produce("proposals", lambda p, ow: write_json(p, result_to_coco(result, file_name=path.name), overwrite=ow))
    if "edges" in todo:
        from ..engine.edges import edge_map

        produce("edges", lambda p, ow: write_tiff(p, edge_map(result), overwrite=ow))
    for kind in ("points", "box", "text"):
        produce(kind, lambda p, ow, kind=kind: write_labels(p, _selection(session, result, args, kind), overwrite=ow))
