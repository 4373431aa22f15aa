"""What ``napari-fastsam segment`` does to each input, built once from the command line and checked.

The :class:`SegmentJob` is frozen and picklable: the single-process loop and the
Dask workers receive the same object, never the argparse namespace. Checking it
(:meth:`SegmentJob.check`) raises the usage errors that must come before any
model loads. :func:`selection` turns its prompts into label images (all routes).
This module is the bottom of ``fastsam_plugin.cli``: it imports no other CLI module.
"""

from __future__ import annotations

import argparse
import math
import re
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..errors import UsageError

#: ``--vector gpkg`` / ``geojson``: the suffix of one vector file per image in ``--out``
VECTOR_FORMATS = {"gpkg": ".gpkg", "geojson": ".geojson"}
#: ``--scheduler``: ``local`` or ``[scheme://]host:port``
_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss|ucx)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):\d{1,5}/?$")


@dataclass(frozen=True)
class SegmentJob:
    """What ``segment`` does to each input: every choice of the command line that is not the model's.

    Built once by :meth:`from_args` (which checks it); immutable and picklable, so the
    same object drives the single-process loop and the Dask workers.

    Attributes
    ----------
    out : Path
        The output folder.
    points : tuple of (2,) or (3,) float tuples, or None
        ``(x, y[, label])`` in pixels (or map units with ``prompt_units == "map"``).
    box : tuple of (4,) float tuples, or None
        ``(x0, y0, x1, y1)``.
    single_input : bool
        Exactly one file was given: ``--vector FILE`` is written as named (a batch prefixes each image's name).
    """

    out: Path
    overwrite: bool = False
    points: tuple[tuple[float, ...], ...] | None = None
    box: tuple[tuple[float, ...], ...] | None = None
    text: str | None = None
    top_k: int = 1
    smooth: bool = False
    coco: bool = False
    edges: bool = False
    measure: bool = False
    stack: bool = False
    stitch: float | None = None
    split_waists: float = 0.5
    channels: tuple[int, ...] | None = None
    channels_axis: int | None = None
    percentiles: tuple[float, float] | None = None
    bands: str | None = None
    vector: str | None = None
    prompt_units: str = "pixel"
    scheduler: str | None = None
    workers: int | None = None
    single_input: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SegmentJob:
        """The job of a parsed ``segment`` command line, checked (raises :class:`UsageError` naming the flag)."""
        values = {f.name: getattr(args, f.name) for f in fields(cls)
                  if f.name != "single_input" and hasattr(args, f.name)}
        values["points"] = None if not args.points else tuple(tuple(map(float, p)) for p in args.points)
        values["box"] = None if not args.box else tuple(tuple(map(float, b)) for b in args.box)
        inputs = list(getattr(args, "inputs", []) or [])
        values["single_input"] = len(inputs) == 1 and Path(inputs[0]).is_file()
        job = cls(**values)
        job.check()
        return job

    def check(self) -> None:
        """Refuse, before any work, settings that cannot run (the message names the flag and says what to do)."""
        for kind in ("points", "box"):
            for prompt in getattr(self, kind) or ():
                if not all(math.isfinite(v) for v in prompt):
                    raise UsageError(f"argument --{kind}: {','.join(f'{v:g}' for v in prompt)}: "
                                     "coordinates must be finite numbers.")
        if self.vector is not None:
            spec = str(self.vector)
            if spec.lower() not in VECTOR_FORMATS and Path(spec).suffix.lower() not in VECTOR_FORMATS.values():
                raise UsageError(f"argument --vector: {spec!r} is neither a .gpkg nor a .geojson file; give e.g. "
                                 "objects.gpkg, or just 'gpkg' / 'geojson' for one file per image in --out.")
        if self.scheduler is not None and self.scheduler != "local" and not _ADDRESS.match(self.scheduler):
            raise UsageError(f"argument --scheduler: {self.scheduler!r} is not 'local' nor a scheduler address; "
                             "give e.g. tcp://host:8786 (as printed by `dask scheduler`) or 'local'.")
        if self.workers is not None and self.scheduler not in (None, "local"):
            raise UsageError("argument --workers: only for --scheduler local; a running cluster has its own workers.")
        if self.workers is not None and self.scheduler is None:
            raise UsageError("argument --workers: needs --scheduler local.")

    def point_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The point prompts as ``(N, 2)`` float64 ``(x, y)`` and ``(N,)`` int labels (1 foreground, 0 background)."""
        points = self.points or ()
        xy = np.array([p[:2] for p in points], np.float64).reshape(-1, 2)
        labels = np.array([int(p[2]) if len(p) == 3 else 1 for p in points], np.int64)
        return xy, labels

    def prompt_kinds(self) -> list[str]:
        """The prompt outputs asked for, in output order: ``points``, ``box``, ``text``."""
        return [k for k in ("points", "box", "text") if getattr(self, k)]


def scale_note(result, size: tuple[float | None, str | None], name: str, notes: list[str]) -> None:
    """Say how an input was brought to the model's scale (and warn when far from it), as one line in ``notes``.

    Nothing is said for models that record no scale (the fixed input size applies). A stained image
    shown to the model in another form (its hematoxylin channel) says so too.
    """
    plan = getattr(result, "scale_plan", None)
    parts = [plan.describe(*size) + (f"; warning: {plan.warning}" if plan.warning else "")] if plan else []
    if getattr(result, "input_note", None):
        parts.append(result.input_note)
    if parts:
        notes.append(f"{name}: " + "; ".join(parts))


def selection(session, result, job: SegmentJob, kind: str, notes: list[str], name: str = "") -> np.ndarray:
    """The ``(H, W)`` int32 label image of one prompt kind (``points``, ``box``, ``text``); notes say what it found.

    ``job`` holds pixel prompts. A point prompt that selects nothing, or a text prompt, adds a one-line note.
    """
    if kind == "points":
        xy, lab = job.point_arrays()
        mask = session.select_points(result, xy, lab, smooth=job.smooth)
        if not np.any(mask):
            notes.append(f"{name}: the point prompt selects no object (no object under a foreground point, or "
                         "background points removed it); its label image is empty")
        return np.asarray(mask).astype(np.int32)
    if kind == "box":  # one id per box, in the order given
        return session.selection_labels(result, session.select_boxes(result, np.array(job.box)), smooth=job.smooth)
    match = session.select_text(result, job.text, top_k=job.top_k)
    notes.append(f"{name}: text {job.text!r}: objects {match.indices[0].tolist()} "
                 f"scores {np.round(match.scores[0], 3).tolist()}")
    return session.selection_labels(result, match.indices[0], first_on_top=True)  # id 1 = best
