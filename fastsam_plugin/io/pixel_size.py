"""The physical size of an image's pixels, from what its file says (for the scale rule, engine/scale.py)."""

from __future__ import annotations

import math


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
