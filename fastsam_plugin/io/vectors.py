"""Label rasters to georeferenced polygons: GeoPackage and GeoJSON with attributes.

Polygons are traced with :func:`rasterio.features.shapes` on the label
raster (so a polygon covers exactly the pixels that carry its id), block by
block for large rasters. Tracing happens in whole-pixel coordinates, where
the pieces of one object cut by block borders share exact edges and join
without slivers with shapely; only then are they moved to map coordinates
with the raster's affine transform. Files are written with pyogrio (GDAL's
OGR without pandas).

Every feature carries ``id`` (its value in the label raster), ``score``
(model confidence), ``area`` (in CRS units squared, e.g. m²) and ``prompt``
(what selected it: empty for everything mode, ``"box 1: ..."``, ``"points ..."``,
``"text 'tree' #1"``).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from ..engine.result import SegmentationResult
from ..engine.windows import labels_window
from .geotiff import WRITE_BLOCK, GeoDependencyError
from .outputs import check_free

DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}


def _shapely():
    try:
        import rasterio.features  # noqa: F401
        import shapely
    except ImportError:
        raise GeoDependencyError('vector output needs rasterio and shapely: pip install "napari-fastsam[geo]".') from None
    return shapely


def _trace(block: np.ndarray, x0: int, y0: int) -> dict[int, list]:
    """Polygons of every non-zero id of an int32 label block, in whole-image pixel coordinates."""
    from affine import Affine
    from rasterio.features import shapes
    from shapely.geometry import shape

    parts: dict[int, list] = defaultdict(list)
    if not block.any():
        return parts
    for geom, value in shapes(block, mask=block > 0, connectivity=4, transform=Affine.translation(x0, y0)):
        parts[int(value)].append(shape(geom))
    return parts


def label_polygons(labels: SegmentationResult | np.ndarray, block: int = WRITE_BLOCK) -> dict[int, object]:
    """One (Multi)Polygon per id of a label raster, in pixel coordinates (corners of pixels).

    Parameters
    ----------
    labels : SegmentationResult or (H, W) int array
        A result is painted block by block (see :func:`fastsam_plugin.engine.windows.labels_window`).
    block : int
        Side of the blocks traced one at a time.

    Returns
    -------
    dict
        ``id -> shapely geometry``; pixel ``(col, row)`` covers ``[col, col + 1] x [row, row + 1]``.
    """
    shapely = _shapely()
    if isinstance(labels, SegmentationResult):
        (h, w), paint = labels.shape, lambda box: labels_window(labels, box)
    else:
        arr = np.asarray(labels)
        (h, w), paint = arr.shape, lambda box: arr[box[1]:box[3], box[0]:box[2]].astype(np.int32)
    pieces: dict[int, list] = defaultdict(list)
    for y0 in range(0, h, block):
        for x0 in range(0, w, block):
            for value, polys in _trace(paint((x0, y0, min(x0 + block, w), min(y0 + block, h))), x0, y0).items():
                pieces[value] += polys
    # pieces cut by block borders share exact integer edges: the union rejoins them
    return {v: ps[0] if len(ps) == 1 else shapely.union_all(ps) for v, ps in sorted(pieces.items())}


def to_map(geometry, transform):
    """Move a pixel-coordinate geometry to map coordinates with an affine transform."""
    from shapely.affinity import affine_transform

    t = transform
    return affine_transform(geometry, [t.a, t.b, t.d, t.e, t.c, t.f])


def write_vectors(
    path: str | Path,
    labels: SegmentationResult | np.ndarray,
    georef,
    *,
    scores: dict[int, float] | None = None,
    prompts: dict[int, str] | None = None,
    overwrite: bool = False,
    layer: str | None = None,
) -> Path:
    """Write the objects of a label raster as polygons (GeoPackage ``.gpkg`` or GeoJSON ``.geojson``).

    Parameters
    ----------
    path : str or Path
        The suffix picks the format.
    labels : SegmentationResult or (H, W) int array
        For a result, ids are ``i + 1`` and scores come from the result.
    georef
        Anything with ``crs`` and ``transform`` (a :class:`~fastsam_plugin.io.geotiff.GeoRaster`).
        Pixels that are nodata in the source must already be 0 (the tiler clips objects to valid data).
    scores, prompts : dict, optional
        Per id; missing scores are written as null, missing prompts as "".
    layer : str, optional
        Layer name (default: the file's stem).

    Returns
    -------
    Path
    """
    p = Path(path)
    driver = DRIVERS.get(p.suffix.lower())
    if driver is None:
        raise ValueError(f"unknown vector format {p.suffix!r}; use one of {sorted(DRIVERS)} (e.g. objects.gpkg).")
    _shapely()
    import pyogrio.raw
    import shapely

    check_free(p, overwrite)
    if p.exists():
        p.unlink()  # overwrite allowed: GDAL would otherwise add a layer to an existing GeoPackage
    if isinstance(labels, SegmentationResult) and scores is None:
        scores = {i + 1: float(s) for i, s in enumerate(labels.scores)}
    polys = label_polygons(labels)
    ids = np.array(sorted(polys), np.int64)
    geoms = [to_map(polys[i], georef.transform) for i in ids]
    multi = any(g.geom_type == "MultiPolygon" for g in geoms)
    if multi:
        geoms = [g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) for g in geoms]
    scores, prompts = scores or {}, prompts or {}
    fields = {
        "id": ids,
        "score": np.array([scores.get(int(i), np.nan) for i in ids], np.float64),
        "area": np.array([g.area for g in geoms], np.float64),
        "prompt": np.array([prompts.get(int(i), "") for i in ids], dtype=object),
    }
    crs = georef.crs.to_wkt() if georef.crs is not None else None
    pyogrio.raw.write(
        p,
        np.array(shapely.to_wkb(geoms), dtype=object) if geoms else np.array([], dtype=object),
        list(fields.values()),
        list(fields),
        layer=layer or p.stem,
        driver=driver,
        geometry_type="MultiPolygon" if multi else "Polygon",
        crs=crs,
    )
    return p
