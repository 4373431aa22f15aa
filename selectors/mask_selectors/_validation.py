"""Argument checks shared by the selection rules.

Every public function validates its inputs here so that a caller gets a
:class:`SelectorInputError` (a ``ValueError``; :class:`SelectorTypeError` is
also a ``TypeError``) that names the argument and what was expected, instead
of an ``IndexError``, ``OverflowError`` or ``MemoryError`` from deep inside
numpy. Callers can tell a malformed argument from a bug by this type.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


class SelectorInputError(ValueError):
    """An argument of a selection rule is malformed; the message names it and says what was expected."""


class SelectorTypeError(SelectorInputError, TypeError):
    """An argument has the wrong type or dtype."""


def as_count(value: object, name: str, *, minimum: int = 0) -> int:
    """Return ``value`` as a Python int >= ``minimum``: integers, or floats/numpy scalars with an integral value.

    ``None``, bools, NaN, infinities and fractions are refused with a message naming ``name``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise SelectorTypeError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    if isinstance(value, numbers.Integral):
        number = int(value)
    else:
        f = float(value)
        if not math.isfinite(f) or not f.is_integer():
            raise SelectorInputError(f"{name} must be an integer >= {minimum}; got {value!r}.")
        number = int(f)
    if number < minimum:
        raise SelectorInputError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return number


def unit_rows(values: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm without overflow or underflow; all-zero rows stay zero.

    Dividing by the largest magnitude first keeps the norm finite for rows of
    size 1e200 and non-zero for rows of size 1e-170, where a plain
    ``x / norm(x)`` gives inf/NaN or 0.
    """
    scale = np.max(np.abs(values), axis=1, keepdims=True)
    scaled = np.divide(values, scale, out=np.zeros_like(values), where=scale > 0)
    norm = np.linalg.norm(scaled, axis=1, keepdims=True)
    return np.divide(scaled, norm, out=np.zeros_like(scaled), where=norm > 0)


def as_masks(masks: object, name: str = "masks") -> np.ndarray:
    """Return ``masks`` as a ``(N, H, W)`` bool array without copying bool input.

    Accepts bool arrays and integer arrays holding only 0 and 1.
    """
    arr = np.asarray(masks)
    if arr.ndim != 3:
        raise SelectorInputError(
            f"{name} must have shape (N, H, W) (one 2D mask per object); "
            f"got an array with {arr.ndim} dimension(s), shape {arr.shape}. "
            "Stack single masks with numpy.stack or add an axis with mask[None]."
        )
    if arr.shape[0] == 0:
        raise SelectorInputError(
            f"{name} is empty (N = 0): there is nothing to select from. "
            "Run everything-mode segmentation first or check that it found objects."
        )
    if 0 in arr.shape[1:]:
        raise SelectorInputError(
            f"{name} have height x width {arr.shape[1]} x {arr.shape[2]}: an image needs at least one pixel "
            "in each direction."
        )
    if arr.dtype == bool:
        return arr
    if not np.issubdtype(arr.dtype, np.integer):
        raise SelectorTypeError(
            f"{name} must be bool, or an integer array of 0/1 values; got dtype {arr.dtype}. "
            "Threshold probability maps first, e.g. masks > 0.5."
        )
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise SelectorInputError(
            f"{name} holds values other than 0 and 1 (min {arr.min()}, max {arr.max()}); "
            "a label image must be split into one mask per id first."
        )
    return arr.astype(bool)


def as_mask(mask: object, name: str = "mask") -> np.ndarray:
    """Return a single ``(H, W)`` mask as bool (same rules as :func:`as_masks`)."""
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise SelectorInputError(f"{name} must have shape (H, W); got shape {arr.shape}.")
    return as_masks(arr[None], name)[0]


def as_image(image: object, hw: tuple[int, int], name: str = "image") -> np.ndarray:
    """Return an ``(H, W, 3)`` uint8 image whose height and width equal ``hw``."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise SelectorInputError(
            f"{name} must be an RGB array of shape (H, W, 3); got shape {arr.shape}. "
            "Convert gray images with numpy.stack([img] * 3, axis=-1)."
        )
    if arr.dtype != np.uint8:
        raise SelectorTypeError(
            f"{name} must be uint8; got {arr.dtype}. Normalise scientific images to 8 bit first."
        )
    if arr.shape[:2] != tuple(hw):
        raise SelectorInputError(
            f"{name} has height and width {arr.shape[:2]} but the masks are {tuple(hw)}; "
            "they must describe the same pixel grid."
        )
    return arr


