"""Which ``imgsz``/``conf`` suit which weights: named models and trained checkpoints.

A model segments best at the input size it was trained at and at a confidence
threshold measured on held-out data. Three sources, first match wins:

1. :data:`NAMED_OPERATING_POINTS`, keyed by the weights' name (``"demo"``, ``"demo-nuclei"``, ``"demo-trees"``; other
   bundled models add one entry with :func:`register_operating_point`);
2. the record ``napari-fastsam train`` writes into its checkpoints under
   :data:`CHECKPOINT_KEY` (``{"imgsz": int, "conf": float}``);
3. FastSAM's own defaults (:class:`~fastsam_plugin.engine.model.EverythingParams`).

The faces (CLI, widget, API) start from :func:`operating_point` and let the
user's explicit ``imgsz``/``conf`` win.
"""

from __future__ import annotations

import os
from dataclasses import replace

from .model import DEFAULT_IOU, DEMO_PARAMS, EverythingParams
from .scale import ModelScale

CHECKPOINT_KEY = "napari_fastsam"

# the nuclei model's operating point, chosen on the real image's training columns by
# scripts/evaluate_nuclei.py (docs/models.md, "Nuclei segmenter")
NUCLEI_PARAMS = EverythingParams(imgsz=640, conf=0.3, iou=0.5)

# the trees model's: input size (256-px tiles upsampled; trained at 384), conf and NMS IoU chosen on the training
# tiles by scripts/evaluate_trees.py --imgsz 352 384 416 (docs/models.md, "Trees segmenter")
TREES_PARAMS = EverythingParams(imgsz=416, conf=0.1, iou=0.3)

NAMED_OPERATING_POINTS: dict[str, EverythingParams] = {"demo": DEMO_PARAMS, "demo-nuclei": NUCLEI_PARAMS,
                                                       "demo-trees": TREES_PARAMS}

# the scale each bundled model was trained at (engine/scale.py). demo-trees: 256 px NAIP tiles of 0.6 m pixels,
# seen at 416 px; demo-nuclei: the 512 px DSB2018 image at 640 px, median nucleus 23.7 px across (its labels)
NAMED_SCALES: dict[str, ModelScale] = {
    "demo-trees": ModelScale(tile=256, imgsz=TREES_PARAMS.imgsz, pixel_size=0.6, unit="m"),
    "demo-nuclei": ModelScale(tile=512, imgsz=NUCLEI_PARAMS.imgsz, object_diameter=23.7),
}


def register_operating_point(name: str, params: EverythingParams) -> None:
    """Make ``params`` the operating point of the weights called ``name`` (case-insensitive)."""
    if not isinstance(params, EverythingParams):
        raise TypeError(f"params must be an EverythingParams; got {type(params).__name__}.")
    NAMED_OPERATING_POINTS[str(name).lower()] = params


def checkpoint_record(checkpoint: dict | None) -> dict:
    """The ``{"imgsz", "conf"}`` record of a loaded checkpoint dict, or ``{}`` when it has none."""
    if not isinstance(checkpoint, dict):
        return {}
    record = checkpoint.get(CHECKPOINT_KEY)
    return dict(record) if isinstance(record, dict) else {}


def operating_point(
    weights: str | os.PathLike | None = None, checkpoint: dict | None = None, base: EverythingParams | None = None
) -> EverythingParams:
    """The operating point of some weights.

    Parameters
    ----------
    weights : str or path, optional
        The name the user gave (``"demo"``, a registered name, ``"FastSAM-s"``
        or a path). Only names are looked up; paths are recognised by their record.
    checkpoint : dict, optional
        The loaded checkpoint (Ultralytics' ``YOLO(...).ckpt``), read for the
        record written by :func:`fastsam_plugin.training.train.train`.
    base : EverythingParams, optional
        Settings kept where the source says nothing (``iou``, ``max_det``, and
        everything for unknown weights); FastSAM's defaults when omitted.

    Returns
    -------
    EverythingParams
    """
    base = base or EverythingParams()
    named = NAMED_OPERATING_POINTS.get(str(weights).lower()) if weights is not None else None
    if named is not None:
        # a named point may also set NMS IoU (demo-nuclei: touching nuclei need 0.5); a non-default base IoU wins
        iou = named.iou if base.iou == DEFAULT_IOU else base.iou
        return replace(base, imgsz=named.imgsz, conf=named.conf, iou=iou)
    record = checkpoint_record(checkpoint)
    changes = {}
    if isinstance(record.get("imgsz"), int):
        changes["imgsz"] = record["imgsz"]
    if isinstance(record.get("conf"), (int, float)):
        changes["conf"] = float(record["conf"])
    try:
        return replace(base, **changes)
    except ValueError:  # a damaged record: the checkpoint still works at the defaults
        return base


def model_bands(checkpoint: dict | None) -> tuple[int, ...] | None:
    """The 1-based input bands a checkpoint's record names (``(4, 1, 2)``: NIR, red, green), or None.

    :func:`fastsam_plugin.training.train.train` writes them for models trained on a band composite
    (the trees model); a damaged entry is ignored (the model then sees bands 1-3 as RGB).
    """
    bands = checkpoint_record(checkpoint).get("bands")
    if not isinstance(bands, (list, tuple)) or not 1 <= len(bands) <= 3:
        return None
    if not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in bands):
        return None
    return tuple(bands)


def model_scale(weights: str | os.PathLike | None = None, checkpoint: dict | None = None) -> ModelScale | None:
    """The scale some weights were trained at: a named model's entry, else the checkpoint record's ``scale``.

    ``napari-fastsam train`` records ``{"tile", "imgsz", "pixel_size", "unit", "object_diameter"}``; a
    damaged or missing record gives None (the fixed-size rule).
    """
    named = NAMED_SCALES.get(str(weights).lower()) if weights is not None else None
    if named is not None:
        return named
    return ModelScale.from_record(checkpoint_record(checkpoint).get("scale"))


def with_user_choice(point: EverythingParams, imgsz: int | None = None, conf: float | None = None) -> EverythingParams:
    """``point`` with the user's explicit ``imgsz``/``conf`` (None keeps the operating point's)."""
    changes = {k: v for k, v in (("imgsz", imgsz), ("conf", conf)) if v is not None}
    return replace(point, **changes)


def file_operating_point(path: str | os.PathLike, base: EverythingParams | None = None) -> EverythingParams | None:
    """The operating point recorded in a checkpoint file, or None when it records none.

    The file is read by :func:`fastsam_plugin.engine.loader.load_checkpoint` (restricted, never
    trusted), as for segmentation; the widget calls this when the user picks a file, before any
    model is built.

    Raises
    ------
    UnsafeCheckpointError, CheckpointFormatError, CheckpointLimitError
        As :func:`~fastsam_plugin.engine.loader.load_checkpoint`.
    """
    from .loader import load_checkpoint

    checkpoint = load_checkpoint(path, trust=False).checkpoint  # the one restricted loader; never trusted here
    if not checkpoint_record(checkpoint):
        return None
    return operating_point(None, checkpoint, base=base)
