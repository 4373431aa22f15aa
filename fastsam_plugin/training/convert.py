"""Read annotated datasets as (image, instance masks) samples.

Supported sources, all turned into :class:`~.yolo_dataset.Sample` objects:

* COCO instance JSON (polygons or RLE), with the image folder;
* SA-1B: a folder of ``<name>.jpg`` + ``<name>.json`` (per-image RLE annotations);
* a folder of label images (TIFF/PNG, 0 = background, one id per object) next
  to an image folder with the same file stems: napari Labels saved to disk;
* BSDS500 ``.mat`` human segmentations (each region one instance).

Images of any dtype/channels are normalised with
:func:`fastsam_plugin.engine.imaging.normalize_image`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..engine.imaging import normalize_image
from ..io import IMAGE_SUFFIXES, decode_rle, read_image
from ..io.coco import CocoFileError, check_coco, check_image_size, check_rle, read_coco_json
from ..io.paths import PathOutsideError, path_inside
from .yolo_dataset import Sample, write_data_yaml, write_split


class DatasetPathError(PathOutsideError):
    """An annotation names a file outside the dataset's image folder."""


def labels_to_masks(labels: np.ndarray) -> np.ndarray:
    """``(H, W)`` integer label image to ``(N, H, W)`` bool masks, ids ascending, 0 ignored."""
    lab = np.asarray(labels)
    if lab.ndim != 2 or not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"a label image must be 2D integer; got shape {lab.shape} dtype {lab.dtype}.")
    ids = np.unique(lab)
    ids = ids[ids != 0]
    return lab[None] == ids[:, None, None] if len(ids) else np.zeros((0, *lab.shape), bool)


def read_coco(annotations: str | Path, images: str | Path) -> Iterator[Sample]:
    """Samples from a COCO instance file; crowd annotations are skipped.

    The file is checked before pycocotools sees it (:func:`fastsam_plugin.io.coco.check_coco`); each image is
    read from inside ``images`` only (:func:`image_in_folder`) and must have the ``height``/``width`` the file
    declares, before any mask is decoded.
    """
    import contextlib
    import io

    from pycocotools.coco import COCO

    data = read_coco_json(annotations, "COCO annotation file")
    sizes = check_coco(data, annotations)
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    for image_id in sorted(coco.getImgIds()):
        info = coco.loadImgs(image_id)[0]
        image = read_image(image_in_folder(images, info.get("file_name", ""), annotations))
        check_image_size(image.shape, sizes[image_id], name=info.get("file_name", ""), source=annotations)
        anns = [a for a in coco.loadAnns(coco.getAnnIds(imgIds=image_id, iscrowd=False))]
        masks = np.array([coco.annToMask(a).astype(bool) for a in anns]).reshape(-1, info["height"], info["width"])
        yield Sample(Path(info["file_name"]).stem, normalize_image(image), masks)


def image_in_folder(folder: str | Path, file_name: str, source: str | Path) -> Path:
    """``folder / file_name`` resolved, refused when it leads outside ``folder`` (``../secret.png``, ``/etc/x``).

    Annotation files come from other people; a ``file_name`` must not make the
    conversion read (and copy into a dataset) files from elsewhere on disk.
    Symlinks are followed before the check: a link in the folder that points
    out is refused too (:func:`fastsam_plugin.io.paths.path_inside`).

    Raises
    ------
    DatasetPathError
        Naming the annotation file and the offending ``file_name``.
    """
    try:
        return path_inside(folder, file_name, source=source, what="image", folder_label="image folder")
    except PathOutsideError as exc:
        raise DatasetPathError(str(exc)) from None


