"""npe2 reader for calibrated microscopy TIFFs (OME-TIFF, ImageJ/Fiji): layers in physical units.

napari's built-in TIFF reader shows every file in pixels. This reader claims
TIFFs that carry a physical pixel size (OME ``PhysicalSizeX/Y/Z``, ImageJ
calibration) and gives their layers ``scale`` in micrometres (with napari's
``units``, so the scale bar and measurements read µm), channels split by
``channel_axis`` into one layer per channel named after the file's channel
names. The file's axes and sizes travel in ``metadata["ome"]``; the
plugin's Labels, Shapes and Points layers inherit the image layer's scale.
napari reaches it through the plugin's one TIFF reader (``reader.get_reader``),
which sends uncalibrated TIFFs to the plain reader and georeferenced ones to
the GeoTIFF reader.
"""

from __future__ import annotations

from pathlib import Path

import tifffile

SUFFIXES = (".tif", ".tiff")
META_KEY = "ome"


#: resolutions (pixels per inch) that tools write by default: a page layout, not a physical pixel size
DEFAULT_DPI = (1.0, 72.0, 96.0, 150.0, 200.0, 300.0, 600.0, 1200.0)


def is_calibrated(path: Path) -> bool:
    """Whether the TIFF records a physical pixel size (reads the header only).

    OME ``PhysicalSizeX/Y``, an ImageJ unit, or a TIFF resolution in
    centimetres or in inches other than a default dots-per-inch value
    (72 dpi is what photo tools write for every image).
    """
    try:
        with tifffile.TiffFile(path) as tif:
            if tif.is_ome:
                return "PhysicalSizeX" in (tif.ome_metadata or "") or "PhysicalSizeY" in (tif.ome_metadata or "")
            if tif.is_imagej:
                return bool((tif.imagej_metadata or {}).get("unit"))
            tags = tif.pages.first.tags
            unit = tags.get("ResolutionUnit")
            if unit is None or int(unit.value) not in (2, 3):
                return False
            resolution = tags.get("XResolution")
            if resolution is None:
                return False
            num, den = resolution.value
            per_unit = num / den if den else 0.0
            return per_unit > 0 and not (int(unit.value) == 2 and round(per_unit, 3) in DEFAULT_DPI)
    except Exception:  # noqa: BLE001 - not a readable TIFF: the plain reader reports it
        return False


def _georeferenced(path: Path) -> bool:
    try:
        from ..io.geotiff import is_georeferenced
    except ImportError:  # the [geo] extra is not installed
        return False
    try:
        return bool(is_georeferenced(path))
    except Exception:  # noqa: BLE001 - a header GDAL cannot parse carries no georeferencing we could use
        return False


def get_reader(path: str | list[str]):
    """Reader of calibrated, non-georeferenced single TIFFs (napari opens TIFFs through ``reader.get_reader``)."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    p = Path(path)
    if p.suffix.lower() not in SUFFIXES or not p.is_file() or not is_calibrated(p) or _georeferenced(p):
        return None
    return read_calibrated_tiff


def _is_rgb(path: Path) -> bool:
    with tifffile.TiffFile(path) as tif:
        return "S" in tif.series[0].axes


def read_calibrated_tiff(path: str | list[str]) -> list[tuple]:
    """Layer data for one TIFF: one Image layer per channel (or one RGB layer), scaled in physical units."""
    from ..io.ome import read_tiff

    p = Path(path[0] if isinstance(path, list) else path)
    data, meta = read_tiff(p)
    spatial = meta.axes.replace("C", "")
    kwargs: dict = {
        "name": p.name.split(".")[0],
        "scale": meta.spacing(spatial),
        "metadata": {META_KEY: {"axes": meta.axes, "pixel_size": dict(meta.pixel_size), "unit": meta.unit,
                                "channel_names": list(meta.channel_names), "path": str(p)}},
    }
    if meta.unit == "µm":
        kwargs["units"] = tuple("pixel" if a == "T" else "micrometer" for a in spatial)
    if meta.axes.endswith("C"):
        if _is_rgb(p) and data.shape[-1] in (3, 4):
            kwargs["rgb"] = True
        else:
            names = meta.channel_names or tuple(f"ch{c}" for c in range(data.shape[-1]))
            kwargs.update(channel_axis=data.ndim - 1, name=[f"{kwargs['name']} {n}" for n in names])
    return [(data, kwargs, "image")]
