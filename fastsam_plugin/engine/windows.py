"""Lazy pictures read window by window, and clipping results to valid data.

A raster far larger than memory (a 20000 x 20000 GeoTIFF) is never read
whole: the tiler asks a :class:`WindowedImage` for one tile at a time. A
window also says which of its pixels hold data (nodata, masks and NaN do
not); objects are clipped to those pixels, so nodata never becomes an object.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from .result import SegmentationResult

Box = tuple[int, int, int, int]


@runtime_checkable
class WindowedImage(Protocol):
    """A picture of ``shape = (H, W, 3)`` that is read one window at a time.

    ``read_window((x0, y0, x1, y1))`` returns the model input of that window,
    ``(y1 - y0, x1 - x0, 3)`` uint8, and a bool mask of the same height and
    width that is True where the source holds data (or None when every pixel
    does). See :class:`fastsam_plugin.io.geotiff.GeoRaster`.
    """

    shape: tuple[int, ...]

    def read_window(self, box: Box) -> tuple[np.ndarray, np.ndarray | None]: ...


def read_tile(image, box: Box) -> tuple[np.ndarray, np.ndarray | None]:
    """One window of an in-memory ``(H, W, 3)`` array or of a :class:`WindowedImage`."""
    if isinstance(image, WindowedImage) and not isinstance(image, np.ndarray):
        return image.read_window(box)
    x0, y0, x1, y1 = box
    return np.ascontiguousarray(image[y0:y1, x0:x1]), None


def keep_valid(result: SegmentationResult, valid: np.ndarray | None) -> SegmentationResult:
    """Clip every mask to the pixels holding data; masks left empty are dropped.

    Parameters
    ----------
    result : SegmentationResult
        In the grid of ``valid``.
    valid : (H, W) bool or None
        True where the source has data; None keeps ``result`` as it is.

    Returns
    -------
    SegmentationResult
        Crops and tight pixel boxes recomputed; model boxes and scores kept.
    """
    if valid is None or len(result) == 0 or valid.all():
        return result
    crops, pix, keep = [], [], []
    for i, (crop, (x0, y0, x1, y1)) in enumerate(zip(result.crops, result.pixel_boxes)):
        clipped = crop & valid[y0:y1, x0:x1]
        rows, cols = np.flatnonzero(clipped.any(axis=1)), np.flatnonzero(clipped.any(axis=0))
        if len(rows) == 0:
            continue
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        crops.append(clipped[r0:r1, c0:c1].copy())
        pix.append((x0 + c0, y0 + r0, x0 + c1, y0 + r1))
        keep.append(i)
    return SegmentationResult(crops, np.array(pix).reshape(-1, 4), result.boxes[keep], result.scores[keep],
                              result.shape, result.image)


def labels_window(result: SegmentationResult, box: Box) -> np.ndarray:
    """The label image of ``result`` inside ``box``, painted without the full-size array.

    Returns
    -------
    labels : (y1 - y0, x1 - x0) int32
        Equal to ``result.labels()[y0:y1, x0:x1]``: object ``i`` has id
        ``i + 1``, larger objects are painted first (smaller ones on top).
    """
    from mask_selectors import paint_order

    x0, y0, x1, y1 = (int(v) for v in box)
    out = np.zeros((y1 - y0, x1 - x0), np.int32)
    b = result.pixel_boxes
    near = np.flatnonzero((b[:, 0] < x1) & (b[:, 2] > x0) & (b[:, 1] < y1) & (b[:, 3] > y0))
    for i in near[paint_order(result.areas[near])]:
        bx0, by0, bx1, by1 = (int(v) for v in b[i])
        ix0, iy0, ix1, iy1 = max(bx0, x0), max(by0, y0), min(bx1, x1), min(by1, y1)
        part = result.crops[i][iy0 - by0:iy1 - by0, ix0 - bx0:ix1 - bx0]
        out[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0][part] = i + 1
    return out
