"""``segment`` options for microscopy: pixel sizes kept, measurements CSV, 3D stitching / tracks.

Thin: reading and writing live in :mod:`fastsam_plugin.io.ome`, linking and
measuring in the engine's :class:`~fastsam_plugin.engine.session.Session`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from ..engine.pipeline import stack_labels
from ..io import read_image
from ..io.ome import ImageMeta, read_tiff, write_measurements, write_ome_labels


def _iou_threshold(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"--stitch {text!r}: give an IoU threshold in [0, 1), e.g. 0.25")
    return value


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"--split-waists {text!r}: give a ratio in [0, 1), e.g. 0.5 (0 = off)")
    return value


def add_arguments(seg: argparse.ArgumentParser) -> None:
    """``--measure`` and ``--stitch IOU``."""
    seg.add_argument("--measure", action="store_true",
                     help="also write <name>_measurements.csv: per object area (pixels and physical units), "
                          "centroid, bbox, eccentricity, solidity, intensity per channel, score")
    seg.add_argument("--stitch", type=_iou_threshold, metavar="IOU", default=None,
                     help="link objects of consecutive slices (Z) or frames (T) whose masks overlap with IoU "
                          "above IOU into 3D objects / tracks (implies --stack; 0.1-0.25 with --split-waists)")
    seg.add_argument("--split-waists", type=_ratio, metavar="R", default=0.5,
                     help="with --stitch on Z stacks: cut a linked object where a slice is narrower than R times "
                          "the widest slice on both sides (objects stacked along Z); 0 turns it off (default 0.5; "
                          "never applied to time series)")


def read_input(path: Path, job) -> tuple[np.ndarray, ImageMeta]:
    """Pixels (channels last) and axes / physical sizes of one input.

    TIFFs go through :func:`~fastsam_plugin.io.ome.read_tiff` unless ``--channels-axis`` (``job.channels_axis``,
    ``job`` a :class:`~fastsam_plugin.cli.job.SegmentJob`) says how to read the raw array; other formats come
    uncalibrated.
    """
    if path.suffix.lower() in (".tif", ".tiff") and job.channels_axis is None:
        return read_tiff(path)
    image = read_image(path)
    if image.ndim == 2:
        axes = "YX"
    elif image.ndim == 3:
        channels_last = image.shape[-1] in (3, 4) or job.channels_axis is not None
        axes = "YXC" if channels_last else "ZYX"
    else:
        axes = "ZYXC"
    return image, ImageMeta(axes=axes)


def is_stack(image: np.ndarray, meta: ImageMeta, job) -> bool:
    """Whether to segment slice by slice: ``--stack`` or ``--stitch`` on an image with a Z or T axis."""
    wanted = job.stack or job.stitch is not None
    return wanted and image.ndim >= 3 and meta.axes[0] in "ZT" and job.channels_axis is None


def stack_output(session, results, job, meta: ImageMeta | None = None) -> np.ndarray:
    """Per-slice labels (ids restart in each slice), or 3D labels / tracks with ``--stitch`` (``job.stitch``)."""
    if job.stitch is None:
        return stack_labels(results)
    over_time = meta is not None and meta.axes.startswith("T")  # tracks: area changes are no waists
    return session.stitch(results, job.stitch, split=None if over_time else (job.split_waists or None))


def _spatial(meta: ImageMeta, ndim: int) -> str:
    axes = meta.axes.replace("C", "")
    return axes[-ndim:] if len(axes) >= ndim else "ZYX"[-ndim:]


def write_labels(path: Path, labels: np.ndarray, meta: ImageMeta, overwrite: bool) -> Path:
    """The label image (or volume) as OME-TIFF carrying the input's physical pixel sizes."""
    return write_ome_labels(path, labels, meta, axes=_spatial(meta, labels.ndim), overwrite=overwrite)


def write_table(path: Path, session, labels: np.ndarray, image: np.ndarray, meta: ImageMeta, results,
                overwrite: bool, linked: bool = False) -> Path:
    """The measurements CSV beside the labels."""
    table = measurements(session, labels, image, meta, results, linked=linked)
    return write_measurements(path, table, overwrite=overwrite)


def measurements(session, labels: np.ndarray, image: np.ndarray, meta: ImageMeta, results,
                 linked: bool = False) -> pd.DataFrame:
    """The measurement table; time series are measured frame by frame (with ``linked``, labels are tracks)."""
    axes = _spatial(meta, labels.ndim)
    names = meta.channel_names or None
    if axes[0] != "T":
        spacing = meta.spacing(axes) if meta.calibrated else None
        return session.measure(labels, image, results=results, spacing=spacing, unit=meta.unit, channel_names=names)
    spacing = meta.spacing(axes[1:]) if meta.calibrated else None
    frames = []
    for t in range(labels.shape[0]):
        table = session.measure(labels[t], image[t], results=results[t], spacing=spacing, unit=meta.unit,
                                channel_names=names)
        frames.append((table.rename(columns={"label": "track"}) if linked else table).assign(frame=t))
    return pd.concat(frames, ignore_index=True)
