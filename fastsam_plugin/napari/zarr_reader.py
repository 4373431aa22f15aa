"""npe2 reader: Zarr / OME-Zarr folders opened lazily (only the chunks on screen are read).

Label results of ``napari-fastsam segment --scheduler`` (``*_labels.ome.zarr``)
arrive as a Labels layer with the NGFF pixel size as the layer's scale; an
image array arrives as an Image layer (channels last shown as RGB when 3 or 4).
"""

from __future__ import annotations

from pathlib import Path


def get_reader(path):
    """Return :func:`read_zarr` for a ``.zarr`` folder, else None (another reader may take it)."""
    if isinstance(path, list) or not str(path).rstrip("/").lower().endswith(".zarr"):
        return None
    if not Path(path).is_dir():
        return None
    return read_zarr


def read_zarr(path) -> list[tuple]:
    """Layer data tuples for one Zarr folder, as lazy dask arrays."""
    import dask.array as da
    import numpy as np

    from ..io.lazy import open_array
    from ..io.ome_zarr import pixel_size_of

    array = da.from_zarr(open_array(path))
    name = Path(str(path).rstrip("/")).name
    meta = {"name": name}
    scale = pixel_size_of(path)
    if scale is not None:
        meta["scale"] = scale
    if np.issubdtype(array.dtype, np.integer) and array.ndim == 2 and array.dtype != np.uint8:
        return [(array, meta, "labels")]
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        meta["rgb"] = True
    return [(array, meta, "image")]
