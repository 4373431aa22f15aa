"""From a user's array to everything-mode results: normalise, tile or slice, segment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .imaging import ImageError, hematoxylin_channel, is_blank, looks_stained, normalize_image
from .model import EverythingParams
from .progress import CancelCheck, ProgressCallback, check_cancel, report
from .result import SegmentationResult
from .scale import ModelScale, ScalePlan, area_weighted_diameter, plan_scale
from .tiling import DEFAULT_OVERLAP, DEFAULT_TILE, segment_tiled
from .windows import WindowedImage

DEFAULT_TILE_THRESHOLD = 2048  # images with a longer side are tiled


@dataclass(frozen=True)
class ImageOptions:
    """How to turn the data into 8-bit RGB (see :func:`fastsam_plugin.engine.imaging.normalize_image`).

    ``model_bands`` are the 1-based bands the model was trained on (its checkpoint's record, e.g.
    ``(4, 1, 2)``: near-infrared, red, green); :meth:`for_image` applies them to a raw multi-band
    image (more than 3 channels, channels last) for which the user chose no channels.
    ``stain`` is the form the model wants stained colour images in (its record,
    :func:`~fastsam_plugin.engine.operating_point.model_input_form`): ``"hematoxylin"`` shows an image that
    :func:`~fastsam_plugin.engine.imaging.looks_stained` as its hematoxylin channel; ``"rgb"`` or None as it is.
    """

    rgb: bool | None = None
    channels: tuple[int, ...] | None = None
    percentiles: tuple[float, float] | None = None
    channels_axis: int | None = None
    model_bands: tuple[int, ...] | None = None
    stain: str | None = None

    def for_image(self, shape: tuple[int, ...]) -> ImageOptions:
        """These options for an image of ``shape``: the model's bands when the user's choice leaves it open."""
        bands = self.model_bands
        open_choice = self.channels is None and self.rgb is not True and self.channels_axis is None
        if not bands or not open_choice or len(shape) != 3 or shape[2] <= 3 or max(bands) > shape[2]:
            return self
        return replace(self, rgb=False, channels=tuple(b - 1 for b in bands))


@dataclass(frozen=True)
class TileOptions:
    """When and how to tile.

    ``enabled=None`` tiles images whose longer side exceeds ``threshold``.
    """

    enabled: bool | None = None
    tile: int = DEFAULT_TILE
    overlap: int = DEFAULT_OVERLAP
    threshold: int = DEFAULT_TILE_THRESHOLD

    def applies(self, hw: tuple[int, int]) -> bool:
        return self.enabled if self.enabled is not None else max(hw) > self.threshold


@dataclass(frozen=True)
class ScaleOptions:
    """The model's recorded scale and what is known of the image's (see :mod:`fastsam_plugin.engine.scale`).

    ``pixel_size``/``unit`` describe the image (GeoTIFF transform, OME calibration); ``object_size`` is the
    user's typical object diameter in image pixels. With ``model=None`` the fixed-size rule applies.
    """

    model: ModelScale | None = None
    pixel_size: float | None = None
    unit: str | None = None
    object_size: float | None = None
    estimate: bool = True  # no pixel or object size: estimate the object size from a first pass (Cellpose-like)
    estimated: bool = False  # object_size is such an estimate (said so in the plan)

    def plan(self, hw: tuple[int, int], imgsz: int, tiles_only: bool = False) -> ScalePlan | None:
        plan = plan_scale(hw, self.model, imgsz, pixel_size=self.pixel_size, unit=self.unit,
                          object_size=self.object_size, tiles_only=tiles_only)
        if self.estimated and plan is not None and plan.source == "object size":
            plan = replace(plan, source="estimated object size")  # a first pass's, not the user's
        return plan

    def estimates(self, plan: ScalePlan | None) -> bool:
        """Whether a first pass at ``plan`` should estimate the object size (nothing else tells the scale)."""
        return (self.estimate and plan is not None and plan.source == "training scale"
                and self.model is not None and self.model.object_diameter is not None)


STAINED_NOTE = "stained colour image shown to the model as its hematoxylin channel (the form it was trained on)"
COLOUR_NOTE = "stained colour image shown to the model as it is (it learnt stained tissue in colour)"

ESTIMATE_MIN_OBJECTS = 5  # fewer objects than this say too little about their size
ESTIMATE_TOLERANCE = 1.4  # a first pass within this factor of the model's object size is kept as it is


def estimated_object_size(result: SegmentationResult) -> float | None:
    """Area-weighted median equivalent diameter (pixels) of a first pass's objects; None when it found too few.

    Weighting by area makes the estimate robust to the many small fragments a model finds on
    objects much larger than it knows (on a nuclei image at 2x, the plain median is 9 px, the
    area-weighted one 51 px, for nuclei of about 48 px).
    """
    areas = np.asarray(result.areas, np.float64)
    if len(areas) < ESTIMATE_MIN_OBJECTS or areas.sum() <= 0:
        return None
    return area_weighted_diameter(areas)


PROBE_ZOOM = 2.0  # a first pass that finds too few objects on a small image is repeated this much larger


def estimate_scale(scale: ScaleOptions, hw: tuple[int, int], imgsz: int, first: SegmentationResult,
                   run: Callable[[ScalePlan], SegmentationResult]) -> tuple[ScaleOptions | None, SegmentationResult | None]:
    """The scale a first pass at the training scale suggests, and a result already at it when one was made.

    When the first pass finds too few objects to tell their size (small objects the model cannot see at
    its training scale, as in a 61 x 57 slice of 9 px nuclei) and the image is small enough for one pass at
    :data:`PROBE_ZOOM` times that zoom, that probe is run and measured instead.

    Returns
    -------
    (ScaleOptions or None, SegmentationResult or None)
        The options with the estimated object size (None: keep the first pass), and the probe's result
        when the probe is already at that scale (None: segment again).
    """
    better = rescaled_for(scale, first)
    if better is not None or estimated_object_size(first) is not None:
        return better, None
    probe = replace(scale, object_size=scale.model.object_diameter / PROBE_ZOOM, estimate=False)
    probe_plan = probe.plan(hw, imgsz)
    if probe_plan is None or probe_plan.tile is not None:  # a large image: the first pass said what it could
        return None, None
    probed = run(probe_plan)
    size = estimated_object_size(probed)
    if size is None:
        return None, None
    estimated = replace(scale, object_size=size, estimate=False, estimated=True)
    if 1 / ESTIMATE_TOLERANCE <= probe.object_size / size <= ESTIMATE_TOLERANCE:
        return replace(probe, estimated=True), probed  # the probe is at scale: its pass is the result
    return estimated, None


def rescaled_for(scale: ScaleOptions, result: SegmentationResult) -> ScaleOptions | None:
    """``scale`` with the object size a first pass measured, or None when the first pass is at scale already."""
    size = estimated_object_size(result)
    if size is None:
        return None
    factor = scale.model.object_diameter / size
    if 1 / ESTIMATE_TOLERANCE <= factor <= ESTIMATE_TOLERANCE:
        return None
    return replace(scale, object_size=size, estimate=False, estimated=True)


def segment_image(
    segmenter,
    image: np.ndarray,
    *,
    params: EverythingParams = EverythingParams(),
    image_options: ImageOptions = ImageOptions(),
    tiling: TileOptions = TileOptions(),
    scale: ScaleOptions = ScaleOptions(),
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> SegmentationResult:
    """Everything mode on one 2D image of any dtype and channel layout.

    Parameters
    ----------
    segmenter
        A backend with ``segment(rgb, imgsz=, conf=, iou=, max_det=)``.
    image : (H, W) or (H, W, C) array, or a :class:`~fastsam_plugin.engine.windows.WindowedImage`
        A lazy source (e.g. :class:`fastsam_plugin.io.geotiff.GeoRaster`) is read by windows.

    scale : ScaleOptions
        The model's scale and the image's pixel size: when the model records a scale, the input
        size and the tiles come from :func:`fastsam_plugin.engine.scale.plan_scale`, not ``tiling``.

    Returns
    -------
    SegmentationResult
        Masks in the original image's height and width; ``result.image`` is
        the normalised RGB picture; ``result.scale_plan`` says how the image was brought to
        the model (None for the fixed-size rule).
    """
    return _segment_to_scale(segmenter, image, params, image_options, tiling, scale, progress, cancel)[0]


def _segment_to_scale(segmenter, image, params, image_options, tiling, scale, progress, cancel):
    """:func:`segment_image`, also returning the scale options it ended at (an estimated object size)."""
    hw = tuple(np.shape(image)[:2])
    plan = scale.plan(hw, params.imgsz)
    result = _segment_planned(segmenter, image, params, image_options, tiling, plan, progress, cancel)
    if scale.estimates(plan):
        def run(p: ScalePlan | None) -> SegmentationResult:
            return _segment_planned(segmenter, image, params, image_options, tiling, p, progress, cancel)

        better, at_scale = estimate_scale(scale, hw, params.imgsz, result, run)
        if better is not None:  # the first pass found objects far from the model's size
            scale, plan = better, better.plan(hw, params.imgsz)
            # once more at the scale they suggest, unless the pass that measured them was at that scale
            result = at_scale if at_scale is not None else run(plan)
    result.scale_plan = plan
    return result, scale


def _segment_planned(segmenter, image, params, image_options, tiling, plan, progress, cancel) -> SegmentationResult:
    imgsz = plan.imgsz if plan is not None else params.imgsz
    kwargs = dict(imgsz=imgsz, conf=params.conf, iou=params.iou, max_det=params.max_det)
    if plan is not None:  # the model's scale decides: its tiles, or one pass
        tiling = TileOptions(enabled=plan.tile is not None, tile=plan.tile or DEFAULT_TILE, overlap=plan.overlap)
    if isinstance(image, WindowedImage) and not isinstance(image, np.ndarray):
        # a lazy source (GeoTIFF) gives 8-bit RGB windows itself; a small one is read as one window
        hw, tiled = image.shape[:2], tiling.applies(image.shape[:2])
        return segment_tiled(
            lambda t: empty_result(t) if is_blank(t) else segmenter.segment(t, **kwargs),  # e.g. all nodata
            image,
            tile=tiling.tile if tiled else max(*hw, 64),
            overlap=tiling.overlap if tiled else 0,
            progress=progress,
            cancel=cancel,
        )
    image_options = image_options.for_image(np.shape(image))
    note = None
    whole_colour = image_options.channels in (None, (0, 1, 2))  # the dock names an RGB layer's channels 0,1,2
    if image_options.stain in ("hematoxylin", "rgb") and whole_colour and looks_stained(image):
        if image_options.stain == "hematoxylin":
            image, note = hematoxylin_channel(image), STAINED_NOTE  # the form the model was trained on
        else:
            note = COLOUR_NOTE
    rgb = normalize_image(
        image, rgb=image_options.rgb, channels=image_options.channels, percentiles=image_options.percentiles,
        channels_axis=image_options.channels_axis,
    )
    if is_blank(rgb):  # no contrast, no objects: the model would invent some
        report(progress, 1, 1)
        result = empty_result(rgb)
    elif tiling.applies(rgb.shape[:2]):
        result = segment_tiled(
            lambda t: empty_result(t) if is_blank(t) else segmenter.segment(t, **kwargs),
            rgb,
            tile=tiling.tile,
            overlap=tiling.overlap,
            progress=progress,
            cancel=cancel,
        )
    else:
        check_cancel(cancel)
        result = segmenter.segment(rgb, **kwargs)
        report(progress, 1, 1)
    result.input_note = note
    return result


def empty_result(rgb: np.ndarray) -> SegmentationResult:
    """A result with no object for the ``(H, W, 3)`` picture ``rgb``."""
    return SegmentationResult([], np.zeros((0, 4)), np.zeros((0, 4)), np.zeros(0), rgb.shape[:2], rgb)


def segment_stack(
    segmenter,
    stack: np.ndarray,
    *,
    params: EverythingParams = EverythingParams(),
    image_options: ImageOptions = ImageOptions(),
    tiling: TileOptions = TileOptions(),
    scale: ScaleOptions = ScaleOptions(),
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> list[SegmentationResult]:
    """Everything mode slice by slice on a ``(Z or T, H, W[, C])`` stack.

    ``progress(done, total)`` is called after each slice; ``cancel()`` is
    checked before each slice and raises :class:`fastsam_plugin.engine.progress.Cancelled`.
    Slices are normalised independently (each gets its own contrast stretch).
    """
    arr = np.asarray(stack)
    if arr.ndim not in (3, 4):
        raise ImageError(f"a stack must have shape (Z, H, W) or (Z, H, W, C); got {arr.shape}.")
    middle, first = arr.shape[0] // 2, None
    if scale.estimates(scale.plan(arr.shape[1:3], params.imgsz)):
        # one object size for every slice, estimated on the middle one (segmented at that scale on the way):
        # all slices brought to scale alike
        first, scale = _segment_to_scale(segmenter, arr[middle], params, image_options, tiling, scale, None, cancel)
        scale = replace(scale, estimate=False)
    results = []
    for z in range(arr.shape[0]):
        check_cancel(cancel)
        if z == middle and first is not None:  # segmented at the scale every slice uses: kept
            results.append(first)
        else:
            results.append(segment_image(segmenter, arr[z], params=params, image_options=image_options,
                                         tiling=tiling, scale=scale, cancel=cancel))
        report(progress, z + 1, arr.shape[0])
    return results


def stack_labels(results: list[SegmentationResult]) -> np.ndarray:
    """Label volume ``(Z, H, W)`` int32 from per-slice results (ids restart in each slice)."""
    return np.stack([r.labels() for r in results])
