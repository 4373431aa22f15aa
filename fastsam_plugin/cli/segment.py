"""``napari-fastsam segment``: everything mode and prompts on images, folders and stacks; files out.

Thin: the arguments become a checked :class:`~fastsam_plugin.cli.job.SegmentJob` (usage errors before
any model loads), each input one :func:`~fastsam_plugin.cli.perfile.segment_file`, here or on Dask.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..engine.model import ModelLoadError
from ..engine.pipeline import ImageOptions, TileOptions
from ..engine.weights import WeightsNotFoundError
from ..errors import FastSAMError, UsageError, log_finalizer_errors
from ..io.outputs import remove_stale_temps
from ..io.records import write_record
from . import batch, distributed, geo, microscopy, perfile, replay
from .args import (
    add_model_args,
    box_arg,
    channels_arg,
    int_range,
    nonempty_text,
    percentiles_arg,
    point_arg,
    user_choice,
)
from .job import SegmentJob


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


def cmd_segment(args) -> int:
    """Check everything the user gave (usage errors, exit 2, before any model loads), then run the batch."""
    started = time.time()  # temporary files older than this, of writers that are gone, are from killed runs
    job = SegmentJob.from_args(args)
    batch.check_output_folder(job.out)
    inputs = batch.gather_inputs(args.inputs, job.out, keep_dir=lambda p: p.suffix.lower() == ".zarr")
    inputs.raise_for_unusable()
    if not inputs.files:
        raise UsageError("no input images found" + (f" (left out {len(inputs.left_out)} napari-fastsam output "
                                                    "file(s))" if inputs.left_out else ""))
    for line in inputs.notes():
        print(line, file=sys.stderr if "cannot read" in line else sys.stdout)
    removed = remove_stale_temps(job.out, started)
    if removed:
        print(f"removed {len(removed)} temporary file(s) left in {job.out} by an interrupted run")
    session = _session(args)
    try:
        _ = session.segmenter  # fail once, early, on missing weights
        if job.text:
            _ = session.embedder  # and on a CLIP model that cannot load, not once per image
        params = session.params  # the weights' operating point (name or record) with the user's settings on top
    except (WeightsNotFoundError, ModelLoadError, FastSAMError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return batch.EXIT_USAGE
    print(f"operating point: imgsz {params.imgsz}, conf {params.conf}, NMS IoU {params.iou}")
    if (scale := session.model_scale) is not None and params.imgsz == scale.imgsz:
        trained = f"{scale.pixel_size:g} {scale.unit} pixels, " if scale.pixel_size else ""
        fallback = "an estimate from a first pass" if scale.object_diameter else "taken as at the training scale"
        print(f"scale: the model was trained on {trained}{scale.tile} px tiles at {scale.imgsz} px input; each image "
              f"is brought to it (its pixel size, else --object-size, else {fallback})")
    if (line := input_form_line(session.input_form)) is not None:
        print(line)
    if args.record is not None:  # written first: the record describes the run even if it is interrupted
        write_record(args.record, replay.records_for_batch(session, inputs.files, args), overwrite=True)
        print(f"prompt record: {args.record}")
    report = batch.BatchReport(left_out=inputs.left_out, unreadable=inputs.unreadable)
    if job.scheduler:
        return distributed.run(job, inputs.files, session, report)
    return _run_here(session, job, inputs.files, report)


def input_form_line(form: str | None) -> str | None:
    """One line saying how stained (H&E-like) colour images reach the model, for models that record it."""
    if form == "hematoxylin":
        return ("input: stained (H&E-like) colour images are shown to the model as their hematoxylin channel "
                "(colour deconvolution): it was trained on fluorescence-like images")
    if form == "rgb":
        return "input: stained (H&E-like) colour images are shown to the model as they are: it learnt them in colour"
    return None


def _session(args):
    from ..engine.session import Session

    return Session(
        args.weights,
        args.device,
        clip_model=args.clip_model,
        clip_pretrained=args.clip_pretrained,
        choice=user_choice(args),  # only what the user set; the engine resolves the rest against the weights
        image_options=ImageOptions(channels=args.channels, percentiles=args.percentiles,
                                   channels_axis=args.channels_axis),
        tiling=TileOptions(enabled={"auto": None, "on": True, "off": False}[args.tile], tile=args.tile_size),
        allow_untrained=args.untrained,
    )


def _run_here(session, job: SegmentJob, files: list[Path], report: batch.BatchReport) -> int:
    """The single-process batch: one :func:`~fastsam_plugin.cli.perfile.segment_file` per input."""
    from tqdm import tqdm

    bases = batch.output_bases(files)
    try:
        for path in tqdm(files, desc="segment", unit="image"):
            outcome = perfile.segment_file(session, path, job, bases[path])
            report.outcomes.append(outcome)
            for line in (*outcome.notes, *(f"failed {path.name}: {m}" for m in outcome.failed)):
                tqdm.write(line)
    except KeyboardInterrupt:
        log_finalizer_errors("napari-fastsam segment, interrupted")  # half-built objects of the interrupted read
        print(f"\ninterrupted after {len(report.outcomes)} of {len(files)} input(s); finished outputs are whole. "
              "Rerun the same command to complete the rest.", file=sys.stderr)
        return batch.EXIT_INTERRUPTED
    print(report.summary(job.out))
    return report.exit_code()
