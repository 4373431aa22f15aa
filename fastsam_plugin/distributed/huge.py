"""One huge image as a Dask graph: tiles segmented on workers, merged on the client, labels to OME-Zarr.

The image is never read whole: each task opens the file itself and reads one
window (:class:`fastsam_plugin.io.lazy.LazyImage`). Objects crossing tile seams
are merged with the same rule as in-process tiling
(:class:`fastsam_plugin.engine.tiling.TileMerger`), so label ids are unique over
the whole image. The client holds only the objects' box-cropped masks, and the
label image is written chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from mask_selectors import paint_order

from ..engine.result import SegmentationResult
from ..engine.tiling import DEFAULT_OVERLAP, DEFAULT_TILE, TileMerger, plan_tiles
from ..engine.windows import keep_valid
from .worker import SessionSpec, worker_session

Box = tuple[int, int, int, int]


def segment_window(image, box: Box, spec: SessionSpec, imgsz: int | None = None) -> SegmentationResult:
    """Worker task: everything mode on one window of a lazy image (in the window's pixel grid).

    ``imgsz`` is the model input of the image's scale plan (the window resized to the model's scale);
    None uses the settings' own input size.
    """
    session = worker_session(spec)
    rgb, valid = image.read_window(box)
    p = session.params
    part = session.segmenter.segment(rgb, imgsz=imgsz or p.imgsz, conf=p.conf, iou=p.iou, max_det=p.max_det)
    part = keep_valid(part, valid)
    part.image = None  # only the masks travel back
    return part


def segment_huge(
    client,
    image,
    spec: SessionSpec,
    *,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    progress: Callable[[int, int], None] | None = None,
    no_worker_timeout: float | None = None,
    imgsz: int | None = None,
) -> SegmentationResult:
    """Everything mode on a huge lazy image, tiles spread over the cluster.

    Parameters
    ----------
    client : distributed.Client
    image : WindowedImage
        A picklable lazy source, e.g. :class:`fastsam_plugin.io.lazy.LazyImage`.
    spec : SessionSpec
        Model and operating point; each worker loads the model once.
    tile, overlap : int
        Tile side and overlap in pixels (as in-process tiling).
    progress : callable, optional
        ``progress(done, total)`` after each tile.
    no_worker_timeout : float, optional
        Seconds the cluster may have no worker before giving up (default
        ``$NAPARI_FASTSAM_NO_WORKER_TIMEOUT`` or 60).
    imgsz : int, optional
        Model input size of each tile (a scale plan's, :func:`huge_scale_plan`); default the settings' own.

    Returns
    -------
    SegmentationResult
        Every object of the whole image (box-cropped masks), ``image=None``.

    Raises
    ------
    NoWorkersError
        No worker for ``no_worker_timeout`` seconds.
    WorkerLostError
        A tile's worker died each time the tile was tried: the image cannot be whole.
    """
    from .watch import as_finished, cancel_quietly, failure_of, resolve_no_worker_timeout

    limit = resolve_no_worker_timeout(no_worker_timeout)

    hw = image.shape[:2]
    rects = plan_tiles(hw, tile, overlap)
    # the lazy image is a path and contrast limits (a few hundred bytes), sent with each task; scattering it
    # first would wait (up to Dask's connect timeout) for workers that may never come
    futures = {client.submit(segment_window, image, rect, spec, imgsz, pure=False): rect for rect in rects}
    done: dict[Box, SegmentationResult] = {}
    try:
        for k, future in enumerate(as_finished(client, futures, no_worker_timeout=limit, what="tiles"), start=1):
            exc = failure_of(future)
            if exc is not None:  # one missing tile and the labels are not whole: stop the other tiles
                raise exc
            done[futures[future]] = future.result()
            if progress is not None:
                progress(k, len(rects))
    except BaseException:
        cancel_quietly(client, futures)
        raise
    merger = TileMerger(hw)
    for rect in rects:  # merge in plan order: the same objects as the in-process tiler
        merger.add(rect, done.pop(rect))
    return merger.result()


def huge_scale_plan(session, hw: tuple[int, int], pixel_size: float | None = None, unit: str | None = None):
    """The scale rule (engine/scale.py) for a huge image: tiles at the model's scale, never one pass.

    As for any image, the zoom comes from the pixel size, else the user's object size, else the
    training scale; the first-pass estimate is not made (it would read the whole image).

    Returns
    -------
    ScalePlan or None
        With ``tile`` and ``overlap`` in image pixels and ``imgsz`` the model input of each tile;
        None for a model without a recorded scale (the settings' tiling and input size apply).
    """
    return session.scale_options(pixel_size, unit).plan(hw, session.params.imgsz, tiles_only=True)


def label_window(result: SegmentationResult, box: Box) -> np.ndarray:
    """Labels of ``result`` inside ``box = (x0, y0, x1, y1)``: object ``i`` has id ``i + 1``, small ones on top.

    Equal to ``result.labels()[y0:y1, x0:x1]`` without building the full label image.

    Returns
    -------
    labels : (y1 - y0, x1 - x0) int32
    """
    x0, y0, x1, y1 = box
    out = np.zeros((y1 - y0, x1 - x0), np.int32)
    b = result.pixel_boxes
    near = np.flatnonzero((b[:, 0] < x1) & (b[:, 2] > x0) & (b[:, 1] < y1) & (b[:, 3] > y0))
    for i in near[paint_order(result.areas[near])]:
        bx0, by0, bx1, by1 = b[i]
        ix0, iy0, ix1, iy1 = max(bx0, x0), max(by0, y0), min(bx1, x1), min(by1, y1)
        part = result.crops[i][iy0 - by0:iy1 - by0, ix0 - bx0:ix1 - bx0]
        out[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0][part] = i + 1
    return out


def write_result_ome_zarr(result: SegmentationResult, path: str | Path, **kwargs) -> Path:
    """Write ``result``'s labels as chunked OME-Zarr without the full label image in memory."""
    from ..io.ome_zarr import write_labels_ome_zarr

    return write_labels_ome_zarr(path, result.shape, lambda box: label_window(result, box), **kwargs)
