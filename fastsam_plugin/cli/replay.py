"""``napari-fastsam replay``: reproduce labels from a prompt record (``segment --record`` or the napari widget)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from ..engine.provenance import PromptRecord, cli_objects, new_record, replay, weights_digest
from ..errors import FastSAMError
from ..io.limits import add_max_pixels_argument
from ..io.paths import check_output_name, path_inside


def add_parser(sub) -> None:
    rp = sub.add_parser("replay", help="reproduce labels from a prompt record on an image or a folder")
    rp.add_argument("record", type=Path, help="prompts.json written by segment --record or the napari widget")
    rp.add_argument("inputs", nargs="+", help="image files or folders")
    rp.add_argument("--out", required=True, type=Path, help="output folder")
    rp.add_argument("--device", default=None, help="default: the recorded device")
    rp.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    rp.add_argument("--weights", default=None,
                    help="use these weights instead of the record's (a name or a .pt path); the record's own must "
                         "be a model name or a regular file")
    add_max_pixels_argument(rp)
    rp.set_defaults(func=cmd_replay)


def add_record_argument(parser: argparse.ArgumentParser) -> None:
    """``segment --record FILE``."""
    parser.add_argument("--record", type=Path, default=None, metavar="JSON",
                        help="write the prompts, model (name, sha256) and settings of every input to this file; "
                             "`napari-fastsam replay` reproduces the labels from it")


def records_for_batch(session, files: list[Path], args: argparse.Namespace) -> list[PromptRecord]:
    """One record per input of a ``segment`` batch: the CLI's prompt flags, numbered as its outputs."""
    points = labels = None
    if args.points:
        points = [p[:2] for p in args.points]
        labels = [int(p[2]) if len(p) == 3 else 1 for p in args.points]
    records = []
    for path in files:
        record = new_record(session, path.name, ())
        record.objects = cli_objects(points, labels, args.box, args.text, args.top_k, smooth=args.smooth)
        records.append(record)
    return records


def _record_for(records: list[PromptRecord], path: Path) -> PromptRecord | None:
    if len(records) == 1:  # one record: its settings and prompts apply to every image
        return records[0]
    return next((r for r in records if r.image == path.name), None)


def cmd_replay(args: argparse.Namespace) -> int:
    from ..engine.session import Session
    from ..io import read_image, write_labels
    from ..io.records import read_records
    from . import batch

    records = read_records(args.record)
    files, _ = batch.collect_inputs(args.inputs, args.out)
    if not files:
        raise FastSAMError("no input images found.")
    sessions: dict[tuple, Session] = {}
    failed = 0
    for path in files:
        record = _record_for(records, path)
        if record is None:
            print(f"skipped {path.name}: no record names this image")
            continue
        device = args.device or record.device
        weights = getattr(args, "weights", None) or record.weights
        key = (weights, device, record.params, record.image_options, record.tiling, record.clip_model,
               record.clip_pretrained)
        if key not in sessions:
            digest = weights_digest(weights)
            if record.weights_sha256 and digest != record.weights_sha256:
                warnings.warn(f"the weights {weights!r} differ from the recorded file "
                              f"(sha256 {record.weights_sha256[:12]}..., now {str(digest)[:12]}...): "
                              "replayed labels may differ.", stacklevel=1)
            sessions[key] = Session(weights, device, record.clip_model, record.clip_pretrained,
                                    params=record.params, image_options=record.image_options, tiling=record.tiling)
        session = sessions[key]
        try:
            result = session.segment(read_image(path))
            for output, labels in replay(session, result, record.objects).items():
                # the output name comes from the record: the file must still land inside --out
                name = f"{path.stem}_{check_output_name(output, source=args.record)}.tif"
                target = write_labels(path_inside(args.out, name, source=args.record, what="output"), labels,
                                      overwrite=args.overwrite)
                print(f"{path.name}: {int(labels.max())} object(s) -> {target.name}")
        except FastSAMError as exc:
            failed += 1
            print(f"failed {path.name}: {exc}", file=sys.stderr)
    return 1 if failed else 0
