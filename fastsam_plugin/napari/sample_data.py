"""npe2 sample data: generated scenes (no download, no files)."""

from __future__ import annotations

import numpy as np

from ..training.synthetic import make_scene, make_stack


def shapes_scene():
    """The demo scene: coloured shapes the bundled demo models know."""
    scene = make_scene(2026, (320, 320), n_objects=(5, 7))
    return [(scene.image, {"name": "shapes scene", "rgb": True})]


def nuclei_stack():
    """A (5, 256, 256) uint16 stack of blurred nuclei with shot noise."""
    return [(make_stack(seed=7, depth=5, size=(256, 256)), {"name": "nuclei stack", "colormap": "gray"})]


def large_mosaic(tiles: int = 8, tile_px: int = 384):
    """A (3072, 3072, 3) mosaic of demo scenes, larger than the model input, to try tiling."""
    rows = [np.concatenate([make_scene(r * tiles + c, (tile_px, tile_px)).image for c in range(tiles)], axis=1)
            for r in range(tiles)]
    return [(np.concatenate(rows, axis=0), {"name": "large mosaic", "rgb": True})]