def as_points(points: object, hw: tuple[int, int], name: str = "points") -> np.ndarray:
    """Return ``(P, 2)`` integer ``(x, y)`` pixel indices, checked to lie in the image.

    Coordinates are rounded to the nearest pixel centre (pixel ``i`` covers
    ``[i - 0.5, i + 0.5)``, as in napari).
    """
    arr = np.asarray(points, dtype=float)
    if arr.ndim == 1 and arr.shape == (2,):
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise SelectorInputError(f"{name} must have shape (P, 2) holding (x, y) pairs; got shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise SelectorInputError(f"{name} is empty: give at least one (x, y) point.")
    if not np.isfinite(arr).all():
        raise SelectorInputError(f"{name} holds NaN or infinite coordinates: {arr[~np.isfinite(arr).all(1)].tolist()}.")
    pix = np.floor(arr + 0.5)
    outside = ~_pixels_in_image(pix, hw)
    h, w = hw
    if outside.any():
        bad = arr[outside].tolist()
        raise SelectorInputError(
            f"{name} {bad} lie outside the image (x must be in [0, {w - 1}], y in [0, {h - 1}]). "
            "Points are (x, y) = (column, row); napari gives (row, column), so swap the axes."
        )
    return pix.astype(np.int64)


def points_in_image(points: object, hw: tuple[int, int]) -> np.ndarray:
    """The one rule for points outside the image: ``(P,)`` bool, True where a point's pixel exists.

    A point ``(x, y)`` belongs to pixel ``(floor(x + 0.5), floor(y + 0.5))``, so
    it is inside when ``-0.5 <= x < W - 0.5`` and ``-0.5 <= y < H - 0.5``. Every
    face uses this rule; a point outside is an error, never silently dropped.
    """
    arr = np.asarray(points, dtype=float).reshape(-1, 2)
    with np.errstate(invalid="ignore"):
        return _pixels_in_image(np.floor(arr + 0.5), hw)


def _pixels_in_image(pix: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """(P,) bool for ``(P, 2)`` float pixel indices ``floor(point + 0.5)``: True inside ``hw``."""
    h, w = hw
    return (pix[:, 0] >= 0) & (pix[:, 0] < w) & (pix[:, 1] >= 0) & (pix[:, 1] < h)


def as_labels(labels: object, n_points: int, name: str = "labels") -> np.ndarray:
    """Return ``(P,)`` bool polarity: True for foreground (1), False for background (0)."""
    if labels is None:
        return np.ones(n_points, dtype=bool)
    arr = np.asarray(labels)
    if arr.ndim == 0:
        arr = arr[None]
    if arr.shape != (n_points,):
        raise SelectorInputError(f"{name} must have one entry per point, shape ({n_points},); got shape {arr.shape}.")
    if arr.dtype != bool:
        if not ((arr == 0) | (arr == 1)).all():  # np.isin costs ~20 us per call on a few labels
            raise SelectorInputError(f"{name} must be 1 (foreground) or 0 (background); got {np.unique(arr).tolist()}.")
        arr = arr.astype(bool)
    return arr


def as_areas(areas: object, masks: np.ndarray, name: str = "areas") -> np.ndarray:
    """Return precomputed per-mask pixel counts, or compute them when ``areas`` is None."""
    if areas is None:
        return masks.sum(axis=(1, 2), dtype=np.int64)
    arr = np.asarray(areas)
    if arr.shape != (masks.shape[0],):
        raise SelectorInputError(
            f"{name} must have one value per mask, shape ({masks.shape[0]},); got shape {arr.shape}."
        )
    return arr


def as_boxes(boxes: object, name: str = "boxes") -> np.ndarray:
    """Return ``(B, 4)`` float ``(x0, y0, x1, y1)`` boxes, checked to be finite."""
    arr = np.asarray(boxes, dtype=float)
    if arr.ndim == 1 and arr.shape == (4,):
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise SelectorInputError(f"{name} must have shape (B, 4) holding (x0, y0, x1, y1); got shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise SelectorInputError(f"{name} is empty: give at least one (x0, y0, x1, y1) box.")
    if not np.all(np.isfinite(arr)):
        raise SelectorInputError(f"{name} holds NaN or infinite coordinates.")
    return arr


def as_embeddings(values: object, name: str) -> np.ndarray:
    """Return a finite 2D float embedding matrix; a single vector becomes one row."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise SelectorInputError(f"{name} must have shape (M, D) or (D,) with M, D > 0; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise SelectorInputError(f"{name} holds NaN or infinite values.")
    return arr
