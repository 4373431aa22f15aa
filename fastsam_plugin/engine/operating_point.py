"""The one place that decides the everything-mode settings: the weights' operating point and the user's choice.

A model segments best at the input size it was trained at and at a confidence
threshold measured on held-out data. Its **operating point** comes from three
sources, first match wins:

1. :data:`NAMED_OPERATING_POINTS`, keyed by the weights' name (``"demo"``, ``"demo-nuclei"``, ``"demo-trees"``; other
   bundled models add one entry with :func:`register_operating_point`);
2. the record ``napari-fastsam train`` writes into its checkpoints under
   :data:`CHECKPOINT_KEY` (``{"imgsz": int, "conf": float}``);
3. FastSAM's own defaults (:class:`~fastsam_plugin.engine.model.EverythingParams`).

The faces (CLI, widget, API, Dask workers) never compute settings themselves: they pass a
:class:`UserChoice` holding only what the user set explicitly, the
:class:`~fastsam_plugin.engine.session.Session` resolves it once with :func:`resolve` against the loaded
weights' record, and the faces read back ``session.params`` (and each result's scale plan) to say what was used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from numbers import Real

from ..errors import UsageError
from .model import DEMO_PARAMS, EverythingParams
from .scale import ModelScale

CHECKPOINT_KEY = "napari_fastsam"

# the nuclei model's operating point: its training input size (256 px crops with nuclei about 20 px across), conf
# chosen on training images by scripts/evaluate_nuclei_dsb.py --split train --sweep, NMS IoU 0.5 for touching
# nuclei (docs/models.md, "Nuclei segmenter")
NUCLEI_PARAMS = EverythingParams(imgsz=256, conf=0.3, iou=0.5)

# the trees model's: input size (256-px tiles upsampled; trained at 416), conf and NMS IoU chosen on the training
# tiles by scripts/evaluate_trees.py --imgsz 384 416 (docs/models.md, "Trees segmenter")
TREES_PARAMS = EverythingParams(imgsz=416, conf=0.1, iou=0.3)

NAMED_OPERATING_POINTS: dict[str, EverythingParams] = {"demo": DEMO_PARAMS, "demo-nuclei": NUCLEI_PARAMS,
                                                       "demo-trees": TREES_PARAMS}

# the scale each bundled model was trained at (engine/scale.py). demo-trees: 256 px NAIP tiles of 0.6 m pixels,
# seen at 416 px; demo-nuclei: 256 px crops of DSB2018 images resized so the median nucleus is about 20 px across
# (training/dsb2018.py), seen at 256 px. Its object_diameter is in the first-pass estimate's statistic (the
# area-weighted median diameter; 29.4 px on its training crops) and was chosen on training images (17-32 px);
# its resize range is dsb2018.resize_range of its training images (nuclei of 11-52 px brought to 12-40 px)
NAMED_SCALES: dict[str, ModelScale] = {
    "demo-trees": ModelScale(tile=256, imgsz=TREES_PARAMS.imgsz, pixel_size=0.6, unit="m"),
    "demo-nuclei": ModelScale(tile=256, imgsz=NUCLEI_PARAMS.imgsz, object_diameter=28.0, resize_range=(0.23, 3.51)),
}


# the form in which each bundled model wants stained (H&E-like) colour images (model_input_form)
NAMED_INPUT_FORMS: dict[str, str] = {"demo-nuclei": "rgb"}  # learnt DSB2018's stained tissue in colour
INPUT_FORMS = ("rgb", "hematoxylin")


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


def operating_point(weights: str | os.PathLike | None = None, checkpoint: dict | None = None) -> EverythingParams:
    """The operating point of some weights: a named model's entry, else the checkpoint's record, else FastSAM's.

    Parameters
    ----------
    weights : str or path, optional
        The name the user gave (``"demo"``, a registered name, ``"FastSAM-s"``
        or a path). Only names are looked up; paths are recognised by their record.
    checkpoint : dict, optional
        The loaded checkpoint (Ultralytics' ``YOLO(...).ckpt``), read for the
        record written by :func:`fastsam_plugin.training.train.train`.

    Returns
    -------
    EverythingParams
        The model's own settings; settings it does not name are FastSAM's defaults.
    """
    named = NAMED_OPERATING_POINTS.get(str(weights).lower()) if weights is not None else None
    if named is not None:
        return named
    record = checkpoint_record(checkpoint)
    changes = {}
    if isinstance(record.get("imgsz"), int):
        changes["imgsz"] = record["imgsz"]
    for key in ("conf", "iou"):  # iou: the NMS IoU, when the model's maker chose one (a bundled model's file)
        if isinstance(record.get(key), (int, float)) and not isinstance(record.get(key), bool):
            changes[key] = float(record[key])
    try:
        return EverythingParams(**changes)
    except ValueError:  # a damaged record: the checkpoint still works at the defaults
        return EverythingParams()


@dataclass(frozen=True)
class UserChoice:
    """What the user set explicitly; ``None`` leaves a setting to the weights (operating point, scale rule).

    Attributes
    ----------
    imgsz : int, optional
        Model input size in pixels (the expert override of the scale rule when it differs from the model's).
    conf, iou : float, optional
        Confidence threshold and NMS IoU, in [0, 1].
    max_det : int, optional
        Most objects per image.
    object_size : float, optional
        Typical object diameter in image pixels (:mod:`fastsam_plugin.engine.scale`); used when the image
        has no pixel size.
    """

    imgsz: int | None = None
    conf: float | None = None
    iou: float | None = None
    max_det: int | None = None
    object_size: float | None = None

    def __post_init__(self) -> None:
        self.over(EverythingParams())  # the same range checks (and messages) as EverythingParams
        size = self.object_size
        if size is not None and not (isinstance(size, Real) and not isinstance(size, bool) and 0 < size < float("inf")):
            raise UsageError(f"object size must be a positive number of pixels; got {size!r}.")

    @classmethod
    def fixed(cls, params: EverythingParams, object_size: float | None = None) -> UserChoice:
        """Every everything-mode setting fixed to ``params`` (a replayed record, an expert's full settings)."""
        if not isinstance(params, EverythingParams):
            raise TypeError(f"params must be an EverythingParams; got {type(params).__name__}.")
        return cls(params.imgsz, params.conf, params.iou, params.max_det, object_size)

    def over(self, point: EverythingParams) -> EverythingParams:
        """``point`` with every setting this choice names (raises UsageError for an out-of-range value)."""
        names = {f.name for f in fields(EverythingParams)}
        changes = {f.name: getattr(self, f.name) for f in fields(self) if f.name in names}
        return replace(point, **{k: v for k, v in changes.items() if v is not None})


def resolve(weights: str | os.PathLike | None, checkpoint: dict | None, choice: UserChoice) -> EverythingParams:
    """The settings a run uses: the weights' :func:`operating_point` with the user's ``choice`` on top."""
    return choice.over(operating_point(weights, checkpoint))


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


def model_input_form(weights: str | os.PathLike | None = None, checkpoint: dict | None = None) -> str | None:
    """How the weights want stained (H&E-like) colour images: ``"hematoxylin"``, ``"rgb"`` or None (not said).

    ``"hematoxylin"``: the model knows nuclei bright on dark (fluorescence), so the engine shows it a stained
    image's hematoxylin channel (:func:`fastsam_plugin.engine.imaging.hematoxylin_channel`); ``"rgb"``: it
    learnt stained tissue in colour and gets the image as it is. A named model's entry, else the checkpoint
    record's ``input`` (``napari-fastsam train`` writes it); None leaves colour images as they are.
    """
    named = NAMED_INPUT_FORMS.get(str(weights).lower()) if weights is not None else None
    if named is not None:
        return named
    form = checkpoint_record(checkpoint).get("input")
    return form if form in INPUT_FORMS else None


def model_scale(weights: str | os.PathLike | None = None, checkpoint: dict | None = None) -> ModelScale | None:
    """The scale some weights were trained at: a named model's entry, else the checkpoint record's ``scale``.

    ``napari-fastsam train`` records ``{"tile", "imgsz", "pixel_size", "unit", "object_diameter"}``; a
    damaged or missing record gives None (the fixed-size rule).
    """
    named = NAMED_SCALES.get(str(weights).lower()) if weights is not None else None
    if named is not None:
        return named
    return ModelScale.from_record(checkpoint_record(checkpoint).get("scale"))


def file_operating_point(path: str | os.PathLike) -> EverythingParams | None:
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
    return operating_point(None, checkpoint)
