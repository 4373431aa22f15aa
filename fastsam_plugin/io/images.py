"""Read the user's images: TIFF stacks of any dtype with tifffile, other formats with scikit-image.

The declared size is checked from the header before any pixel is decoded
(:mod:`.limits`): a small file declaring a huge image is refused, not decoded.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tifffile

from ..engine.imaging import ImageError
from .limits import ImageTooLargeError, check_array

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
            with tifffile.TiffFile(p) as tif:
                check_tiff(tif, p.name)
                return tif.asarray()  # the first series, as tifffile.imread
        check_header(p)
        import warnings

        from PIL import Image
        from skimage import io as skio

        with warnings.catch_warnings():  # our limit was checked above; Pillow's warning below its own is noise
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return skio.imread(p)
    except ImageTooLargeError:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated or foreign files: any reader error means the same to the user
        from .codecs import missing_codec_message  # a compressed TIFF whose codec is not installed: the file is fine

        if (codec := missing_codec_message(p, exc)) is not None:
            raise ImageError(codec) from None
        # an ImportError here means no reader plugin recognised the bytes, not a missing package of ours
        detail = "" if isinstance(exc, ImportError) else f" ({type(exc).__name__}: {exc})"
        raise ImageError(
            f"could not read {p.name} as an image: the file is damaged, truncated or not really "
            f"{p.suffix.lstrip('.').upper() or 'an image'}{detail}."
        ) from None


def check_tiff(tif: tifffile.TiffFile, name: str) -> None:
    """Refuse a TIFF whose first series declares more than the limits (:func:`.limits.check_array`), unread."""
    series = tif.series[0]
    axes = series.axes
    yx = (axes.index("Y"), axes.index("X")) if "Y" in axes and "X" in axes else None
    check_array(series.shape, series.dtype.itemsize, name=name, yx=yx)


def check_header(path: Path) -> None:
    """Refuse a PNG/JPEG/BMP whose header declares more than the limits, before decoding.

    Pillow reads only the header here. Its own limit (``PIL.Image.MAX_IMAGE_PIXELS``,
    refusing above about 179 million pixels) also applies to these formats.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            width, height = im.size
            bands = len(im.getbands())
            itemsize = 2 if im.mode.startswith("I;16") else 4 if im.mode in ("I", "F") else 1
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{path.name}: {exc} (Pillow's own limit for PNG/JPEG/BMP files).") from None
    except UnidentifiedImageError:
        return  # not a format Pillow knows: the decoder below reports it
    check_array((height, width, bands), itemsize, name=path.name, yx=(0, 1))


def image_hw(path: str | Path) -> tuple[int, int]:
    """``(H, W)`` of an image from its header alone (TIFF: the first series' Y and X; others: Pillow).

    Raises
    ------
    ImageError
        When the header cannot be read, naming the file.
    """
    p = Path(path)
    if not p.is_file():
        raise ImageNotFoundError(f"no image file at {p}.")
    try:
        if p.suffix.lower() in (".tif", ".tiff"):
            with tifffile.TiffFile(p) as tif:
                series = tif.series[0]
                shape, axes = series.shape, series.axes
            if "Y" in axes and "X" in axes:
                return int(shape[axes.index("Y")]), int(shape[axes.index("X")])
            return int(shape[-2]), int(shape[-1])
        from PIL import Image

        with Image.open(p) as im:
            width, height = im.size
        return int(height), int(width)
    except Exception as exc:  # noqa: BLE001 - any header error means the same to the user
        raise ImageError(f"could not read the size of {p.name} ({type(exc).__name__}: {exc}).") from None
