"""How well a prompt's answer fits: thresholds below which a prompt selects nothing.

The defaults were measured on the demo scenes (``scripts/prompt_thresholds.py``:
30 scenes of :func:`fastsam_plugin.training.synthetic.make_scene`, seeds
100-129, with the demo segmenter and demo CLIP; table in ``docs/user-guide.md``):

* box prompts: the box-to-mask IoU of the chosen object is at least 0.1 for
  98 % of 148 boxes drawn tightly around a true object (median 0.59: a disc
  fills 0.79 of its box, a triangle 0.5) and at most 0.04 for all 128 boxes
  drawn on background. ``MIN_BOX_IOU = 0.1`` refuses every background box.
* text prompts (demo CLIP): the object a caption describes scores at least
  0.3 in 97 % of 141 cases (median 0.88); the best object for a caption whose
  colour and shape are in no object of the scene scores below 0.3 in 72 % of
  82 cases. Other text models have their own scale (OpenAI CLIP's
  similarities are much lower); their default 0.0 only refuses negative
  similarities and was not measured here.
"""

from __future__ import annotations

import numpy as np
from mask_selectors import box_mask_iou

MIN_BOX_IOU = 0.1
MIN_TEXT_SIMILARITY = {"demo": 0.3}  # text model -> minimum similarity
DEFAULT_TEXT_SIMILARITY = 0.0


def min_text_similarity(text_model: str) -> float:
    """The default minimum similarity for a text model choice of the model panel."""
    return MIN_TEXT_SIMILARITY.get(text_model, DEFAULT_TEXT_SIMILARITY)


def chosen_box_iou(result, index: int, box: np.ndarray) -> float:
    """IoU of object ``index`` of a result with one ``(x0, y0, x1, y1)`` box, computed in their joint window.

    Parameters
    ----------
    result : SegmentationResult
    index : int
        Object index (a negative index, "no object", gives 0.0).
    box : (4,) float
        Pixel-edge box in image coordinates.
    """
    if index < 0:
        return 0.0
    h, w = result.shape
    x0, y0, x1, y1 = result.pixel_boxes[index]
    bx0, by0 = int(max(0, np.floor(min(box[0], box[2])))), int(max(0, np.floor(min(box[1], box[3]))))
    bx1, by1 = int(min(w, np.ceil(max(box[0], box[2])))), int(min(h, np.ceil(max(box[1], box[3]))))
    win = (min(x0, bx0), min(y0, by0), max(x1, bx1), max(y1, by1))
    local = np.asarray(box, float) - np.array([win[0], win[1], win[0], win[1]])
    return float(box_mask_iou(result.window(np.array([index]), win), local[None])[0, 0])
