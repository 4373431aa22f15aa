"""The DSB2018 stage-1 nuclei set as training data: experiments kept apart, every image brought to one nuclei scale.

The set (``../shared/data/microscopy/dsb2018-stage1``, read from there and never
copied) holds ``fluorescence/`` (grey, uint8) and ``colour/`` (RGB stained
tissue) folders, each with ``images/<id>.tif`` and uint16 instance labels
``labels/<id>.tif``.

**Experiments.** DSB2018 images of one experiment look alike (same microscope,
cells, stain, magnification); a random split by image would put near-twins on
both sides and flatter validation. The set records no experiment, so
:func:`experiment_key` groups images by what an experiment fixes: modality,
image size, the nuclei's size (median diameter, in factor-of-two bins) and, for
stained tissue, the overall brightness. Whole groups go to one split
(:func:`split_groups`).

**Scale.** Nuclei in the set range from 8 to 94 px across. Each training crop
is cut from its image resized so that the median nucleus diameter becomes a
drawn target around :data:`TARGET_DIAMETER` (log-uniform within
:data:`DIAMETER_JITTER`): the model learns one scale, with enough spread that
images letterboxed to the model's input size (which brings most DSB2018
images within 12-40 px) still match. The target is recorded in the checkpoint
(``object_diameter``) for the engine's scale work.

**Colour.** Stained-tissue images are learned as colour, as they are (the
model records ``input: rgb``); fluorescence is grey on all three channels,
as the engine shows it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .nuclei import labels_to_masks, to_model_input
from .yolo_dataset import Sample, write_data_yaml, write_split

MODALITIES = ("fluorescence", "colour")
TARGET_DIAMETER = 20.0  # px: the nuclei scale the model is trained at (median nucleus diameter)
DIAMETER_JITTER = (0.6, 2.0)  # factor range around TARGET_DIAMETER, drawn log-uniformly per crop
CROP = 256
#: fractions of each modality's images held out for testing / for Ultralytics' validation (model selection)
TEST_FRACTION, VAL_FRACTION = 0.2, 0.1
#: Ultralytics settings: both flips (no up or down under a microscope), mild hue/saturation jitter for the
#: stained images (stains vary between labs), scale jitter on top of the drawn diameters, many nuclei per crop
DSB_TRAIN_OVERRIDES = {"flipud": 0.5, "fliplr": 0.5, "degrees": 0.0, "hsv_h": 0.02, "hsv_s": 0.5, "hsv_v": 0.3,
                       "scale": 0.25, "mosaic": 1.0, "close_mosaic": 3, "max_det": 600}


@dataclass(frozen=True)
class Item:
    """One image of the set.

    Attributes
    ----------
    modality : str
        ``"fluorescence"`` or ``"colour"``.
    id : str
        The DSB2018 sample id (file stem).
    root : Path
        The ``dsb2018-stage1`` folder.
    """

    modality: str
    id: str
    root: Path

    @property
    def image_path(self) -> Path:
        return self.root / self.modality / "images" / f"{self.id}.tif"

    @property
    def label_path(self) -> Path:
        return self.root / self.modality / "labels" / f"{self.id}.tif"

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        """(image, labels): (H, W) uint8 or (H, W, 3) uint8, and (H, W) int32 instance labels."""
        import tifffile

        image = tifffile.imread(str(self.image_path))
        labels = tifffile.imread(str(self.label_path)).astype(np.int32)
        if image.shape[:2] != labels.shape:
            raise ValueError(f"{self.id}: image {image.shape} and labels {labels.shape} differ in size.")
        if image.ndim == 3 and image.shape[2] == 4:  # RGBA PNG heritage: alpha carries nothing
            image = image[..., :3]
        return image, labels


def dataset_root(folder: str | Path) -> Path:
    """The ``dsb2018-stage1`` folder: ``folder`` itself or below it (``../shared/data/microscopy``)."""
    folder = Path(folder)
    for cand in (folder, folder / "dsb2018-stage1", folder / "microscopy" / "dsb2018-stage1"):
        if all((cand / m / "images").is_dir() and (cand / m / "labels").is_dir() for m in MODALITIES):
            return cand
    raise FileNotFoundError(f"no DSB2018 stage-1 set under {folder}: give the folder holding fluorescence/ and "
                            "colour/, each with images/ and labels/ (../shared/data/microscopy/dsb2018-stage1).")


def list_items(root: str | Path) -> list[Item]:
    """Every image of the set, fluorescence first, ids sorted."""
    root = dataset_root(root)
    return [Item(m, p.stem, root) for m in MODALITIES for p in sorted((root / m / "labels").glob("*.tif"))]


def median_diameter(labels: np.ndarray) -> float:
    """Median equivalent-circle diameter (px) of the instances of an (H, W) label image; 0.0 without any."""
    ids, counts = np.unique(labels, return_counts=True)
    areas = counts[ids != 0]
    return float(np.median(2.0 * np.sqrt(areas / np.pi))) if len(areas) else 0.0


def experiment_key(modality: str, image: np.ndarray, labels: np.ndarray) -> str:
    """A stand-in for the experiment an image comes from (see the module docstring).

    Parameters
    ----------
    image : (H, W) or (H, W, 3) array
    labels : (H, W) int array
    """
    d = median_diameter(labels)
    size_bin = int(np.round(np.log2(max(d, 1.0))))  # factor-of-two bins of nucleus size
    key = f"{modality}-{image.shape[0]}x{image.shape[1]}-d{size_bin}"
    if image.ndim == 3:  # stained tissue: light or dark preparations
        key += f"-v{int(np.mean(image) // 48)}"
    return key


def _hash01(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def split_groups(keys: dict[str, str], test: float = TEST_FRACTION, val: float = VAL_FRACTION) -> dict[str, str]:
    """Assign whole experiment groups to ``"test"``, ``"val"`` or ``"train"``.

    Groups are visited in an order fixed by a hash of their key; a group joins
    ``test`` (then ``val``) while that split is below its share of the
    modality's images and the group does not overshoot the share by more than
    a fifth, so one large group never takes a split over.

    Parameters
    ----------
    keys : dict
        ``{image id: experiment key}``; the modality is the key's first part.

    Returns
    -------
    dict
        ``{image id: split}``.
    """
    groups: dict[str, list[str]] = defaultdict(list)
    for image_id, key in keys.items():
        groups[key].append(image_id)
    by_modality: dict[str, list[str]] = defaultdict(list)
    for key in groups:
        by_modality[key.split("-")[0]].append(key)
    out: dict[str, str] = {}
    for modality, names in by_modality.items():
        total = sum(len(groups[k]) for k in names)
        filled = {"test": 0, "val": 0}
        for key in sorted(names, key=_hash01):
            n = len(groups[key])
            split = "train"
            for name, share in (("test", test), ("val", val)):
                goal = share * total
                if filled[name] < goal and filled[name] + n <= goal * 1.2:
                    split = name
                    filled[name] += n
                    break
            for image_id in groups[key]:
                out[image_id] = split
    return out


def assign_splits(items: list[Item]) -> dict[str, str]:
    """``{id: "train" | "val" | "test"}`` for every item, by experiment (reads every label image)."""
    keys = {}
    for it in items:
        image, labels = it.read()
        keys[it.id] = experiment_key(it.modality, image, labels)
    return split_groups(keys)


def rescale(image: np.ndarray, labels: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Resize an image (area/linear interpolation) and its labels (nearest) by ``factor``."""
    h, w = labels.shape
    size = (max(int(round(w * factor)), 1), max(int(round(h * factor)), 1))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    img = cv2.resize(image, size, interpolation=interp)
    lab = cv2.resize(labels.astype(np.int32), size, interpolation=cv2.INTER_NEAREST)
    return img, lab


