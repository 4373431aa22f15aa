"""``napari-fastsam segment --scheduler``: the same outputs, computed on a Dask cluster.

Ordinary images run as one task each, through the very per-file unit the
single-process CLI uses (:func:`fastsam_plugin.cli.perfile.segment_file`, given
the frozen :class:`~fastsam_plugin.cli.job.SegmentJob`, never the argparse
namespace), on a worker that keeps its model loaded. Huge images
(``.zarr`` folders, and TIFFs larger than the tiling threshold) are read lazily
and split into tile tasks; their labels are written as chunked OME-Zarr.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

from ..distributed.worker import SessionSpec, worker_session
from ..errors import FastSAMError
from ..io.outputs import record_output
from . import batch, perfile
from .args import int_range
from .job import SegmentJob


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--scheduler`` and ``--workers`` options of ``segment``."""
    parser.add_argument("--scheduler", default=None, metavar="local|ADDRESS",
                        help="run on Dask: 'local' starts worker processes here, or give a scheduler address "
                             "(tcp://host:8786) of a running cluster")
    parser.add_argument("--workers", type=int_range(1), default=None,
                        help="worker processes of --scheduler local (default: one per CPU core)")


def spec_of(session) -> SessionSpec:
    """The settings a worker needs to rebuild ``session``: its weights and the user's choice, never resolved values."""
    return SessionSpec(
        weights=None if session.weights is None else str(session.weights),
        device=session.device,
        choice=session.choice,
        image_options=session.image_options,
        tiling=session.tiling,
        clip_model=session.clip_model,
        clip_pretrained=None if session.clip_pretrained is None else str(session.clip_pretrained),
    )


def is_huge(path: Path, threshold: int) -> bool:
    """True for a ``.zarr`` folder, or a TIFF whose longer side exceeds ``threshold`` (read from its header)."""
    if path.suffix.lower() == ".zarr" or path.name.lower().endswith(".ome.zarr"):
        return True
    if path.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        try:
            with tifffile.TiffFile(path) as tif:
                shape = tif.series[0].shape
        except (OSError, ValueError, tifffile.TiffFileError):  # reported by the task that reads it
            return False
        return len(shape) in (2, 3) and max(shape[:2]) > threshold
    return False


def _segment_file(path: Path, job: SegmentJob, spec: SessionSpec, bases: dict[Path, str]) -> batch.FileOutcome:
    """Worker task: the per-file unit of every route, on this worker's cached session."""
    return perfile.segment_file(worker_session(spec), path, job, bases[path])


def _segment_huge_file(client, path: Path, target: Path, job: SegmentJob, session, spec: SessionSpec) -> Path:
    from tqdm import tqdm

    from ..distributed.huge import huge_scale_plan, segment_huge, write_result_ome_zarr
    from ..io import pixel_size
    from ..io.lazy import LazyImage

    image = LazyImage(path, channels=spec.image_options.channels,
                      percentiles=spec.image_options.percentiles or (1.0, 99.8))
    size = pixel_size.of_file(path) or (None, None)  # header only: the scale rule as for every image
    plan = huge_scale_plan(session, image.shape[:2], *size)
    tile, overlap, imgsz = (spec.tiling.tile, spec.tiling.overlap, None) if plan is None else (
        plan.tile, plan.overlap, plan.imgsz)
    if plan is not None:
        tqdm.write(f"{path.name}: {plan.describe(*size)}" + (f"; warning: {plan.warning}" if plan.warning else ""))
    with tqdm(total=0, desc=f"{path.name} tiles", unit="tile") as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = segment_huge(client, image, spec, tile=tile, overlap=overlap, progress=progress, imgsz=imgsz)
    # replaced when it exists: plan() found it not whole (or --overwrite)
    out = write_result_ome_zarr(result, target, overwrite=job.overwrite or target.exists())
    record_output(out)  # written under a temporary name and renamed by the Zarr writer: enter it now
    tqdm.write(f"{path.name}: {len(result)} objects -> {out}")
    return out


def _client(job: SegmentJob):
    """The Dask client of ``--scheduler``; an unreachable scheduler is the user's to fix (exit 2), not a bug."""
    from ..distributed.cluster import make_client

    try:
        return make_client(job.scheduler, job.workers)
    except OSError as exc:  # includes TimeoutError: nothing listens there
        raise FastSAMError(f"argument --scheduler: cannot reach the Dask scheduler at {job.scheduler} ({exc}); "
                           "check that it is running and the address (as printed by `dask scheduler`), "
                           "or use --scheduler local.") from None


def run(job: SegmentJob, files: list[Path], session, report: batch.BatchReport) -> int:
    """Segment ``files`` on the cluster named by ``job.scheduler``, filling the CLI's ``report``.

    Returns the same exit codes as the single-process batch.
    """
    from tqdm import tqdm

    from ..distributed.batch import run_files

    spec = spec_of(session)
    bases = batch.output_bases(files)
    huge = [f for f in files if is_huge(f, session.tiling.threshold)]
    small = [f for f in files if f not in huge]
    with _client(job) as client:
        print(f"Dask: {len(client.scheduler_info()['workers'])} worker(s) at {client.scheduler.address}")
        if small:
            with tqdm(total=len(small), desc="segment", unit="image") as bar:
                def finished(path: Path, outcome) -> None:
                    bar.update(1)
                    report.outcomes.append(outcome)
                    for line in (*outcome.notes, *(f"failed {path.name}: {m}" for m in outcome.failed)):
                        tqdm.write(line)

                def crashed(path: Path, exc: BaseException) -> None:  # the task itself died (e.g. killed worker)
                    outcome = batch.FileOutcome(path)
                    outcome.failed.append(batch.describe_failure(exc, path))
                    finished(path, outcome)

                run_files(client, small, partial(_segment_file, job=job, spec=spec, bases=bases),
                          on_result=finished, on_failure=crashed)
        for path in huge:
            report.outcomes.append(_huge_outcome(client, path, job, session, spec, bases[path]))
    print(report.summary(job.out))
    return report.exit_code()


def _huge_outcome(client, path: Path, job: SegmentJob, session, spec: SessionSpec, base: str) -> batch.FileOutcome:
    """One huge image: its outputs planned and kept by the same rule as every other input."""
    outcome = batch.FileOutcome(path)
    todo, kept = perfile.plan(perfile.output_paths(job, path, base, "huge"), job.overwrite)
    outcome.kept += kept.values()
    for target in todo.values():
        try:
            outcome.written.append(_segment_huge_file(client, path, target, job, session, spec))
        except Exception as exc:  # noqa: BLE001 - one huge file's failure is reported; the others go on
            outcome.failed.append(batch.describe_failure(exc, path))
            print(f"failed {path.name}: {outcome.failed[-1]}", file=sys.stderr)
    return outcome
