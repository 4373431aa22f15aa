"""npe2 reader for TIFFs and writer for GeoTIFF labels: bands as named channels in map units; polygons.

The plugin's one TIFF reader claims ``*.tif``/``*.tiff`` and never refuses a
file it claims (napari pre-selects it when asked which reader to use):

* a georeferenced TIFF (a CRS or a map transform) opens in map units, below;
* a calibrated microscopy TIFF (OME, ImageJ, a physical resolution) opens in
  micrometres with its channels split (``ome_reader``);
* any other TIFF opens as napari's own reader opens it: the first series as
  one image layer, pixels as stored (LZW, Deflate, Zstd, JPEG... through
  imagecodecs), in pixel units.

Opening a georeferenced TIFF gives

* an RGB composite of the chosen bands (1-3 by default), stretched to 8 bit
  the way the segmenter sees it: the layer to segment;
* every band as its own channel layer named from the file's band descriptions
  (hidden at first).

All layers share ``scale`` and ``translate`` in map units (metres for UTM):
world ``x`` is the easting of pixel centres and world ``y`` is minus the
northing, so north stays up on screen and a distance measured in napari is a
distance on the ground. The file's CRS and affine transform travel in
``layer.metadata["georef"]``; the plugin's Labels layers inherit them, and
saving such a layer as ``.gpkg`` or ``.geojson`` writes polygons in the
raster's CRS on the right spot.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..errors import FastSAMError
from .layers import spatial_shape

GEO_SUFFIXES = (".tif", ".tiff")
GEOREF = "georef"


def get_reader(path: str | list[str]):
    """npe2 reader command: every TIFF (or list of TIFFs) it is given, read by the reader that fits it.

    None only for what the manifest does not claim (other suffixes, folders, missing files).
    """
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if not paths or not all(Path(p).suffix.lower() in GEO_SUFFIXES and Path(p).is_file() for p in paths):
        return None
    if len(paths) > 1:
        return read_plain_tiff  # a list (napari's "stack" open): one array of all files, as napari's reader does
    p = Path(paths[0])
    if _georeferenced(p):
        return read_geotiff
    from .ome_reader import is_calibrated, read_calibrated_tiff

    if is_calibrated(p):
        return read_calibrated_tiff
    return read_plain_tiff  # a plain (microscopy, photo) TIFF: opened, never refused


def _georeferenced(path: Path) -> bool:
    """Whether the TIFF carries georeferencing (False without the [geo] extra or for an unreadable header)."""
    try:
        from ..io.geotiff import is_georeferenced

        return bool(is_georeferenced(path))
    except Exception:  # noqa: BLE001 - no rasterio, or a file GDAL cannot parse: read it as a plain TIFF
        return False


def _imread(path: Path) -> np.ndarray:
    """The first series of a TIFF as stored (what napari's own TIFF reader shows)."""
    import tifffile

    try:
        return tifffile.imread(path)
    except Exception as exc:  # noqa: BLE001 - any decoder failure of tifffile: say what to do
        if "imagecodecs" in str(exc) or isinstance(exc, ImportError):  # a compression codec missing here
            raise FastSAMError(f"cannot read {path.name}: its compression needs the imagecodecs package. "
                               "Install it (pip install imagecodecs) and open the file again.") from None
        raise FastSAMError(f"could not read {path.name} as a TIFF ({type(exc).__name__}: {exc}); is the file "
                           "complete?") from None


def read_plain_tiff(path: str | list[str]) -> list[tuple]:
    """Layer data of TIFFs without georeferencing or calibration: as napari's own reader gives them.

    One file: its first series, one image layer named after the file (napari
    shows 3 or 4 last-axis values as RGB(A)). Several files: stacked along a
    new first axis when they have one shape, else one layer each.
    """
    paths = [Path(p) for p in ([path] if isinstance(path, (str, Path)) else path)]
    arrays = [_imread(p) for p in paths]
    if len(arrays) > 1 and len({(a.shape, a.dtype) for a in arrays}) == 1:
        return [(np.stack(arrays), {"name": paths[0].stem}, "image")]
    return [(a, {"name": p.stem}, "image") for a, p in zip(arrays, paths)]


def georef_of(raster) -> dict:
    """What the layers carry about the raster: CRS (WKT), affine transform (6 numbers, GDAL order a..f), bands."""
    t = raster.transform
    return {"crs": raster.crs.to_wkt() if raster.crs is not None else None,
            "transform": [t.a, t.b, t.c, t.d, t.e, t.f], "path": str(raster.path), "bands": list(raster.bands)}


def map_geometry(transform) -> dict:
    """napari ``scale``/``translate`` for a north-up raster: world (y, x) = (-northing, easting) of pixel centres."""
    if transform.b or transform.d:
        raise ValueError("rotated rasters cannot be shown in map units; warp the file to a north-up grid first.")
    sy, sx = abs(transform.e), transform.a
    return {"scale": (sy, sx), "translate": (-(transform.f + transform.e / 2), transform.c + transform.a / 2)}


def map_units(crs) -> tuple[str, str] | None:
    """napari layer units of the CRS's axes: metres or feet for projected CRSs, degrees for geographic ones."""
    if crs is None:
        return None
    if crs.is_geographic:
        return ("degree", "degree")
    unit = (crs.linear_units or "").lower()
    named = {"metre": "m", "meter": "m", "foot": "ft", "us survey foot": "US_survey_foot"}.get(unit)
    return (named, named) if named else None


def read_geotiff(path: str | list[str], bands: str | None = None) -> list[tuple]:
    """Layer data: the RGB composite (to segment) and every band as a named channel, in map units."""
    from ..io.geotiff import open_geotiff

    path = path[0] if isinstance(path, list) else path
    raster = open_geotiff(path, bands=bands)
    geometry = map_geometry(raster.transform)
    units = map_units(raster.crs)
    if units:
        geometry["units"] = units
    name = Path(path).stem
    band_names = [f"{name} {n}" for n in raster.band_names]
    # band_layers: how the composite finds its file's bands (file_band_layers)
    meta = {GEOREF: {**georef_of(raster), "band_layers": band_names}}
    rgb = raster.read_rgb()
    composite = (rgb, {"name": f"{name} [{','.join(map(str, raster.bands))}]", "rgb": True,
                       "metadata": dict(meta), **geometry}, "image")
    all_bands = raster.read_bands(bands=range(1, raster.count + 1))
    channels = (all_bands, {"name": band_names, "channel_axis": 0,
                            "visible": False, "blending": "additive", "metadata": dict(meta), **geometry}, "image")
    return [channels, composite]  # the composite on top, selected


def file_band_layers(viewer, layer) -> list | None:
    """The band layers (band 1 first) of the GeoTIFF whose composite ``layer`` is, when all are in ``viewer``.

    :func:`read_geotiff` opens a file as an RGB composite of some bands plus
    every band as its own layer. The composite stands for the whole file: the
    widget segments the file's bands (the model's own, or the bands the user
    picks), not only the three it shows. None for any other layer, or when a
    band layer was removed, renamed or no longer matches the composite's shape.
    """
    georef = getattr(layer, "metadata", {}).get(GEOREF)
    if not getattr(layer, "rgb", False) or not isinstance(georef, dict) or not georef.get("band_layers"):
        return None
    shape = spatial_shape(layer)
    found = []
    for band_name in georef["band_layers"]:
        band = next((ly for ly in viewer.layers if ly.name == band_name and not getattr(ly, "rgb", True)
                     and (ly.metadata.get(GEOREF) or {}).get("path") == georef.get("path")), None)
        if band is None or spatial_shape(band) != shape:
            return None
        found.append(band)
    return found


def write_labels_vectors(path: str, data: np.ndarray, attributes: dict) -> list[str]:
    """npe2 writer: a 2D Labels layer as polygons (.gpkg or .geojson) in its raster's CRS.

    The transform comes from ``metadata["georef"]`` (set by :func:`read_geotiff`
    and inherited by the plugin's Labels layers); without it, the layer's
    ``scale``/``translate`` place the polygons in napari's world coordinates, with no CRS.
    """
    from affine import Affine

    from ..io.vectors import write_vectors

    lab = np.asarray(data)
    if lab.ndim != 2:
        raise ValueError(f"only 2D label layers can be saved as polygons; this one has shape {lab.shape}.")
    georef = (attributes.get("metadata") or {}).get(GEOREF)
    if georef:
        crs, transform = georef["crs"], Affine(*georef["transform"])
    else:
        (sy, sx), (ty, tx) = attributes.get("scale", (1, 1))[-2:], attributes.get("translate", (0, 0))[-2:]
        crs, transform = None, Affine(sx, 0, tx - sx / 2, 0, sy, ty - sy / 2)
    if crs is not None:
        from rasterio.crs import CRS

        crs = CRS.from_wkt(crs)
    ref = SimpleNamespace(crs=crs, transform=transform)
    return [str(write_vectors(path, lab, ref, overwrite=True, layer=attributes.get("name")))]
