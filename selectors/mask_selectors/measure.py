"""Per-object measurements of a label image, with scikit-image's ``regionprops_table``.

Works on 2D label images and 3D label volumes; intensities are read from the
image the user gave (not the 8-bit picture the model saw), channel by channel.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from ._validation import SelectorInputError, SelectorTypeError, as_array, as_label_image

# scikit-image's regionprops is imported where it is used: it pulls in scipy.spatial (~0.2 s), which every
# ``import mask_selectors`` (and the napari dock opening) would otherwise pay for.


def _solidity(labels: np.ndarray) -> np.ndarray:
    """Area over convex-hull area per object; NaN where the hull is degenerate (a line, a flat 3D object)."""
    from skimage.measure import regionprops

    out = []
    with warnings.catch_warnings():  # Qhull and skimage warn about flat objects; they get NaN instead
        warnings.simplefilter("ignore")
        for region in regionprops(labels):
            try:
                hull = float(region.area_convex)
            except Exception:  # noqa: BLE001 - Qhull raises its own error types for flat or collinear objects
                hull = 0.0
            out.append(region.area / hull if hull > 0 else np.nan)
    return np.asarray(out, np.float64)


def measure_labels(
    labels: np.ndarray,
    intensity: np.ndarray | None = None,
    *,
    spacing: Sequence[float] | None = None,
    channel_names: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Measure every object of a label image.

    Ids may be of any integer width and any size (``2**40``, ``2**64 - 1``):
    the objects are renumbered ``1..N`` before scikit-image sees them and the
    ``label`` column gives back the original ids exactly, so time and memory
    follow the number of objects, not the largest id.

    Parameters
    ----------
    labels : (H, W) or (Z, H, W) int
        0 = background, objects > 0; negative ids are an error.
    intensity : (*labels.shape) or (*labels.shape, C) array, optional
        The original image, channels last; any real dtype (bool, integer, float).
    spacing : sequence of float, optional
        Physical size of a pixel along each axis of ``labels`` (e.g. ``(0.65, 0.65)``);
        default 1 (pixel units). Finite and > 0.
    channel_names : sequence of str, optional
        Suffixes of the intensity columns (default ``"0"``, ``"1"``, ...; none for one channel).

    Returns
    -------
    dict of str to (N,) array
        ``label`` (int64, or uint64 for uint64 labels); ``area_px`` (pixels, or voxels in 3D) and ``area_physical``
        (times the product of ``spacing``); ``centroid_{z,y,x}`` in pixels and
        ``centroid_{z,y,x}_physical``; ``bbox_{z,y,x}0`` and ``bbox_{z,y,x}1``
        (exclusive ends); ``eccentricity`` (2D only); ``solidity``; and
        ``intensity_{mean,min,max}[_<channel>]`` when ``intensity`` is given.
        One row per object, in ascending label order.

    Raises
    ------
    SelectorInputError
        For a malformed argument (named in the message), negative ids included.
    """
    lab = as_label_image(labels, "labels", ndim=(2, 3))
    axes = "yx" if lab.ndim == 2 else "zyx"
    sp = _spacing(spacing, lab.ndim, axes)
    img = _intensity(intensity, lab.shape)
    ids, dense = _consecutive(lab)
    if dense.size == 0:  # an image with no pixel has no object; scikit-image cannot take a zero-size array
        dense = np.zeros((1,) * lab.ndim, dense.dtype)
        img = None if img is None else np.zeros((1,) * lab.ndim + img.shape[lab.ndim :], img.dtype)
    properties = ["area", "centroid", "bbox"] + (["eccentricity"] if lab.ndim == 2 else [])
    if img is not None:
        properties += ["intensity_mean", "intensity_min", "intensity_max"]
    from skimage.measure import regionprops_table

    raw = regionprops_table(dense, intensity_image=img, properties=properties)

    out: dict[str, np.ndarray] = {"label": ids}
    out["area_px"] = raw["area"].astype(np.int64)
    out["area_physical"] = raw["area"] * float(np.prod(sp))
    for i, a in enumerate(axes):
        out[f"centroid_{a}"] = raw[f"centroid-{i}"]
    for i, a in enumerate(axes):
        out[f"centroid_{a}_physical"] = raw[f"centroid-{i}"] * sp[i]
    for i, a in enumerate(axes):
        out[f"bbox_{a}0"] = raw[f"bbox-{i}"].astype(np.int64)
        out[f"bbox_{a}1"] = raw[f"bbox-{i + lab.ndim}"].astype(np.int64)
    if lab.ndim == 2:
        out["eccentricity"] = raw["eccentricity"]
    out["solidity"] = _solidity(dense)
    if img is not None:
        n_ch = 1 if img.ndim == lab.ndim else img.shape[-1]
        names = _channel_names(channel_names, n_ch)
        for stat in ("mean", "min", "max"):
            if img.ndim == lab.ndim:
                out[f"intensity_{stat}"] = raw[f"intensity_{stat}"]
            else:
                for c, name in enumerate(names):
                    out[f"intensity_{stat}_{name}"] = raw[f"intensity_{stat}-{c}"]
    return out


