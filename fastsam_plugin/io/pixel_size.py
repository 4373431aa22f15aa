"""The physical size of an image's pixels, from what its file says (for the scale rule, engine/scale.py)."""

from __future__ import annotations

import math
from pathlib import Path


def of_geotiff(raster) -> tuple[float, str] | None:
    """Ground size of one pixel of a georeferenced raster, in metres, or None when not known in metres.

    Parameters
    ----------
    raster
        Anything with ``crs`` (rasterio CRS or None) and ``transform`` (affine), e.g. a
        :class:`fastsam_plugin.io.geotiff.GeoRaster`.

    Returns
    -------
    (float, "m") or None
        The geometric mean of the pixel's width and height for a projected CRS in metres (or feet,
        converted); None for geographic (degree) CRSs, a missing CRS or a degenerate transform.
    """
    crs, transform = getattr(raster, "crs", None), getattr(raster, "transform", None)
    if crs is None or transform is None or not getattr(crs, "is_projected", False):
        return None
    try:
        factor = float(crs.linear_units_factor[1])  # metres per CRS unit
    except Exception:  # noqa: BLE001 - a CRS without linear units: the pixel size stays unknown
        return None
    size = math.sqrt(abs(transform.a * transform.e - transform.b * transform.d)) * factor
    return (size, "m") if math.isfinite(size) and size > 0 else None


def of_microscopy(meta) -> tuple[float, str] | None:
    """In-plane pixel size of a calibrated microscopy image (``ImageMeta``), or None when uncalibrated."""
    sizes = getattr(meta, "pixel_size", {}) or {}
    x, y = sizes.get("X"), sizes.get("Y")
    unit = getattr(meta, "unit", None)
    if not getattr(meta, "calibrated", False) or unit is None or x is None:
        return None
    size = math.sqrt(float(x) * float(y if y is not None else x))
    return (size, str(unit)) if math.isfinite(size) and size > 0 else None


def of_georef_record(georef: object) -> tuple[float, str] | None:
    """Ground pixel size from the ``{"crs": WKT, "transform": (a, b, c, d, e, f)}`` record the plugin's GeoTIFF
    reader keeps in a napari layer's metadata; None when absent, damaged or not in a projected CRS."""
    if not isinstance(georef, dict) or not georef.get("crs") or georef.get("transform") is None:
        return None
    try:
        from types import SimpleNamespace

        from affine import Affine
        from rasterio.crs import CRS

        ref = SimpleNamespace(crs=CRS.from_wkt(georef["crs"]), transform=Affine(*georef["transform"][:6]))
    except Exception:  # noqa: BLE001 - a damaged record: the pixel size stays unknown
        return None
    return of_geotiff(ref)


def of_file(path: str | Path) -> tuple[float, str] | None:
    """The pixel size a large image's file declares, read from its header only (no pixels decoded).

    A georeferenced GeoTIFF's ground size (metres), else an OME/ImageJ TIFF's calibration, else an
    OME-Zarr's scale with its axis unit; None when the file says nothing (or cannot be read: the
    pixel reader reports that). For the huge-image path, which never holds the whole image.
    """
    p = Path(path)
    if p.is_dir() or p.suffix.lower() == ".zarr":
        from .ome_zarr import pixel_size_of, pixel_size_unit_of

        try:
            yx, unit = pixel_size_of(p), pixel_size_unit_of(p)
        except Exception:  # noqa: BLE001 - no or damaged metadata: the pixel size stays unknown
            return None
        if yx is None or unit is None:
            return None
        size = math.sqrt(abs(yx[0] * yx[1]))
        return (size, unit) if math.isfinite(size) and size > 0 else None
    from .geotiff import is_georeferenced, open_raster

    if is_georeferenced(p):
        with open_raster(p) as ds:
            return of_geotiff(ds)
    from .ome import read_tiff_meta

    return of_microscopy(read_tiff_meta(p))
