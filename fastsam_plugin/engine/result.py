"""The everything-mode result: every object's mask, box and score.

Masks are stored cropped to their pixel boxes, so a 8192 x 8192 image with
thousands of small objects costs memory in proportion to the objects, not to
N x H x W. Full-size views are built on demand.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from mask_selectors import check_crops, contour_boxes, crops_to_labels

_ids = itertools.count()


def crop_in_window(crop: np.ndarray, crop_box, window) -> np.ndarray:
    """The part of a box-cropped mask that falls inside ``window``.

    Parameters
    ----------
    crop : (h, w) bool
        Mask inside ``crop_box = (x0, y0, x1, y1)`` (exclusive ends).
    window : (x0, y0, x1, y1)

    Returns
    -------
    mask : (window height, window width) bool
        False where the crop does not reach.
    """
    x0, y0, x1, y1 = (int(v) for v in window)
    out = np.zeros((y1 - y0, x1 - x0), bool)
    bx0, by0, bx1, by1 = (int(v) for v in crop_box)
    ix0, iy0, ix1, iy1 = max(bx0, x0), max(by0, y0), min(bx1, x1), min(by1, y1)
    if ix1 > ix0 and iy1 > iy0:
        out[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = crop[iy0 - by0 : iy1 - by0, ix0 - bx0 : ix1 - bx0]
    return out


@dataclass
class SegmentationResult:
    """Everything-mode output for one 2D image.

    Attributes
    ----------
    crops : list of (h_i, w_i) bool
        Mask ``i`` inside ``pixel_boxes[i]``.
    pixel_boxes : (N, 4) int64
        Tight ``(x0, y0, x1, y1)`` pixel boxes of the masks, exclusive ends.
    boxes : (N, 4) float32
        The model's ``(x0, y0, x1, y1)`` boxes in image pixels.
    scores : (N,) float32
        Confidence of each object.
    shape : (int, int)
        Image height and width.
    image : (H, W, 3) uint8, optional
        The normalised picture the model saw (used for text prompts).
    uid : int
        Unique per result in this process (a cache key for embeddings).
    scale_plan : ScalePlan, optional
        How the image was brought to the model's scale (input size, tiles, zoom and why); None
        when the model records no scale and the fixed input size applied.
    input_note : str, optional
        Set when the image reached the model in another form than it came (a stained image as its
        hematoxylin channel, for a model that wants that).
    """

    crops: list[np.ndarray]
    pixel_boxes: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    shape: tuple[int, int]
    image: np.ndarray | None = field(default=None, repr=False)
    uid: int = field(default_factory=lambda: next(_ids), compare=False)
    scale_plan: object | None = field(default=None, compare=False, repr=False)
    input_note: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.crops)
        self.pixel_boxes = np.asarray(self.pixel_boxes, np.int64).reshape(n, 4)
        self.boxes = np.asarray(self.boxes, np.float32).reshape(n, 4)
        self.scores = np.asarray(self.scores, np.float32).reshape(n)
        self.shape = (int(self.shape[0]), int(self.shape[1]))

    @classmethod
    def from_masks(
        cls, masks: np.ndarray, boxes: np.ndarray, scores: np.ndarray, image: np.ndarray | None = None
    ) -> SegmentationResult:
        """Build a result from full-size ``(N, H, W)`` bool masks; empty masks are dropped."""
        masks = np.asarray(masks, bool)
        keep = masks.reshape(len(masks), -1).any(axis=1) if len(masks) else np.zeros(0, bool)
        masks = masks[keep]
        pix = contour_boxes(masks) if len(masks) else np.zeros((0, 4), np.int64)
        crops = [m[y0:y1, x0:x1].copy() for m, (x0, y0, x1, y1) in zip(masks, pix)]
        return cls(crops, pix, np.asarray(boxes)[keep], np.asarray(scores)[keep], masks.shape[1:], image)

    def __len__(self) -> int:
        return len(self.crops)

    @cached_property
    def areas(self) -> np.ndarray:
        """(N,) int64 pixel counts, computed once."""
        return np.array([np.count_nonzero(c) for c in self.crops], dtype=np.int64)

    @cached_property
    def checked_crops(self) -> tuple[list[np.ndarray], np.ndarray]:
        """``(crops, pixel_boxes)`` checked once by :func:`mask_selectors.check_crops`.

        Prompts pass these with ``checked=True``, so each prompt skips the
        check's Python loop over every crop (a result's crops do not change).
        """
        return check_crops(self.crops, self.pixel_boxes)

    @property
    def masks(self) -> np.ndarray:
        """(N, H, W) bool full-size masks (allocates N x H x W; prefer :meth:`window`)."""
        return self.window(np.arange(len(self)), (0, 0, self.shape[1], self.shape[0]))

    def window(self, indices: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """Masks ``indices`` cut to the pixel window ``box = (x0, y0, x1, y1)``.

        Returns
        -------
        masks : (K, y1 - y0, x1 - x0) bool
        """
        out = np.zeros((len(indices), int(box[3]) - int(box[1]), int(box[2]) - int(box[0])), bool)
        for k, i in enumerate(indices):
            out[k] = crop_in_window(self.crops[i], self.pixel_boxes[i], box)
        return out

    def labels(self) -> np.ndarray:
        """(H, W) int32 label image; object ``i`` has id ``i + 1``, small objects on top."""
        return crops_to_labels(self.crops, self.pixel_boxes, self.shape, self.areas)