def _consecutive(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The object ids of ``lab`` (ascending) and ``lab`` renumbered ``1..N`` (int32, or int64 past 2**31 objects).

    scikit-image sizes its per-object tables by the largest id (``find_objects``):
    one object with id 10**8 on a 4 x 4 image took 10 s. ``np.unique`` with
    ``return_inverse`` costs O(pixels log pixels) whatever the ids are.
    """
    values, inverse = np.unique(lab, return_inverse=True)
    has_background = values.size > 0 and values[0] == 0
    ids = values[1:] if has_background else values
    # 0 stays 0 and the k-th object becomes k (inverse counts the background as 0 when present)
    dense = inverse.reshape(lab.shape) + (0 if has_background else 1)
    dense = dense.astype(np.int32 if len(ids) < 2**31 - 1 else np.int64)
    return ids.astype(np.uint64 if lab.dtype == np.uint64 else np.int64), dense


def _spacing(spacing: Sequence[float] | None, ndim: int, axes: str) -> np.ndarray:
    """``(ndim,)`` float64 physical pixel sizes, each finite and > 0 (ones when ``spacing`` is None)."""
    if spacing is None:
        return np.ones(ndim)
    sp = as_array(spacing, "spacing", dtype=np.float64, kinds="iuf")
    if sp.shape != (ndim,) or not np.all(np.isfinite(sp) & (sp > 0)):
        raise SelectorInputError(
            f"spacing needs {ndim} finite sizes > 0 (one per axis {axes.upper()}); got {spacing!r}."
        )
    return sp


def _intensity(intensity: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """The intensity image as a real array matching ``shape`` (channels last), or None."""
    if intensity is None:
        return None
    img = as_array(intensity, "intensity", kinds="biuf")
    if img.dtype == bool:
        img = img.astype(np.uint8)
    elif img.dtype == np.float16:  # scikit-image's intensity tables have no half-float kernels
        img = img.astype(np.float32)
    if img.shape[: len(shape)] != shape or img.ndim not in (len(shape), len(shape) + 1):
        raise SelectorInputError(
            f"intensity image of shape {img.shape} does not match labels {shape} "
            "(give the original image with channels last)."
        )
    if img.ndim == len(shape) + 1 and img.shape[-1] == 0:
        raise SelectorInputError(f"intensity has shape {img.shape}: no channel to measure.")
    return img


def _channel_names(channel_names: Sequence[str] | None, n_ch: int) -> list[str]:
    """Column suffixes for ``n_ch`` channels: ``channel_names`` as strings, or ``"0", "1", ...``."""
    if channel_names is None:
        return [str(c) for c in range(n_ch)]
    if isinstance(channel_names, (str, bytes)) or not hasattr(channel_names, "__iter__"):
        raise SelectorTypeError(f"channel_names must be a list of names, one per channel; got {channel_names!r}.")
    names = [str(c) for c in channel_names]
    if len(names) != n_ch:
        raise SelectorInputError(f"{len(names)} channel names for {n_ch} channels.")
    return names
