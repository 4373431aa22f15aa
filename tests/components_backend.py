"""A real, model-free segmentation backend for tests: connected components.

It segments non-black pixels into 8-connected components (scikit-image), so
tests of tiling, sessions and plugins get exact, known masks without a
network. It is registered through the same pluggy hook as any third-party
backend.
"""

from __future__ import annotations

import numpy as np
from skimage import measure

from fastsam_plugin.engine.hookspecs import hookimpl
from fastsam_plugin.engine.result import SegmentationResult


class ComponentsSegmenter:
    name = "components"

    def __init__(self, **options):
        self.options = options
        self.calls = 0

    def segment(self, image, **params):
        self.calls += 1
        lab = measure.label(np.asarray(image).max(axis=-1) > 0, connectivity=2)
        masks = lab[None] == np.arange(1, lab.max() + 1)[:, None, None]
        boxes = np.array([[r.bbox[1], r.bbox[0], r.bbox[3], r.bbox[2]] for r in measure.regionprops(lab)], float)
        return SegmentationResult.from_masks(masks, boxes.reshape(-1, 4), np.ones(len(masks)), image)


class ComponentsPlugin:
    @hookimpl
    def fastsam_segmenters(self):
        return {"components": ComponentsSegmenter}
