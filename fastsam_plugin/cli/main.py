"""``napari-fastsam`` command line: segment, demo, train, train-demo-clip, eval.

Each command lives in its own module with ``add_parser(sub)`` and a ``cmd_*``
function; the commands only parse arguments and write files, all work is done by
:class:`fastsam_plugin.engine.session.Session` and the training/evaluation modules.
"""

from __future__ import annotations

import argparse
import sys

from ..errors import FastSAMError, describe_unexpected, log_finalizer_errors, log_unexpected
from . import demo, evaluate, replay, segment, train, weights


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="napari-fastsam", description="FastSAM for scientific images.")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (segment, replay, demo, train, evaluate, weights):
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status.

    0 success; 1 some inputs or outputs failed (each named); 2 usage error or
    nothing could start (missing weights...); 3 internal error, its traceback
    written to a log file whose path is printed; 130 interrupted (Ctrl-C).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except FastSAMError as exc:  # the user's to fix: the message says how
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        log_finalizer_errors(f"{parser.prog} {args.command}, interrupted")
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: keep the traceback in a log, say where
        path = log_unexpected(exc, f"{parser.prog} {' '.join(argv if argv is not None else sys.argv[1:])}")
        print(f"{parser.prog} {args.command}: {describe_unexpected(exc, path)}", file=sys.stderr)
        if path is None:
            raise
        return 3


if __name__ == "__main__":
    sys.exit(main())
