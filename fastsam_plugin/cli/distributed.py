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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--scheduler`` and ``--workers`` options of ``segment``."""
    parser.add_argument("--scheduler", default=None, metavar="local|ADDRESS",
                        help="run on Dask: 'local' starts worker processes here, or give a scheduler address "
                             "(tcp://host:8786) of a running cluster")
    parser.add_argument("--workers", type=_positive_int, default=None,
                        help="worker processes of --scheduler local (default: one per CPU core)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1; got {text!r}")
    return value


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


def _segment_file(path: Path, args: argparse.Namespace, spec: SessionSpec) -> str:
    from .segment import _segment_one

    _segment_one(worker_session(spec), path, args)
    return path.name


def _segment_huge_file(client, path: Path, args: argparse.Namespace, spec: SessionSpec) -> None:
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
    stem = path.name[: -len(".ome.zarr")] if path.name.lower().endswith(".ome.zarr") else path.stem
    out = write_result_ome_zarr(result, args.out / f"{stem}_labels.ome.zarr", overwrite=args.overwrite)
    tqdm.write(f"{path.name}: {len(result)} objects -> {out}")


def run(args: argparse.Namespace, files: list[Path], session) -> int:
    """Segment ``files`` on the cluster named by ``args.scheduler``; exit code 0, or 1 when a file failed."""
    from tqdm import tqdm

    from ..distributed.batch import run_files
    from ..distributed.cluster import make_client
    from .segment import PER_FILE_ERRORS

    spec = spec_of(session)
    huge = [f for f in files if is_huge(f, session.tiling.threshold)]
    small = [f for f in files if f not in huge]
    failed: dict[Path, str] = {}
    with make_client(args.scheduler, args.workers) as client:
        print(f"Dask: {len(client.scheduler_info()['workers'])} worker(s) at {client.scheduler.address}")
        if small:
            with tqdm(total=len(small), desc="segment", unit="image") as bar:
                def fail(path: Path, exc: BaseException) -> None:
                    bar.update(1)
                    tqdm.write(f"failed {path}: {exc}")

                report = run_files(client, small, partial(_segment_file, args=args, spec=spec),
                                   on_result=lambda path, _: bar.update(1), on_failure=fail)
            failed.update(report.failed)
        for path in huge:
            try:
                _segment_huge_file(client, path, args, spec)
            except PER_FILE_ERRORS as exc:  # one huge file's failure is reported; the others go on
                failed[path] = str(exc)
                print(f"failed {path}: {exc}", file=sys.stderr)
    print(f"{len(files) - len(failed)} of {len(files)} image(s) done; outputs in {args.out}")
    return 1 if failed else 0
