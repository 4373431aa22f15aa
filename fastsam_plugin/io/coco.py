"""COCO JSON with run-length-encoded masks (pycocotools), from results or label images.

COCO files from someone else are checked before pycocotools sees them
(:func:`check_coco`, :func:`check_rle`): pycocotools' C code trusts the
``height``/``width`` of an image (a 506-byte file declaring 60,000 x 60,000
crashed it) and the run lengths of an RLE (runs longer than ``height x width``
write past the mask it allocates).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

from ..engine.result import SegmentationResult
from ..errors import FastSAMError
from .limits import check_plane

#: a COCO annotation file is text; larger than this is not one we read whole
MAX_COCO_BYTES = 2 * 1024**3
#: pycocotools rasterises a polygon on a 5x finer grid, allocating memory per unit of perimeter
MAX_POLYGON_PERIMETER = 2**22
#: how far (in pixels, plus 5 % of the side) a polygon vertex may lie outside the image
POLYGON_MARGIN = 2.0


class CocoFileError(FastSAMError, ValueError):
    """A COCO annotation or results file that is malformed or declares sizes it cannot have."""


def encode_rle(mask: np.ndarray) -> dict:
    """COCO run-length encoding of one ``(H, W)`` bool mask (counts as str)."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def encode_rle_in_box(crop: np.ndarray, box, hw: tuple[int, int]) -> dict:
    """COCO RLE of a full ``hw`` mask that is ``crop`` inside ``box`` and empty elsewhere.

    Equal to ``encode_rle`` of the full-size mask, but computed from the
    crop's runs alone: time and memory follow the object's size, never the
    image's (a 20000 x 20000 image with 20,000 objects would otherwise build
    20,000 full-size masks).

    Parameters
    ----------
    crop : (h, w) bool
        The mask inside ``box``.
    box : (x0, y0, x1, y1)
        Where the crop lies, exclusive ends; parts outside the image are cut off.
    hw : (H, W)
        The image size.
    """
    h, w = int(hw[0]), int(hw[1])
    x0, y0, x1, y1 = (int(v) for v in box)
    c = np.asarray(crop, bool)
    # cut to the image, so a box past the edge never wraps into the next column
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    c = c[cy0 - y0 : max(cy1 - y0, cy0 - y0), cx0 - x0 : max(cx1 - x0, cx0 - x0)]
    # COCO runs go down the columns (Fortran order): find where each column's runs of 1 start and end
    cols = np.zeros((c.shape[1], c.shape[0] + 2), np.int8)
    cols[:, 1:-1] = c.T
    step = np.diff(cols, axis=1)
    sx, sy = np.nonzero(step == 1)
    ex, ey = np.nonzero(step == -1)
    starts = (cx0 + sx).astype(np.int64) * h + cy0 + sy
    ends = (cx0 + ex).astype(np.int64) * h + cy0 + ey
    # a run reaching the bottom of one column and continuing at the top of the next is one run
    joined = ends[:-1] == starts[1:]
    starts = starts[np.concatenate([[True], ~joined])] if len(starts) else starts
    ends = ends[np.concatenate([~joined, [True]])] if len(ends) else ends
    bounds = np.empty(2 * len(starts), np.int64)
    bounds[0::2], bounds[1::2] = starts, ends
    counts = np.diff(np.concatenate([[0], bounds, [h * w]]))
    if len(counts) > 1 and counts[-1] == 0:
        counts = counts[:-1]
    rle = mask_utils.frPyObjects({"size": [h, w], "counts": counts.tolist()}, h, w)
    rle["counts"] = rle["counts"].decode("ascii")
    return rle


def decode_rle(rle: dict, *, source: str = "RLE") -> np.ndarray:
    """Inverse of :func:`encode_rle`: ``(H, W)`` bool, after :func:`check_rle` (size within limits, runs that fit)."""
    hw = check_rle_size(rle, source)
    check_rle(rle, hw, source)
    counts = rle["counts"].encode("ascii") if isinstance(rle["counts"], str) else rle["counts"]
    if isinstance(counts, list):  # uncompressed (iscrowd) runs: pycocotools decodes them after frPyObjects
        counts = mask_utils.frPyObjects({"size": list(hw), "counts": counts}, *hw)["counts"]
    return mask_utils.decode({"size": list(hw), "counts": counts}).astype(bool)


