"""BSDS500 boundary scoring over a dataset, in parallel: model edge maps, saved edge maps, Canny, humans.

Only numpy/scipy/scikit-image/OpenCV/numba here (no torch), so the worker
processes start quickly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .boundaries import DEFAULT_THRESHOLDS, DEFAULT_TOLERANCE, human_counts, image_counts

EDGE_MAP_SUFFIXES = (".png", ".tif", ".tiff")


@dataclass(frozen=True)
class BsdsImage:
    """One BSDS500 image: its id, picture and human annotations."""

    stem: str
    image: Path
    ground_truth: Path


def bsds_images(root: str | Path, split: str = "val", limit: int | None = None) -> list[BsdsImage]:
    """The images of a split, sorted by id (``images/<split>/<id>.jpg``, ``groundTruth/<split>/<id>.mat``)."""
    root = Path(root)
    mats = sorted((root / "groundTruth" / split).glob("*.mat"))
    if not mats:
        raise FileNotFoundError(
            f"no BSDS500 ground truth under {root / 'groundTruth' / split}; pass the folder that holds "
            "images/ and groundTruth/ (BSDS500/data) and a split that exists there (train, val or test)."
        )
    from ..io.paths import path_inside

    def inside(name: str) -> Path:  # a link in a downloaded dataset must not lead out of the root the user named
        return path_inside(root, name, source=root, what="BSDS500 file", folder_label="BSDS500 root")

    return [BsdsImage(m.stem, inside(f"images/{split}/{m.stem}.jpg"), inside(f"groundTruth/{split}/{m.name}"))
            for m in mats[:limit]]


def load_boundaries(mat_path: str | Path) -> list[np.ndarray]:
    """Every annotator's boundary map, (H, W) bool each, from a BSDS ``.mat`` file."""
    from scipy.io import loadmat

    return [g["Boundaries"][0, 0].astype(bool) for g in loadmat(mat_path)["groundTruth"][0]]


def canny_edges(image: np.ndarray, sigma: float = 2.0, n_levels: int = 25) -> np.ndarray:
    """A soft Canny edge map, the built-in reference detector.

    Canny (OpenCV, L2 gradient, low threshold 0.4 x high) is run after a
    Gaussian blur of ``sigma`` at ``n_levels`` high thresholds from 10 to 400
    (geometric); a pixel's strength is the share of levels that keep it.

    Parameters
    ----------
    image : (H, W, 3) or (H, W) uint8

    Returns
    -------
    edges : (H, W) float32 in [0, 1]
    """
    import cv2

    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else np.asarray(image)
    gray = cv2.GaussianBlur(np.asarray(gray, np.uint8), (0, 0), sigma)
    acc = np.zeros(gray.shape, np.float32)
    for high in np.geomspace(10, 400, n_levels):
        acc += cv2.Canny(gray, 0.4 * high, high, L2gradient=True) > 0
    return acc / n_levels


def read_edge_map(path: str | Path) -> np.ndarray:
    """A saved edge map as (H, W) float64 in [0, 1].

    uint8 maps are divided by 255, uint16 by 65535; float maps must already lie
    in [0, 1]; an RGB(A) map must have equal channels.
    """
    path = Path(path)
    if path.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        from ..io.images import check_tiff

        with tifffile.TiffFile(path) as tif:
            check_tiff(tif, path.name)  # the declared size, before decoding (io.limits)
            arr = tif.asarray()
    else:
        import cv2

        from ..io.images import check_header

        check_header(path)
        arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if arr is None:
            raise ValueError(f"{path} could not be read as an image.")
    arr = np.squeeze(arr)
    if arr.ndim == 3:
        if not all(np.array_equal(arr[..., 0], arr[..., c]) for c in range(1, min(arr.shape[-1], 3))):
            raise ValueError(f"{path} is a colour image; save edge maps as one grey channel.")
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise ValueError(f"{path} has shape {arr.shape}; an edge map is a 2-D image.")
    if arr.dtype == np.uint8:
        return arr / 255.0
    if arr.dtype == np.uint16:
        return arr / 65535.0
    if arr.dtype == bool:
        return arr.astype(np.float64)
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"{path}: float edge maps must hold values in [0, 1]; got [{arr.min()}, {arr.max()}].")
    return arr


