"""FastSAM everything mode: one pass of a YOLOv8-seg model, every object's mask.

Ultralytics runs the letterbox, the forward pass and NMS; its mask step is
replaced. For each kept object the mask is assembled straight from the
prototypes and coefficients inside its own box, in the original pixel grid
(:mod:`fastsam_plugin.engine.assembly`), never as N x H x W upsampled maps.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import FastSAMError, UsageError
from ._ultralytics import ultralytics
from .checkpoints import CheckpointFormatError
from .device import resolve_device, torch_threads_kept
from .result import SegmentationResult
from .weights import resolve_weights

DEFAULT_IMGSZ = 1024
DEFAULT_CONF = 0.4
DEFAULT_IOU = 0.9
DEFAULT_MAX_DET = 300
IMGSZ_RANGE = (32, 8192)  # model input sizes accepted (multiples of 32 are used)


class ModelLoadError(FastSAMError, RuntimeError):
    """A checkpoint exists but is not a usable FastSAM/YOLO segmentation model."""


@dataclass(frozen=True)
class EverythingParams:
    """Everything-mode settings (FastSAM's defaults)."""

    imgsz: int = DEFAULT_IMGSZ
    conf: float = DEFAULT_CONF
    iou: float = DEFAULT_IOU
    max_det: int = DEFAULT_MAX_DET

    def __post_init__(self) -> None:
        lo, hi = IMGSZ_RANGE
        if not (isinstance(self.imgsz, (int, np.integer)) and lo <= self.imgsz <= hi):
            raise UsageError(f"imgsz must be an integer between {lo} and {hi}; got {self.imgsz!r}.")
        for name in ("conf", "iou"):
            v = getattr(self, name)
            if not 0.0 <= float(v) <= 1.0:
                raise UsageError(f"{name} must lie in [0, 1]; got {v!r}.")
        if not (isinstance(self.max_det, (int, np.integer)) and self.max_det >= 1):
            raise UsageError(f"max_det must be at least 1; got {self.max_det!r}.")


# the demo segmenter's measured operating point (docs/models.md); FastSAM's own defaults stay 1024 / 0.4
DEMO_PARAMS = EverythingParams(imgsz=416, conf=0.25, iou=0.9)


def load_segmentation_model(path: Path, *, trust: bool | None = None):
    """Load a FastSAM / YOLOv8-seg model through the one checkpoint loader; return an Ultralytics ``YOLO``.

    ``.pt`` files go through :func:`fastsam_plugin.engine.loader.load_checkpoint` (bytes read once,
    archive checks, PyTorch's restricted unpickler), ``.safetensors`` weights through
    :func:`fastsam_plugin.engine.safetensors_weights.load_weights_file` (never unpickled). Either way the
    layers are rebuilt from the architecture and the model is handed to Ultralytics without Ultralytics
    reading the file. A ``.yaml`` config builds an untrained model (checked the same way first).

    Parameters
    ----------
    path : Path
    trust : bool, optional
        Fully unpickle this one ``.pt`` file (only for a file you trust); ``None`` reads
        ``$NAPARI_FASTSAM_TRUST_CHECKPOINTS``. Never changes how other files load.

    Raises
    ------
    UnsafeCheckpointError
        The file names code outside the allow-list (nothing from it ran).
    ChecksumMismatchError
        A bundled or downloaded file changed since it was pinned or recorded.
    CheckpointLimitError
        It asks for layers or sizes no FastSAM model needs.
    ModelLoadError
        For truncated or foreign files and for non-segmentation models.
    """
    from .loader import CheckpointLimitError, load_checkpoint, segmentation_model_from_checkpoint, yolo_from_model

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):  # a config holds no pickle; checked, then built without eval
        return _untrained_model(path)
    try:
        if suffix in (".safetensors", ".json"):
            from .safetensors_weights import load_weights_file

            model, checkpoint = load_weights_file(path)
        else:
            loaded = load_checkpoint(path, trust=trust)
            model, checkpoint = segmentation_model_from_checkpoint(loaded)
            from .weights import record_if_new

            if loaded.sha256 is not None:
                record_if_new(path, loaded.sha256)
    except CheckpointFormatError as exc:
        raise ModelLoadError(str(exc)) from None
    except CheckpointLimitError as exc:
        if "not a segmentation model" in str(exc):
            raise ModelLoadError(
                f"{path} holds a model that is not a segmentation model; FastSAM needs YOLOv8-seg "
                "weights such as FastSAM-s.pt or FastSAM-x.pt."
            ) from None
        raise
    return yolo_from_model(model, checkpoint, path)


def _untrained_model(path: Path):
    """An untrained model from a model YAML: layers and sizes checked on the ``meta`` device before it is built."""
    from .loader import CheckpointLimitError, architecture_from_yaml, build_skeleton

    try:
        build_skeleton(architecture_from_yaml(path), path)
    except CheckpointLimitError as exc:
        if "not a segmentation model" in str(exc):
            raise ModelLoadError(f"{path} describes a model that is not a segmentation model.") from None
        raise
    return ultralytics().YOLO(str(path), task="segment")


