"""Fine-tune a model on annotations made in napari: export, train, compare before and after.

The loop micro-sam and Cellpose users ask for: prompt a few objects, accept
them, fine-tune, segment the rest. :func:`finetune` exports the annotations
(:mod:`.export`), scores the current model on the held-out images, trains with
Ultralytics (progress per epoch, cancel between epochs), scores the new model on
the same images, and records in the new checkpoint where it came from.

The recipe, measured on real nuclei (docs/annotate-finetune.md): start from the
parent's checkpoint file (never from its bare name, which would build an
untrained network); train on crops of 256 model-input pixels cut at the scale
the session segments the image at (objects as large as at inference, 4x cheaper
than whole 512-pixel images); repeat a few crops to 16 augmented views per
epoch; no warm-up, one AdamW step (lr 2e-3) per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..engine.progress import Cancelled
from .export import ExportError, ExportSummary, export_annotations

MIN_IMAGES_PER_EPOCH = 16
TRAIN_TILE = 256  # training crops, in model-input pixels: 4x cheaper than whole 512-pixel images on a CPU
# fine-tuning on a few annotations: no warm-up (Ultralytics warms up for at least 100 steps, longer than the
# whole run, with a high bias learning rate that undoes the parent model), and an optimiser step every batch
# (Ultralytics accumulates gradients up to a nominal batch of 64: a 16-image epoch would be a quarter step).
# AdamW at 2e-3 is what Ultralytics' "auto" picks for short runs; fixed here so the recipe does not change
# with the number of iterations.
FINETUNE_DEFAULTS = {"warmup_epochs": 0, "close_mosaic": 0, "optimizer": "AdamW", "lr0": 0.002}


@dataclass
class FinetuneResult:
    """A fine-tuned checkpoint and how it compares with its parent on the held-out annotations.

    ``improved`` says whether the fine-tuned model scored better than its
    parent (:func:`finetuned_is_better`); a face keeps (selects) the
    fine-tuned checkpoint only then, and the parent otherwise. The checkpoint
    file is written either way.
    """

    checkpoint: Path
    before: dict[str, float]
    after: dict[str, float]
    export: ExportSummary
    improved: bool = False

    @property
    def kept(self) -> str:
        """``"fine-tuned"`` or ``"original"``: the model to use from now on."""
        return "fine-tuned" if self.improved else "original"


def finetuned_is_better(before: dict[str, float], after: dict[str, float]) -> bool:
    """Whether the fine-tuned scores ``after`` beat the parent's ``before`` (same held-out annotations).

    AP50 decides (it counts false objects as well as missed ones); recall at
    IoU 0.5 breaks a tie. A full tie keeps the parent: a model that is not
    better is not worth switching to.

    Parameters
    ----------
    before, after : dict
        ``{"recall50": float, "AP50": float}`` as :func:`score_on_annotations` returns.
    """
    def key(scores: dict[str, float]) -> tuple[float, float]:
        return round(float(scores["AP50"]), 6), round(float(scores["recall50"]), 6)  # float noise is no gain

    return key(after) > key(before)


def score_on_annotations(session, images: Sequence[np.ndarray], labels: Sequence[np.ndarray]) -> dict[str, float]:
    """Recall at IoU 0.5 and COCO AP50 of ``session``'s everything mode, pooled over images by object count."""
    from ..evaluation.instances import score_result

    n_true = recall = ap = 0.0
    for image, lab in zip(images, labels):
        scores = score_result(np.asarray(lab), session.segment(np.asarray(image)))
        n_true += scores.n_true
        recall += scores.recall50 * scores.n_true
        ap += scores.coco_ap50 * scores.n_true
    return {"recall50": recall / n_true if n_true else 0.0, "AP50": ap / n_true if n_true else 0.0}


def blank_unannotated(image: np.ndarray, labels: np.ndarray, margin: int = 6) -> np.ndarray:
    """Hide what nobody annotated: pixels farther than ``margin`` from every object get the background level.

    Users annotate a few objects of an image, not all. Unannotated objects
    would otherwise be taught as background and the model would learn to miss
    them. The background level is the image's 5th percentile (per channel).

    Parameters
    ----------
    image : (H, W) or (H, W, C) array
    labels : (H, W) int
        Annotated objects (0 = not annotated).

    Returns
    -------
    image : same shape and dtype, a copy
    """
    import cv2

    near = cv2.dilate((np.asarray(labels) > 0).astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)) > 0
    out = np.array(image, copy=True)
    level = np.percentile(out.reshape(-1, out.shape[-1]) if out.ndim == 3 else out.ravel(), 5, axis=0)
    out[~near] = np.asarray(level).astype(out.dtype)
    return out