# -- checking files from someone else --------------------------------------------------------------------------------


def _int(value, what: str, source) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
        raise CocoFileError(f"{source}: {what} must be a whole number; got {value!r}.")
    return int(value)


def _string_counts(text: str, source) -> list[int]:
    """The run lengths of a compressed COCO RLE string (pycocotools' ``rleFrString``), each checked >= 0."""
    counts: list[int] = []
    p, n = 0, len(text)
    while p < n:
        x = k = 0
        more = True
        while more:
            if p >= n or k > 6:  # a run longer than 2**35 pixels, or a string cut inside a number
                raise CocoFileError(f"{source}: the RLE counts string is malformed.")
            c = ord(text[p]) - 48
            if not 0 <= c < 64:
                raise CocoFileError(f"{source}: the RLE counts string holds {text[p]!r}, which COCO RLE never uses.")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        if x < 0:
            raise CocoFileError(f"{source}: the RLE holds a negative run length.")
        counts.append(x)
    return counts


def check_rle_size(rle, source) -> tuple[int, int]:
    """``(H, W)`` of an RLE dict, checked against the image size limit (:func:`.limits.check_plane`)."""
    if not isinstance(rle, dict) or not isinstance(rle.get("size"), (list, tuple)) or len(rle["size"]) != 2:
        raise CocoFileError(f"{source}: an RLE must be a dict with 'size': [height, width] and 'counts'.")
    h, w = (_int(v, "an RLE size", source) for v in rle["size"])
    if h < 1 or w < 1:
        raise CocoFileError(f"{source}: the RLE size {[h, w]} is empty.")
    check_plane(h, w, name=str(source))
    return h, w


def check_rle(rle: dict, hw: tuple[int, int], source) -> None:
    """Refuse an RLE whose size is not ``hw`` or whose runs do not add up to ``H x W`` exactly.

    pycocotools decodes runs without bounds checks: runs adding up to more than
    the mask would be written past its end.
    """
    size = check_rle_size(rle, source)
    if size != tuple(hw):
        raise CocoFileError(f"{source}: the RLE is {size[0]} x {size[1]} but its image is {hw[0]} x {hw[1]}.")
    counts = rle.get("counts")
    if isinstance(counts, bytes):
        counts = counts.decode("ascii", "replace")
    if isinstance(counts, str):
        runs = _string_counts(counts, source)
    elif isinstance(counts, list):
        runs = [_int(v, "an RLE run length", source) for v in counts]
        if any(v < 0 for v in runs):
            raise CocoFileError(f"{source}: the RLE holds a negative run length.")
    else:
        raise CocoFileError(f"{source}: an RLE's 'counts' must be a string or a list of run lengths.")
    if sum(runs) != hw[0] * hw[1]:
        raise CocoFileError(f"{source}: the RLE's runs cover {sum(runs)} pixels, but its size {hw[0]} x {hw[1]} "
                            f"has {hw[0] * hw[1]}: the file is damaged.")


