"""Bring every image to the scale its model was trained at: one rule for resizing and tiling.

A segmentation model knows objects of the size it was trained on, in pixels of
its input. A model that records its scale (:class:`ModelScale`: the side of its
training tiles, the input size it saw them at, and where known the physical
pixel size and the typical object diameter) gets every image brought to that
scale: the zoom (model-input pixels per image pixel) comes from

1. the image's pixel size against the model's (a GeoTIFF transform, an
   OME/ImageJ calibration), when both are known;
2. else the user's ``object_size`` (typical object diameter in image pixels)
   against the model's ``object_diameter``, as Cellpose's diameter;
3. else the model's own training zoom: the image is taken to be at the
   training pixel size (a 1024 px aerial scene is cut into the model's 256 px
   tiles, not shrunk to one 416 px input).

An image whose zoomed size fits the model input is segmented in one pass at an
input size just large enough (a small 3-D slice is no longer blown up 10x);
a larger one is cut into overlapping tiles of the model's size, merged by
:func:`fastsam_plugin.engine.tiling.segment_tiled`. Models without a record
(FastSAM-s/x, the shapes demo) keep the fixed input size and the size-based
tiling of :class:`fastsam_plugin.engine.pipeline.TileOptions`; so does an
explicit ``imgsz`` other than the model's (the expert override).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import UsageError

STRIDE = 32  # YOLOv8's largest stride: input sizes are multiples of it
MIN_IMGSZ = 64
FAR_FROM_TRAINING = 2.0  # without a recorded resize range, a resize beyond this factor is "far from what it saw"
# an image whose zoomed longer side is at most this many model inputs runs in one pass: that costs at most
# what the 4 tiles (9 near the limit, with overlap) covering it would, without seams to merge
ONE_PASS_LIMIT = 2.0

_UNIT_IN_METRES = {"m": 1.0, "mm": 1e-3, "um": 1e-6, "µm": 1e-6, "micron": 1e-6, "nm": 1e-9, "cm": 1e-2, "km": 1e3,
                   # OME-NGFF's unit names (an OME-Zarr's axes)
                   "meter": 1.0, "metre": 1.0, "millimeter": 1e-3, "centimeter": 1e-2, "nanometer": 1e-9,
                   "kilometer": 1e3}


def metres(value: float, unit: str) -> float:
    """``value`` in ``unit`` (m, cm, mm, um/µm, nm, km) as metres; raises :class:`UsageError` for other units."""
    factor = _UNIT_IN_METRES.get(str(unit).strip().lower().replace("micrometer", "um").replace("micrometre", "um"))
    if factor is None:
        raise UsageError(f"unknown pixel-size unit {unit!r}; use one of {', '.join(sorted(_UNIT_IN_METRES))}.")
    return float(value) * factor


@dataclass(frozen=True)
class ModelScale:
    """The scale a model was trained at.

    Attributes
    ----------
    tile : int
        Side of the training images or tiles, in their own pixels.
    imgsz : int
        Model input size those tiles were seen at (``imgsz / tile`` is the training zoom).
    pixel_size : float, optional
        Physical size of one training pixel, in ``unit``.
    unit : str, optional
        ``"m"`` for aerial imagery, ``"um"`` for microscopy.
    object_diameter : float, optional
        Typical object diameter in training pixels: the area-weighted median (:func:`area_weighted_diameter`),
        the statistic the first-pass estimate measures.
    resize_range : (float, float), optional
        The resize factors the training images went through on their way to this scale (a set of images
        of many magnifications, each brought to one object size). An image that needs a resize inside it
        is like the training data; without it, factors beyond :data:`FAR_FROM_TRAINING` either way are not.
    """

    tile: int
    imgsz: int
    pixel_size: float | None = None
    unit: str | None = None
    object_diameter: float | None = None
    resize_range: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if int(self.tile) < 8 or int(self.imgsz) < STRIDE:
            raise ValueError(f"a model scale needs tile >= 8 and imgsz >= {STRIDE}; got {self}.")
        if self.pixel_size is not None and (not self.pixel_size > 0 or self.unit is None):
            raise ValueError(f"a model's pixel size must be > 0 and have a unit; got {self}.")
        if self.resize_range is not None:
            lo, hi = (float(v) for v in self.resize_range)  # a record's list becomes a tuple
            if not (0 < lo <= hi and math.isfinite(hi)):
                raise ValueError(f"a model's resize range must be 0 < low <= high; got {self}.")
            object.__setattr__(self, "resize_range", (lo, hi))

    @property
    def usual_resize(self) -> tuple[float, float]:
        """The resize factors within which an image is like this model's training data."""
        return self.resize_range or (1 / FAR_FROM_TRAINING, FAR_FROM_TRAINING)

    @property
    def zoom(self) -> float:
        """Model-input pixels per training pixel."""
        return self.imgsz / self.tile

    @classmethod
    def from_record(cls, record: object) -> ModelScale | None:
        """The scale in a checkpoint's record (``{"tile", "imgsz", ...}``), or None when absent or damaged."""
        if not isinstance(record, dict):
            return None
        try:
            return cls(**{k: record[k] for k in ("tile", "imgsz", "pixel_size", "unit", "object_diameter",
                                                 "resize_range") if record.get(k) is not None})
        except (TypeError, ValueError):
            return None

    def as_record(self) -> dict:
        """Plain data for a checkpoint's or a model card's record."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in vars(self).items() if v is not None}


@dataclass(frozen=True)
class ScalePlan:
    """How one image is brought to its model: the zoom, one pass or tiles, and why.

    Attributes
    ----------
    imgsz : int
        Model input size of each pass.
    tile : int or None
        Tile side in image pixels; None segments the image in one pass.
    overlap : int
        Overlap of neighbouring tiles in image pixels.
    zoom : float or None
        Model-input pixels per image pixel (None: the fixed-size rule of a model without a scale).
    source : str
        What decided the zoom: ``"pixel size"``, ``"object size"``, ``"training scale"`` or ``"input size"``.
    warning : str or None
        Set when the image is far from anything the model saw.
    """

    imgsz: int
    tile: int | None
    overlap: int
    zoom: float | None
    source: str
    warning: str | None = None

    def describe(self, pixel_size: float | None = None, unit: str | None = None) -> str:
        """One line for logs and the widget, e.g. ``0.6 m/px, tiles of 256 px, 416 px model input``."""
        parts = [f"{pixel_size:g} {unit}/px"] if pixel_size and unit else []
        parts.append(f"tiles of {self.tile} px" if self.tile else "one pass")
        parts.append(f"{self.imgsz} px model input")
        if self.zoom is not None:
            parts.append(f"zoom {self.zoom:.2f} ({self.source})")
        return ", ".join(parts)


def area_weighted_diameter(areas) -> float | None:
    """The area-weighted median equivalent diameter of objects of these pixel ``areas``; None for none.

    The statistic of :attr:`ModelScale.object_diameter` and of the first-pass estimate: the diameter of the
    objects that cover most of the area, robust to the many small fragments a model finds on objects
    much larger than it knows.
    """
    import numpy as np

    areas = np.asarray(areas, np.float64)
    areas = areas[areas > 0]
    if not len(areas):
        return None
    diameters = np.sqrt(4.0 * areas / np.pi)
    order = np.argsort(diameters)
    cumulative = np.cumsum(areas[order]) / areas.sum()
    return float(diameters[order][np.searchsorted(cumulative, 0.5)])


def _ceil_stride(n: float) -> int:
    # a hair of tolerance: a GeoTIFF's 0.6000000000000106 m pixels must not turn 416 px into 448
    return max(MIN_IMGSZ, STRIDE * math.ceil(n / STRIDE - 1e-6))


def plan_scale(
    hw: tuple[int, int],
    model: ModelScale | None,
    imgsz: int,
    *,
    pixel_size: float | None = None,
    unit: str | None = None,
    object_size: float | None = None,
    tiles_only: bool = False,
) -> ScalePlan | None:
    """The scale plan for an image of height and width ``hw``, or None for the fixed-size rule.

    Parameters
    ----------
    hw : (int, int)
        The image's height and width in pixels.
    model : ModelScale or None
        The model's recorded scale; None (no record) returns None.
    imgsz : int
        The input size in force. One other than ``model.imgsz`` is the user's expert
        override: None is returned and the fixed-size rule applies.
    pixel_size, unit : float, str, optional
        The image's physical pixel size (used when the model records one).
    object_size : float, optional
        Typical object diameter in image pixels (the user's estimate).
    tiles_only : bool
        Always cut into tiles of the model's input, never one pass (an image read window by window).

    Returns
    -------
    ScalePlan or None

    Raises
    ------
    UsageError
        For a non-positive or non-finite ``pixel_size`` or ``object_size``, or an unknown unit.
    """
    for name, value in (("pixel size", pixel_size), ("object size", object_size)):
        if value is not None and not (math.isfinite(float(value)) and float(value) > 0):
            raise UsageError(f"the {name} must be a positive number; got {value!r}.")
    if model is None or int(imgsz) != int(model.imgsz):
        return None
    factor, source = 1.0, "training scale"
    if pixel_size is not None and unit and model.pixel_size is not None:
        factor, source = metres(pixel_size, unit) / metres(model.pixel_size, model.unit), "pixel size"
    elif object_size is not None and model.object_diameter is not None:
        factor, source = model.object_diameter / float(object_size), "object size"
    zoom = model.zoom * factor
    warning = None
    low, high = model.usual_resize
    if not low <= factor <= high:
        seen = (f"{model.pixel_size:g} {model.unit} pixels" if source == "pixel size"
                else f"objects about {model.object_diameter:g} px across")
        warning = (f"this image is {factor:.2g}x the scale the model was trained on ({seen}); "
                   "it is resized to match, but results may be poor that far from the training data.")
    longest = max(hw) * zoom
    if not tiles_only and longest <= model.imgsz * ONE_PASS_LIMIT:  # one pass: just large enough, never blown up
        return ScalePlan(_ceil_stride(longest), None, 0, zoom, source, warning)
    tile = max(64, round(model.imgsz / zoom))
    pass_size = _ceil_stride(tile * zoom)
    return ScalePlan(pass_size, tile, min(tile // 8, tile // 2 - 1), zoom, source, warning)
