"""Argument types and option groups shared by the ``napari-fastsam`` commands."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from ..engine.model import DEFAULT_CONF, DEFAULT_IMGSZ, DEFAULT_IOU, DEFAULT_MAX_DET, IMGSZ_RANGE
from ..engine.operating_point import UserChoice


def floats(text: str, n: int | tuple[int, ...], what: str) -> list[float]:
    """Parse ``text`` as ``n`` comma-separated numbers, or raise a usage error naming ``what``."""
    counts = n if isinstance(n, tuple) else (n,)
    try:
        values = [float(p) for p in text.replace(" ", "").split(",") if p]
    except ValueError:
        values = []
    if len(values) not in counts:
        expected = " or ".join(map(str, counts))
        raise argparse.ArgumentTypeError(f"{what} {text!r}: expected {expected} comma-separated numbers")
    return values


def point_arg(text: str) -> list[float]:
    """``x,y`` (foreground) or ``x,y,label`` with label exactly 1 (foreground) or 0 (background)."""
    values = floats(text, (2, 3), "point")
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"point {text!r}: coordinates must be finite numbers")
    if len(values) == 3 and values[2] not in (0.0, 1.0):
        raise argparse.ArgumentTypeError(f"point {text!r}: the label must be 1 (foreground) or 0 (background)")
    return values


def int_range(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in ``[lo, hi]`` (argparse names the flag in its usage error)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"{value} is out of range; expected {lo} to {hi}" if hi is not None
                                             else f"{value} is out of range; expected at least {lo}")
        return value

    parse.__name__ = "integer"
    return parse


def float_range(lo: float, hi: float) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[lo, hi]``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not lo <= value <= hi:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{text} is out of range; expected a number from {lo} to {hi}")
        return value

    parse.__name__ = "number"
    return parse


def nonempty_text(text: str) -> str:
    """An argparse type: text with something besides spaces."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty text; say what to find, e.g. 'a round cell'")
    return text


def channels_arg(text: str) -> tuple[int, ...]:
    """One to three comma-separated channel indices, e.g. ``0,2``."""
    try:
        values = tuple(int(c) for c in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 1 to 3 comma-separated channel numbers") from None
    if not 1 <= len(values) <= 3:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 1 to 3 comma-separated channel numbers")
    return values


def percentiles_arg(text: str) -> tuple[float, float]:
    """``low,high`` with 0 <= low < high <= 100."""
    lo, hi = floats(text, 2, "percentiles")
    if not 0 <= lo < hi <= 100:
        raise argparse.ArgumentTypeError(f"{text!r}: need 0 <= low < high <= 100")
    return lo, hi


def box_arg(text: str) -> list[float]:
    """``x0,y0,x1,y1`` in image pixels (or map units with ``--prompt-units map``), all finite."""
    values = floats(text, 4, "box")
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"box {text!r}: coordinates must be finite numbers")
    return values


def add_model_args(p: argparse.ArgumentParser, default_weights: str | None) -> None:
    """Weights, device and the everything-mode operating point."""
    p.add_argument("--weights", default=default_weights, help="demo, FastSAM-s, FastSAM-x or a .pt path "
                   "(default: $NAPARI_FASTSAM_WEIGHTS, else FastSAM-s)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    # None = the weights' operating point (engine.operating_point): demo 416/0.25, a trained checkpoint's record
    p.add_argument("--imgsz", type=int_range(IMGSZ_RANGE[0], IMGSZ_RANGE[1]), default=None,
                   help=f"model input size (default: the weights' operating point, else {DEFAULT_IMGSZ})")
    p.add_argument("--conf", type=float_range(0.0, 1.0), default=None,
                   help=f"confidence threshold (default: the weights' operating point, else {DEFAULT_CONF})")
    p.add_argument("--iou", type=float_range(0.0, 1.0), default=None,
                   help=f"NMS IoU (default: the weights' operating point, else {DEFAULT_IOU})")
    p.add_argument("--object-size", type=float_range(0.5, 10000.0), default=None, metavar="PIXELS",
                   help="typical object diameter in pixels: images are resized so objects match the size the "
                        "model was trained on (used when the image has no pixel size; models that record a scale)")
    p.add_argument("--max-det", type=int_range(1, 10000), default=None,
                   help=f"most objects per image (default {DEFAULT_MAX_DET}; proposals: up to 1000)")
    from ..io.limits import add_max_pixels_argument  # --max-pixels: the image size limit (io.limits)

    add_max_pixels_argument(p)


def user_choice(args: argparse.Namespace) -> UserChoice:
    """The everything-mode settings the user gave on the command line; the rest is the weights' to decide.

    Passed as ``Session(choice=...)``: the engine resolves it against the weights' operating point
    (:func:`fastsam_plugin.engine.operating_point.resolve`), and ``session.params`` says what was used.
    """
    return UserChoice(imgsz=args.imgsz, conf=args.conf, iou=args.iou, max_det=args.max_det,
                      object_size=getattr(args, "object_size", None))
