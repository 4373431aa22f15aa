"""Argument checks shared by the selection rules.

Every public function validates its inputs here so that a caller gets a
:class:`SelectorInputError` (a ``ValueError``; :class:`SelectorTypeError` is
also a ``TypeError``) that names the argument and what was expected, instead
of an ``IndexError``, ``OverflowError`` or ``MemoryError`` from deep inside
numpy. Callers can tell a malformed argument from a bug by this type.
"""

from __future__ import annotations

import functools
import math
import numbers
import os

import numpy as np

#: the largest side accepted for an image (``hw``): far beyond any raster, small enough that
#: products of sides and coordinates stay exact in int64 and float64
MAX_SIDE = 2**40
#: the largest magnitude accepted for a pixel coordinate, a box corner or an id given as a float
#: (beyond 2**53 floats no longer hold every integer, so pixel positions lose their meaning)
MAX_COORD = 2.0**53


class SelectorInputError(ValueError):
    """An argument of a selection rule is malformed; the message names it and says what was expected."""


class SelectorTypeError(SelectorInputError, TypeError):
    """An argument has the wrong type or dtype."""


def as_array(value: object, name: str, *, dtype: object = None, kinds: str = "biuf") -> np.ndarray:
    """``np.asarray(value, dtype)`` whose failures and odd dtypes become a :class:`SelectorTypeError`.

    numpy raises its own ``ValueError``/``TypeError``/``OverflowError`` for ragged
    lists, strings and Python ints beyond 64 bits; callers get one error type
    naming the argument instead.

    Parameters
    ----------
    value : array-like
    name : str
        The argument's name, for the message.
    dtype : numpy dtype, optional
        Convert to this dtype (e.g. ``float``).
    kinds : str
        Accepted ``dtype.kind`` letters: ``b`` bool, ``i`` signed, ``u`` unsigned, ``f`` float.
    """
    try:
        arr = np.asarray(value)
        if arr.dtype.kind == "O" and dtype is not None:  # Python ints beyond 64 bits, Fractions, mixed lists
            with np.errstate(all="ignore"):
                arr = arr.astype(dtype)
    except (TypeError, ValueError, OverflowError, ArithmeticError) as err:
        raise SelectorTypeError(
            f"{name} must be a numeric array (or nested lists of numbers of equal length); "
            f"got {type(value).__name__}: {_short(value)} ({err})."
        ) from None
    if arr.dtype.kind not in kinds:
        wanted = {"b": "bool", "i": "integer", "u": "integer", "f": "float"}
        names = " or ".join(dict.fromkeys(wanted[k] for k in kinds))
        raise SelectorTypeError(f"{name} must hold {names} values; got dtype {arr.dtype}: {_short(value)}.")
    if dtype is not None:
        with np.errstate(all="ignore"):  # int64/uint64 beyond 2**53 round to the nearest float, as numpy does
            arr = arr.astype(dtype, copy=False)
    return arr


