"""npe2 sample data: generated scenes (no download, no files)."""

from __future__ import annotations

import numpy as np

from ..training.nuclei import make_nuclei_scene
from ..training.synthetic import make_scene, make_stack


def shapes_scene():
    """The demo scene: coloured shapes the bundled demo models know."""
    scene = make_scene(2026, (320, 320), n_objects=(5, 7))
    return [(scene.image, {"name": "shapes scene", "rgb": True})]


def nuclei_stack():
    """A (5, 256, 256) uint16 stack of blurred nuclei with shot noise."""
    return [(make_stack(seed=7, depth=5, size=(256, 256)), {"name": "nuclei stack", "colormap": "gray"})]


def nuclei_scene():
    """A generated 512 x 512 16-bit fluorescence-nuclei image (for weights ``demo-nuclei``) and its true labels.

    Touching clusters, dividing and elongated nuclei, textured interiors, blur,
    uneven background and shot noise (:mod:`fastsam_plugin.training.nuclei`);
    the ground truth comes as a hidden Labels layer to compare results with.
    """
    scene = make_nuclei_scene(2026, (512, 512), diameter=24, bit_depth=16)
    return [
        (scene.image, {"name": "nuclei scene", "colormap": "gray"}, "image"),
        (scene.labels, {"name": "nuclei scene ground truth", "visible": False, "opacity": 0.4}, "labels"),
    ]


def large_mosaic(tiles: int = 8, tile_px: int = 384):
    """A (3072, 3072, 3) mosaic of demo scenes, larger than the model input, to try tiling."""
    rows = [np.concatenate([make_scene(r * tiles + c, (tile_px, tile_px)).image for c in range(tiles)], axis=1)
            for r in range(tiles)]
    return [(np.concatenate(rows, axis=0), {"name": "large mosaic", "rgb": True})]
