"""TIFF / OME-TIFF with their axes and physical pixel sizes, in and out; measurement CSVs.

Microscopes store the size of a pixel (and the step between slices) in the
file: OME-TIFF in its OME-XML (``PhysicalSizeX/Y/Z`` with units), ImageJ/Fiji
TIFFs in the resolution tags plus ``spacing`` and ``unit`` in their
description. :func:`read_tiff` returns the pixels channels-last (``[T][Z]YX[C]``,
the layout the engine expects) together with an :class:`ImageMeta`;
:func:`write_ome_labels` writes label images as OME-TIFF carrying the same
sizes, so Fiji (Bio-Formats), napari and QuPath show them at the right scale.
Sizes are converted to micrometres when the unit is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile

from ..engine.imaging import ImageError
from .images import check_tiff
from .limits import ImageTooLargeError
from .outputs import SOFTWARE_TAG, atomic_path

# unit -> micrometres; OME uses the symbol, ImageJ writes "micron" or "\u00B5m"
_TO_UM = {
    "pm": 1e-6, "nm": 1e-3, "um": 1.0, "µm": 1.0, "\u03bcm": 1.0, "micron": 1.0, "microns": 1.0,
    "micrometer": 1.0, "micrometre": 1.0, "mm": 1e3, "cm": 1e4, "m": 1e6,
}
UM = "µm"


@dataclass(frozen=True)
class ImageMeta:
    """Axes and physical sizes of an image as read from its file.

    Attributes
    ----------
    axes : str
        One letter per array axis of the pixels returned with it, channels last:
        e.g. ``"YX"``, ``"ZYX"``, ``"TYXC"``.
    pixel_size : dict of str to float
        Physical size per spatial axis (``"Z"``, ``"Y"``, ``"X"``) present in the file.
    unit : str
        Unit of ``pixel_size`` (``"µm"`` when the file's unit is known).
    channel_names : tuple of str
        Names of the channels, when the file gives them.
    """

    axes: str = "YX"
    pixel_size: dict[str, float] = field(default_factory=dict)
    unit: str = UM
    channel_names: tuple[str, ...] = ()

    def spacing(self, axes: str) -> tuple[float, ...]:
        """Physical size along each of ``axes`` (e.g. ``"ZYX"``); 1.0 where unknown (and for T)."""
        return tuple(float(self.pixel_size.get(a, 1.0)) for a in axes)

    @property
    def calibrated(self) -> bool:
        """Whether the file gave a physical size in the image plane."""
        return "X" in self.pixel_size or "Y" in self.pixel_size


def _to_um(value: float, unit: str | None) -> tuple[float, str]:
    """``(value in µm, "µm")`` for a known unit, else the value and its unit unchanged."""
    key = (unit or "").strip().lower().replace("\\u00b5", "µ")
    if key in _TO_UM:
        return float(value) * _TO_UM[key], UM
    return float(value), unit or "pixel"


def _ome_sizes(xml: str) -> tuple[dict[str, float], str, tuple[str, ...]]:
    """Physical sizes, their unit and channel names of the first image in OME-XML."""
    ome = tifffile.xml2dict(xml).get("OME", {})
    image = ome.get("Image", {})
    image = image[0] if isinstance(image, list) else image
    pixels = image.get("Pixels", {})
    sizes, unit = {}, UM
    for axis in "XYZ":
        value = pixels.get(f"PhysicalSize{axis}")
        if value is not None and float(value) > 0:
            sizes[axis], unit = _to_um(float(value), pixels.get(f"PhysicalSize{axis}Unit", UM))
    channels = pixels.get("Channel", [])
    channels = channels if isinstance(channels, list) else [channels]
    names = tuple(str(c.get("Name", "")) for c in channels if isinstance(c, dict))
    return sizes, unit, names if any(names) else ()


def _imagej_sizes(tif: tifffile.TiffFile) -> tuple[dict[str, float], str]:
    """Sizes from the resolution tags (pixels per unit) and ImageJ's ``unit``/``spacing``.

    ImageJ writes the unit in its description (ResolutionUnit NONE); other software
    uses ResolutionUnit inch or centimetre. NONE without a unit means uncalibrated.
    """
    page = tif.pages.first
    ij = tif.imagej_metadata or {}
    res_unit = page.tags.get("ResolutionUnit")
    res_unit = int(res_unit.value) if res_unit is not None else 1
    unit = ij.get("unit") or {2: "inch", 3: "cm"}.get(res_unit)
    if unit is None:
        return {}, UM
    scale = 25400.0 if unit == "inch" else 1.0  # inch -> µm; every other unit goes through _to_um
    unit = UM if unit == "inch" else unit
    sizes: dict[str, float] = {}
    for axis, tag in (("X", "XResolution"), ("Y", "YResolution")):
        t = page.tags.get(tag)
        if t is not None and t.value[0] > 0 and t.value[1] > 0:
            sizes[axis] = scale * t.value[1] / t.value[0]
    if float(ij.get("spacing", 0) or 0) > 0:
        sizes["Z"] = float(ij["spacing"])
    converted = {a: _to_um(v, unit)[0] for a, v in sizes.items()}
    return converted, _to_um(1.0, unit)[1]


def _channels_last(data: np.ndarray, axes: str) -> tuple[np.ndarray, str]:
    """Move a ``C`` (or RGB ``S``) axis last and drop singleton axes other than Y and X."""
    axes = axes.replace("S", "C") if "C" not in axes else axes
    keep = [i for i, a in enumerate(axes) if data.shape[i] > 1 or a in "YX"]
    data = data.reshape([data.shape[i] for i in keep])
    axes = "".join(axes[i] for i in keep)
    if "C" in axes and not axes.endswith("C"):
        c = axes.index("C")
        data = np.moveaxis(data, c, -1)
        axes = axes[:c] + axes[c + 1 :] + "C"
    return data, axes


def _tiff_sizes(tif: tifffile.TiffFile) -> tuple[dict[str, float], str, tuple[str, ...]]:
    """Physical sizes, unit and channel names from an open TIFF's OME-XML, else its ImageJ/resolution tags."""
    sizes, unit, names = ({}, UM, ())
    if tif.is_ome and tif.ome_metadata:
        sizes, unit, names = _ome_sizes(tif.ome_metadata)
    if not sizes:
        sizes, unit = _imagej_sizes(tif)
    return sizes, unit, names


def read_tiff_meta(path: str | Path) -> ImageMeta:
    """The physical pixel sizes of a TIFF from its header (no pixels decoded; for images too large to read whole).

    ``axes`` is the file's own (tifffile's letters). Unreadable files give an uncalibrated ``ImageMeta()``:
    the caller's scale rule then falls back as for any image without a pixel size.
    """
    try:
        with tifffile.TiffFile(Path(path)) as tif:
            sizes, unit, names = _tiff_sizes(tif)
            axes = tif.series[0].axes
    except Exception:  # noqa: BLE001 - the pixels' reader reports a broken file; here only the size is wanted
        return ImageMeta()
    return ImageMeta(axes=axes, pixel_size=sizes, unit=unit, channel_names=names)


def read_tiff(path: str | Path) -> tuple[np.ndarray, ImageMeta]:
    """Read a TIFF / OME-TIFF / ImageJ TIFF with its axes and physical pixel sizes.

    Returns
    -------
    data : ndarray
        The first series, channels last, singleton axes dropped; dtype as stored.
    meta : ImageMeta
        ``meta.axes`` names the axes of ``data``.

    Raises
    ------
    ImageError
        When the file cannot be read as a TIFF.
    ImageTooLargeError
        When it declares more pixels than :func:`~fastsam_plugin.io.limits.max_pixels` allows (nothing decoded).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no image file at {p}.")
    try:
        with tifffile.TiffFile(p) as tif:
            check_tiff(tif, p.name)  # the declared size, before decoding (io.limits)
            series = tif.series[0]
            data, axes = series.asarray(), series.axes
            sizes, unit, names = _tiff_sizes(tif)
    except ImageTooLargeError:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated or foreign files: any reader error means the same
        from .codecs import missing_codec_message  # a compressed TIFF whose codec is not installed: the file is fine

        if (codec := missing_codec_message(p, exc)) is not None:
            raise ImageError(codec) from None
        raise ImageError(f"could not read {p.name} as a TIFF ({type(exc).__name__}); is the file complete?") from None
    # tifffile names unknown axes Q/I; treat a leading one of a 3D gray array as Z (a plain stack)
    axes = "".join("Z" if a in "QI" else a for a in axes)
    data, axes = _channels_last(data, axes)
    names = names if ("C" in axes and len(names) == data.shape[-1]) else ()
    return data, ImageMeta(axes=axes, pixel_size=sizes, unit=unit, channel_names=names)


def write_ome_labels(
    path: str | Path, labels: np.ndarray, meta: ImageMeta | None = None, *, axes: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a label image or volume as a zlib-compressed int32 OME-TIFF with the physical sizes of ``meta``.

    Parameters
    ----------
    labels : (Y, X) or (Z|T, Y, X) int
    meta : ImageMeta, optional
        Sizes and unit to record; without them the file is uncalibrated.
    axes : str, optional
        Axes of ``labels``; default ``"YX"`` or the leading non-channel axes of ``meta`` ending in YX
        (``"ZYX"``, ``"TYX"``).

    Returns
    -------
    Path
    """
    p = Path(path)
    lab = np.asarray(labels)
    if axes is None:
        spatial = (meta.axes.replace("C", "") if meta else "") or "YX"
        axes = spatial[-lab.ndim:] if len(spatial) >= lab.ndim else "ZYX"[-lab.ndim:]
    if len(axes) != lab.ndim:
        raise ValueError(f"axes {axes!r} do not match labels of shape {lab.shape}.")
    md: dict = {"axes": axes}
    resolution = None
    if meta is not None:
        for axis, size in meta.pixel_size.items():
            if axis in axes or axis in "XY":
                md[f"PhysicalSize{axis}"] = float(size)
                md[f"PhysicalSize{axis}Unit"] = meta.unit
        if meta.unit == UM and "X" in meta.pixel_size and "Y" in meta.pixel_size:
            # also in the TIFF resolution tags (pixels per centimetre) for readers that skip OME-XML
            resolution = (1e4 / meta.pixel_size["X"], 1e4 / meta.pixel_size["Y"])
    kwargs = {"resolution": resolution, "resolutionunit": "CENTIMETER"} if resolution else {}
    with atomic_path(p, overwrite=overwrite) as tmp:  # never a half-written file; tagged as ours
        tifffile.imwrite(tmp, lab.astype(np.int32, copy=False), ome=True, metadata=md, compression="zlib",
                         software=SOFTWARE_TAG, **kwargs)
    return p


def write_measurements(path: str | Path, table, *, overwrite: bool = False) -> Path:
    """Write a measurement table (pandas DataFrame) as CSV, atomically; one row per object, no index column."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    return Path(path)
