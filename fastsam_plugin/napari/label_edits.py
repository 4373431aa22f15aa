"""What one label edit changed (to undo it exactly), and how a layer's features and prompt record follow it.

The bookkeeping behind :mod:`fastsam_plugin.napari.label_editing`'s and
:mod:`fastsam_plugin.napari.annotations`' panels: no widgets and no Qt here.
:class:`UndoHistory` is their undo stack; :class:`PixelChange` what one step
changed in a label array, put back exactly by :meth:`PixelChange.undo`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Generic, TypeVar

import numpy as np

from ..engine.provenance import PromptRecord
from .layers import KEY
from .provenance import RECORD

if TYPE_CHECKING:
    import pandas as pd
    from napari.layers import Labels

T = TypeVar("T")


class EditError(ValueError):
    """Input the panel cannot act on; the message says what to do."""


class UndoHistory(Generic[T]):
    """Undo steps, the last one first; plain Python (no Qt, no napari), so it is tested on its own.

    Parameters
    ----------
    limit : int, optional
        Keep at most this many steps (the oldest go first); unlimited by default.
    """

    def __init__(self, limit: int | None = None) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1; got {limit}.")
        self.limit = limit
        self._steps: list[T] = []

    def push(self, step: T) -> None:
        """Record a step (and forget the oldest beyond ``limit``)."""
        self._steps.append(step)
        if self.limit is not None and len(self._steps) > self.limit:
            del self._steps[: len(self._steps) - self.limit]

    def pop(self) -> T | None:
        """The last step, removed from the history; None when there is nothing to undo."""
        return self._steps.pop() if self._steps else None

    def peek(self) -> T | None:
        """The last step, left in the history; None when empty."""
        return self._steps[-1] if self._steps else None

    def drop(self, gone: Callable[[T], bool]) -> int:
        """Forget every step for which ``gone(step)`` is true (e.g. steps of a removed layer); return how many."""
        before = len(self._steps)
        self._steps = [s for s in self._steps if not gone(s)]
        return before - len(self._steps)

    def __len__(self) -> int:
        return len(self._steps)


@dataclass
class PixelChange:
    """Pixels one step changed in an array, with their previous values: undone exactly, in place.

    Attributes
    ----------
    data : ndarray
        The array changed (undo refuses when the layer's data was replaced since).
    where : tuple of (K,) int arrays
        Indices of the changed pixels in ``data``.
    previous : (K,) array
        Their values before the step.
    """

    data: np.ndarray
    where: tuple[np.ndarray, ...]
    previous: np.ndarray

    @classmethod
    def write(cls, data: np.ndarray, index: tuple[int, ...], new: np.ndarray) -> PixelChange:
        """Write ``new`` into ``data[index]`` (the whole array for ``()``) where it differs; return the change.

        Parameters
        ----------
        data : (...) array
            Changed in place.
        index : tuple of int
            Leading-axes index of the plane ``new`` replaces.
        new : array of ``data[index]``'s shape
        """
        target = data[index] if index else data
        changed = np.nonzero(new != target)
        where = tuple(np.full(changed[0].shape, i) for i in index) + changed
        step = cls(data, where, data[where].copy())
        data[where] = new[changed]
        return step

    def undo(self) -> None:
        """Put the previous values back."""
        self.data[self.where] = self.previous

    @property
    def size(self) -> int:
        """How many pixels the step changed."""
        return int(self.previous.size)


@dataclass
class EditStep:
    """What one label edit changed, to put it back exactly: pixels, features table, metadata (prompt record)."""

    layer: Labels
    change: PixelChange
    features: pd.DataFrame
    metadata: dict


def layer_role(layer) -> str | None:
    """The plugin's role of a layer (``"annotation"``, ...), or None for a layer the user made."""
    info = layer.metadata.get(KEY)
    return info.get("role") if isinstance(info, dict) else None


def remap_features(features: pd.DataFrame, id_map: dict[int, int], added: dict[int, int]) -> pd.DataFrame:
    """A label-keyed features table after an edit.

    Parameters
    ----------
    features : DataFrame
        One row per object, keyed by an ``index`` (napari's key) or ``label`` column; other tables are returned as is.
    id_map : dict of int to int
        Old id -> new id; 0 deletes the object. Rows of several ids mapped to one id
        (a merge) become one row: the row of the id that keeps its number.
    added : dict of int to int
        New id -> the id it was split from; the new object's row is a copy of its parent's.

    Measurements in the table are not recomputed (measure the layer again for them).
    """
    key = next((k for k in ("index", "label") if k in features.columns), None)
    if key is None or features.empty:
        return features
    old = features[key].to_numpy()
    new = np.array([id_map.get(int(i), int(i)) for i in old], dtype=np.int64)
    table = features.assign(**{k: new for k in ("index", "label") if k in features.columns})
    table = table[new != 0]
    kept_number = (new == old)[new != 0]
    table = table.iloc[np.argsort(~kept_number, kind="stable")]  # a row keeping its id wins a merge
    table = table.drop_duplicates(subset=key, keep="first")
    rows = []
    for child, parent in added.items():
        row = table[table[key] == parent]
        if len(row):
            rows.append(row.iloc[:1].assign(**{k: child for k in ("index", "label") if k in table.columns}))
    import pandas as pd  # not at module level: importing the dock must not import pandas (seconds)

    return pd.concat([table, *rows]).sort_values(key, kind="stable").reset_index(drop=True)


def map_centroids(table: pd.DataFrame, georef: dict | None) -> pd.DataFrame:
    """A measurement table whose physical centroid columns are map coordinates, for a georeferenced layer.

    The measurements put ``centroid_x_<unit>``/``centroid_y_<unit>`` at pixel
    index times pixel size: metres from the tile's corner. A GIS user needs the
    position on the map, so for a layer carrying the reader's georeferencing
    (``metadata["georef"]["transform"]``, the affine ``a..f``) they become
    easting and northing (x, y in the file's CRS) of the centroid.

    Parameters
    ----------
    table : DataFrame
        From :meth:`Session.measure`: ``centroid_x``/``centroid_y`` in pixels (row, column indices).
    georef : dict or None
        The layer's ``metadata["georef"]``; the table is returned unchanged without a transform.

    Returns
    -------
    DataFrame
        A copy with ``centroid_x_<unit>`` = easting and ``centroid_y_<unit>`` = northing.
    """
    transform = (georef or {}).get("transform")
    if transform is None or "centroid_x" not in table.columns or "centroid_y" not in table.columns:
        return table
    a, b, c, d, e, f = (float(v) for v in transform)
    col = table["centroid_x"].to_numpy(float) + 0.5  # pixel index -> the pixel's centre in raster coordinates
    row = table["centroid_y"].to_numpy(float) + 0.5
    out = table.copy()
    for name in out.columns:
        if name.startswith("centroid_x_"):
            out[name] = a * col + b * row + c
        elif name.startswith("centroid_y_"):
            out[name] = d * col + e * row + f
    return out


def record_edit(layer, edit: dict, id_map: dict[int, int]) -> None:
    """Add ``edit`` to the layer's prompt record (if it has one) and renumber its objects by ``id_map``."""
    data = layer.metadata.get(KEY, {}).get(RECORD) if isinstance(layer.metadata.get(KEY), dict) else None
    if not data:
        return
    record = PromptRecord.from_dict(data)
    record.objects = [replace(o, id=id_map.get(o.id, o.id)) for o in record.objects if id_map.get(o.id, o.id) != 0]
    record.edits.append(edit)
    meta = dict(layer.metadata)
    meta[KEY] = {**meta[KEY], RECORD: record.to_dict()}
    layer.metadata = meta


def parse_ids(text: str) -> list[int]:
    """Ids typed as ``"3, 7 12"``; raises :class:`EditError` on anything but whole numbers >= 1."""
    words = [w for w in re.split(r"[,;\s]+", text.strip()) if w]
    if not all(w.isdigit() and int(w) > 0 for w in words):
        raise EditError(f"ids: type whole numbers >= 1 separated by commas, e.g. '3, 7'; got {text!r}.")
    return list(dict.fromkeys(int(w) for w in words))
