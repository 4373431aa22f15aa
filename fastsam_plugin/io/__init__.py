"""Reading the user's files and writing results: images, label TIFFs, COCO JSON, overlays."""

from .coco import decode_rle, encode_rle, labels_to_coco, result_to_coco
from .images import IMAGE_SUFFIXES, read_image
from .outputs import OutputExistsError, check_free, overlay, write_json, write_labels

__all__ = [
    "IMAGE_SUFFIXES",
    "OutputExistsError",
    "check_free",
    "decode_rle",
    "encode_rle",
    "labels_to_coco",
    "overlay",
    "read_image",
    "result_to_coco",
    "write_json",
    "write_labels",
]
