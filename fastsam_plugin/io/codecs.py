"""Say which codec a compressed TIFF needs when it cannot be decoded here.

tifffile decodes LZW, Deflate, JPEG, Zstandard and most other TIFF
compressions through the ``imagecodecs`` package (a dependency of
napari-fastsam). Where it is missing or lacks a codec, tifffile fails with a
``ValueError``/``KeyError`` naming imagecodecs or, for Zstandard, an
``ImportError`` of its fallback module; either way the file is fine and the
user needs one install command, not a hint that the file is damaged.
"""

from __future__ import annotations

from pathlib import Path

import tifffile

INSTALL = "pip install imagecodecs"


def tiff_compression(path: str | Path) -> str | None:
    """The compression name of a TIFF's first page (``"LZW"``, ``"ZSTD"``, ...), or None if unreadable/none."""
    try:
        with tifffile.TiffFile(path) as tif:
            code = int(tif.pages.first.compression)
        return None if code == 1 else tifffile.COMPRESSION(code).name
    except Exception:  # noqa: BLE001 - a header that cannot be read says nothing about codecs
        return None


def missing_codec_message(path: str | Path, exc: BaseException) -> str | None:
    """The message for a TIFF whose decoder is not installed, or None when ``exc`` is some other failure.

    Parameters
    ----------
    path : path
        The TIFF that failed to decode.
    exc : exception
        What the reader raised.
    """
    path = Path(path)
    if "imagecodecs" not in str(exc) and not isinstance(exc, ImportError):
        return None
    name = tiff_compression(path)
    if name is None:
        return None
    return (f"cannot read {path.name}: its {name} compression needs the imagecodecs package, which is not "
            f"installed here or lacks that codec. Install it with `{INSTALL}` and open the file again.")
