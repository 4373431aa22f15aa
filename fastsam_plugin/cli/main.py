"""``napari-fastsam`` command line: segment, demo, train, train-demo-clip, eval.

Each command lives in its own module with ``add_parser(sub)`` and a ``cmd_*``
function; the commands only parse arguments and write files, all work is done by
:class:`fastsam_plugin.engine.session.Session` and the training/evaluation modules.
"""

from __future__ import annotations

import argparse
import sys

from ..engine.imaging import ImageError
from ..engine.model import ModelLoadError
from ..engine.weights import WeightsNotFoundError
from ..io import OutputExistsError
from . import demo, evaluate, segment, train


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="napari-fastsam", description="FastSAM for scientific images.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (segment, demo, train, evaluate):
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (WeightsNotFoundError, ModelLoadError, ImageError, OutputExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