def check_polygons(polygons: list, hw: tuple[int, int], source) -> None:
    """Refuse polygons that are not flat ``[x0, y0, x1, y1, ...]`` lists of finite numbers near the image.

    pycocotools rasterises polygons on a five-times finer grid and allocates
    memory in proportion to their perimeter: a vertex far outside the image, or
    a perimeter of millions of pixels, would allocate gigabytes.
    """
    h, w = hw
    perimeter = 0.0
    for poly in polygons:
        if not isinstance(poly, list) or len(poly) < 6 or len(poly) % 2:
            raise CocoFileError(f"{source}: a polygon must be a list of at least 3 x, y pairs.")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in poly):
            raise CocoFileError(f"{source}: polygon coordinates must be numbers.")
        xy = np.asarray(poly, np.float64).reshape(-1, 2)
        if not np.isfinite(xy).all():
            raise CocoFileError(f"{source}: a polygon has a coordinate that is not finite.")
        mx, my = POLYGON_MARGIN + 0.05 * w, POLYGON_MARGIN + 0.05 * h
        if (xy[:, 0] < -mx).any() or (xy[:, 0] > w + mx).any() or (xy[:, 1] < -my).any() or (xy[:, 1] > h + my).any():
            raise CocoFileError(f"{source}: a polygon reaches far outside its {h} x {w} image.")
        perimeter += float(np.abs(np.diff(np.vstack([xy, xy[:1]]), axis=0)).max(axis=1).sum())
    if perimeter > MAX_POLYGON_PERIMETER:
        raise CocoFileError(f"{source}: polygons with a perimeter of {perimeter:.0f} pixels (at most "
                            f"{MAX_POLYGON_PERIMETER}).")


def check_segmentation(seg, hw: tuple[int, int], source) -> None:
    """An annotation's ``segmentation``: RLE (:func:`check_rle`) or polygons (:func:`check_polygons`)."""
    if isinstance(seg, dict):
        check_rle(seg, hw, source)
    elif isinstance(seg, list):
        check_polygons(seg, hw, source)
    else:
        raise CocoFileError(f"{source}: 'segmentation' must be an RLE dict or a list of polygons.")


def _check_bbox(bbox, source) -> None:
    if (not isinstance(bbox, list) or len(bbox) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in bbox)
            or bbox[2] < 0 or bbox[3] < 0):
        raise CocoFileError(f"{source}: 'bbox' must be [x, y, width, height] with finite numbers, width, height >= 0.")


def check_coco(data, source) -> dict[int, tuple[int, int]]:
    """Check a COCO ground-truth dict before pycocotools sees it; return ``{image id: (height, width)}``.

    Every image needs a whole-number ``id``, a ``file_name`` string and
    ``height``/``width`` within the image size limit
    (:func:`~fastsam_plugin.io.limits.check_plane`); every annotation an
    ``image_id`` of a listed image and a segmentation that fits that image
    (:func:`check_segmentation`). Whether ``height``/``width`` match the real
    image is checked where the image is read.

    Raises
    ------
    CocoFileError
        Naming ``source`` and what is wrong.
    ImageTooLargeError
        A declared size above the limit.
    """
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise CocoFileError(f"{source} is not a COCO annotation file (no 'images' list).")
    sizes: dict[int, tuple[int, int]] = {}
    for info in data["images"]:
        if not isinstance(info, dict) or not {"id", "height", "width"} <= info.keys():
            raise CocoFileError(f"{source}: every image needs 'id', 'file_name', 'height' and 'width'.")
        if not isinstance(info.get("file_name", ""), str):
            raise CocoFileError(f"{source}: an image's 'file_name' must be a string; got {info['file_name']!r}.")
        image_id = _int(info["id"], "an image id", source)
        h, w = _int(info["height"], "an image height", source), _int(info["width"], "an image width", source)
        if h < 1 or w < 1:
            raise CocoFileError(f"{source}: image {image_id} declares {h} x {w} pixels.")
        check_plane(h, w, name=f"{source} (image {image_id})")
        sizes[image_id] = (h, w)
    annotations = data.get("annotations", [])
    if not isinstance(annotations, list):
        raise CocoFileError(f"{source}: 'annotations' must be a list.")
    check_annotations(annotations, sizes, source)
    return sizes


