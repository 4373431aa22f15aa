"""The nuclei training set: generated scenes plus the real DSB2018 image, augmented, with a held-out part.

The real image (``nuclei2d_dsb2018.tif``, 512 x 512, 125 labelled nuclei, from
the StarDist repository; read from ``../shared/data/microscopy`` and never
copied) is split by columns:

* columns ``0 .. 319`` (``TRAIN_COLUMNS``): the only real pixels training sees;
* columns ``320 .. 341``: a gap used by nobody, so no nucleus lies in both parts;
* columns ``342 .. 511`` (``HELD_OUT_COLUMNS``, the right third): evaluation only,
  36 nuclei (33 whole, 3 cut by the image border).

Each real training sample is a random crop of the training part under strong
augmentation: scale 0.5-2x, rotation by any angle, flips, gamma 0.5-2,
brightness/contrast, background offset, blur, shot noise, 8- or 16-bit range.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .nuclei import labels_to_masks, make_nuclei_scene, to_model_input
from .yolo_dataset import Sample, write_data_yaml, write_split

REAL_IMAGE = "nuclei2d_dsb2018.tif"
REAL_LABELS = "nuclei2d_dsb2018_labels.tif"
TRAIN_COLUMNS = slice(0, 320)
HELD_OUT_COLUMNS = slice(342, 512)
VAL_SEED = 1_000_000
# Ultralytics settings for nuclei: no colour jitter (gray data); vertical flips are as valid as
# horizontal ones under a microscope; rotations are already in the real crops; scale jitter
# covers other magnifications; up to 600 nuclei per image
NUCLEI_TRAIN_OVERRIDES = {"flipud": 0.5, "fliplr": 0.5, "degrees": 0.0, "hsv_h": 0.0, "hsv_s": 0.0,
                          "scale": 0.5, "mosaic": 1.0, "close_mosaic": 2, "max_det": 600}


@dataclass
class RealNuclei:
    """The real image and its labels, both (H, W)."""

    image: np.ndarray
    labels: np.ndarray

    def train_part(self) -> RealNuclei:
        return RealNuclei(self.image[:, TRAIN_COLUMNS], self.labels[:, TRAIN_COLUMNS])

    def held_out_part(self) -> RealNuclei:
        return RealNuclei(self.image[:, HELD_OUT_COLUMNS], self.labels[:, HELD_OUT_COLUMNS])


def load_real(folder: str | Path) -> RealNuclei:
    """Read the DSB2018 image and labels from ``folder`` (``../shared/data/microscopy``).

    Raises
    ------
    FileNotFoundError
        Naming the missing file.
    """
    import tifffile

    folder = Path(folder)
    paths = [folder / REAL_IMAGE, folder / REAL_LABELS]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"{p} not found: give the folder holding {REAL_IMAGE} and {REAL_LABELS}.")
    image, labels = (tifffile.imread(str(p)) for p in paths)
    if image.shape != labels.shape or image.ndim != 2:
        raise ValueError(f"expected two 2D arrays of the same shape; got {image.shape} and {labels.shape}.")
    return RealNuclei(image, labels.astype(np.int32))


def augment_real(rng: np.random.Generator, real: RealNuclei, out: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """One strongly augmented ``out`` x ``out`` crop of a real image and its labels.

    Returns
    -------
    image : (out, out) uint8 or uint16
    labels : (out, out) int32
    """
    h, w = real.image.shape
    scale = float(np.exp(rng.uniform(np.log(0.5), np.log(2.0))))
    angle = rng.uniform(0, 360)
    # source window centre anywhere in the image; outside pixels are reflected (image) / cut (labels)
    cx, cy = rng.uniform(0, w), rng.uniform(0, h)
    m = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    m[:, 2] += (out / 2 - cx, out / 2 - cy)
    src = real.image.astype(np.float32)
    img = cv2.warpAffine(src, m, (out, out), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    lab = cv2.warpAffine(real.labels, m, (out, out), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=0)
    # reflected image content outside the source has no labels: black it out like an image edge
    inside = cv2.warpAffine(np.ones((h, w), np.uint8), m, (out, out), flags=cv2.INTER_NEAREST, borderValue=0)
    img = np.where(inside > 0, img, 0).astype(np.float32)
    if rng.random() < 0.5:
        img, lab = img[:, ::-1], lab[:, ::-1]

    lo, hi = np.percentile(src, (0.5, 99.9))
    x = np.clip((img - lo) / max(hi - lo, 1e-6), 0, None)
    x = x ** rng.uniform(0.5, 2.0)
    x = x * rng.uniform(0.5, 1.5) + rng.uniform(0, 0.15)
    if rng.random() < 0.4:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.4, 1.8))
    photons = float(np.exp(rng.uniform(np.log(20), np.log(2000))))
    x = rng.poisson(np.clip(x, 0, None) * photons).astype(np.float32) / photons
    bit_depth = int(rng.choice([8, 16]))
    top = 255 if bit_depth == 8 else 65535
    x = np.clip(x / max(np.percentile(x, 99.9), 1e-6) * top * rng.uniform(0.3, 0.95), 0, top)
    image = x.round().astype(np.uint8 if bit_depth == 8 else np.uint16)
    return np.ascontiguousarray(image), np.ascontiguousarray(lab)


def _drop_slivers(labels: np.ndarray, min_px: int = 6) -> np.ndarray:
    ids, counts = np.unique(labels, return_counts=True)
    small = ids[(counts < min_px) & (ids != 0)]
    return np.where(np.isin(labels, small), 0, labels)


def nuclei_samples(
    n_synthetic: int, n_real: int, seed: int, real: RealNuclei | None, size: int = 256, prefix: str = ""
) -> Iterator[Sample]:
    """Generated scenes (seeds ``seed ..``) then augmented real crops, as model-input samples."""
    for k in range(seed, seed + n_synthetic):
        scene = make_nuclei_scene(k, (size, size))
        yield Sample(f"{prefix}syn{k:07d}", to_model_input(scene.image), scene.masks)
    if real is not None and n_real:
        rng = np.random.default_rng(seed + 7_000_000)
        for k in range(n_real):
            image, labels = augment_real(rng, real, size)
            yield Sample(f"{prefix}real{seed + k:07d}", to_model_input(image), labels_to_masks(_drop_slivers(labels)))


def nuclei_dataset(
    out_dir: str | Path,
    n_synthetic: int,
    n_real: int = 0,
    *,
    real_folder: str | Path | None = None,
    n_val: int = 60,
    seed: int = 0,
    size: int = 256,
) -> Path:
    """Write the nuclei training set in Ultralytics layout; return ``data.yaml``.

    Parameters
    ----------
    n_synthetic : int
        Generated training scenes (seeds ``seed .. seed + n_synthetic - 1``).
    n_real : int
        Augmented crops of the real image's training columns (needs ``real_folder``).
    real_folder : path, optional
        Folder with the DSB2018 image and labels (``../shared/data/microscopy``).
    n_val : int
        Validation scenes: two thirds generated (seeds from 1,000,000), one third
        augmented real training-part crops; the held-out columns are never written.
    size : int
        Square sample size in pixels.
    """
    real = load_real(real_folder).train_part() if real_folder is not None else None
    if n_real and real is None:
        raise ValueError("n_real > 0 needs real_folder (the folder holding nuclei2d_dsb2018.tif).")
    val_real = n_val // 3 if real is not None else 0
    write_split(nuclei_samples(n_synthetic, n_real, seed, real, size), out_dir, "train")
    write_split(nuclei_samples(n_val - val_real, val_real, seed + VAL_SEED, real, size, "val"), out_dir, "val")
    return write_data_yaml(out_dir)