def random_crops(rng: np.random.Generator, image: np.ndarray, labels: np.ndarray, n: int, size: int = CROP):
    """``n`` random ``size`` x ``size`` crops; a smaller image is padded (black image, no labels)."""
    h, w = labels.shape
    ph, pw = max(size - h, 0), max(size - w, 0)
    if ph or pw:
        pad = ((0, ph), (0, pw)) + (((0, 0),) if image.ndim == 3 else ())
        image, labels = np.pad(image, pad), np.pad(labels, ((0, ph), (0, pw)))
        h, w = labels.shape
    for _ in range(n):
        y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
        yield image[y:y + size, x:x + size], labels[y:y + size, x:x + size]


def _drop_small(labels: np.ndarray, min_px: int = 6) -> np.ndarray:
    """Remove instances smaller than ``min_px`` pixels (slivers left by cropping)."""
    ids, counts = np.unique(labels, return_counts=True)
    small = ids[(counts < min_px) & (ids != 0)]
    return np.where(np.isin(labels, small), 0, labels) if len(small) else labels


def item_samples(items: list[Item], rounds: int, seed: int, colour_weight: int = 2) -> Iterator[Sample]:
    """Crops of every item at drawn nuclei scales, as model-input samples.

    Parameters
    ----------
    rounds : int
        Passes over the items, each with fresh scale draws and crop positions.
    colour_weight : int
        Passes per round for stained-tissue images (fewer images, harder goal).
    """
    rng = np.random.default_rng(seed)
    lo, hi = np.log(TARGET_DIAMETER * DIAMETER_JITTER[0]), np.log(TARGET_DIAMETER * DIAMETER_JITTER[1])
    for r in range(rounds):
        for it in items:
            image, labels = it.read()
            d = median_diameter(labels)
            if d <= 0:
                continue
            for k in range(colour_weight if it.modality == "colour" else 1):
                factor = float(np.exp(rng.uniform(lo, hi))) / d
                img, lab = rescale(image, labels, factor)
                n = int(np.clip(round(lab.size / CROP**2), 1, 4))
                for j, (ci, cl) in enumerate(random_crops(rng, img, lab, n)):
                    cl = _drop_small(cl)
                    yield Sample(f"{it.id[:16]}_{r}{k}{j}", to_model_input(ci), labels_to_masks(cl))


