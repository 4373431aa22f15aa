"""Argument types and option groups shared by the ``napari-fastsam`` commands."""

from __future__ import annotations

import argparse

from ..engine.model import DEFAULT_CONF, DEFAULT_IMGSZ, DEFAULT_IOU, DEFAULT_MAX_DET, EverythingParams


def floats(text: str, n: int | tuple[int, ...], what: str) -> list[float]:
    """Parse ``text`` as ``n`` comma-separated numbers, or raise a usage error naming ``what``."""
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
    return floats(text, (2, 3), "point")


def box_arg(text: str) -> list[float]:
    """``x0,y0,x1,y1`` in image pixels."""
    return floats(text, 4, "box")


def add_model_args(p: argparse.ArgumentParser, default_weights: str | None) -> None:
    """Weights, device and the everything-mode operating point."""
    p.add_argument("--weights", default=default_weights, help="demo, FastSAM-s, FastSAM-x or a .pt path "
                   "(default: $NAPARI_FASTSAM_WEIGHTS, else FastSAM-s)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    # None = the weights' operating point (engine.operating_point): demo 416/0.25, a trained checkpoint's record
    p.add_argument("--imgsz", type=int, default=None,
                   help=f"model input size (default: the weights' operating point, else {DEFAULT_IMGSZ})")
    p.add_argument("--conf", type=float, default=None,
                   help=f"confidence threshold (default: the weights' operating point, else {DEFAULT_CONF})")
    p.add_argument("--iou", type=float, default=DEFAULT_IOU)
    p.add_argument("--max-det", type=int, default=DEFAULT_MAX_DET, help="most objects per image (proposals: up to 1000)")


def model_params(args: argparse.Namespace) -> EverythingParams:
    """Everything-mode settings from the options; imgsz/conf left unset fall back to FastSAM's defaults.

    Call ``session.use_operating_point(args.imgsz, args.conf)`` to use the weights' own operating point instead.
    """
    return EverythingParams(args.imgsz or DEFAULT_IMGSZ, DEFAULT_CONF if args.conf is None else args.conf,
                            args.iou, args.max_det)
