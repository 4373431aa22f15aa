"""Measurement tables (pandas) of segmented objects, in pixels and physical units, with the model's score.

The geometry and intensity rule is :func:`mask_selectors.measure_labels`; this
module names the columns after the unit (``area_um2``, ``centroid_x_um``),
adds each object's model score, and returns a :class:`pandas.DataFrame` (what
the CLI writes as CSV and napari shows as layer ``features``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from mask_selectors import measure_labels

from .result import SegmentationResult

if TYPE_CHECKING:  # imported when a table is made: pandas takes a second to import, and napari's dock imports this
    import pandas as pd


def _unit_tag(unit: str) -> str:
    """ASCII column suffix for a unit: ``"µm"`` -> ``"um"``."""
    return unit.replace("µ", "u").replace("\u03bc", "u").replace(" ", "")


def object_scores(labels: np.ndarray, results: SegmentationResult | Sequence[SegmentationResult]) -> dict[int, float]:
    """Model score of every object of ``labels``, from the results it was painted from.

    Parameters
    ----------
    labels : (H, W) or (Z, H, W) int
        Objects: ``result.labels()``, or 3D labels stitched from per-slice results.
    results : SegmentationResult or sequence of them (one per slice)

    Returns
    -------
    dict of int to float
        Per label id, the mean of the scores of the 2D objects it is made of,
        weighted by their visible pixels.
    """
    lab = np.asarray(labels)
    per_slice = [results] if isinstance(results, SegmentationResult) else list(results)
    planes = lab[None] if lab.ndim == 2 else lab
    if len(per_slice) != len(planes):
        raise ValueError(f"{len(per_slice)} result(s) for {len(planes)} slice(s) of labels.")
    weighted: dict[int, list[float]] = {}
    for plane, result in zip(planes, per_slice):
        if len(result) == 0:
            continue
        source = result.labels()  # object i painted as id i + 1
        on = (plane > 0) & (source > 0)
        pairs, counts = np.unique(np.stack([plane[on], source[on]]), axis=1, return_counts=True)
        for (obj, src), n in zip(pairs.T, counts):
            acc = weighted.setdefault(int(obj), [0.0, 0.0])
            acc[0] += float(result.scores[src - 1]) * n
            acc[1] += n
    return {k: s / n for k, (s, n) in weighted.items()}


def measure(
    labels: np.ndarray,
    image: np.ndarray | None = None,
    *,
    spacing: Sequence[float] | None = None,
    unit: str = "µm",
    scores: dict[int, float] | None = None,
    channel_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per object: size, position, shape, intensities of the original image, score.

    Parameters
    ----------
    labels : (H, W) or (Z, H, W) int
    image : array, optional
        The original image (any dtype, not normalised), channels last, same
        spatial shape as ``labels``.
    spacing : sequence of float, optional
        Physical pixel size per axis of ``labels`` (Y, X or Z, Y, X) in ``unit``;
        without it the physical columns are left out.
    scores : dict of int to float, optional
        Model score per label id (see :func:`object_scores`); NaN where missing.
    channel_names : sequence of str, optional
        Names for the per-channel intensity columns.

    Returns
    -------
    pandas.DataFrame
        Columns ``label``, ``area_px`` (voxels in 3D) and ``area_<unit>2``
        (``volume_<unit>3`` in 3D), ``centroid_{z,y,x}`` and ``centroid_{z,y,x}_<unit>``,
        ``bbox_*`` (pixels, exclusive ends), ``eccentricity`` (2D), ``solidity``,
        ``intensity_{mean,min,max}[_<channel>]``, ``score``.
    """
    lab = np.asarray(labels)
    if channel_names is not None:  # column names without spaces (layer names such as "cells DAPI")
        channel_names = ["_".join(str(n).split()) for n in channel_names]
    table = measure_labels(lab, image, spacing=spacing, channel_names=channel_names)
    tag = _unit_tag(unit)
    columns: dict[str, np.ndarray] = {}
    for name, values in table.items():
        if name == "area_physical":
            if spacing is not None:
                columns[f"area_{tag}2" if lab.ndim == 2 else f"volume_{tag}3"] = values
        elif name.endswith("_physical"):
            if spacing is not None:
                columns[name.replace("_physical", f"_{tag}")] = values
        else:
            columns[name] = values
    import pandas as pd

    frame = pd.DataFrame(columns)
    if scores is not None:
        frame["score"] = [scores.get(int(i), np.nan) for i in frame["label"]]
    return frame