def model_input(session, image: np.ndarray) -> np.ndarray:
    """The 8-bit RGB picture ``session`` segments for ``image`` (its channels and contrast stretch).

    Returns
    -------
    rgb : (H, W, 3) uint8
    """
    from ..engine.imaging import normalize_image

    o = session.image_options
    return normalize_image(np.asarray(image), rgb=o.rgb, channels=o.channels, percentiles=o.percentiles,
                           channels_axis=o.channels_axis)


def inference_scale(session, hw: tuple[int, int]) -> float:
    """How much ``session`` resizes an image of height and width ``hw`` (or each of its tiles) for the model."""
    side = session.tiling.tile if session.tiling.applies(hw) else max(hw)
    return session.params.imgsz / side


def training_tiles(rgb: np.ndarray, labels: np.ndarray, name: str, tile: int = TRAIN_TILE,
                   scale: float = 1.0) -> list:
    """Square crops of an annotated image at the scale the model sees it, holding annotated objects.

    Objects must be as large in training as at inference: a crop of ``tile``
    model-input pixels trained at ``imgsz=tile`` keeps that scale, where the
    whole image trained at ``imgsz=tile`` would shrink it. Crops without any
    annotated object are left out; crops smaller than ``tile`` are padded with
    the image's background level.

    Parameters
    ----------
    rgb : (H, W, 3) uint8
        The model input (:func:`model_input`).
    labels : (H, W) int
        Annotated objects (0 = none).
    name : str
        Stem of the crops' names (``<name>_y<row>_x<col>``).
    tile : int
        Crop side in model-input pixels.
    scale : float
        Model-input pixels per image pixel (:func:`inference_scale`).

    Returns
    -------
    list of Sample
        ``(tile, tile, 3)`` uint8 crops with their ``(N, tile, tile)`` bool masks.
    """
    import cv2

    from .convert import labels_to_masks
    from .yolo_dataset import Sample

    labels = np.asarray(labels).astype(np.int32, copy=False)
    if abs(scale - 1) > 1e-6:
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        labels = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
    level = np.percentile(rgb.reshape(-1, 3), 5, axis=0).astype(np.uint8)
    h, w = labels.shape

    def starts(n: int) -> list[int]:
        return sorted({min(s, max(0, n - tile)) for s in range(0, n, tile)})

    samples = []
    for y in starts(h):
        for x in starts(w):
            lab = labels[y:y + tile, x:x + tile]
            if not lab.any():
                continue
            crop = np.empty((tile, tile, 3), np.uint8)
            crop[:] = level
            crop[:lab.shape[0], :lab.shape[1]] = rgb[y:y + tile, x:x + tile]
            padded = np.zeros((tile, tile), np.int64)
            padded[:lab.shape[0], :lab.shape[1]] = lab
            samples.append(Sample(f"{name}_y{y}_x{x}", crop, labels_to_masks(padded)))
    return samples


