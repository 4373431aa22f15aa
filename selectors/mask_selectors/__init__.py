"""Pure functions that pick FastSAM masks from prompts.

Everything here works on numpy arrays: ``masks`` are ``(N, H, W)`` bool (or
0/1 integers), images ``(H, W, 3)`` uint8, points ``(x, y)`` and boxes
``(x0, y0, x1, y1)`` in image pixel coordinates (``x`` = column, ``y`` = row).
No torch, no napari: reuse the selection rules anywhere.
"""

from ._validation import SelectorInputError, SelectorTypeError, points_in_image
from ._validation import as_points as check_points
from .boxes import box_mask_iou, normalize_boxes, select_by_boxes
from .crops import (
    check_crops,
    crop_box_iou,
    crop_pictures,
    crop_point_actions,
    paint_crops,
    select_by_boxes_in_crops,
    select_by_points_in_crops,
)
from .edit import (
    carve_mask,
    delete_labels,
    line_pixels,
    merge_labels,
    object_ids,
    relabel_consecutive,
    set_label,
    split_by_line,
)
from .label_rules import label_most_covered, labels_at_points, labels_crossed
from .masks import (
    EMPTY_BOX,
    contour_box,
    contour_boxes,
    crops_to_labels,
    mask_areas,
    masks_to_labels,
    paint_order,
    smooth_mask,
)
from .measure import measure_labels
from .points import masks_containing_points, point_actions, select_by_points
from .prompt_groups import (
    each_point_objects,
    each_point_objects_in_crops,
    innermost_objects,
    objects_in_boxes,
    objects_in_boxes_in_crops,
)
from .stitch import label_iou, match_objects, split_at_narrowings, stitch_labels
from .text import DEFAULT_MIN_AREA, MaskCrops, TextMatches, mask_crops, select_by_text, text_similarity

__version__ = "0.1.0"

__all__ = [
    "each_point_objects", "each_point_objects_in_crops", "innermost_objects", "label_most_covered",
    "labels_at_points", "labels_crossed", "objects_in_boxes", "objects_in_boxes_in_crops",
    "DEFAULT_MIN_AREA",
    "EMPTY_BOX",
    "MaskCrops",
    "SelectorInputError",
    "SelectorTypeError",
    "TextMatches",
    "box_mask_iou",
    "carve_mask",
    "check_crops",
    "check_points",
    "contour_box",
    "contour_boxes",
    "crop_box_iou",
    "crop_pictures",
    "crop_point_actions",
    "crops_to_labels",
    "delete_labels",
    "label_iou",
    "line_pixels",
    "mask_areas",
    "mask_crops",
    "masks_containing_points",
    "masks_to_labels",
    "match_objects",
    "measure_labels",
    "merge_labels",
    "normalize_boxes",
    "object_ids",
    "paint_crops",
    "paint_order",
    "point_actions",
    "points_in_image",
    "relabel_consecutive",
    "select_by_boxes",
    "select_by_boxes_in_crops",
    "select_by_points",
    "select_by_points_in_crops",
    "select_by_text",
    "set_label",
    "smooth_mask",
    "split_at_narrowings",
    "split_by_line",
    "stitch_labels",
    "text_similarity",
]
