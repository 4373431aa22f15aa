"""Segment images far larger than the model input in overlapping tiles.

Each tile is segmented on its own; its masks (cropped to their boxes) are
shifted into image coordinates and merged with what earlier tiles found.
Two masks are the same object when, inside the strip where their tiles
overlap, their IoU exceeds ``merge_iou``: then they are joined (a mask cut by
a tile border becomes whole again, and a duplicate seen by both tiles
disappears). Memory stays bounded by the objects' size, never N x H x W.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .progress import CancelCheck, ProgressCallback, check_cancel, report
from .result import SegmentationResult, crop_in_window
from .windows import WindowedImage, keep_valid, read_tile

DEFAULT_TILE = 1024
DEFAULT_OVERLAP = 192
DEFAULT_MERGE_IOU = 0.5

Box = tuple[int, int, int, int]


def plan_tiles(hw: tuple[int, int], tile: int = DEFAULT_TILE, overlap: int = DEFAULT_OVERLAP) -> list[Box]:
    """Tile rectangles ``(x0, y0, x1, y1)`` covering an image, neighbours overlapping.

    The last tile of each row and column is aligned to the image edge, so no
    tile is smaller than ``tile`` unless the image is.
    """
    if tile < 64 or not 0 <= overlap < tile // 2:
        raise ValueError(f"need tile >= 64 and 0 <= overlap < tile / 2; got tile={tile}, overlap={overlap}.")
    h, w = hw

    def starts(n: int) -> list[int]:
        if n <= tile:
            return [0]
        step = tile - overlap
        s = list(range(0, n - tile, step)) + [n - tile]
        return sorted(set(s))

    return [(x, y, min(x + tile, w), min(y + tile, h)) for y in starts(h) for x in starts(w)]


@dataclass
class _Object:
    crop: np.ndarray
    box: np.ndarray  # pixel box, exclusive ends
    model_box: np.ndarray
    score: float
    rects: list[Box] = field(default_factory=list)  # tiles it was seen in

    def inside(self, win: Box) -> np.ndarray:
        """This mask's pixels inside window ``win`` (zeros where it has none)."""
        return crop_in_window(self.crop, self.box, win)

    def absorb(self, other: _Object) -> None:
        box = np.concatenate([np.minimum(self.box[:2], other.box[:2]), np.maximum(self.box[2:], other.box[2:])])
        self.crop = self.inside(tuple(box)) | other.inside(tuple(box))
        self.box = box
        self.model_box = np.concatenate(
            [np.minimum(self.model_box[:2], other.model_box[:2]), np.maximum(self.model_box[2:], other.model_box[2:])]
        )
        self.score = max(self.score, other.score)
        self.rects += other.rects


def _intersect(a: Box, b: Box) -> Box | None:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _same_object(new: _Object, old: _Object, rect: Box, merge_iou: float) -> bool:
    for old_rect in old.rects:
        strip = _intersect(rect, old_rect)
        if strip is None or _intersect(strip, tuple(new.box)) is None or _intersect(strip, tuple(old.box)) is None:
            continue
        a, b = new.inside(strip), old.inside(strip)
        union = np.count_nonzero(a | b)
        if union and np.count_nonzero(a & b) / union > merge_iou:
            return True
    return False


class TileMerger:
    """Collects per-tile results and joins the objects that cross seams.

    Feed tiles in any order with :meth:`add`; :meth:`result` gives the merged
    result in the whole image's grid. Used by :func:`segment_tiled` in one
    process and by the Dask graph (:mod:`fastsam_plugin.distributed`), where
    tiles are segmented on workers and merged on the client.

    Parameters
    ----------
    hw : (int, int)
        Height and width of the whole image.
    merge_iou : float
        IoU inside the overlap strip above which two masks are one object.
    """

    def __init__(self, hw: tuple[int, int], merge_iou: float = DEFAULT_MERGE_IOU) -> None:
        self.hw = (int(hw[0]), int(hw[1]))
        self.merge_iou = merge_iou
        self._objects: list[_Object] = []

    def add(self, rect: Box, part: SegmentationResult) -> None:
        """Merge the objects of one tile; ``part`` is in the tile's own pixel grid."""
        x0, y0, x1, y1 = rect
        shift = np.array([x0, y0, x0, y0])
        objects = self._objects
        # only objects reaching into this tile can be the same as one found in it
        boxes = np.array([o.box for o in objects]).reshape(-1, 4)
        near = [objects[k] for k in np.flatnonzero(
            (boxes[:, 0] < x1) & (boxes[:, 2] > x0) & (boxes[:, 1] < y1) & (boxes[:, 3] > y0))]
        for i in range(len(part)):
            obj = _Object(
                part.crops[i], part.pixel_boxes[i] + shift, part.boxes[i] + shift, float(part.scores[i]), [rect]
            )
            candidates = [o for o in near if _intersect(tuple(o.box), tuple(obj.box))]
            match = next((o for o in candidates if _same_object(obj, o, rect, self.merge_iou)), None)
            if match is None:
                objects.append(obj)
            else:
                match.absorb(obj)

    def result(self, image: np.ndarray | None = None) -> SegmentationResult:
        """The merged objects; ``image`` is the normalised picture, when one exists in memory."""
        objects = self._objects
        return SegmentationResult(
            [o.crop for o in objects],
            np.array([o.box for o in objects]).reshape(-1, 4),
            np.array([o.model_box for o in objects]).reshape(-1, 4),
            np.array([o.score for o in objects]),
            self.hw,
            image,
        )


def segment_tiled(
    segment: Callable[[np.ndarray], SegmentationResult],
    image: np.ndarray | WindowedImage,
    *,
    tile: int = DEFAULT_TILE,
    overlap: int = DEFAULT_OVERLAP,
    merge_iou: float = DEFAULT_MERGE_IOU,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> SegmentationResult:
    """Segment ``image`` tile by tile and merge the masks across seams.

    Parameters
    ----------
    segment : callable
        ``segment(tile_rgb) -> SegmentationResult`` for one ``(h, w, 3)`` uint8 tile.
    image : (H, W, 3) uint8, or a :class:`~fastsam_plugin.engine.windows.WindowedImage`
        A lazy source is read tile by tile (never whole); masks are clipped to its valid pixels.
    tile, overlap : int
        Tile side and overlap between neighbours, in pixels.
    merge_iou : float
        IoU inside the overlap strip above which two masks are one object.
    progress : callable, optional
        Called as ``progress(done, total)`` after each tile.
    cancel : callable, optional
        Returns True to stop; :class:`Cancelled` is raised between tiles.

    Returns
    -------
    SegmentationResult
        In the whole image's pixel grid.
    """
    h, w = image.shape[:2]
    rects = plan_tiles((h, w), tile, overlap)
    merger = TileMerger((h, w), merge_iou)
    for done, rect in enumerate(rects):
        check_cancel(cancel)
        rgb, valid = read_tile(image, rect)  # a lazy source (GeoTIFF) is read one window at a time
        merger.add(rect, keep_valid(segment(rgb), valid))
        report(progress, done + 1, len(rects))
    in_memory = image if isinstance(image, np.ndarray) else rgb if len(rects) == 1 else None
    return merger.result(in_memory)