class FastSAMSegmenter:
    """Everything-mode segmentation with an Ultralytics FastSAM checkpoint.

    Parameters
    ----------
    weights : str or path, optional
        ``"demo"``, ``"FastSAM-s"``, ``"FastSAM-x"`` or a checkpoint path; see
        :func:`fastsam_plugin.engine.weights.resolve_weights`.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
    half : bool, optional
        Half precision; defaults to True on CUDA, False elsewhere.
    download : bool
        Allow downloading named weights that are not cached.
    allow_untrained : bool
        Accept a model *configuration* (``.yaml``) and build a randomly
        initialised network from it. Its masks are noise; only for testing
        the pipeline (CLI: ``--untrained``). Otherwise a YAML is refused.
    trust : bool, optional
        Load a checkpoint that the safety scan refuses (it may run code from
        the file: only for files you trust). ``None`` reads
        ``$NAPARI_FASTSAM_TRUST_CHECKPOINTS``; see SECURITY.md.
    """

    name = "fastsam"

    def __init__(
        self,
        weights: str | os.PathLike | None = None,
        device: str = "auto",
        half: bool | None = None,
        download: bool = True,
        allow_untrained: bool = False,
        trust: bool | None = None,
    ) -> None:
        self.weights = resolve_weights(weights, download=download)
        if Path(self.weights).suffix.lower() in (".yaml", ".yml") and not allow_untrained:
            raise ModelLoadError(
                f"{self.weights} is a model configuration (YAML), not trained weights: the network would be "
                "random and every mask noise. Pass a trained .pt checkpoint (make one with 'napari-fastsam train'), "
                "or, only to test the pipeline, ask for an untrained model (CLI: --untrained; "
                "Python: allow_untrained=True)."
            )
        self.device = resolve_device(device)
        self.half = self.device.startswith("cuda") if half is None else bool(half)
        self.model = load_segmentation_model(self.weights, trust=trust)

    def _precision_args(self) -> dict:
        if not self.half:
            return {}
        from ultralytics.cfg import DEFAULT_CFG_DICT

        # Ultralytics >= 8.4 replaced ``half`` with ``quantize``
        return {"quantize": 16} if "quantize" in DEFAULT_CFG_DICT else {"half": True}

    def segment(
        self,
        image: np.ndarray,
        *,
        imgsz: int = DEFAULT_IMGSZ,
        conf: float = DEFAULT_CONF,
        iou: float = DEFAULT_IOU,
        max_det: int = DEFAULT_MAX_DET,
    ) -> SegmentationResult:
        """Segment every object of an 8-bit RGB image.

        Parameters
        ----------
        image : (H, W, 3) uint8
            RGB; see :func:`fastsam_plugin.engine.imaging.normalize_image` for other data.
        imgsz, conf, iou, max_det
            Model input size, confidence and NMS IoU thresholds, most objects.

        Returns
        -------
        SegmentationResult
            Masks in the image's own pixel grid.
        """
        params = EverythingParams(int(imgsz), float(conf), float(iou), int(max_det))
        img = np.asarray(image)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(
                f"segment() takes an (H, W, 3) uint8 RGB image; got {img.shape} {img.dtype}. "
                "Use fastsam_plugin.engine.imaging.normalize_image for gray, 16-bit or multi-channel data."
            )
        return result_from_raw(self.predict_raw(img, params), img)

    def predict_raw(self, image: np.ndarray, params: EverythingParams) -> RawPrediction:
        """Letterbox, forward pass and NMS of an (H, W, 3) uint8 RGB image; no masks yet."""
        bgr = np.ascontiguousarray(image[..., ::-1])  # Ultralytics reads numpy input as OpenCV BGR
        (res,) = self.model.predict(
            bgr,
            predictor=raw_predictor_class(),
            imgsz=params.imgsz,
            conf=params.conf,
            iou=params.iou,
            max_det=params.max_det,
            agnostic_nms=True,
            device=self.device,
            verbose=False,
            **self._precision_args(),
        )
        return res.raw


@dataclass(frozen=True)
class RawPrediction:
    """What the network and NMS give for one image, before any mask is made.

    Attributes
    ----------
    boxes : (N, 4) float tensor
        ``xyxy`` in letterboxed input pixels.
    scores : (N,) float tensor
    coeffs : (N, C) float tensor
        Mask coefficients.
    protos : (C, mh, mw) float tensor
        Prototype maps (on the model's device).
    input_hw : (int, int)
        Letterboxed input height and width.
    """

    boxes: object
    scores: object
    coeffs: object
    protos: object
    input_hw: tuple[int, int]


@functools.cache
def raw_predictor_class():
    """Ultralytics' segmentation predictor with its mask step left out: NMS output plus prototypes."""
    from ultralytics.engine.results import Results
    from ultralytics.models.yolo.segment.predict import SegmentationPredictor

    class RawSegmentationPredictor(SegmentationPredictor):
        def setup_model(self, model, verbose: bool = True):
            with torch_threads_kept():  # Ultralytics' select_device would leave cpu_count - 1 threads
                super().setup_model(model, verbose)

        def construct_result(self, pred, img, orig_img, img_path, proto):
            res = Results(orig_img, path=img_path, names=self.model.names, boxes=pred[:, :6])
            res.raw = RawPrediction(pred[:, :4], pred[:, 4], pred[:, 6:], proto, tuple(int(v) for v in img.shape[2:]))
            return res

    return RawSegmentationPredictor


def result_from_raw(raw: RawPrediction, image: np.ndarray) -> SegmentationResult:
    """Masks, boxes and scores in the image's pixel grid from a :class:`RawPrediction`.

    Parameters
    ----------
    raw : RawPrediction
    image : (H, W, 3) uint8
        The picture the model saw (stored in the result for text prompts).
    """
    from .assembly import Letterbox, assemble_masks  # imports torch: only once a model has run

    h, w = image.shape[:2]
    letterbox = Letterbox.from_shapes((h, w), raw.input_hw)
    boxes = letterbox.boxes_to_image(raw.boxes)
    masks = assemble_masks(raw.protos, raw.coeffs, boxes, (h, w))
    keep = masks.keep
    return SegmentationResult(
        masks.crops,
        masks.pixel_boxes,
        boxes.cpu().numpy()[keep].reshape(-1, 4),
        raw.scores.float().cpu().numpy()[keep],
        (h, w),
        image,
    )
