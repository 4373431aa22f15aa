"""Write results without losing the user's files: label TIFFs, JSON, overlay pictures."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import tifffile

from ..errors import FastSAMError

SOFTWARE_TAG = "napari-fastsam"  # written into every TIFF we make, so a folder scan can tell outputs from inputs
TEMP_PREFIX = ".napari-fastsam-"  # hidden temporary names, never taken for inputs


class OutputExistsError(FastSAMError, FileExistsError):
    """An output file exists and overwriting was not allowed."""


class OutputPathError(FastSAMError, OSError):
    """An output cannot be written there (a folder in the way, no permission); the message says which path."""


def check_free(path: Path, overwrite: bool) -> None:
    """Refuse to replace an existing file unless ``overwrite``; create the parent folder."""
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"cannot write {path}: a folder of that name is in the way; move it or choose --out.")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path} exists; pass overwrite=True (CLI: --overwrite) to replace it.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputPathError(f"cannot create the folder {path.parent}: a file of that name is in the way.") from None


@contextmanager
def atomic_path(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success rename it to ``path`` in one step.

    A crash or Ctrl-C while writing leaves either the old file or none, never a
    truncated one: the temporary file is removed and ``os.replace`` (atomic on
    one file system) only runs after the writer returned.
    """
    p = Path(path)
    check_free(p, overwrite)
    # a fresh hidden name (created by the writer, so the user's umask applies), same folder = same file system
    tmp_path = p.parent / f"{TEMP_PREFIX}{uuid.uuid4().hex[:12]}-{p.name}"
    try:
        yield tmp_path
        if not overwrite and p.exists():  # another process finished it meanwhile: keep theirs
            raise OutputExistsError(f"{p} appeared while writing; pass --overwrite to replace it.")
        os.replace(tmp_path, p)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_tiff(
    path: str | Path, data: np.ndarray, *, overwrite: bool = False, compression: str | None = "zlib"
) -> Path:
    """Write an array as a TIFF atomically, tagged with :data:`SOFTWARE_TAG`."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tifffile.imwrite(tmp, data, compression=compression, software=SOFTWARE_TAG)
    return Path(path)


def write_labels(path: str | Path, labels: np.ndarray, *, overwrite: bool = False) -> Path:
    """Write a label image or volume as a compressed int32 TIFF, atomically."""
    return write_tiff(path, np.asarray(labels, np.int32), overwrite=overwrite)


def write_json(path: str | Path, data: dict, *, overwrite: bool = False) -> Path:
    """Write JSON atomically, refusing to replace an existing file unless asked."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(data))
    return Path(path)


def is_own_output(path: str | Path) -> bool:
    """Whether ``path`` is a TIFF this project wrote (its software tag), or one of our temporary files."""
    p = Path(path)
    if p.name.startswith(TEMP_PREFIX):
        return True
    if p.suffix.lower() not in (".tif", ".tiff"):
        return False
    try:
        with tifffile.TiffFile(p) as tif:
            return tif.pages[0].software == SOFTWARE_TAG
    except Exception:  # unreadable: not ours to judge; the reader reports it
        return False


def output_complete(path: str | Path) -> bool:
    """Whether an existing output is whole: a TIFF whose every strip/tile lies inside the file, or JSON that parses.

    Files written by :func:`atomic_path` are always whole; this catches files
    cut short by older versions or by copying.
    """
    p = Path(path)
    if not p.is_file() or p.stat().st_size == 0:
        return False
    if p.suffix.lower() in (".tif", ".tiff"):
        size = p.stat().st_size
        try:
            with tifffile.TiffFile(p) as tif:
                for page in tif.pages:
                    ends = [o + n for o, n in zip(page.dataoffsets, page.databytecounts)]
                    if not ends or max(ends) > size:
                        return False
        except Exception:  # any parse error means "not a whole TIFF"
            return False
        return True
    if p.suffix.lower() == ".json":
        try:
            json.loads(p.read_text())
        except (ValueError, UnicodeDecodeError):
            return False
        return True
    return True


def label_colours(n: int, seed: int = 0) -> np.ndarray:
    """``(n + 1, 3)`` uint8 palette: black for the background, then vivid, well-separated hues.

    Hues step by the golden ratio, so consecutive ids (often neighbours) never look alike.
    """
    from skimage.color import hsv2rgb

    k = np.arange(1, n + 1)
    hue = (seed * 0.137 + k * 0.6180339887) % 1.0
    sat = np.where(k % 2, 0.95, 0.75)
    val = np.where(k % 3 == 0, 0.85, 1.0)
    rgb = hsv2rgb(np.stack([hue, sat, val], axis=-1)[None])[0]
    return np.vstack([[0, 0, 0], np.round(rgb * 255)]).astype(np.uint8)


def overlay(
    image: np.ndarray, labels: np.ndarray, alpha: float = 0.5, seed: int = 0, outline: int = 1
) -> np.ndarray:
    """Paint a label image over a picture: each object filled in its own colour at ``alpha``, outlined in a dark shade.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) uint8
    labels : (H, W) int
        0 = background.
    alpha : float
        Opacity of the fill (0.5: the image stays visible through the objects).
    outline : int
        Outline width in pixels, drawn inside each object (0: none).

    Returns
    -------
    (H, W, 3) uint8
    """
    from skimage.morphology import dilation, disk, erosion

    lab = np.asarray(labels)
    img = np.asarray(image)
    img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]
    palette = label_colours(int(lab.max()) if lab.size else 0, seed).astype(np.float64)
    colour = palette[lab]
    out = img.astype(np.float64)
    on = lab > 0
    out[on] = (1 - alpha) * out[on] + alpha * colour[on]
    if outline > 0:
        # pixels of an object within ``outline`` of another id or the background: one contour per object
        fp = disk(outline)
        edge = on & ((erosion(lab, fp) != lab) | (dilation(lab, fp) != lab))
        out[edge] = 0.45 * colour[edge]  # a dark shade of the object's colour: visible on light and vivid fills
    return np.clip(out, 0, 255).astype(np.uint8)
