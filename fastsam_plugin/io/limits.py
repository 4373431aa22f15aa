"""Size limits checked from a file's header, before any pixel is decoded.

A 1 MB TIFF can declare 20,000 x 20,000 pixels of deflate-compressed zeros;
decoding it needs more than 8 GB. Whole-image readers (:func:`~.images.read_image`,
:func:`~.ome.read_tiff`, one window of a lazy image) therefore check the
declared size first:

* one plane (``H x W``) may hold at most :func:`max_pixels` pixels: by default
  ``2**28`` (16384 x 16384), raised with ``NAPARI_FASTSAM_MAX_PIXELS`` or the
  CLI's ``--max-pixels``;
* the whole array in memory may take at most ``16 x max_pixels`` bytes (4 GiB
  by default): a stack of many such planes is refused too.

Huge images read tile by tile (Zarr / OME-Zarr, TIFFs through
:class:`~.lazy.LazyImage`, GeoTIFFs through :class:`~.geotiff.GeoRaster`) are
not capped as a whole; only each stored tile or strip is, since a reader
decodes a whole tile to read any part of it.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Sequence

from ..engine.imaging import ImageError

ENV_MAX_PIXELS = "NAPARI_FASTSAM_MAX_PIXELS"
DEFAULT_MAX_PIXELS = 2**28  # 16384 x 16384 per plane
BYTES_PER_PIXEL_BUDGET = 16  # whole array: at most 16 bytes per pixel of the largest allowed plane (4 GiB)


class ImageTooLargeError(ImageError):
    """An image declares more pixels than the limit; the message says how to raise the limit."""


def max_pixels() -> int:
    """The per-plane pixel limit: ``$NAPARI_FASTSAM_MAX_PIXELS`` when set (a positive integer), else ``2**28``."""
    text = os.environ.get(ENV_MAX_PIXELS, "").strip()
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(text)) if "e" in text.lower() else int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ImageError(f"{ENV_MAX_PIXELS}={text!r} is not a positive number of pixels (e.g. {2**30}).")
    return value


def max_bytes() -> int:
    """The limit for one whole array in memory: ``16 x max_pixels()`` bytes."""
    return BYTES_PER_PIXEL_BUDGET * max_pixels()


def _advice() -> str:
    return (f"Raise the limit if you trust the file and have the memory (--max-pixels N, or the environment "
            f"variable {ENV_MAX_PIXELS}=N), or segment it tile by tile from disk (segment --scheduler local reads "
            "huge TIFFs and Zarr lazily).")


def check_plane(height: int, width: int, *, name: str) -> None:
    """Refuse one ``height x width`` plane above :func:`max_pixels` (:class:`ImageTooLargeError` naming ``name``)."""
    limit = max_pixels()
    if height < 0 or width < 0 or height * width > limit:
        raise ImageTooLargeError(
            f"{name} declares {height} x {width} pixels per plane ({height * width / 1e6:.0f} million); the limit "
            f"is {limit} ({limit / 1e6:.0f} million, {math.isqrt(limit)}²): refused before decoding. " + _advice()
        )


def check_array(shape: Sequence[int], itemsize: int, *, name: str, yx: tuple[int, int] | None = None) -> None:
    """Refuse an array whose plane or total size is over the limits, before it is read.

    Parameters
    ----------
    shape : sequence of int
        The declared shape.
    itemsize : int
        Bytes per value.
    name : str
        The file, for the message.
    yx : (int, int), optional
        Axis indices of height and width; default: the two largest axes (a
        channels-last or stacked layout puts the plane there).
    """
    dims = [int(v) for v in shape]
    if len(dims) >= 2:
        if yx is None:
            order = sorted(range(len(dims)), key=lambda i: dims[i])
            yx = (order[-2], order[-1])
        check_plane(dims[yx[0]], dims[yx[1]], name=name)
    total = math.prod(dims) * int(itemsize)
    if total > max_bytes():
        raise ImageTooLargeError(
            f"{name} declares {' x '.join(map(str, dims))} values ({total / 2**30:.1f} GiB in memory); the limit is "
            f"{max_bytes() / 2**30:.1f} GiB (16 bytes per pixel of the {max_pixels()}-pixel plane limit): refused "
            "before decoding. " + _advice()
        )


class MaxPixelsAction(argparse.Action):
    """``--max-pixels N``: sets ``$NAPARI_FASTSAM_MAX_PIXELS`` for this run (Dask workers started after inherit it)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        try:
            value = int(float(values)) if "e" in str(values).lower() else int(values)
        except ValueError:
            value = 0
        if value < 1:
            parser.error(f"{option_string} {values!r}: give a positive number of pixels, e.g. {2**30}")
        os.environ[ENV_MAX_PIXELS] = str(value)
        setattr(namespace, self.dest, value)


def add_max_pixels_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--max-pixels N`` (see :class:`MaxPixelsAction`)."""
    parser.add_argument("--max-pixels", action=MaxPixelsAction, default=None, metavar="N",
                        help=f"largest image plane read whole, in pixels (default {DEFAULT_MAX_PIXELS} = 16384²; "
                             f"also ${ENV_MAX_PIXELS}); larger files are refused before decoding")


__all__ = ["DEFAULT_MAX_PIXELS", "ENV_MAX_PIXELS", "ImageTooLargeError", "MaxPixelsAction",
           "add_max_pixels_argument", "check_array", "check_plane", "max_bytes", "max_pixels"]
