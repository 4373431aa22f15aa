"""A scripted annotator: point prompts on a segmentation result, checked the way a user checks them.

Tests, benchmarks and documentation scripts need "a user annotated N objects"
without a person. :func:`annotate_with_points` clicks inside each object (one
foreground point at its innermost pixel, background points just outside its
four sides, as a user separates an object from its neighbours), and accepts the
selection when it matches the object (IoU with the reference outline at least
``accept_iou``: what the user sees on screen). A selection that does not match
is rejected and the object is painted by hand instead, which the script stands
in for with the reference outline. The counts of both are returned, so a report
can say exactly how the annotations were made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScriptedAnnotation:
    """Annotations and how they were made.

    Attributes
    ----------
    labels : (H, W) int32
        One id per annotated object (1..N, in the order given).
    prompted : int
        Objects accepted from the point prompts' selection.
    painted : int
        Objects whose selection was rejected and that were painted (reference outline).
    """

    labels: np.ndarray
    prompted: int
    painted: int


def object_prompt(mask: np.ndarray, gap: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Points a user would click for one object: inside it, and just outside each side.

    Parameters
    ----------
    mask : (H, W) bool
        The object (non-empty).
    gap : int
        Distance in pixels of the background points from the object's bounding box.

    Returns
    -------
    points : (P, 2) float
        ``(x, y)`` pixels; the first is the foreground point.
    labels : (P,) int
        1 for the foreground point, 0 for the background points (those falling inside the image).
    """
    from scipy import ndimage as ndi

    h, w = mask.shape
    depth = ndi.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    rows, cols = np.nonzero(mask)
    y0, y1, x0, x1 = rows.min(), rows.max(), cols.min(), cols.max()
    outside = [(x1 + gap, y), (x0 - gap, y), (x, y1 + gap), (x, y0 - gap)]
    background = [(px, py) for px, py in outside if 0 <= px < w and 0 <= py < h and not mask[py, px]]
    points = np.array([(x, y), *background], np.float64)
    return points, np.array([1] + [0] * len(background))


def annotate_with_points(result, reference: np.ndarray, ids: Sequence[int], accept_iou: float = 0.5) -> ScriptedAnnotation:
    """Annotate the objects ``ids`` of ``reference`` with point prompts on ``result``.

    Parameters
    ----------
    result : SegmentationResult
        Everything-mode result of the image (what the point prompts select from).
    reference : (H, W) int
        What the user sees as the objects (e.g. ground-truth labels).
    ids : sequence of int
        The reference objects to annotate, in order.
    accept_iou : float
        The selection is accepted when its IoU with the object reaches this; otherwise the object is painted.

    Returns
    -------
    ScriptedAnnotation
    """
    from ..engine.session import Session

    reference = np.asarray(reference)
    labels = np.zeros(reference.shape, np.int32)
    prompted = painted = 0
    for new_id, obj in enumerate(ids, start=1):
        mask = reference == obj
        if not mask.any():
            raise ValueError(f"object {obj} is not in the reference labels.")
        points, polarity = object_prompt(mask)
        selection = Session.select_points(result, points, polarity)
        iou = (selection & mask).sum() / max(1, (selection | mask).sum())
        accepted = iou >= accept_iou
        prompted, painted = prompted + int(accepted), painted + int(not accepted)
        labels[(selection if accepted else mask) & (labels == 0)] = new_id  # never overwrites an earlier object
    return ScriptedAnnotation(labels, prompted, painted)