def check_annotations(annotations: Iterable, sizes: dict[int, tuple[int, int]], source,
                      kind: str = "annotation") -> None:
    """Each annotation (or prediction) names a known image and has a bbox / segmentation that fits it."""
    for k, ann in enumerate(annotations):
        where = f"{source} ({kind} {k})"
        if not isinstance(ann, dict) or "image_id" not in ann:
            raise CocoFileError(f"{where}: every {kind} needs an 'image_id'.")
        image_id = ann["image_id"]
        if isinstance(image_id, bool) or image_id not in sizes:
            raise CocoFileError(f"{where}: 'image_id' {image_id!r} is not an image of the ground truth.")
        if "bbox" in ann:
            _check_bbox(ann["bbox"], where)
        if "segmentation" in ann:
            check_segmentation(ann["segmentation"], sizes[image_id], where)
        if "score" in ann and not (isinstance(ann["score"], (int, float)) and math.isfinite(ann["score"])):
            raise CocoFileError(f"{where}: 'score' must be a finite number.")


def read_coco_json(path: str | Path, what: str = "COCO file"):
    """The JSON in ``path`` (a COCO annotation or results file), size-capped, errors naming the file."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_COCO_BYTES:
            raise CocoFileError(f"{p} is larger than {MAX_COCO_BYTES // 2**30} GiB: not read.")
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CocoFileError(f"no {what} at {p}.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CocoFileError(f"{p} is not a readable {what} ({type(exc).__name__}: {exc}).") from None


def check_image_size(image_shape: tuple[int, ...], declared: tuple[int, int], *, name: str, source) -> None:
    """Refuse an image whose real ``(H, W)`` differs from the ``height``/``width`` its COCO file declares."""
    real = tuple(int(v) for v in image_shape[:2])
    if real != tuple(declared):
        raise CocoFileError(f"{source} declares {name} as {declared[0]} x {declared[1]} pixels, but the image is "
                            f"{real[0]} x {real[1]}: fix 'height'/'width' in the annotation file (or use the "
                            "images it was made for).")


def result_to_coco(
    result: SegmentationResult, *, image_id: int = 1, file_name: str = "", indices: np.ndarray | None = None
) -> dict:
    """A COCO-style dict (images, annotations with RLE masks, one "object" category).

    Each annotation carries ``bbox`` (xywh, the model's box), ``score`` and
    ``area``; without ``indices`` every object is included (box proposals).
    Each RLE is computed from the object's crop (:func:`encode_rle_in_box`).
    """
    h, w = result.shape
    idx = np.arange(len(result)) if indices is None else np.asarray(indices, np.int64)
    annotations = []
    for k, i in enumerate(idx, start=1):
        bx0, by0, bx1, by1 = (float(v) for v in result.boxes[i])
        annotations.append(
            {
                "id": k,
                "image_id": image_id,
                "category_id": 1,
                "segmentation": encode_rle_in_box(result.crops[i], result.pixel_boxes[i], (h, w)),
                "area": int(result.areas[i]),
                "bbox": [bx0, by0, bx1 - bx0, by1 - by0],
                "score": float(result.scores[i]),
                "iscrowd": 0,
            }
        )
    return {
        "images": [{"id": image_id, "file_name": file_name, "height": h, "width": w}],
        "annotations": annotations,
        "categories": [{"id": 1, "name": "object"}],
    }


def labels_to_coco(labels: np.ndarray, *, image_id: int = 1, file_name: str = "") -> dict:
    """COCO dict for a 2D label image: one annotation per non-zero id."""
    lab = np.asarray(labels)
    if lab.ndim != 2:
        raise ValueError(f"labels must be a 2D label image; got shape {lab.shape}. Save stacks slice by slice.")
    h, w = lab.shape
    annotations = []
    for k, lid in enumerate(np.unique(lab[lab > 0]), start=1):
        m = lab == lid
        ys, xs = np.nonzero(m)
        annotations.append(
            {
                "id": k,
                "image_id": image_id,
                "category_id": 1,
                "segmentation": encode_rle(m),
                "area": int(m.sum()),
                "bbox": [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)],
                "iscrowd": 0,
                "label_id": int(lid),
            }
        )
    return {
        "images": [{"id": image_id, "file_name": file_name, "height": h, "width": w}],
        "annotations": annotations,
        "categories": [{"id": 1, "name": "object"}],
    }