def read_sa1b(folder: str | Path) -> Iterator[Sample]:
    """Samples from SA-1B style pairs ``<name>.jpg`` + ``<name>.json``."""
    for ann_path in sorted(Path(folder).glob("*.json")):
        data = read_coco_json(ann_path, "SA-1B annotation file")
        info = data.get("image") if isinstance(data, dict) else None
        if not isinstance(info, dict):
            raise CocoFileError(f"{ann_path} is not an SA-1B annotation file (no 'image' entry).")
        image = read_image(image_in_folder(folder, info.get("file_name", ann_path.stem + ".jpg"), ann_path))
        hw = tuple(int(v) for v in image.shape[:2])
        masks = []
        for k, ann in enumerate(data.get("annotations", [])):
            where = f"{ann_path} (annotation {k})"
            seg = ann.get("segmentation") if isinstance(ann, dict) else None
            if not isinstance(seg, dict):
                raise CocoFileError(f"{where}: 'segmentation' must be an RLE dict.")
            check_rle(seg, hw, where)  # the image's size, runs that fit: before pycocotools decodes it
            masks.append(decode_rle(seg, source=where))
        yield Sample(ann_path.stem, normalize_image(image), np.array(masks, bool).reshape(-1, *hw))


def read_label_folder(labels: str | Path, images: str | Path) -> Iterator[Sample]:
    """Samples from label images paired with images of the same stem."""
    image_by_stem = {p.stem: p for p in Path(images).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    for lab_path in sorted(p for p in Path(labels).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        stem = lab_path.stem.removesuffix("_labels")
        if stem not in image_by_stem:
            raise FileNotFoundError(f"label image {lab_path.name} has no image named {stem}.* in {images}.")
        # links in a downloaded dataset must not lead out of the folders the user named
        lab = read_image(path_inside(labels, lab_path.name, source=labels, what="label image"))
        image = read_image(path_inside(images, image_by_stem[stem].name, source=images, what="image"))
        yield Sample(stem, normalize_image(image), labels_to_masks(lab.astype(np.int64)))


def read_bsds(root: str | Path, split: str = "train", annotator: int = 0) -> Iterator[Sample]:
    """BSDS500 samples: every region of one human segmentation is an instance.

    Parameters
    ----------
    root : path
        Folder holding ``images/<split>/*.jpg`` and ``groundTruth/<split>/*.mat``.
    annotator : int
        Which of the (usually 5 or more) human segmentations to use; clipped
        to the number available.
    """
    from scipy.io import loadmat

    root = Path(root)
    for mat in sorted((root / "groundTruth" / split).glob("*.mat")):
        gts = loadmat(mat)["groundTruth"][0]
        seg = gts[min(annotator, len(gts) - 1)]["Segmentation"][0, 0]
        path_inside(root, mat.relative_to(root), source=root, what="ground truth")  # no link leading out
        image = read_image(path_inside(root, f"images/{split}/{mat.stem}.jpg", source=root, what="image"))
        yield Sample(mat.stem, normalize_image(image), labels_to_masks(seg.astype(np.int64)))


def build_dataset(
    out: str | Path,
    *,
    coco: Path | None = None,
    sa1b: Path | None = None,
    label_folder: Path | None = None,
    bsds: Path | None = None,
    images: Path | None = None,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> Path:
    """Convert one source to an Ultralytics dataset; return its ``data.yaml``.

    BSDS500 uses its own train/val split; other sources are split at random
    with ``val_fraction`` (at least one validation image).
    """
    if bsds is not None:
        write_split(read_bsds(bsds, "train"), out, "train")
        write_split(read_bsds(bsds, "val"), out, "val")
        return write_data_yaml(out)
    if coco is not None:
        samples = read_coco(coco, _need(images, "--images"))
    elif sa1b is not None:
        samples = read_sa1b(sa1b)
    elif label_folder is not None:
        samples = read_label_folder(label_folder, _need(images, "--images"))
    else:
        raise ValueError("give one source: coco, sa1b, label_folder or bsds.")
    items = list(samples)
    if len(items) < 2:
        raise ValueError(f"found {len(items)} annotated image(s); at least 2 are needed (train and val).")
    order = np.random.default_rng(seed).permutation(len(items))
    n_val = max(1, int(round(val_fraction * len(items))))
    write_split([items[i] for i in order[n_val:]], out, "train")
    write_split([items[i] for i in order[:n_val]], out, "val")
    return write_data_yaml(out)


def _need(value: Path | None, flag: str) -> Path:
    if value is None:
        raise ValueError(f"this source needs the image folder: pass {flag}.")
    return value
