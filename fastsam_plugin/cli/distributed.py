"""``napari-fastsam segment --scheduler``: the same outputs, computed on a Dask cluster.

Ordinary images run as one task each, through the very function the
single-process CLI uses, on a worker that keeps its model loaded. Huge images
(``.zarr`` folders, and TIFFs larger than the tiling threshold) are read lazily
and split into tile tasks; their labels are written as chunked OME-Zarr.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

from ..distributed.worker import SessionSpec, worker_session
from .args import int_range


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--scheduler`` and ``--workers`` options of ``segment``."""
    parser.add_argument("--scheduler", default=None, metavar="local|ADDRESS",
                        help="run on Dask: 'local' starts worker processes here, or give a scheduler address "
                             "(tcp://host:8786) of a running cluster")
    parser.add_argument("--workers", type=int_range(1), default=None,
                        help="worker processes of --scheduler local (default: one per CPU core)")


def spec_of(session) -> SessionSpec:
    """The settings a worker needs to rebuild ``session`` (after its operating point was chosen)."""
    return SessionSpec(
        weights=None if session.weights is None else str(session.weights),
        device=session.device,
        params=session.params,
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


def _segment_file(path: Path, args: argparse.Namespace, spec: SessionSpec, bases: dict[Path, str]):
    """Worker task: the single-process CLI's per-file function on this worker's cached session."""
    from . import batch
    from .segment import _segment_one

    outcome = batch.FileOutcome(path)
    try:
        _segment_one(worker_session(spec), path, args, bases[path], outcome)
    except Exception as exc:  # noqa: BLE001 - reported by name on the client, as in the single-process batch
        outcome.failed.append(batch.describe_failure(exc, path))
    return outcome


def _segment_huge_file(client, path: Path, args: argparse.Namespace, spec: SessionSpec, base: str) -> Path:
    from tqdm import tqdm

    from ..distributed.huge import segment_huge, write_result_ome_zarr
    from ..io.lazy import LazyImage

    image = LazyImage(path, channels=spec.image_options.channels,
                      percentiles=spec.image_options.percentiles or (1.0, 99.8))
    with tqdm(total=0, desc=f"{path.name} tiles", unit="tile") as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = segment_huge(client, image, spec, tile=spec.tiling.tile, overlap=spec.tiling.overlap,
                              progress=progress)
    out = write_result_ome_zarr(result, args.out / f"{base}_labels.ome.zarr", overwrite=args.overwrite)
    tqdm.write(f"{path.name}: {len(result)} objects -> {out}")
    return out


def run(args: argparse.Namespace, files: list[Path], session, report) -> int:
    """Segment ``files`` on the cluster named by ``args.scheduler``, filling the CLI's ``report``.

    Returns the same exit codes as the single-process batch.
    """
    from tqdm import tqdm

    from ..distributed.batch import run_files
    from ..distributed.cluster import make_client
    from . import batch

    spec = spec_of(session)
    bases = batch.output_bases(files)
    huge = [f for f in files if is_huge(f, session.tiling.threshold)]
    small = [f for f in files if f not in huge]
    with make_client(args.scheduler, args.workers) as client:
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

                run_files(client, small, partial(_segment_file, args=args, spec=spec, bases=bases),
                          on_result=finished, on_failure=crashed)
        for path in huge:
            outcome = batch.FileOutcome(path)
            report.outcomes.append(outcome)
            done = args.out / f"{bases[path]}_labels.ome.zarr"
            if done.exists() and not args.overwrite:  # written atomically: an existing result is complete
                outcome.kept.append(done)
                continue
            try:
                outcome.written.append(_segment_huge_file(client, path, args, spec, bases[path]))
            except Exception as exc:  # noqa: BLE001 - one huge file's failure is reported; the others go on
                outcome.failed.append(batch.describe_failure(exc, path))
                print(f"failed {path.name}: {outcome.failed[-1]}", file=sys.stderr)
    print(report.summary(args.out))
    return report.exit_code()
