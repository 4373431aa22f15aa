"""Reading the user's files and writing results: images, label TIFFs, COCO JSON, overlays."""

from .coco import decode_rle, encode_rle, labels_to_coco, result_to_coco
from .images import IMAGE_SUFFIXES, read_image
from .outputs import (
    OutputExistsError,
    OutputPathError,
    atomic_path,
    check_free,
    is_own_output,
    output_complete,
    overlay,
    write_json,
    write_labels,
    write_tiff,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "OutputExistsError",
    "OutputPathError",
    "atomic_path",
    "check_free",
    "decode_rle",
    "encode_rle",
    "is_own_output",
    "labels_to_coco",
    "output_complete",
    "overlay",
    "read_image",
    "result_to_coco",
    "write_json",
    "write_labels",
    "write_tiff",
]
