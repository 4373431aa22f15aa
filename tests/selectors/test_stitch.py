"""Linking per-slice objects into 3D objects and tracks (stitch threshold, as Cellpose)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from mask_selectors import label_iou, match_objects, split_at_narrowings, stitch_labels
from scipy import ndimage


def ellipsoid_volume(shape, objects):
    """(Z, Y, X) int32 ground truth: ``objects`` = [(centre zyx, radii zyx)], painted in order, id = position + 1."""
    zz, yy, xx = np.indices(shape)
    vol = np.zeros(shape, np.int32)
    for k, ((cz, cy, cx), (rz, ry, rx)) in enumerate(objects, start=1):
        inside = ((zz - cz) / rz) ** 2 + ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        vol[inside & (vol == 0)] = k
    return vol


def per_slice_segmentation(vol, seed=0):
    """What a 2D segmenter returns slice by slice: ids permuted per slice, edges eroded by one pixel."""
    rng = np.random.default_rng(seed)
    out = np.zeros_like(vol)
    for z in range(vol.shape[0]):
        ids = np.unique(vol[z])[1:]
        new = rng.permutation(len(ids)) + 1
        for i, n in zip(ids, new):
            m = ndimage.binary_erosion(vol[z] == i)
            if m.sum() >= 4:  # a segmenter misses the tiny caps
                out[z][m] = n
    return out


def iou_3d(a, b):
    return np.count_nonzero(a & b) / np.count_nonzero(a | b)


def test_label_iou_hand_computed():
    prev = np.array([[1, 1, 0, 0], [1, 1, 0, 2]])
    cur = np.array([[5, 5, 5, 0], [0, 0, 0, 2]])
    iou, p_ids, c_ids = label_iou(prev, cur)
    assert p_ids.tolist() == [1, 2] and c_ids.tolist() == [2, 5]
    # prev 1 (4 px) vs cur 5 (3 px): overlap 2 -> 2/5; prev 2 vs cur 2: 1/1
    np.testing.assert_allclose(iou, [[0.0, 0.4], [1.0, 0.0]])
    assert match_objects(iou, 0.25) == [(1, 0), (0, 1)]
    assert match_objects(iou, 0.5) == [(1, 0)]


def test_spheres_and_ellipsoids_become_one_label_each_and_touching_ones_stay_apart():
    objects = [
        ((10, 20, 20), (8, 10, 10)),  # sphere-like (anisotropic voxels)
        ((12, 20, 50), (6, 9, 14)),  # ellipsoid
        ((8, 48, 16), (5, 7, 7)),  # small ellipsoid
        ((11, 48, 40), (7, 9, 9)),  # two spheres touching along x
        ((11, 48, 58), (7, 9, 9)),
    ]
    truth = ellipsoid_volume((22, 64, 72), objects)
    assert np.any(ndimage.binary_dilation(truth == 4) & (truth == 5))  # they really touch
    seg = per_slice_segmentation(truth)
    stitched = stitch_labels(seg, threshold=0.25)
    ids = np.unique(stitched)[1:]
    assert len(ids) == len(objects)  # one 3D label per object, touching spheres separate
    ious = []
    for k in range(1, len(objects) + 1):
        best = np.bincount(stitched[truth == k]).argmax()  # the stitched label covering most of object k
        assert best != 0
        # linking loses nothing: the 3D label is exactly the per-slice masks of object k
        np.testing.assert_array_equal(stitched == best, (seg > 0) & (truth == k))
        ious.append(iou_3d(truth == k, stitched == best))
    print("per-object 3D IoU:", np.round(ious, 3).tolist())
    assert min(ious) > 0.6  # below 1 only through the per-slice erosion and the missed caps


def test_tracks_over_time_follow_slow_objects_and_split_jumps():
    frames = np.zeros((6, 40, 80), np.int32)
    yy, xx = np.indices((40, 80))
    for t in range(6):
        frames[t][(yy - 12) ** 2 + (xx - (10 + 2 * t)) ** 2 <= 36] = 3  # slow: moves 2 px per frame
        frames[t][(yy - 30) ** 2 + (xx - (5 + 13 * t)) ** 2 <= 16] = 1  # fast: jumps past its own width
    tracks = stitch_labels(frames, threshold=0.3)
    slow = {int(tracks[t][12, 10 + 2 * t]) for t in range(6)}
    fast = {int(tracks[t][30, 5 + 13 * t]) for t in range(6)}
    assert len(slow) == 1 and len(fast) == 6 and not slow & fast


@settings(max_examples=40, deadline=None)
@given(arrays(np.int8, (5, 6), elements=st.integers(0, 4)), st.integers(1, 4), st.integers(0, 2**16))
def test_identical_slices_keep_their_objects(plane, z, seed):
    rng = np.random.default_rng(seed)
    stack = []
    for _ in range(z):  # the same partition, ids renamed in each slice
        perm = np.concatenate([[0], rng.permutation(4) + 1])
        stack.append(perm[plane])
    out = stitch_labels(np.array(stack), threshold=0.5)
    n = len(np.unique(plane[plane > 0]))
    assert len(np.unique(out[out > 0])) == n
    np.testing.assert_array_equal(out, np.repeat(out[:1], z, axis=0))  # every slice continues the first
    assert ((out[0] > 0) == (plane > 0)).all()


def test_stitch_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(Z, H, W\)"):
        stitch_labels(np.zeros((4, 4), int))
    with pytest.raises(ValueError, match="integer"):
        stitch_labels(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="threshold"):
        stitch_labels(np.zeros((2, 4, 4), int), threshold=1.0)


def test_objects_stacked_along_z_are_cut_at_their_waist():
    # two spheres one above the other: their caps meet, so low-threshold linking joins them
    truth = ellipsoid_volume((20, 40, 40), [((4.5, 20, 20), (5, 12, 12)), ((14.5, 21, 20), (5, 12, 12))])
    seg = per_slice_segmentation(truth)
    joined = stitch_labels(seg, threshold=0.1)
    assert len(np.unique(joined)) - 1 == 1  # the failure the split repairs
    cut = split_at_narrowings(joined, ratio=0.5)
    assert len(np.unique(cut)) - 1 == 2
    for k in (1, 2):
        best = np.bincount(cut[truth == k]).argmax()
        np.testing.assert_array_equal(cut == best, (seg > 0) & (truth == k))


def test_convex_objects_are_never_cut_and_the_waist_joins_its_better_side():
    single = ellipsoid_volume((12, 30, 30), [((5.5, 15, 15), (6, 10, 8))])
    np.testing.assert_array_equal(split_at_narrowings(single, 0.5), single)
    stack = np.zeros((3, 6, 6), np.int32)
    stack[0, 0:3, 0:3] = 1  # 9 px
    stack[1, 0, 0] = 1  # 1 px waist, overlapping the slice below
    stack[2, 3:6, 3:6] = 1  # 9 px, not under the waist
    out = split_at_narrowings(stack, 0.5)
    assert out[1, 0, 0] == out[0, 0, 0] and out[2, 4, 4] != out[0, 0, 0]
    assert len(np.unique(out)) - 1 == 2
    with pytest.raises(ValueError, match="ratio"):
        split_at_narrowings(stack, 1.0)
    with pytest.raises(ValueError, match=r"\(Z, H, W\)"):
        split_at_narrowings(stack[0], 0.5)