def dsb_dataset(out_dir: str | Path, root: str | Path, rounds: int = 2, seed: int = 0) -> tuple[Path, dict]:
    """Write the DSB2018 training set in Ultralytics layout.

    Returns
    -------
    data_yaml : Path
    splits : dict
        ``{id: split}``, also written to ``out_dir/splits.tsv`` (modality, id, split) for evaluation.
    """
    out_dir = Path(out_dir)
    items = list_items(root)
    splits = assign_splits(items)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "splits.tsv").write_text("".join(f"{it.modality}\t{it.id}\t{splits[it.id]}\n" for it in items))
    write_split(item_samples([it for it in items if splits[it.id] == "train"], rounds, seed), out_dir, "train")
    write_split(item_samples([it for it in items if splits[it.id] == "val"], 1, seed + 1), out_dir, "val")
    return write_data_yaml(out_dir), splits


def group_by_split(items: list[Item], splits: dict[str, str]) -> dict[str, list[Item]]:
    """``{split: [Item, ...]}`` from ``{id: split}``."""
    out: dict[str, list[Item]] = defaultdict(list)
    for it in items:
        out[splits[it.id]].append(it)
    return dict(out)


def experiment_splits(root: str | Path) -> dict[str, list[Item]]:
    """``{split: [Item, ...]}`` as :func:`dsb_dataset` splits the set, worked out again from the images.

    The split depends only on the images (:func:`assign_splits`), so an evaluation on a machine that never
    ran the training gets the training run's held-out experiments; reads every image once (a few seconds).
    """
    items = list_items(root)
    return group_by_split(items, assign_splits(items))


def read_splits(path: str | Path, root: str | Path) -> dict[str, list[Item]]:
    """``{split: [Item, ...]}`` from a ``splits.tsv`` written by :func:`dsb_dataset`."""
    root = dataset_root(root)
    out: dict[str, list[Item]] = defaultdict(list)
    for line in Path(path).read_text().splitlines():
        if line.strip():
            modality, image_id, split = line.split("\t")
            out[split].append(Item(modality, image_id, root))
    return dict(out)


def resize_range(items: list[Item]) -> tuple[float, float]:
    """The resize factors :func:`item_samples` puts these images through: drawn diameter over median diameter.

    Recorded as the model's ``scale.resize_range``: an image that needs a resize within it is like the
    training data (DSB2018's 11-52 px nuclei come to about 20 px), so the engine does not warn about it.
    """
    diameters = [d for d in (median_diameter(it.read()[1]) for it in items) if d > 0]
    low, high = TARGET_DIAMETER * DIAMETER_JITTER[0], TARGET_DIAMETER * DIAMETER_JITTER[1]
    return round(low / max(diameters), 2), round(high / min(diameters), 2)


def record(imgsz: int, resized: tuple[float, float] | None = None) -> dict:
    """The checkpoint record of a DSB2018 model: its nuclei scale and its input form.

    ``scale`` is read by :func:`fastsam_plugin.engine.operating_point.model_scale`: crops of ``CROP`` px seen
    at ``imgsz``, median nucleus ``TARGET_DIAMETER`` px, images resized by ``resized`` (:func:`resize_range`)
    to get there; ``input: rgb`` says stained tissue is taken as colour.
    """
    scale = {"tile": CROP, "imgsz": int(imgsz), "object_diameter": TARGET_DIAMETER}
    if resized is not None:
        scale["resize_range"] = list(resized)
    return {"scale": scale, "input": "rgb",
            "training_data": "DSB2018 stage 1 (fluorescence + stained tissue), split by experiment"}


def main(argv: list[str] | None = None) -> int:
    """Build the set (once) and train, or go on with an interrupted run: ``python -m fastsam_plugin.training.dsb2018``."""
    import argparse

    from .train import resume, train

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the dsb2018-stage1 folder")
    ap.add_argument("--work", type=Path, required=True, help="run folder (dataset/ and the Ultralytics run)")
    ap.add_argument("--model", default="demo", help="architecture or checkpoint to start from")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--hours", type=float, default=None, help="time budget (Ultralytics fits the schedule to it)")
    ap.add_argument("--imgsz", type=int, default=CROP)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2, help="crops per image at fresh scale draws")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default="dsb")
    args = ap.parse_args(argv)
    run = args.work / args.name
    if (run / "weights" / "last.pt").is_file() and not (run / "done").is_file():
        best = resume(run)
    else:
        yaml_path = args.work / "dataset" / "data.yaml"
        if not yaml_path.is_file():
            yaml_path, _ = dsb_dataset(args.work / "dataset", args.data, rounds=args.rounds, seed=args.seed)
        extra = {"time": args.hours} if args.hours else {}
        resized = resize_range(experiment_splits(args.data)["train"])
        best = train(yaml_path, args.model, epochs=args.epochs, imgsz=args.imgsz, batch=args.batch,
                     project=args.work, name=args.name, seed=args.seed, workers=args.workers, plots=False,
                     record=record(args.imgsz, resized), **DSB_TRAIN_OVERRIDES, **extra)
    (run / "done").write_text(str(best) + "\n")
    print(f"best checkpoint: {best}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
