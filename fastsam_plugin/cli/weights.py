"""``napari-fastsam weights convert IN.pt OUT``: a checkpoint as weights that never need unpickling.

Writes ``OUT.safetensors`` and ``OUT.json`` (architecture, strides, names, operating point; see
:mod:`fastsam_plugin.engine.safetensors_weights`). Give the pair anywhere a checkpoint is accepted
(``--weights OUT.safetensors``); it loads without unpickling anything. ``--trust`` fully unpickles the
input, this once, for a checkpoint you trust that the restricted loader refuses.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    weights = sub.add_parser("weights", help="manage model weights (convert a checkpoint to safetensors)")
    actions = weights.add_subparsers(dest="action", required=True)
    convert = actions.add_parser("convert", help="write a checkpoint as OUT.safetensors + OUT.json")
    convert.add_argument("source", type=Path, metavar="IN.pt", help="an Ultralytics FastSAM / YOLOv8-seg checkpoint")
    convert.add_argument("out", type=Path, metavar="OUT", help="output name (OUT, OUT.safetensors or OUT.json)")
    convert.add_argument("--trust", action="store_true",
                         help="fully unpickle IN.pt (it may run code: only for a file you trust)")
    convert.add_argument("--float32", action="store_true", help="keep float32 weights (default: half precision, "
                                                                 "as in Ultralytics' checkpoints)")
    convert.add_argument("--overwrite", action="store_true", help="replace an existing OUT pair")
    convert.set_defaults(func=cmd_convert)


def cmd_convert(args: argparse.Namespace) -> int:
    from ..engine.safetensors_weights import convert_checkpoint, pair_paths
    from ..engine.weights import WeightsNotFoundError
    from ..errors import UsageError

    if not args.source.is_file():
        raise WeightsNotFoundError(f"{args.source} not found: give an existing checkpoint file.")
    existing = [p for p in pair_paths(args.out) if p.exists()]
    if existing and not args.overwrite:
        raise UsageError(f"{', '.join(map(str, existing))} exists: choose another OUT or pass --overwrite.")
    weights, meta = convert_checkpoint(args.source, args.out, trust=args.trust, half=not args.float32)
    print(f"wrote {weights} and {meta}; load them with --weights {weights} (nothing is unpickled)")
    return 0
