"""Write results without losing the user's files: label TIFFs, JSON, overlay pictures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tifffile

from ..errors import FastSAMError


class OutputExistsError(FastSAMError, FileExistsError):
    """An output file exists and overwriting was not allowed."""


def check_free(path: Path, overwrite: bool) -> None:
    """Refuse to replace an existing file unless ``overwrite``; create the parent folder."""
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass overwrite=True (CLI: --overwrite) to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)


def write_labels(path: str | Path, labels: np.ndarray, *, overwrite: bool = False) -> Path:
    """Write a label image or volume as a compressed int32 TIFF."""
    p = Path(path)
    check_free(p, overwrite)
    tifffile.imwrite(p, np.asarray(labels, np.int32), compression="zlib")
    return p


def write_json(path: str | Path, data: dict, *, overwrite: bool = False) -> Path:
    """Write JSON, refusing to replace an existing file unless asked."""
    p = Path(path)
    check_free(p, overwrite)
    p.write_text(json.dumps(data))
    return p


def overlay(image: np.ndarray, labels: np.ndarray, alpha: float = 0.5, seed: int = 0) -> np.ndarray:
    """Blend a label image over an RGB image with one random colour per id; returns (H, W, 3) uint8."""
    rng = np.random.default_rng(seed)
    n = int(labels.max())
    palette = np.vstack([[0, 0, 0], rng.integers(40, 256, size=(n, 3))]).astype(np.float64)
    colour = palette[labels]
    out = image.astype(np.float64)
    on = labels > 0
    out[on] = (1 - alpha) * out[on] + alpha * colour[on]
    return out.astype(np.uint8)
