"""Turn any scientific image into the 8-bit RGB picture the model expects.

Rules (each overridable):

* ``(H, W)``: gray, copied to the three channels.
* ``(H, W, 3)`` / ``(H, W, 4)``: RGB / RGBA (alpha dropped) when ``rgb`` is
  True or left ``None``.
* ``(H, W, C)`` otherwise, or with ``rgb=False``: multi-channel. ``channels``
  picks up to three channels, mapped to red, green, blue in that order (one
  channel is shown gray). Without ``channels``: C <= 3 uses every channel,
  C > 3 uses the maximum over channels as a gray composite.
* uint8 RGB/gray passes through unchanged unless ``percentiles`` is given.
  Every other dtype (uint16, int, float, bool) is contrast-stretched between
  the ``percentiles`` (default 1 and 99.8) of its finite values, per channel
  for multi-channel data and jointly for RGB. NaN and inf mean "no data": they
  are ignored for the percentiles and painted black, and finite pixels of a
  single value on such a background are shown white (the objects).
* ``(A, H, W)`` whose first axis is at most half the other two is not
  guessed: more than 4 planes look like a stack of slices and are refused with
  a hint (segment slice by slice, or pass ``channels_axis=0`` if they really
  are channels); 2 to 4 planes are refused as ambiguous (channels-first or a
  short stack). ``channels_axis=0`` moves that axis last.
* An image with no contrast (constant, all NaN or all inf) has no objects:
  :func:`is_blank` tells the pipeline not to ask the model, which would invent some.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import FastSAMError

DEFAULT_PERCENTILES = (1.0, 99.8)


class ImageError(FastSAMError, ValueError):
    """An image that cannot be turned into model input; the message says why and what to do."""


def _stretch(data: np.ndarray, percentiles: tuple[float, float]) -> np.ndarray:
    """Map the percentile range of the finite values to 0..255 uint8; NaN and +-inf ("no data") become 0.

    Scientific images often mark "no data" with NaN (or inf): the range comes
    from the finite pixels only, so objects on such a background keep their
    contrast. When the finite pixels are all one value (a mask, shapes of one
    intensity) and some pixels hold no data, the finite pixels are the
    foreground. The arithmetic is halved first so that ranges such as
    -1e308..1e308 do not overflow to inf.
    """
    values = data.astype(np.float64, copy=False)
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(data.shape, np.uint8)
    lo, hi = np.percentile(values[finite], percentiles)
    if hi <= lo:  # (nearly) constant finite values
        if not finite.all():  # data against no-data: the data are what the user wants to see
            return np.where(finite & (values >= lo), 255, 0).astype(np.uint8)
        return np.where(values > lo, 255, 0).astype(np.uint8)  # a plateau: only values above it stay bright
    half_lo, span = lo / 2, hi / 2 - lo / 2
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = (values / 2 - half_lo) / span
    scaled = np.where(finite, np.clip(scaled, 0.0, 1.0), 0.0)
    return (scaled * 255).astype(np.uint8)  # truncation, as skimage.exposure.rescale_intensity did here


def check_layout(shape: tuple[int, ...]) -> None:
    """Refuse a 3-D shape that looks like a stack or channels-first rather than ``(H, W, C)``.

    ``(A, B, C)`` with ``A`` at most half of both ``B`` and ``C`` and ``C > 4``
    is not an ``(H, W, C)`` image (it would have ``C`` channels and only ``A``
    rows). Raises :class:`ImageError` with the way out. ``channels_axis=-1``
    in :func:`normalize_image` says "channels last" and skips this guess.
    """
    if len(shape) != 3:
        return
    a, b, c = shape
    if c <= 4 or a * 2 > min(b, c):
        return
    if a > 4:
        raise ImageError(
            f"an array of shape {tuple(shape)} looks like a stack of {a} slices of {b} x {c} pixels, not one image "
            f"with {c} channels. Segment it slice by slice (CLI: --stack; Python: Session.segment_stack), "
            "or, if the first axis really holds channels, say so (CLI: --channels-axis 0; "
            "Python: ImageOptions(channels_axis=0))."
        )
    raise ImageError(
        f"an array of shape {tuple(shape)} is ambiguous: {a} channels first (C, H, W), or a stack of {a} slices. "
        "For channels say so (CLI: --channels-axis 0; Python: ImageOptions(channels_axis=0)); "
        "for slices use --stack (Python: Session.segment_stack)."
    )


def is_blank(rgb: np.ndarray) -> bool:
    """True when the model input has no contrast at all (every pixel the same colour): nothing to segment."""
    flat = np.asarray(rgb).reshape(-1, np.asarray(rgb).shape[-1]) if np.asarray(rgb).ndim == 3 else np.ravel(rgb)
    return bool(flat.size == 0 or (flat.min(axis=0) == flat.max(axis=0)).all())


def normalize_image(
    image: np.ndarray,
    *,
    rgb: bool | None = None,
    channels: Sequence[int] | None = None,
    percentiles: tuple[float, float] | None = None,
    channels_axis: int | None = None,
) -> np.ndarray:
    """Convert a 2D image of any dtype and channel layout to model input.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array, any numeric or bool dtype
        Channels last.
    rgb : bool, optional
        Whether a 3- or 4-channel image is RGB(A). ``None`` guesses yes.
    channels : sequence of int, optional
        Up to three channel indices to show as red, green, blue.
    percentiles : (float, float), optional
        Contrast-stretch limits in percent. ``None`` means the default
        (1, 99.8) for non-uint8 data and no stretch for uint8.
    channels_axis : int, optional
        The axis holding channels when it is not the last (e.g. ``0`` for
        ``(C, H, W)``); it is moved last before anything else.

    Returns
    -------
    rgb : (H, W, 3) uint8
        A new array with the input's height and width.
    """
    arr = np.asarray(image)
    if channels_axis is not None:
        if arr.ndim != 3 or not -3 <= int(channels_axis) < 3:
            raise ImageError(f"channels_axis={channels_axis} needs a 3-D array with that axis; got shape {arr.shape}.")
        arr = np.moveaxis(arr, int(channels_axis), -1)
    elif arr.ndim == 3:
        check_layout(arr.shape)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ImageError(f"image dtype {arr.dtype} is not numeric; give an integer, float or bool array.")
    if arr.ndim not in (2, 3):
        raise ImageError(
            f"image has shape {arr.shape}; one 2D image (H, W) or (H, W, C) was expected. "
            "For stacks (Z, H, W) use segment_stack, or pick one slice."
        )
    if min(arr.shape[:2]) < 8:
        raise ImageError(f"image is only {arr.shape[0]} x {arr.shape[1]} pixels; at least 8 x 8 is needed.")
    if percentiles is not None:
        lo, hi = percentiles
        if not 0 <= lo < hi <= 100:
            raise ImageError(f"percentiles must satisfy 0 <= low < high <= 100; got {percentiles}.")

    if arr.ndim == 2:
        planes, joint = arr[..., None], True
    else:
        n = arr.shape[2]
        is_rgb = n in (3, 4) and channels is None and rgb is not False
        if rgb and n not in (3, 4):
            raise ImageError(f"rgb=True needs 3 or 4 channels; this image has {n}.")
        if is_rgb:
            planes, joint = arr[..., :3], True
        else:
            planes, joint = _pick_channels(arr, channels), False

    if arr.dtype == np.uint8 and percentiles is None:
        out = planes
    else:
        pct = percentiles or DEFAULT_PERCENTILES
        if joint:
            out = _stretch(planes, pct)
        else:
            out = np.stack([_stretch(planes[..., c], pct) for c in range(planes.shape[2])], axis=-1)
    return planes_to_rgb(out)


def _pick_channels(arr: np.ndarray, channels: Sequence[int] | None) -> np.ndarray:
    n = arr.shape[2]
    if channels is None:
        return arr if n <= 3 else arr.max(axis=2, keepdims=True)
    chosen = [int(c) for c in channels]
    if not 1 <= len(chosen) <= 3:
        raise ImageError(f"choose one to three channels; got {len(chosen)}: {chosen}.")
    bad = [c for c in chosen if not -n <= c < n]
    if bad:
        raise ImageError(f"channel(s) {bad} do not exist; this image has channels 0..{n - 1}.")
    return arr[..., chosen]


def planes_to_rgb(planes: np.ndarray) -> np.ndarray:
    """(H, W, 1|2|3) uint8 to (H, W, 3): one plane becomes gray, two fill red and green."""
    k = planes.shape[2]
    if k == 1:
        return np.repeat(planes, 3, axis=2)
    if k == 2:
        return np.concatenate([planes, np.zeros_like(planes[..., :1])], axis=2)
    return np.ascontiguousarray(planes)


def looks_stained(image: np.ndarray) -> bool:
    """Whether an image looks like brightfield stained tissue (H&E-like): 8-bit colour on a light background.

    True for an ``(H, W, 3)``/``(H, W, 4)`` uint8 image whose channels differ and whose median brightness
    is above half scale (stain absorbs light: tissue on white). Fluorescence is dark with bright objects and
    usually one channel or gray saved as RGB; on the DSB2018 stage-1 set this separates all 97 stained-tissue
    images from all 470 fluorescence ones.

    Parameters
    ----------
    image : ndarray
        Any image as read from its file, channels last.
    """
    arr = np.asarray(image)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] not in (3, 4):
        return False
    step = max(1, max(arr.shape[:2]) // 512)  # a subsample decides: cheap on any size
    sample = arr[::step, ::step, :3].reshape(-1, 3).astype(np.int16)
    if not np.any(sample != sample[:, :1]):  # gray saved as RGB
        return False
    return float(np.median(sample.mean(axis=1))) > 127.5


def hematoxylin_channel(rgb: np.ndarray) -> np.ndarray:
    """A stained-tissue (H&E-like) RGB image as a fluorescence-like gray image of its hematoxylin stain.

    Colour deconvolution (:func:`skimage.color.rgb2hed`, Ruifrok & Johnston's stain vectors) separates the
    hematoxylin optical density, which is high in nuclei; stretched between its 1st and 99.8th percentiles it
    shows nuclei bright on a dark background, the way a nuclei model trained on fluorescence sees them.

    Parameters
    ----------
    rgb : (H, W, 3) or (H, W, 4) array
        8-bit or float RGB(A); alpha is dropped.

    Returns
    -------
    (H, W) uint8
    """
    from skimage.color import rgb2hed

    arr = np.asarray(rgb)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ImageError(f"the hematoxylin channel needs an (H, W, 3) RGB image; got shape {arr.shape}.")
    return _stretch(rgb2hed(arr[..., :3])[..., 0], DEFAULT_PERCENTILES)
