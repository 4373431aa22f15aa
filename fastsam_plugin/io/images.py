"""Read the user's images: TIFF stacks of any dtype with tifffile, other formats with scikit-image."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tifffile

from ..engine.imaging import ImageError

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")


def read_image(path: str | Path) -> np.ndarray:
    """Read a TIFF with tifffile (any dtype, stacks too) or another format with scikit-image."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no image file at {p}.")
    try:
        if p.suffix.lower() in (".tif", ".tiff"):
            return tifffile.imread(p)
        from skimage import io as skio

        return skio.imread(p)
    except Exception as exc:  # truncated or foreign files: any reader error means the same to the user
        raise ImageError(f"could not read {p.name} as an image ({type(exc).__name__}); is the file complete?") from None
