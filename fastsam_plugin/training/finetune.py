"""Fine-tune a model on annotations made in napari: export, train, compare before and after.

The loop micro-sam and Cellpose users ask for: prompt a few objects, accept
them, fine-tune, segment the rest. :func:`finetune` exports the annotations
(:mod:`.export`), scores the current model on the held-out images, trains with
Ultralytics (progress per epoch, cancel between epochs), scores the new model on
the same images, and records in the new checkpoint where it came from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..engine.progress import Cancelled
from .export import ExportSummary, export_annotations

MIN_IMAGES_PER_EPOCH = 16
# fine-tuning on a few annotations: no warm-up (Ultralytics warms up for at least 100 steps, longer than the
# whole run, with a high bias learning rate that undoes the parent model), and an optimiser step every batch
# (Ultralytics accumulates gradients up to a nominal batch of 64: a 16-image epoch would be a quarter step)
FINETUNE_DEFAULTS = {"warmup_epochs": 0, "close_mosaic": 0}


@dataclass
class FinetuneResult:
    """A fine-tuned checkpoint and how it compares with its parent on the held-out annotations."""

    checkpoint: Path
    before: dict[str, float]
    after: dict[str, float]
    export: ExportSummary


def score_on_annotations(session, images: Sequence[np.ndarray], labels: Sequence[np.ndarray]) -> dict[str, float]:
    """Recall at IoU 0.5 and COCO AP50 of ``session``'s everything mode, pooled over images by object count."""
    from .nuclei_quality import score_result

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


def _repeat_small_split(dataset: Path, names: Sequence[str], at_least: int) -> None:
    """Repeat the training images of a tiny split so an epoch has ``at_least`` augmented views of them.

    A handful of annotated images is one optimiser step per epoch; Ultralytics
    augments each copy differently, so repeats add real steps, not duplicates.
    """
    import shutil

    copies = -(-at_least // max(1, len(names))) - 1
    for name in names:
        for k in range(copies):
            shutil.copy(dataset / "images" / "train" / f"{name}.png", dataset / "images" / "train" / f"{name}_r{k}.png")
            shutil.copy(dataset / "labels" / "train" / f"{name}.txt", dataset / "labels" / "train" / f"{name}_r{k}.txt")


def record_lineage(checkpoint: Path, parent: str, parent_sha256: str | None, data: dict) -> None:
    """Add the parent model and a training-data summary to the checkpoint's napari-fastsam record."""
    import torch

    from ..engine.operating_point import CHECKPOINT_KEY

    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)  # our own fresh checkpoint
    ckpt.setdefault(CHECKPOINT_KEY, {}).update({"parent": parent, "parent_sha256": parent_sha256, "data": data})
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
    batch: int = 4,
    val_fraction: float = 0.2,
    seed: int = 0,
    partial: bool = True,
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
        Gets the exported dataset (``dataset/``) and the Ultralytics run (``run/``).
    epochs, imgsz, batch : int
        Training length, image size (default: the session's ``imgsz``) and batch.
    partial : bool
        The annotations cover only some objects of each image (the usual case in napari): pixels away
        from every annotated object are hidden (:func:`blank_unannotated`) for training and scoring.
    progress : callable, optional
        ``progress(epoch, epochs, metrics)`` after each epoch (loss and validation recall).
    cancel : callable, optional
        Returns True to stop; training stops after the current epoch and :class:`Cancelled` is raised.
    overrides
        Other Ultralytics training arguments.

    Returns
    -------
    FinetuneResult
        The best checkpoint (with its operating point, parent and data summary recorded).
    """
    from ..engine.provenance import weights_digest
    from ..engine.session import Session
    from .train import train

    work = Path(work_dir)
    names = [f"image{i:03d}" for i in range(len(images))]
    if partial:
        images = [blank_unannotated(im, lab) for im, lab in zip(images, labels)]
    summary = export_annotations(images, labels, work / "dataset", names=names, val_fraction=val_fraction, seed=seed,
                                 channels=session.image_options.channels)
    _repeat_small_split(work / "dataset", summary.train, MIN_IMAGES_PER_EPOCH)
    held_out = [names.index(n) for n in summary.val]
    val_images, val_labels = [images[i] for i in held_out], [labels[i] for i in held_out]
    before = score_on_annotations(session, val_images, val_labels)
    imgsz = int(imgsz or session.params.imgsz)

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

    best = train(summary.data_yaml, str(session.weights), epochs=epochs, imgsz=imgsz, batch=batch,
                 device="cpu" if session.device == "auto" else session.device, project=work, name="run",
                 seed=seed, plots=False, callbacks={"on_fit_epoch_end": epoch_end}, workers=0, trust=session.trust,
                 **{"nbs": batch, **FINETUNE_DEFAULTS, **overrides})
    record_lineage(best, str(session.weights), weights_digest(session.weights), summary.as_dict())
    tuned = Session(str(best), session.device, session.clip_model, session.clip_pretrained,
                    image_options=session.image_options, tiling=session.tiling)
    tuned.use_operating_point(imgsz, session.params.conf)
    after = score_on_annotations(tuned, val_images, val_labels)
    return FinetuneResult(best, before, after, summary)
