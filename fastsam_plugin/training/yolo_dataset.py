"""Write instance-segmentation samples as an Ultralytics (YOLO) dataset folder.

Layout written::

    out/images/<split>/<name>.png
    out/labels/<split>/<name>.txt     one polygon line per instance, class 0
    out/data.yaml                     nc: 1, names: {0: object}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .polygons import DEFAULT_MIN_FRAGMENT_AREA, yolo_label_lines


@dataclass
class Sample:
    """One training image and its instances.

    Attributes
    ----------
    name : str
        File stem, unique within a split.
    image : (H, W, 3) uint8 RGB
    masks : (N, H, W) bool
    """

    name: str
    image: np.ndarray
    masks: np.ndarray


def write_split(
    samples: Iterable[Sample], out_dir: str | Path, split: str, min_fragment_area: float = DEFAULT_MIN_FRAGMENT_AREA
) -> int:
    """Write one split; return how many images were written."""
    out = Path(out_dir)
    (out / "images" / split).mkdir(parents=True, exist_ok=True)
    (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    count = 0
    for s in samples:
        if s.image.ndim != 3 or s.image.shape[2] != 3 or s.image.dtype != np.uint8:
            raise ValueError(f"sample {s.name!r}: image must be (H, W, 3) uint8; got {s.image.shape} {s.image.dtype}.")
        cv2.imwrite(str(out / "images" / split / f"{s.name}.png"), cv2.cvtColor(s.image, cv2.COLOR_RGB2BGR))
        lines = yolo_label_lines(s.masks, min_fragment_area) if len(s.masks) else []
        (out / "labels" / split / f"{s.name}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
        count += 1
    return count


def write_data_yaml(out_dir: str | Path, train: str = "train", val: str = "val") -> Path:
    """Write ``data.yaml`` for a single-class ("object") dataset and return its path."""
    out = Path(out_dir).resolve()
    path = out / "data.yaml"
    path.write_text(
        f"path: {out}\ntrain: images/{train}\nval: images/{val}\nnc: 1\nnames:\n  0: object\n", encoding="utf-8"
    )
    return path
