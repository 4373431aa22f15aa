import numpy as np

from fastsam_plugin.engine.edges import edge_map
from fastsam_plugin.engine.result import SegmentationResult


def test_edges_trace_object_boundaries_one_pixel_wide():
    m = np.zeros((2, 64, 80), bool)
    m[0, 10:40, 10:50] = True
    m[1, 45:60, 55:75] = True
    result = SegmentationResult.from_masks(m, [[10, 10, 50, 40], [55, 45, 75, 60]], [1, 1])
    edges = edge_map(result)
    assert edges.shape == (64, 80) and edges.dtype == np.float32
    assert 0 <= edges.min() and edges.max() == 1.0
    strong = edges > 0.3
    # every strong edge lies within 2 px of a true boundary, and the interior stays empty
    from scipy import ndimage

    boundary = np.zeros((64, 80), bool)
    for mask in m:
        boundary |= mask ^ ndimage.binary_erosion(mask)
    near = ndimage.binary_dilation(boundary, iterations=2)
    assert strong.any() and not (strong & ~near).any()
    assert not edges[20:30, 20:40].any()
    # thin: along a straight side, at most 2 strong pixels per row
    assert strong[15:35, 5:16].sum(axis=1).max() <= 2
    # the whole outline is found: most boundary pixels have a strong edge within 1 px
    found = ndimage.binary_dilation(strong, iterations=1)
    assert (found & boundary).sum() / boundary.sum() > 0.9