def record_lineage(checkpoint: Path, parent: str, parent_sha256: str | None, data: dict,
                   imgsz: int | None = None, conf: float | None = None) -> None:
    """Add the parent model and a training-data summary (and the operating ``imgsz``/``conf``) to the record."""
    import torch

    from ..engine.loader import load_checkpoint
    from ..engine.operating_point import CHECKPOINT_KEY

    ckpt = load_checkpoint(checkpoint, trust=False).checkpoint  # through the one loader, even for our own file
    record = ckpt.setdefault(CHECKPOINT_KEY, {})
    record.update({"parent": parent, "parent_sha256": parent_sha256, "data": data})
    if imgsz is not None:
        record["imgsz"] = int(imgsz)
    if conf is not None:
        record["conf"] = float(conf)
    tmp = checkpoint.with_suffix(".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(checkpoint)


def finetune(
    session,
    images: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    work_dir: str | Path,
    *,
    epochs: int = 10,
    imgsz: int | None = None,
    tile: int = TRAIN_TILE,
    batch: int = 4,
    val_fraction: float = 0.2,
    seed: int = 0,
    partial: bool = False,
    progress: Callable[[int, int, dict[str, float]], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    **overrides,
) -> FinetuneResult:
    """Fine-tune ``session``'s model on annotated images.

    Parameters
    ----------
    session : Session
        Its weights are the parent model; its operating point scores before and after.
    images : sequence of (H, W) or (H, W, C) arrays
    labels : sequence of (H, W) int
        Accepted annotations, one label image per image.
    work_dir : path
        Gets the exported dataset (``dataset/``: whole images, YOLO and COCO), the training crops
        (``tiles/``) and the Ultralytics run (``run/``).
    epochs, batch : int
        Training length and batch.
    imgsz : int, optional
        The operating ``imgsz`` the new model is made for and recorded with (default: the session's).
        Training crops are cut at the scale an image is seen at this ``imgsz``.
    tile : int
        Side of the training crops in model-input pixels (:func:`training_tiles`); Ultralytics trains at
        ``imgsz=tile``.
    partial : bool
        Hide pixels away from every annotated object (:func:`blank_unannotated`) for training and scoring,
        so unannotated objects are not taught as background. Off by default: on the real DSB2018 nuclei
        (docs/annotate-finetune.md) the hidden images taught the model less than the whole picture did
        (recall at IoU 0.5 on the other nuclei 0.19-0.37 against 0.91 after 5 epochs).
    progress : callable, optional
        ``progress(epoch, epochs, metrics)`` after each epoch (loss and validation recall).
    cancel : callable, optional
        Returns True to stop; training stops after the current epoch and :class:`Cancelled` is raised.
    overrides
        Other Ultralytics training arguments.

    Returns
    -------
    FinetuneResult
        The best checkpoint (with its operating point, parent and data summary recorded), the scores
        before and after, and whether the fine-tuned model is the better one (``improved``).
    """
    from ..engine.provenance import weights_digest
    from ..engine.session import Session
    from ..engine.weights import resolve_weights
    from .train import train
    from .yolo_dataset import Sample, write_data_yaml, write_split

    work = Path(work_dir)
    # the parent's checkpoint file: a bare name ("demo", "FastSAM-s") would make train() build an untrained
    # network of that architecture, i.e. train from scratch instead of fine-tuning
    parent = resolve_weights(session.weights, download=False)
    names = [f"image{i:03d}" for i in range(len(images))]
    # the picture the model sees; hidden pixels are set after the contrast stretch, which they would change
    pictures = [model_input(session, im) for im in images]
    if partial:
        pictures = [blank_unannotated(im, lab) for im, lab in zip(pictures, labels)]
    summary = export_annotations(pictures, labels, work / "dataset", names=names, val_fraction=val_fraction, seed=seed)
    imgsz = int(imgsz or session.params.imgsz)
    scales = [inference_scale(session, np.shape(lab)) * imgsz / session.params.imgsz for lab in labels]
    tiles = {n: training_tiles(pictures[i], labels[i], n, tile, scales[i]) for i, n in enumerate(names)
             if n in summary.train or n in summary.val}
    train_tiles = [s for n in summary.train for s in tiles[n]]
    if not train_tiles:
        raise ExportError("the annotated objects vanish at the model's scale (too small at this imgsz): "
                          "fine-tune at a larger imgsz.")
    repeats = -(-MIN_IMAGES_PER_EPOCH // len(train_tiles))  # Ultralytics augments every copy differently
    write_split((Sample(f"{s.name}_r{k}", s.image, s.masks) for s in train_tiles for k in range(repeats)),
                work / "tiles", "train")
    write_split((s for n in summary.val for s in tiles[n]), work / "tiles", "val")
    held_out = [names.index(n) for n in summary.val]
    val_images, val_labels = [pictures[i] for i in held_out], [labels[i] for i in held_out]
    before = score_on_annotations(session, val_images, val_labels)

    reported: list[int] = []

    def epoch_end(trainer) -> None:
        epoch = min(trainer.epoch + 1, trainer.epochs)
        if epoch in reported:  # Ultralytics calls this once more for the final validation
            return
        reported.append(epoch)
        metrics = {k: float(v) for k, v in (trainer.metrics or {}).items() if isinstance(v, (int, float))}
        losses = trainer.label_loss_items(trainer.tloss, prefix="train")  # {"train/box_loss": ..., ...}
        metrics["loss"] = float(sum(float(v) for v in losses.values()))
        if progress is not None:
            progress(epoch, trainer.epochs, metrics)
        if cancel is not None and cancel():
            raise Cancelled("fine-tuning cancelled")

    best = train(write_data_yaml(work / "tiles"), str(parent), epochs=epochs, imgsz=tile, batch=batch,
                 device="cpu" if session.device == "auto" else session.device, project=work, name="run",
                 seed=seed, plots=False, callbacks={"on_fit_epoch_end": epoch_end}, workers=0, trust=session.trust,
                 record_scale=False,  # crops at the parent's input scale: the lineage keeps the parent's point
                 **{"nbs": batch, **FINETUNE_DEFAULTS, **overrides})
    # with no held-out image, Ultralytics' recommended conf comes from the training images and is over-confident
    # (0.75 on the DSB2018 nuclei): keep the parent's conf then
    honest_val = not set(summary.val) & set(summary.train)
    record_lineage(best, str(session.weights), weights_digest(parent), summary.as_dict(), imgsz=imgsz,
                   conf=None if honest_val else session.params.conf)
    tuned = Session(str(best), session.device, session.clip_model, session.clip_pretrained,
                    image_options=session.image_options, tiling=session.tiling,
                    choice=replace(session.choice, imgsz=imgsz, conf=session.params.conf))  # as the parent ran
    after = score_on_annotations(tuned, val_images, val_labels)
    return FinetuneResult(best, before, after, summary, improved=finetuned_is_better(before, after))
