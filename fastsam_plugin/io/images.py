"""Read the user's images: TIFF stacks of any dtype with tifffile, other formats with scikit-image."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tifffile

from ..engine.imaging import ImageError

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")


class ImageNotFoundError(ImageError, FileNotFoundError):
    """The image path does not exist (or is a folder)."""


def read_image(path: str | Path) -> np.ndarray:
    """Read a TIFF with tifffile (any dtype, stacks too) or another format with scikit-image.

    Raises
    ------
    ImageError
        Missing, empty, unreadable (permissions) or undecodable files, naming the file.
    """
    p = Path(path)
    if not p.is_file():
        raise ImageNotFoundError(f"no image file at {p}.")
    if p.stat().st_size == 0:
        raise ImageError(f"{p.name} is empty (0 bytes): the copy or download did not finish.")
    if not os.access(p, os.R_OK):
        raise ImageError(f"cannot read {p.name}: permission denied.")
    try:
        if p.suffix.lower() in (".tif", ".tiff"):
            return tifffile.imread(p)
        from skimage import io as skio

        return skio.imread(p)
    except Exception as exc:  # noqa: BLE001 - truncated or foreign files: any reader error means the same to the user
        # an ImportError here means no reader plugin recognised the bytes, not a missing package of ours
        detail = "" if isinstance(exc, ImportError) else f" ({type(exc).__name__}: {exc})"
        raise ImageError(
            f"could not read {p.name} as an image: the file is damaged, truncated or not really "
            f"{p.suffix.lstrip('.').upper() or 'an image'}{detail}."
        ) from None
