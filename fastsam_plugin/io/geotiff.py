"""GeoTIFFs in and out with rasterio: bands, nodata, windowed reads, georeferenced label rasters.

A :class:`GeoRaster` is a lazy picture: it knows the file's CRS, affine
transform, nodata and band choice, computes one contrast stretch per band
from a sample of the whole raster (so every tile is stretched the same way),
and reads only the window the tiler asks for. The label raster is
written block by block from the objects' box crops, so neither the input nor
the output is ever held whole in memory; large outputs become Cloud-Optimised
GeoTIFFs.

Band numbers are 1-based, as in GDAL, rasterio and QGIS (``"4,3,2"`` is a
Sentinel-2 true-colour composite). rasterio is an optional dependency
(``pip install "napari-fastsam[geo]"``).

GDAL opens dozens of formats, some of which read other files or URLs (a VRT
is XML naming any local file or ``/vsicurl/`` address as its pixels; an
``x.tif.ovr`` beside a TIFF is opened as its overviews). A raster from someone
else is therefore opened only through :func:`open_raster`: a local regular
file (no ``/vsi...`` path, no URL) whose first bytes are a TIFF or BigTIFF
signature, with GDAL's GeoTIFF driver alone (COGs are GeoTIFFs), under GDAL
settings that ignore sidecar files and allow no network access
(:data:`GDAL_SAFE_OPTIONS`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..engine.imaging import ImageError, planes_to_rgb
from ..engine.result import SegmentationResult
from ..engine.windows import Box, labels_window
from ..errors import FastSAMError
from .limits import check_array
from .outputs import check_free
from .paths import NotARegularFileError, check_regular_file

GEO_PERCENTILES = (2.0, 98.0)  # QGIS's default cumulative count cut
STATS_SIDE = 1024  # the stretch sample: an overview at most this large, or this many pixels a side in windows
COG_THRESHOLD = 2048  # label rasters with a longer side are written as Cloud-Optimised GeoTIFFs
WRITE_BLOCK = 2048  # label rasters are painted and written in blocks of this side


#: the signatures a TIFF (little- or big-endian) or BigTIFF file starts with
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
#: the only GDAL driver a raster is opened with (Cloud-Optimised GeoTIFFs are read by it too)
RASTER_DRIVER = "GTiff"
#: GDAL settings for every open: no directory listing, so no sidecar ``.ovr`` / ``.aux.xml`` / ``.msk`` is read
#: (an ``.ovr`` may be a VRT naming any file); no ``/vsicurl/`` access; no HTTP retries
GDAL_SAFE_OPTIONS = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".napari-fastsam-no-network",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
}
_NETWORK_PREFIXES = ("/vsi", "http:", "https:", "ftp:", "s3:", "gs:", "az:", "file:")


class GeoDependencyError(FastSAMError, ImportError):
    """rasterio (or shapely / pyogrio) is missing; the message says how to install it."""


class RasterFormatError(ImageError):
    """A raster that is not a local TIFF / GeoTIFF file (a VRT, a URL, a ``/vsi`` path): refused before GDAL opens it."""


def _rasterio():
    try:
        import rasterio
    except ImportError:  # optional dependency: say how to get it
        raise GeoDependencyError(
            'GeoTIFF support needs rasterio: pip install "napari-fastsam[geo]".'
        ) from None
    return rasterio


def check_raster_file(path: str | Path) -> Path:
    """``path`` when it is a local regular file that starts like a TIFF; else :class:`RasterFormatError`.

    Raises
    ------
    RasterFormatError
        A ``/vsi...`` path or URL, a FIFO / device / pseudo-file, or a file whose first bytes are not a TIFF
        signature (a GDAL VRT's XML, a PNG renamed ``.tif``...).
    FileNotFoundError
        Nothing at ``path``.
    """
    text = os.fspath(path)
    if not isinstance(text, str):
        text = os.fsdecode(text)
    if text.lower().startswith(_NETWORK_PREFIXES) or "://" in text:
        raise RasterFormatError(f"{text}: rasters are read from local files only (no URLs, no GDAL /vsi paths); "
                                "download the file and pass its path.")
    p = Path(text)
    if not p.exists():
        raise FileNotFoundError(f"no raster file at {p}.")
    try:
        check_regular_file(p, source=p.name, what="raster")
        with open(p, "rb") as f:
            head = f.read(4)
    except NotARegularFileError as exc:
        raise RasterFormatError(str(exc)) from None
    if head not in TIFF_MAGIC:
        kind = "GDAL VRT (XML)" if head.lstrip()[:1] == b"<" else "not a TIFF"
        raise RasterFormatError(
            f"{p.name} is {kind}: its first bytes {head!r} are no TIFF signature. napari-fastsam opens rasters only "
            "as GeoTIFF / Cloud-Optimised GeoTIFF files (a VRT can name any file or URL as its pixels); convert "
            "it with gdal_translate -of GTiff if you trust it."
        )
    return p


@contextmanager
def open_raster(path: str | Path) -> Iterator:
    """A rasterio dataset of a checked GeoTIFF (:func:`check_raster_file`), GeoTIFF driver only, no network.

    The GDAL settings :data:`GDAL_SAFE_OPTIONS` stay in force while the dataset
    is open (GDAL looks for overviews lazily, at the first read that needs them).
    """
    rasterio = _rasterio()
    p = check_raster_file(path)
    with rasterio.Env(**GDAL_SAFE_OPTIONS):
        try:
            ds = rasterio.open(p, driver=RASTER_DRIVER)
        except rasterio.errors.RasterioIOError as exc:
            raise ImageError(f"could not read {p.name} as a GeoTIFF ({exc}); is the file complete?") from None
        with ds:
            yield ds


def is_georeferenced(path: str | Path) -> bool:
    """Whether a GeoTIFF has a CRS or a non-identity transform (False when it is not a GeoTIFF we open)."""
    rasterio = _rasterio()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with open_raster(path) as ds:
                return ds.crs is not None or not ds.transform.is_identity
    except (rasterio.errors.RasterioError, ImageError, FileNotFoundError):
        return False


def band_count(path: str | Path) -> int:
    """How many bands a GeoTIFF has (metadata only; no pixels read)."""
    with open_raster(path) as ds:
        return ds.count


def parse_bands(bands: str | Sequence[int | str] | None, count: int, names: Sequence[str | None] = ()) -> tuple[int, ...]:
    """Band numbers (1-based) from ``"4,3,2"``, ``[4, 3, 2]`` or band names such as ``"nir,red,green"``.

    Parameters
    ----------
    bands : str or sequence, optional
        One to three bands, shown as red, green, blue (one band is gray).
    count : int
        Number of bands in the file.
    names : sequence of str
        Band descriptions (matched case-insensitively when a band is not a number).

    Returns
    -------
    tuple of int
        1-based band numbers.
    """
    if bands is None:
        return tuple(range(1, min(count, 3) + 1))
    items = [b.strip() for b in bands.split(",")] if isinstance(bands, str) else list(bands)
    lookup = {str(n).lower(): i + 1 for i, n in enumerate(names) if n}
    chosen = []
    for item in items:
        if isinstance(item, str) and not item.lstrip("-").isdigit():
            if item.lower() not in lookup:
                raise ImageError(f"band {item!r} is not a band number or name; this file has bands 1..{count}"
                                 + (f" named {[n for n in names if n]}" if lookup else "") + ".")
            chosen.append(lookup[item.lower()])
        else:
            chosen.append(int(item))
    if not 1 <= len(chosen) <= 3:
        raise ImageError(f"choose one to three bands (e.g. 4,3,2); got {len(chosen)}: {chosen}.")
    bad = [b for b in chosen if not 1 <= b <= count]
    if bad:
        raise ImageError(f"band(s) {bad} do not exist; this file has bands 1..{count} (numbers start at 1).")
    return tuple(chosen)


@dataclass
class GeoRaster:
    """A GeoTIFF as lazy 8-bit RGB windows.

    Create with :func:`open_geotiff`. Satisfies
    :class:`fastsam_plugin.engine.windows.WindowedImage`, so
    :class:`~fastsam_plugin.engine.session.Session` and the tiler accept it
    in place of an array.

    Attributes
    ----------
    path : Path
    bands : tuple of int
        1-based bands shown as red, green, blue.
    crs : rasterio.crs.CRS or None
    transform : affine.Affine
        Pixel ``(col, row)`` to map ``(x, y)`` of pixel corners.
    nodata : float or None
    height, width, count : int
    dtype : str
    band_names : tuple of str
        Descriptions of every band (``"band 4"`` when the file has none).
    stretch : (lo, hi) per chosen band, or None
        The linear stretch to 0..255; None passes uint8 data through.
    reads : list of (x0, y0, x1, y1)
        Every window read so far (diagnostics: the tiled path never reads the whole raster).
    """

    path: Path
    bands: tuple[int, ...]
    crs: object
    transform: object
    nodata: float | None
    height: int
    width: int
    count: int
    dtype: str
    band_names: tuple[str, ...]
    stretch: tuple[np.ndarray, np.ndarray] | None = None
    reads: list[Box] = field(default_factory=list, repr=False)

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(H, W, 3)``, the shape of the model input this raster stands for."""
        return (self.height, self.width, 3)

    def _open(self):
        return open_raster(self.path)

    def read_bands(self, box: Box | None = None, bands: Sequence[int] | None = None) -> np.ndarray:
        """Raw values of ``bands`` (default: the chosen ones) inside ``box``: ``(C, h, w)`` in the file's dtype."""
        from rasterio.windows import Window

        x0, y0, x1, y1 = box or (0, 0, self.width, self.height)
        check_array((len(bands or self.bands), y1 - y0, x1 - x0), np.dtype(self.dtype).itemsize,
                    name=f"{self.path.name} window", yx=(1, 2))
        with self._open() as ds:
            return ds.read(list(bands or self.bands), window=Window(x0, y0, x1 - x0, y1 - y0))

    def read_window(self, box: Box) -> tuple[np.ndarray, np.ndarray | None]:
        """Model input of one window.

        Returns
        -------
        rgb : (y1 - y0, x1 - x0, 3) uint8
            Stretched bands; pixels without data are black.
        valid : (y1 - y0, x1 - x0) bool or None
            True where every chosen band holds data; None when the whole window does.
        """
        from rasterio.windows import Window

        x0, y0, x1, y1 = (int(v) for v in box)
        if not (0 <= x0 < x1 <= self.width and 0 <= y0 < y1 <= self.height):
            raise ImageError(f"window {box} is outside the {self.width} x {self.height} raster.")
        check_array((len(self.bands), y1 - y0, x1 - x0), np.dtype(self.dtype).itemsize,
                    name=f"{self.path.name} window", yx=(1, 2))
        self.reads.append((x0, y0, x1, y1))
        window = Window(x0, y0, x1 - x0, y1 - y0)
        with self._open() as ds:
            data = ds.read(list(self.bands), window=window)
            valid = self._valid(ds, window, data)
        planes = []
        for k in range(data.shape[0]):
            band = data[k]
            if self.stretch is None:
                planes.append(band.astype(np.uint8, copy=False))
            else:
                lo, hi = float(self.stretch[0][k]), float(self.stretch[1][k])
                scaled = (band.astype(np.float32) - lo) * (255.0 / max(hi - lo, 1e-12))
                planes.append(np.clip(np.nan_to_num(scaled, nan=0.0), 0, 255).astype(np.uint8))
        rgb = np.stack(planes, axis=-1)
        if valid is not None:
            rgb[~valid] = 0
        return planes_to_rgb(rgb), valid

    def _valid(self, ds, window, data: np.ndarray) -> np.ndarray | None:
        """Pixels where every chosen band has data (GDAL masks: nodata, alpha, mask bands; and NaN)."""
        from rasterio.enums import MaskFlags
        from rasterio.errors import NodataShadowWarning

        all_valid = all(ds.mask_flag_enums[b - 1] == [MaskFlags.all_valid] for b in self.bands)
        with warnings.catch_warnings():  # nodata declared on an RGBA file: GDAL lets nodata decide, as we want
            warnings.simplefilter("ignore", NodataShadowWarning)
            valid = None if all_valid else (ds.read_masks(list(self.bands), window=window) > 0).all(axis=0)
        if np.issubdtype(data.dtype, np.floating):
            finite = np.isfinite(data).all(axis=0)
            valid = finite if valid is None else valid & finite
        return None if valid is None or valid.all() else valid

    def window_transform(self, box: Box):
        """The affine transform of the window ``box``'s pixel grid."""
        from rasterio.windows import Window, transform

        x0, y0, x1, y1 = box
        return transform(Window(x0, y0, x1 - x0, y1 - y0), self.transform)

    def read_rgb(self) -> np.ndarray:
        """The whole raster as ``(H, W, 3)`` uint8 (nodata black). Small rasters only."""
        return self.read_window((0, 0, self.width, self.height))[0]


def open_geotiff(
    path: str | Path,
    bands: str | Sequence[int | str] | None = None,
    percentiles: tuple[float, float] | None = None,
) -> GeoRaster:
    """Open a GeoTIFF lazily: metadata now, pixels window by window later.

    Parameters
    ----------
    path : str or Path
    bands : str or sequence, optional
        1-based bands for red, green, blue (``"4,3,2"``); default bands 1-3 (or 1 when single-band).
    percentiles : (float, float), optional
        Per-band linear stretch between these percentiles of the valid pixels,
        measured on a sample of the whole raster (its overview, or a grid of small windows). Default: (2, 98) for
        anything but uint8; uint8 passes through unchanged unless given.

    Returns
    -------
    GeoRaster
    """
    p = Path(path)
    with open_raster(p) as ds:
        # a band's name: its description, else its colour interpretation (NAIP: red, green, blue), else its number
        interp = [c.name if c.name not in ("undefined", "alpha") else "" for c in ds.colorinterp]
        names = tuple(d or interp[i] or f"band {i + 1}" for i, d in enumerate(ds.descriptions))
        chosen = parse_bands(bands, ds.count, ds.descriptions)
        if min(ds.height, ds.width) < 8:
            raise ImageError(f"raster is only {ds.height} x {ds.width} pixels; at least 8 x 8 is needed.")
        dtype = ds.dtypes[chosen[0] - 1]
        # the whole raster is read window by window, but GDAL decodes a stored block whole to read any of it
        block_h, block_w = ds.block_shapes[chosen[0] - 1]
        check_array((ds.count, block_h, block_w), np.dtype(dtype).itemsize, name=f"{p.name} (one stored block)",
                    yx=(1, 2))
        raster = GeoRaster(p, chosen, ds.crs, ds.transform, ds.nodata, ds.height, ds.width, ds.count, dtype, names)
        if percentiles is not None or dtype != "uint8":
            raster.stretch = _band_stretch(ds, chosen, percentiles or GEO_PERCENTILES)
    return raster


def _stats_sample(ds, bands: tuple[int, ...]) -> np.ma.MaskedArray:
    """(C, N) masked values for the stretch: the whole raster when small, its overview when it has one,
    else a 16 x 16 grid of 64-px windows (a decimated read without overviews would decompress every block)."""
    from rasterio.windows import Window

    h, w = ds.height, ds.width
    if max(h, w) <= STATS_SIDE or ds.overviews(bands[0]):
        scale = max(max(h, w) / STATS_SIDE, 1)
        shape = (len(bands), max(1, round(h / scale)), max(1, round(w / scale)))
        return ds.read(list(bands), out_shape=shape, masked=True).reshape(len(bands), -1)
    n, side = 16, STATS_SIDE // 16
    ys = np.linspace(0, max(h - side, 0), n).astype(int)
    xs = np.linspace(0, max(w - side, 0), n).astype(int)
    parts = [ds.read(list(bands), window=Window(int(x), int(y), min(side, w), min(side, h)), masked=True)
             for y in ys for x in xs]
    return np.ma.concatenate([p.reshape(len(bands), -1) for p in parts], axis=1)


def _band_stretch(ds, bands: tuple[int, ...], percentiles: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Per-band (lo, hi) percentiles of the valid values of a sample of the whole raster (see :func:`_stats_sample`)."""
    lo_pct, hi_pct = percentiles
    if not 0 <= lo_pct < hi_pct <= 100:
        raise ImageError(f"percentiles must satisfy 0 <= low < high <= 100; got {percentiles}.")
    sample = _stats_sample(ds, bands)
    los, his = [], []
    for k in range(len(bands)):
        values = np.ma.compressed(sample[k]).astype(np.float64)
        values = values[np.isfinite(values)]
        if len(values) == 0:
            los.append(0.0), his.append(1.0)
            continue
        lo, hi = np.percentile(values, percentiles)
        los.append(lo), his.append(hi if hi > lo else lo + 1)
    return np.array(los), np.array(his)


# -- writing --------------------------------------------------------------------------------------------------------


def _painter(labels: SegmentationResult | np.ndarray) -> tuple[tuple[int, int], Callable[[Box], np.ndarray]]:
    if isinstance(labels, SegmentationResult):
        return labels.shape, lambda box: labels_window(labels, box)
    arr = np.asarray(labels)
    if arr.ndim != 2:
        raise ImageError(f"a label raster must be 2D (H, W); got shape {arr.shape}.")
    return arr.shape, lambda box: arr[box[1]:box[3], box[0]:box[2]].astype(np.int32)


def write_label_raster(
    path: str | Path,
    labels: SegmentationResult | np.ndarray,
    georef,
    *,
    overwrite: bool = False,
    cog: bool | None = None,
    block: int = WRITE_BLOCK,
) -> Path:
    """Write labels as an int32 GeoTIFF with the input's CRS and transform (0 = background, set as nodata).

    Parameters
    ----------
    path : str or Path
    labels : SegmentationResult or (H, W) int array
        A result is painted block by block (object ``i`` has id ``i + 1``,
        smaller objects on top, as :meth:`SegmentationResult.labels`), never
        as one full-size array.
    georef
        Anything with ``crs`` and ``transform`` (a :class:`GeoRaster`).
    cog : bool, optional
        Cloud-Optimised GeoTIFF (tiled, overviews); default when the longer side exceeds 2048.
    """
    rasterio = _rasterio()
    p = Path(path)
    check_free(p, overwrite)
    (h, w), paint = _painter(labels)
    cog = max(h, w) > COG_THRESHOLD if cog is None else cog
    profile = {"driver": "GTiff", "height": h, "width": w, "count": 1, "dtype": "int32", "nodata": 0,
               "crs": georef.crs, "transform": georef.transform, "compress": "deflate"}
    if cog or max(h, w) > 512:
        profile.update(tiled=True, blockxsize=512, blockysize=512)
    target = p.with_name(p.name + ".part.tif") if cog else p
    with rasterio.Env(), rasterio.open(target, "w", **profile) as dst:
        for y0 in range(0, h, block):
            for x0 in range(0, w, block):
                box = (x0, y0, min(x0 + block, w), min(y0 + block, h))
                window = rasterio.windows.Window(x0, y0, box[2] - x0, box[3] - y0)
                dst.write(paint(box), 1, window=window)
    if cog:
        import rasterio.shutil

        try:
            rasterio.shutil.copy(target, p, driver="COG", compress="deflate", overview_resampling="nearest",
                                 blocksize=512)
        finally:
            target.unlink(missing_ok=True)
    return p