def find_edge_maps(directory: str | Path, images: Sequence[BsdsImage]) -> list[Path]:
    """The edge map of each image in ``directory``: ``<id>.png/.tif/.tiff`` or ``<id>_edges.*``."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"edge-map folder {directory} does not exist.")
    found, missing = [], []
    for item in images:
        # "<id>.png" or, as ``napari-fastsam segment --edges`` writes them, "<id>_edges.tif"
        names = [f"{item.stem}{tag}{s}" for tag in ("", "_edges") for s in EDGE_MAP_SUFFIXES]
        hits = [directory / n for n in names if (directory / n).exists()]
        (found.append(hits[0]) if hits else missing.append(item.stem))
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} of {len(images)} images have no edge map in {directory} (e.g. {', '.join(missing[:3])}); "
            f"save one {'/'.join(EDGE_MAP_SUFFIXES)} per image, named by the image id."
        )
    return found


@dataclass(frozen=True)
class _Job:
    kind: str  # "array", "file", "canny" or "human"
    source: object
    ground_truth: Path
    thresholds: np.ndarray
    rule: str
    tolerance: float


def _run_timed(job: _Job) -> tuple[np.ndarray, float]:
    t0 = time.process_time()
    out = _run(job)
    return out, time.process_time() - t0


def _run(job: _Job) -> np.ndarray:
    gts = load_boundaries(job.ground_truth)
    if job.kind == "human":
        return human_counts(gts, tolerance=job.tolerance, rule=job.rule)
    if job.kind == "array":
        edges = job.source
    elif job.kind == "file":
        edges = read_edge_map(job.source)
    else:
        import cv2

        bgr = cv2.imread(str(job.source), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(f"cannot read image {job.source}.")
        edges = canny_edges(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    if np.shape(edges) != gts[0].shape:
        raise ValueError(f"edge map of {job.ground_truth.stem} has shape {np.shape(edges)}; "
                         f"the image is {gts[0].shape}.")
    return image_counts(edges, gts, job.thresholds, tolerance=job.tolerance, rule=job.rule)


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def score_images(
    images: Sequence[BsdsImage],
    kind: str,
    sources: Sequence[object] | None = None,
    *,
    thresholds: np.ndarray = DEFAULT_THRESHOLDS,
    rule: str = "optimal",
    tolerance: float = DEFAULT_TOLERANCE,
    workers: int | None = None,
    progress: bool = True,
    desc: str = "boundaries",
    stats: dict | None = None,
) -> list[np.ndarray]:
    """Counts of every image, computed in parallel with a progress bar.

    Parameters
    ----------
    images : sequence of BsdsImage
    kind : {"array", "file", "canny", "human"}
        What is scored: edge maps given as arrays (``sources``), edge-map files
        (``sources``), Canny on the image, or each annotator against the others.
    sources : sequence, optional
        One edge map (array or path) per image, for "array" and "file".
    workers : int, optional
        Processes (default: every available core); 1 runs here.
    stats : dict, optional
        Receives ``cpu_seconds``: the CPU time the scoring took, all processes together.

    Returns
    -------
    counts : list of (T, 4) int64, or (4,) int64 for "human"; in the order of ``images``.
    """
    from tqdm.auto import tqdm

    if kind in ("array", "file"):
        if sources is None or len(sources) != len(images):
            raise ValueError(f"{kind!r} scoring needs one edge map per image ({len(images)}).")
    else:
        sources = [item.image for item in images]
    jobs = [_Job(kind, src, item.ground_truth, np.asarray(thresholds, np.float64), rule, tolerance)
            for item, src in zip(images, sources)]
    workers = min(default_workers() if workers is None else max(1, int(workers)), len(jobs) or 1)
    bar = tqdm(total=len(jobs), desc=desc, unit="img", disable=not progress)
    out, cpu = [], 0.0
    try:
        if workers == 1:
            results = map(_run_timed, jobs)
            for counts, seconds in results:
                out.append(counts)
                cpu += seconds
                bar.update()
        else:
            import multiprocessing as mp

            # spawn: the parent may hold torch/OpenMP threads that fork would copy mid-state.
            with mp.get_context("spawn").Pool(workers) as pool:
                for counts, seconds in pool.imap(_run_timed, jobs):
                    out.append(counts)
                    cpu += seconds
                    bar.update()
    finally:
        bar.close()
    if stats is not None:
        stats["cpu_seconds"] = cpu
    return out
