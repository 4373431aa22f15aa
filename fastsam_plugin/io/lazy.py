"""Huge images read lazily, one window at a time: Zarr / OME-Zarr arrays and TIFF / OME-TIFF files.

A 100,000 x 100,000 px slide or mosaic never fits in one process. :class:`LazyImage`
wraps a Zarr array (a TIFF is opened through tifffile's Zarr store, so only the
TIFF tiles or strips a window touches are read) and hands out model-ready 8-bit RGB
windows. The contrast stretch is fixed once for the whole image from a strided
subsample, so neighbouring tiles look alike and no tile is stretched on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine.imaging import ImageError, normalize_image

Box = tuple[int, int, int, int]
SUBSAMPLE_SIDE = 2048  # the contrast limits come from about this many pixels along each side


def open_array(path: str | Path, component: str | None = None):
    """Open a Zarr array, an OME-Zarr image (its full-resolution level) or a TIFF, without reading pixels.

    Parameters
    ----------
    path : str or Path
        A ``.zarr`` folder (plain array, group with ``component``, or OME-Zarr
        multiscales) or a ``.tif``/``.tiff`` file.
    component : str, optional
        Array path inside a Zarr group; OME-Zarr's first ``multiscales`` dataset by default.

    Returns
    -------
    zarr.Array
        ``(H, W)`` or ``(H, W, C)``; pixels are read only when sliced.
    """
    import zarr

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no image at {p}.")
    if p.suffix.lower() in (".tif", ".tiff"):
        import tifffile

        store = tifffile.imread(p, aszarr=True)
        node = zarr.open(store, mode="r")
    else:
        node = zarr.open(str(p), mode="r")
    if isinstance(node, zarr.Array):
        return _check_chunks(node, p.name)
    if component is None:
        scales = node.attrs.get("multiscales") or node.attrs.get("ome", {}).get("multiscales")
        component = scales[0]["datasets"][0]["path"] if scales else "0"
    try:
        return _check_chunks(node[component], p.name)
    except KeyError:
        raise ImageError(f"{p.name} has no array {component!r}; name one with component=...") from None


def _check_chunks(array, name: str):
    """``array`` when one stored chunk (a TIFF tile or strip) is within the limits of :mod:`.limits`.

    The whole image is not capped (it is read window by window), but any window
    decodes every chunk it touches whole: a file stored as one giant deflated
    strip would make each window cost the whole image.
    """
    from .limits import check_array

    chunks = getattr(array, "chunks", None) or array.shape
    check_array(chunks, array.dtype.itemsize, name=f"{name} (one stored tile or strip)")
    return array


@dataclass
class LazyImage:
    """A huge ``(H, W)`` or ``(H, W, C)`` array read window by window as 8-bit RGB.

    Satisfies :class:`fastsam_plugin.engine.windows.WindowedImage`, so the tiler
    and the Dask graph read only the tiles they segment. Pickles as its path, so
    Dask workers open the file themselves instead of receiving pixels.

    Parameters
    ----------
    path : str or Path
        See :func:`open_array`.
    channels : sequence of int, optional
        Up to three channels shown as red, green, blue (``normalize_image``'s rule).
    percentiles : (float, float)
        Contrast limits in percent of a strided subsample of the whole image.
    component : str, optional
        Array inside a Zarr group.
    """

    path: str | Path
    channels: Sequence[int] | None = None
    percentiles: tuple[float, float] = (1.0, 99.8)
    component: str | None = None

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        array = open_array(self.path, self.component)
        if array.ndim not in (2, 3):
            raise ImageError(
                f"{self.path.name} has shape {array.shape}; a huge image must be (H, W) or (H, W, C). "
                "Segment stacks slice by slice (--stack)."
            )
        self.shape = (int(array.shape[0]), int(array.shape[1]), 3)
        self.dtype = array.dtype
        self._limits = self._contrast_limits(array)
        self._array = array

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_array")  # workers reopen the file; pixels never travel
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._array = open_array(self.path, self.component)

    def _contrast_limits(self, array) -> np.ndarray | None:
        """Per-channel ``(lo, hi)`` from a strided subsample; None for 8-bit data (used as is)."""
        if array.dtype == np.uint8:
            return None
        step = max(1, max(array.shape[:2]) // SUBSAMPLE_SIDE)
        sample = np.asarray(array[::step, ::step]).astype(np.float64)
        sample = sample.reshape(-1, 1) if sample.ndim == 2 else sample.reshape(-1, sample.shape[-1])
        limits = []
        for c in range(sample.shape[1]):
            finite = sample[np.isfinite(sample[:, c]), c]
            lo, hi = np.percentile(finite, self.percentiles) if len(finite) else (0.0, 1.0)
            limits.append((lo, hi if hi > lo else lo + 1.0))
        return np.array(limits)

    def read_window(self, box: Box) -> tuple[np.ndarray, np.ndarray | None]:
        """Model input ``(h, w, 3)`` uint8 of ``box = (x0, y0, x1, y1)``, and the valid-pixel mask (None: all)."""
        x0, y0, x1, y1 = (int(v) for v in box)
        data = np.asarray(self._array[y0:y1, x0:x1])
        valid = None
        if self._limits is not None:
            values = data.astype(np.float64)
            finite = np.isfinite(values)
            planes = values if values.ndim == 3 else values[..., None]
            lo, hi = self._limits[:, 0], self._limits[:, 1]
            data = (np.clip((np.nan_to_num(planes) - lo) / (hi - lo), 0, 1) * 255).astype(np.uint8)
            data = data if values.ndim == 3 else data[..., 0]
            if not finite.all():
                valid = finite if finite.ndim == 2 else finite.all(axis=-1)
        return normalize_image(data, channels=self.channels), valid
