"""One input of ``napari-fastsam segment`` as a unit of work: its planned outputs and the per-file run.

Every route (plain images and stacks, GeoTIFFs, and the same on Dask workers)
goes through :func:`segment_file`, which

1. plans the input's outputs by one rule (:func:`output_paths`),
2. keeps those already known whole (:func:`fastsam_plugin.io.outputs.output_complete`:
   the manifest, see ``docs/cli.md``) and writes only the others,
3. enters each written output in the manifest, and
4. returns a :class:`~fastsam_plugin.cli.batch.FileOutcome` saying what was written,
   kept and failed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..io import pixel_size
from ..io.outputs import OutputExistsError, mark_pending, output_complete, record_output, recording_outputs
from . import batch, geo, microscopy
from .job import SegmentJob, scale_note, selection

#: the label output of a huge image written as chunked OME-Zarr (Dask route)
HUGE_LABELS_SUFFIX = "_labels.ome.zarr"


# -- the one rule for outputs -----------------------------------------------------------------------------------------


def route_of(path: Path, job: SegmentJob) -> str:
    """``"geo"`` for GeoTIFF inputs (read by windows, outputs keep CRS), else ``"plain"``."""
    return "geo" if geo.wants(path, job) else "plain"


def output_paths(job: SegmentJob, path: Path, base: str, route: str) -> dict[str, Path]:
    """Every output of one input, by kind: the one rule used to resume, to write and to report.

    Parameters
    ----------
    job : SegmentJob
    path : Path
        The input.
    base : str
        Its output base name (:func:`fastsam_plugin.cli.batch.output_bases`).
    route : str
        ``"plain"`` (images and stacks), ``"geo"`` (GeoTIFF) or ``"huge"`` (Dask, lazily read huge images).

    Returns
    -------
    dict of str to Path
        ``<out>/<base>_<kind>.<ext>``, plus the ``--vector`` files of GeoTIFFs.
    """
    stem = job.out / base
    if route == "huge":
        return {"labels": Path(f"{stem}{HUGE_LABELS_SUFFIX}")}
    kinds = ["labels", *(["proposals"] if job.coco else [])]
    if route == "plain":
        kinds += (["edges"] if job.edges else []) + job.prompt_kinds() + (["measurements"] if job.measure else [])
    else:
        kinds += job.prompt_kinds()
    paths = {k: Path(f"{stem}{batch.OUTPUT_SUFFIXES[k]}") for k in kinds}
    if route == "geo" and job.vector:
        paths["vector"] = geo.vector_path(job, path, base=base)
        paths.update({f"vector_{k}": geo.vector_path(job, path, k, base) for k in job.prompt_kinds()})
    return paths


def plan(paths: dict[str, Path], overwrite: bool) -> tuple[dict[str, Path], dict[str, Path]]:
    """Split planned outputs into those to write and those known whole (kept; with ``overwrite`` all are written)."""
    todo, kept = {}, {}
    for kind, p in paths.items():
        (kept if not overwrite and output_complete(p) else todo)[kind] = p
    return todo, kept


# -- the per-file unit of work ----------------------------------------------------------------------------------------


class Writer:
    """Writes the outputs of one input into its :class:`~fastsam_plugin.cli.batch.FileOutcome`, one at a time.

    One output's failure never loses the others. An output that another run (same
    ``--out``) finished meanwhile is kept when it is whole, not counted as failed.
    """

    def __init__(self, path: Path, todo: dict[str, Path], overwrite: bool, outcome: batch.FileOutcome) -> None:
        self.path, self.todo, self.outcome = path, todo, outcome
        # an existing output in ``todo`` is not whole: replace it
        self.replace = {k: overwrite or p.exists() for k, p in todo.items()}

    def wants(self, kind: str) -> bool:
        return kind in self.todo

    def __call__(self, kind: str, make: Callable[[Path, bool], Path], *, records_itself: bool = True) -> None:
        """Write output ``kind`` with ``make(path, overwrite) -> path``.

        ``records_itself``: the writer goes through :func:`~fastsam_plugin.io.outputs.atomic_path` (entered
        in the manifest before its rename); otherwise (GDAL writers) it is entered after it returns.
        """
        if kind not in self.todo:
            return
        target = self.todo[kind]
        try:
            if not records_itself:  # written in place: not whole until entered after its writer returned
                if target.exists() and not self.replace[kind]:  # another run's: never mark it pending
                    raise OutputExistsError(f"{target} appeared while writing")
                mark_pending(target)
            written = make(target, self.replace[kind])
            if not records_itself:
                record_output(written)
            self.outcome.written.append(written)
        except OutputExistsError:
            if output_complete(target):  # another run on the same --out wrote it whole first: theirs is ours
                self.outcome.kept.append(target)
                self.outcome.notes.append(f"{target.name}: written meanwhile by another run, whole; kept")
            else:
                self.outcome.failed.append(f"{target.name}: appeared while writing and is not whole; "
                                           "rerun (or pass --overwrite) to replace it")
        except Exception as exc:  # noqa: BLE001 - one output's failure must not lose the others
            self.outcome.failed.append(f"{target.name}: {batch.describe_failure(exc, self.path)}")


def segment_file(session, path: Path, job: SegmentJob, base: str) -> batch.FileOutcome:
    """Segment one input and write its missing outputs; never raises for the input's own failures.

    Parameters
    ----------
    session : fastsam_plugin.engine.session.Session
    path : Path
    job : SegmentJob
    base : str
        The input's output base name.

    Returns
    -------
    FileOutcome
        Written, kept and failed outputs, and notes for the user.
    """
    outcome = batch.FileOutcome(path)
    try:
        with recording_outputs():
            route = route_of(path, job)
            todo, kept = plan(output_paths(job, path, base, route), job.overwrite)
            outcome.kept += kept.values()
            if not todo:
                outcome.notes.append(f"{path.name}: all {len(kept)} output(s) already complete, kept")
                return outcome
            write = Writer(path, todo, job.overwrite, outcome)
            if route == "geo":
                unmade = [flag for flag, on in (("--edges", job.edges), ("--measure", job.measure)) if on]
                if unmade:  # said, not silently skipped
                    outcome.notes.append(f"{path.name}: {', '.join(unmade)} not made for GeoTIFFs")
                geo.segment_one(session, path, job, write)
            else:
                _segment_plain(session, path, job, write)
    except Exception as exc:  # noqa: BLE001 - one input's failure is reported by name; the batch goes on
        outcome.failed.append(batch.describe_failure(exc, path))
    return outcome


def _segment_plain(session, path: Path, job: SegmentJob, write: Writer) -> None:
    """Images and stacks: read whole (channels last, pixel sizes kept), segment, write what ``write`` wants."""
    from ..io import result_to_coco, write_json, write_labels, write_tiff

    image, meta = microscopy.read_input(path, job)
    if microscopy.is_stack(image, meta, job):
        _segment_stack(session, image, meta, job, write)
        return
    size = pixel_size.of_microscopy(meta) or (None, None)  # the scale rule (engine/scale.py)
    result = session.segment(image, pixel_size=size[0], unit=size[1])
    scale_note(result, size, path.name, write.outcome.notes)
    write("labels", lambda p, ow: microscopy.write_labels(p, result.labels(), meta, ow))
    write("measurements", lambda p, ow: microscopy.write_table(p, session, result.labels(), image, meta, result, ow))
    write("proposals", lambda p, ow: write_json(p, result_to_coco(result, file_name=path.name), overwrite=ow))
    if write.wants("edges"):
        from ..engine.edges import edge_map

        write("edges", lambda p, ow: write_tiff(p, edge_map(result), overwrite=ow))
    for kind in job.prompt_kinds():
        write(kind, lambda p, ow, kind=kind: write_labels(
            p, selection(session, result, job, kind, write.outcome.notes, path.name), overwrite=ow))


def _segment_stack(session, image: np.ndarray, meta, job: SegmentJob, write: Writer) -> None:
    """A Z or T stack: the label volume (per slice, or linked with ``--stitch``) and its measurements."""
    if write.wants("labels") or write.wants("measurements"):
        size = pixel_size.of_microscopy(meta) or (None, None)
        results = session.segment_stack(image, pixel_size=size[0], unit=size[1])
        if results:
            scale_note(results[0], size, "each slice", write.outcome.notes)
        labels = microscopy.stack_output(session, results, job, meta)  # per slice, or linked with --stitch
        write("labels", lambda p, ow: microscopy.write_labels(p, labels, meta, ow))
        write("measurements", lambda p, ow: microscopy.write_table(p, session, labels, image, meta, results, ow,
                                                                   job.stitch is not None))
    skipped = sorted(set(write.todo) - {"labels", "measurements"})
    if skipped:
        write.outcome.failed.append(f"{', '.join(skipped)} not made for stacks (only the label volume is)")
