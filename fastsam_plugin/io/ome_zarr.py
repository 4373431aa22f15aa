"""Label images as chunked OME-Zarr (NGFF 0.4 ``multiscales``), written chunk by chunk.

A label image of a 100,000 x 100,000 px mosaic (40 GB as int32) is never held in
one process: :func:`write_labels_ome_zarr` asks a painter for one chunk-sized
window at a time. The folder is written under a temporary name and renamed when
complete, so an interrupted run leaves no half-written result.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

Box = tuple[int, int, int, int]
DEFAULT_CHUNK = 1024


def _multiscales(name: str, pixel_size: tuple[float, float] | None, unit: str | None) -> list[dict]:
    sy, sx = pixel_size or (1.0, 1.0)
    y_axis, x_axis = {"name": "y", "type": "space"}, {"name": "x", "type": "space"}
    if unit:
        y_axis["unit"] = x_axis["unit"] = unit
    return [{
        "version": "0.4",
        "name": name,
        "axes": [y_axis, x_axis],
        "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [float(sy), float(sx)]}]}],
    }]


def write_labels_ome_zarr(
    path: str | Path,
    hw: tuple[int, int],
    paint: Callable[[Box], np.ndarray],
    *,
    chunk: int = DEFAULT_CHUNK,
    pixel_size: tuple[float, float] | None = None,
    unit: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write an ``(H, W)`` int32 label image as OME-Zarr, one chunk at a time.

    Parameters
    ----------
    path : str or Path
        Output folder, e.g. ``scene_labels.ome.zarr``.
    hw : (int, int)
        Height and width of the label image.
    paint : callable
        ``paint((x0, y0, x1, y1)) -> (y1 - y0, x1 - x0) int32`` labels of one window.
    chunk : int
        Chunk side in pixels (also the window size handed to ``paint``).
    pixel_size : (float, float), optional
        Physical ``(y, x)`` size of a pixel, kept in the NGFF scale transform.
    unit : str, optional
        Unit of ``pixel_size`` (e.g. ``"micrometer"``).
    overwrite : bool
        Replace an existing result.

    Returns
    -------
    Path
        The finished folder.
    """
    import zarr

    from .outputs import OutputExistsError

    out = Path(path)
    if out.exists() and not overwrite:
        raise OutputExistsError(f"{out} exists; pass overwrite=True (CLI: --overwrite) to replace it.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        root = zarr.open_group(str(tmp), mode="w", zarr_format=2)
        root.attrs["multiscales"] = _multiscales(out.name, pixel_size, unit)
        h, w = (int(v) for v in hw)
        arr = root.create_array("0", shape=(h, w), chunks=(chunk, chunk), dtype="int32", fill_value=0,
                                chunk_key_encoding={"name": "v2", "separator": "/"})  # NGFF 0.4 nests chunks
        for y0 in range(0, h, chunk):
            for x0 in range(0, w, chunk):
                box = (x0, y0, min(x0 + chunk, w), min(y0 + chunk, h))
                arr[box[1]:box[3], box[0]:box[2]] = paint(box)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def read_labels_ome_zarr(path: str | Path):
    """The full-resolution labels of an OME-Zarr folder as a lazy dask array ``(H, W)`` int32."""
    import dask.array as da

    from .lazy import open_array

    return da.from_zarr(open_array(path))


def _read_multiscales(path: str | Path) -> dict | None:
    """The first ``multiscales`` entry of an OME-Zarr group (NGFF 0.4 or 0.5 layout), or None."""
    import zarr

    node = zarr.open(str(path), mode="r")
    if isinstance(node, zarr.Array):
        return None
    scales = node.attrs.get("multiscales") or node.attrs.get("ome", {}).get("multiscales")
    return scales[0] if scales else None


def pixel_size_unit_of(path: str | Path) -> str | None:
    """The unit of an OME-Zarr's last (x) axis, e.g. ``"micrometer"``, or None when it names none."""
    scales = _read_multiscales(path)
    axes = scales.get("axes") if scales else None
    last = axes[-1] if axes else None
    unit = last.get("unit") if isinstance(last, dict) else None
    return str(unit) if unit else None


def pixel_size_of(path: str | Path) -> tuple[float, float] | None:
    """The ``(y, x)`` scale of an OME-Zarr's first dataset, or None when it has none."""
    scales = _read_multiscales(path)
    if not scales:
        return None
    for t in scales["datasets"][0].get("coordinateTransformations", []):
        if t.get("type") == "scale":
            return tuple(float(v) for v in t["scale"][-2:])
    return None
