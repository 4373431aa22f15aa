"""npe2 reader for calibrated microscopy TIFFs (OME-TIFF, ImageJ/Fiji): layers in physical units.

napari's built-in TIFF reader shows every file in pixels. This reader claims
TIFFs that carry a physical pixel size (OME ``PhysicalSizeX/Y/Z``, ImageJ
calibration) and gives their layers ``scale`` in micrometres (with napari's
``units``, so the scale bar and measurements read µm), channels split by
``channel_axis`` into one layer per channel named after the file's channel
names. The file's axes and sizes travel in ``metadata["ome"]``; the
plugin's Labels, Shapes and Points layers inherit the image layer's scale.
Uncalibrated and georeferenced TIFFs are left to other readers.
"""

from __future__ import annotations

from pathlib import Path

import tifffile

SUFFIXES = (".tif", ".tiff")
META_KEY = "ome"


def _calibrated(path: Path) -> bool:
    """Whether the TIFF records a physical pixel size (reads the header only)."""
    try:
        with tifffile.TiffFile(path) as tif:
            if tif.is_ome:
                return "PhysicalSizeX" in (tif.ome_metadata or "") or "PhysicalSizeY" in (tif.ome_metadata or "")
            if tif.is_imagej:
                return bool((tif.imagej_metadata or {}).get("unit"))
            unit = tif.pages.first.tags.get("ResolutionUnit")
            return unit is not None and int(unit.value) in (2, 3)
    except Exception:  # noqa: BLE001 - not a readable TIFF: leave it to napari's readers, which report it
        return False


def _georeferenced(path: Path) -> bool:
    try:
        from ..io.geotiff import is_georeferenced
    except ImportError:  # the [geo] extra is not installed
        return False
    return bool(is_georeferenced(path))


def get_reader(path: str | list[str]):
    """npe2 reader command: claim single calibrated, non-georeferenced TIFFs."""
    if isinstance(path, list):
        if len(path) != 1:
            return None
        path = path[0]
    p = Path(path)
    if p.suffix.lower() not in SUFFIXES or not p.is_file() or not _calibrated(p) or _georeferenced(p):
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