def _short(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages about arguments of any size."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real message
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_flag(value: object, name: str) -> bool:
    """Return ``value`` as a bool: only ``True``/``False`` (or numpy bools) are accepted.

    An array or a string would otherwise be truth-tested: ``"False"`` is true
    and an array raises numpy's ambiguity error.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise SelectorTypeError(f"{name} must be True or False; got {_short(value)}.")
    return bool(value)


def as_real(
    value: object, name: str, *, low: float = -math.inf, high: float = math.inf,
    low_open: bool = False, high_open: bool = False,
) -> float:
    """Return ``value`` as a finite float in the interval ``low .. high`` (ends open or closed).

    ``None``, bools, strings, NaN and infinities are refused with a message naming ``name``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise SelectorTypeError(f"{name} must be a number; got {_short(value)}.")
    try:
        number = float(value)
    except OverflowError:  # a Python int beyond the float range
        number = math.inf
    too_low = number <= low if low_open else number < low
    too_high = number >= high if high_open else number > high
    if not math.isfinite(number) or too_low or too_high:
        span = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise SelectorInputError(f"{name} must be a finite number in {span}; got {value!r}.")
    return number


def as_hw(hw: object, name: str = "hw") -> tuple[int, int]:
    """Return an image size ``(H, W)`` as two Python ints, each in ``[1, MAX_SIDE]``.

    Integral floats are accepted (``(512.0, 512.0)``); an image needs at least one pixel.
    """
    if type(hw) is tuple and len(hw) == 2 and type(hw[0]) is int and type(hw[1]) is int:  # noqa: E721
        if 1 <= hw[0] <= MAX_SIDE and 1 <= hw[1] <= MAX_SIDE:  # the common case, checked on every prompt
            return hw
    try:
        h, w = hw  # type: ignore[misc]
    except (TypeError, ValueError):
        raise SelectorTypeError(f"{name} must be a pair (height, width); got {_short(hw)}.") from None
    size = (as_count(h, f"{name} height", minimum=1), as_count(w, f"{name} width", minimum=1))
    if max(size) > MAX_SIDE:
        raise SelectorInputError(f"{name} {size} is larger than any image ({MAX_SIDE} pixels a side at most).")
    return size


@functools.cache
def _physical_memory() -> int:
    """Bytes of RAM of this machine (2**40 where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # Windows and unusual systems have no sysconf
        return 2**40


def check_allocation(shape: tuple[int, ...], dtype: object, name: str) -> None:
    """Refuse an output of ``shape`` and ``dtype`` larger than this machine's memory, before allocating it.

    numpy would raise a ``MemoryError`` (or, with overcommit, let the system
    kill the process later); the caller gets a message saying which argument
    asked for how much.
    """
    nbytes = math.prod(int(s) for s in shape) * np.dtype(dtype).itemsize
    memory = _physical_memory()
    if nbytes > memory:
        raise SelectorInputError(
            f"{name} {tuple(shape)} asks for a {np.dtype(dtype)} array of {nbytes / 2**30:.3g} GiB, "
            f"more than this machine's {memory / 2**30:.3g} GiB of memory: check the size, or work in tiles."
        )


def as_int_boxes(boxes: object, name: str = "boxes", *, n: int | None = None) -> np.ndarray:
    """Return ``(N, 4)`` int64 pixel boxes ``(x0, y0, x1, y1)`` with ``x0 <= x1`` and ``y0 <= y1``.

    Integers of any width and integral floats are accepted; fractions, NaN,
    infinities and values beyond ``MAX_COORD`` are refused, as is a count other than ``n``.
    """
    arr = as_array(boxes, name, kinds="biuf")
    if arr.dtype.kind == "b":
        raise SelectorTypeError(f"{name} must hold integer pixel coordinates; got dtype bool.")
    if arr.size == 0 and n in (None, 0):
        return np.zeros((0, 4), np.int64)
    if arr.ndim == 1 and arr.shape == (4,):
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise SelectorInputError(f"{name} must have shape (N, 4) holding (x0, y0, x1, y1); got shape {arr.shape}.")
    if n is not None and len(arr) != n:
        raise SelectorInputError(f"{name} must have one box per mask, shape ({n}, 4); got shape {arr.shape}.")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or (arr != np.floor(arr)).any():
            raise SelectorInputError(f"{name} must hold whole pixel coordinates; got {_short(arr.tolist())}.")
    if arr.size and (np.abs(arr.astype(np.float64)).max() > MAX_COORD):
        raise SelectorInputError(f"{name} hold coordinates beyond +-{MAX_COORD:.0f}: no image is that large.")
    out = arr.astype(np.int64)
    if (out[:, 2] < out[:, 0]).any() or (out[:, 3] < out[:, 1]).any():
        bad = out[(out[:, 2] < out[:, 0]) | (out[:, 3] < out[:, 1])][0].tolist()
        raise SelectorInputError(f"{name} need x0 <= x1 and y0 <= y1 (exclusive ends); got {bad}.")
    return out


def check_boxes_inside(b: np.ndarray, hw: tuple[int, int], name: str = "boxes") -> None:
    """Refuse ``(N, 4)`` int boxes that reach outside an image of size ``hw``."""
    h, w = hw
    if not len(b) or (b.min() >= 0 and b[:, 2].max() <= w and b[:, 3].max() <= h):
        return  # three reductions: this runs on every prompt (x1 >= x0 and y1 >= y0 hold already)
    outside = (b[:, 0] < 0) | (b[:, 1] < 0) | (b[:, 2] > w) | (b[:, 3] > h)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise SelectorInputError(
            f"{name}[{i}] = {b[i].tolist()} reaches outside the {w} x {h} image (x in [0, {w}], y in [0, {h}])."
        )


def as_indices(indices: object, n: int, name: str = "indices", *, allow_negative: bool = False) -> np.ndarray:
    """Return mask indices as ``(K,)`` int64, each in ``[0, n)``; negatives kept when ``allow_negative``.

    Integral floats are accepted; fractions, NaN and Python ints beyond int64 are refused.
    """
    arr = as_array(indices, name, kinds="iuf").reshape(-1)
    if arr.dtype.kind == "f" and (not np.isfinite(arr).all() or (arr != np.floor(arr)).any()):
        raise SelectorInputError(f"{name} must be whole numbers; got {_short(arr.tolist())}.")
    low = -math.inf if allow_negative else 0
    if arr.size and (float(arr.min()) < low or float(arr.max()) >= n):
        bad = arr[(arr >= n) | (arr < low)][:5].tolist()
        where = f"[0, {n - 1}]" if n else "nothing (there are no masks)"
        raise SelectorInputError(f"{name} {bad} do not name a mask: indices must lie in {where}.")
    return arr.astype(np.int64)


def as_label_image(labels: object, name: str = "labels", *, ndim: tuple[int, ...] | None = None) -> np.ndarray:
    """Return an integer label image (0 = background, objects > 0) without copying.

    Ids of every integer width are kept as they are (never cast to a narrower type).
    Negative ids are refused: a label image in this package holds 0 for background
    and positive object ids, and a silent drop (scikit-image) or a wrap-around would lose objects.
    """
    arr = as_array(labels, name, kinds="biuf")
    if arr.dtype.kind not in "iu":
        raise SelectorTypeError(
            f"{name} must be an integer array (0 = background, objects > 0); got dtype {arr.dtype}. "
            "Convert a float or bool label image with labels.astype(np.int64)."
        )
    if ndim is not None and arr.ndim not in ndim:
        axes = {1: " (N,)", 2: " (H, W)", 3: " (Z, H, W)"}
        dims = " or ".join(f"{d}D{axes.get(d, '')}" for d in ndim)
        raise SelectorInputError(f"{name} must be a {dims} label image; got shape {arr.shape}.")
    if arr.ndim < 1:
        raise SelectorInputError(f"{name} must be an array with at least one axis; got a scalar.")
    if arr.dtype.kind == "i" and arr.size and arr.min() < 0:
        raise SelectorInputError(
            f"{name} hold negative ids (smallest {arr.min()}): ids must be 0 (background) or positive. "
            "Renumber the objects, e.g. with numpy.unique(labels, return_inverse=True)."
        )
    return arr


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
    arr = as_array(masks, name, kinds="biuf")
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
    arr = as_array(mask, name, kinds="biuf")
    if arr.ndim != 2:
        raise SelectorInputError(f"{name} must have shape (H, W); got shape {arr.shape}.")
    return as_masks(arr[None], name)[0]


def as_image(image: object, hw: tuple[int, int], name: str = "image") -> np.ndarray:
    """Return an ``(H, W, 3)`` uint8 image whose height and width equal ``hw``."""
    arr = as_array(image, name, kinds="biuf")
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
    hw = as_hw(hw)
    arr = as_array(points, name, dtype=float)
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
    hw = as_hw(hw)
    arr = as_array(points, "points", dtype=float)
    if arr.size % 2:
        raise SelectorInputError(f"points must have shape (P, 2) holding (x, y) pairs; got shape {arr.shape}.")
    arr = arr.reshape(-1, 2)
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
    arr = as_array(labels, name, kinds="biuf")
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
    return as_area_values(areas, name, n=masks.shape[0])


def as_area_values(areas: object, name: str = "areas", *, n: int | None = None) -> np.ndarray:
    """Return ``(N,)`` pixel counts (integers or floats), checked to be finite and >= 0.

    A negative or NaN area has no meaning; it would turn an IoU negative or
    reorder painting, so it is refused instead of giving a silent wrong answer.
    """
    arr = as_array(areas, name, kinds="iuf")
    if arr.ndim != 1 or (n is not None and arr.shape != (n,)):
        want = f"({n},)" if n is not None else "(N,)"
        raise SelectorInputError(f"{name} must have one value per mask, shape {want}; got shape {arr.shape}.")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise SelectorInputError(f"{name} hold NaN or infinite values; give pixel counts (mask_areas).")
    if arr.dtype.kind in "if" and arr.size and arr.min() < 0:
        raise SelectorInputError(f"{name} hold negative values (smallest {arr.min()}); an area counts pixels, >= 0.")
    return arr


def as_boxes(boxes: object, name: str = "boxes") -> np.ndarray:
    """Return ``(B, 4)`` float ``(x0, y0, x1, y1)`` boxes, checked to be finite."""
    arr = as_array(boxes, name, dtype=float)
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
    arr = as_array(values, name, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise SelectorInputError(f"{name} must have shape (M, D) or (D,) with M, D > 0; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise SelectorInputError(f"{name} holds NaN or infinite values.")
    return arr


def as_crop_list(crops: object, boxes: object) -> tuple[list[np.ndarray], np.ndarray]:
    """Masks stored cropped to their boxes, checked: ``crops[i]`` a 2D mask of the shape of ``boxes[i]``.

    Parameters
    ----------
    crops : sequence of (h_i, w_i) bool or 0/1 integer arrays
    boxes : (N, 4) int
        ``(x0, y0, x1, y1)``, exclusive ends.

    Returns
    -------
    crops : list of (h_i, w_i) bool
        The same objects when they already are bool arrays (no copy).
    boxes : (N, 4) int64
    """
    b = as_int_boxes(boxes, "boxes")
    try:
        if isinstance(crops, (str, bytes, dict)):
            raise TypeError
        crops = list(crops)
    except TypeError:  # not iterable, or a 0-d array
        raise SelectorTypeError(f"crops must be a sequence of 2D masks, one per box; got {_short(crops)}.") from None
    if not all(isinstance(c, np.ndarray) and c.dtype == bool for c in crops):
        crops = [_as_crop(c, f"crops[{i}]") for i, c in enumerate(crops)]
    if len(crops) != len(b):
        raise SelectorInputError(f"crops and boxes must have the same length; got {len(crops)} and {len(b)}.")
    shapes = np.array([c.shape if c.ndim == 2 else (-1, -1) for c in crops], np.int64).reshape(-1, 2)
    bad = np.flatnonzero((shapes[:, 0] != b[:, 3] - b[:, 1]) | (shapes[:, 1] != b[:, 2] - b[:, 0]))
    if len(bad):
        i = int(bad[0])
        need = (int(b[i, 3] - b[i, 1]), int(b[i, 2] - b[i, 0]))
        raise SelectorInputError(f"crop {i} has shape {crops[i].shape} but its box {b[i].tolist()} needs {need}.")
    return crops, b


def _as_crop(crop: object, name: str) -> np.ndarray:
    """One crop as bool: bool arrays, or integer arrays of 0/1 (a crop may have no pixel)."""
    arr = as_array(crop, name, kinds="biu")
    if arr.dtype != bool:
        if arr.size and (arr.min() < 0 or arr.max() > 1):
            raise SelectorInputError(f"{name} holds values other than 0 and 1; a crop is one mask.")
        arr = arr.astype(bool)
    return arr


def as_binary(mask: object, name: str = "mask") -> np.ndarray:
    """A mask of any number of axes as bool: bool arrays, or integer arrays of 0/1."""
    arr = as_array(mask, name, kinds="biu")
    if arr.dtype != bool:
        if arr.size and (arr.min() < 0 or arr.max() > 1):
            raise SelectorInputError(f"{name} holds values other than 0 and 1 (min {arr.min()}, max {arr.max()}).")
        arr = arr.astype(bool)
    return arr


def as_checked_crops(crops: object, boxes: object, checked: object,
                     hw: tuple[int, int] | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """``crops`` and ``boxes`` as :func:`as_crop_list` returns them, the boxes inside ``hw`` when given.

    With ``checked`` the per-crop loop is skipped; only what costs O(1) (or one
    vectorised pass over the boxes) is checked, so a wrong argument still gets
    a :class:`SelectorInputError`, never an ``IndexError`` from the paint loops.
    """
    if not as_flag(checked, "checked"):
        crops, b = as_crop_list(crops, boxes)
    else:
        if not (isinstance(crops, list) and isinstance(boxes, np.ndarray) and boxes.dtype == np.int64
                and boxes.ndim == 2 and boxes.shape[1] == 4 and len(boxes) == len(crops)):
            raise SelectorInputError(
                "checked=True needs crops and boxes exactly as check_crops(crops, boxes) returned them "
                "(a list and an (N, 4) int64 array of the same length); pass checked=False to have them checked."
            )
        b = boxes
    if hw is not None:
        check_boxes_inside(b, hw)
    return crops, b


def crop_areas(crops: list[np.ndarray], areas: object) -> np.ndarray:
    """``(N,)`` pixel counts of box-cropped masks: ``areas`` checked against the crops, or counted from them."""
    if areas is None:
        return np.array([np.count_nonzero(c) for c in crops], dtype=np.int64)
    return as_area_values(areas, "areas", n=len(crops))
