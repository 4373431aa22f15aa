"""Per-object measurements of a label image, with scikit-image's ``regionprops_table``.

Works on 2D label images and 3D label volumes; intensities are read from the
image the user gave (not the 8-bit picture the model saw), channel by channel.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

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

    Parameters
    ----------
    labels : (H, W) or (Z, H, W) int
        0 = background.
    intensity : (*labels.shape) or (*labels.shape, C) array, optional
        The original image, channels last; any numeric dtype.
    spacing : sequence of float, optional
        Physical size of a pixel along each axis of ``labels`` (e.g. ``(0.65, 0.65)``);
        default 1 (pixel units).
    channel_names : sequence of str, optional
        Suffixes of the intensity columns (default ``"0"``, ``"1"``, ...; none for one channel).

    Returns
    -------
    dict of str to (N,) array
        ``label``; ``area_px`` (pixels, or voxels in 3D) and ``area_physical``
        (times the product of ``spacing``); ``centroid_{z,y,x}`` in pixels and
        ``centroid_{z,y,x}_physical``; ``bbox_{z,y,x}0`` and ``bbox_{z,y,x}1``
        (exclusive ends); ``eccentricity`` (2D only); ``solidity``; and
        ``intensity_{mean,min,max}[_<channel>]`` when ``intensity`` is given.
        One row per object, in ascending label order.
    """
    lab = np.asarray(labels)
    if lab.ndim not in (2, 3) or not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"labels must be a 2D or 3D integer label image; got {lab.shape} {lab.dtype}.")
    axes = "yx" if lab.ndim == 2 else "zyx"
    sp = np.ones(lab.ndim) if spacing is None else np.asarray(spacing, np.float64)
    if sp.shape != (lab.ndim,) or not np.all(sp > 0):
        raise ValueError(f"spacing needs {lab.ndim} positive sizes (one per axis {axes.upper()}); got {spacing!r}.")
    img = None
    if intensity is not None:
        img = np.asarray(intensity)
        if img.dtype == bool:
            img = img.astype(np.uint8)
        if img.shape[: lab.ndim] != lab.shape or img.ndim not in (lab.ndim, lab.ndim + 1):
            raise ValueError(
                f"intensity image of shape {img.shape} does not match labels {lab.shape} "
                "(give the original image with channels last)."
            )
    properties = ["label", "area", "centroid", "bbox"] + (["eccentricity"] if lab.ndim == 2 else [])
    if img is not None:
        properties += ["intensity_mean", "intensity_min", "intensity_max"]
    from skimage.measure import regionprops_table

    raw = regionprops_table(lab, intensity_image=img, properties=properties)

    out: dict[str, np.ndarray] = {"label": raw["label"].astype(np.int64)}
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
    out["solidity"] = _solidity(lab)
    if img is not None:
        n_ch = 1 if img.ndim == lab.ndim else img.shape[-1]
        names = [str(c) for c in (channel_names or range(n_ch))]
        if len(names) != n_ch:
            raise ValueError(f"{len(names)} channel names for {n_ch} channels.")
        for stat in ("mean", "min", "max"):
            if img.ndim == lab.ndim:
                out[f"intensity_{stat}"] = raw[f"intensity_{stat}"]
            else:
                for c, name in enumerate(names):
                    out[f"intensity_{stat}_{name}"] = raw[f"intensity_{stat}-{c}"]
    return out
