import numpy as np
import pytest

from fastsam_plugin.engine.pipeline import TileOptions, segment_image
from fastsam_plugin.engine.progress import Cancelled
from fastsam_plugin.engine.tiling import plan_tiles, segment_tiled

from ..components_backend import ComponentsSegmenter


def disc_image(h=700, w=900):
    """Discs, several of them straddling the seams of 256-px tiles."""
    yy, xx = np.mgrid[:h, :w]
    img = np.zeros((h, w, 3), np.uint8)
    truth = []
    for k, (cy, cx, r) in enumerate([(230, 240, 60), (500, 470, 90), (100, 700, 40), (600, 120, 50), (350, 830, 45)]):
        m = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        img[m] = (50 + 40 * k, 200, 100)
        truth.append(m)
    return img, np.array(truth)


def test_plan_covers_the_image_with_overlap():
    rects = plan_tiles((700, 900), tile=256, overlap=64)
    cover = np.zeros((700, 900), int)
    for x0, y0, x1, y1 in rects:
        assert x1 - x0 == 256 and y1 - y0 == 256
        cover[y0:y1, x0:x1] += 1
    assert cover.min() >= 1
    assert plan_tiles((100, 100), tile=256, overlap=64) == [(0, 0, 100, 100)]
    with pytest.raises(ValueError, match="overlap"):
        plan_tiles((500, 500), tile=256, overlap=200)


def test_objects_crossing_tile_borders_come_back_whole():
    img, truth = disc_image()
    seg = ComponentsSegmenter()
    progress = []
    result = segment_tiled(seg.segment, img, tile=256, overlap=64, progress=lambda d, t: progress.append((d, t)))
    assert seg.calls == len(plan_tiles(img.shape[:2], 256, 64)) > 1
    assert len(result) == len(truth)
    masks = result.masks
    for t in truth:
        ious = [(t & m).sum() / (t | m).sum() for m in masks]
        assert max(ious) == 1.0
    assert progress[-1] == (seg.calls, seg.calls)


def test_tiling_is_used_above_the_threshold_only():
    img, truth = disc_image()
    seg = ComponentsSegmenter()
    segment_image(seg, img, tiling=TileOptions(threshold=1000))
    assert seg.calls == 1
    seg = ComponentsSegmenter()
    r = segment_image(seg, img, tiling=TileOptions(threshold=800, tile=256, overlap=64))
    assert seg.calls > 1 and len(r) == len(truth)


def test_cancel_stops_between_tiles():
    img, _ = disc_image()
    seg = ComponentsSegmenter()
    with pytest.raises(Cancelled):
        segment_tiled(seg.segment, img, tile=256, overlap=64, cancel=lambda: seg.calls >= 2)
    assert seg.calls == 2
