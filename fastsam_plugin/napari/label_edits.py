"""What one label edit changed (to undo it exactly), and how a layer's features and prompt record follow it.

The bookkeeping behind :mod:`fastsam_plugin.napari.label_editing`'s panel: no widgets here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from napari.layers import Labels

from ..engine.provenance import PromptRecord
from .layers import KEY
from .provenance import RECORD

if TYPE_CHECKING:
    import pandas as pd


class EditError(ValueError):
    """Input the panel cannot act on; the message says what to do."""


@dataclass
class EditStep:
    """What one edit changed, to put it back exactly."""

    layer: Labels
    data: np.ndarray  # the array edited (undo refuses when the layer's data was replaced since)
    where: tuple[np.ndarray, ...]  # indices of the changed pixels in ``data``
    previous: np.ndarray  # their values before the edit
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
