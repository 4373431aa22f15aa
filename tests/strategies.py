"""Hypothesis strategies shared by the selector tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


@st.composite
def rect_masks(draw, max_n: int = 6, max_hw: int = 24, allow_empty: bool = False):
    """(N, H, W) bool stacks of random rectangles (possibly overlapping)."""
    h = draw(st.integers(4, max_hw))
    w = draw(st.integers(4, max_hw))
    n = draw(st.integers(1, max_n))
    masks = np.zeros((n, h, w), bool)
    for i in range(n):
        if allow_empty and draw(st.booleans()) and draw(st.booleans()):
            continue
        y0 = draw(st.integers(0, h - 1))
        x0 = draw(st.integers(0, w - 1))
        y1 = draw(st.integers(y0 + 1, h))
        x1 = draw(st.integers(x0 + 1, w))
        masks[i, y0:y1, x0:x1] = True
    return masks


@st.composite
def points_for(draw, hw: tuple[int, int], max_p: int = 5):
    """(P, 2) integer (x, y) points inside an image, with (P,) 0/1 labels."""
    h, w = hw
    p = draw(st.integers(1, max_p))
    xs = draw(st.lists(st.integers(0, w - 1), min_size=p, max_size=p))
    ys = draw(st.lists(st.integers(0, h - 1), min_size=p, max_size=p))
    labels = draw(st.lists(st.integers(0, 1), min_size=p, max_size=p))
    return np.stack([xs, ys], 1), np.array(labels)


# ---------------------------------------------------------------------------------------------
# Garbage and plausible arguments for the fuzz of every public mask_selectors function
# (tests/selectors/test_fuzz_public_api.py). Plain numpy and hypothesis: no torch, no plugin.

#: values that are wrong for almost every argument: wrong types, NaN/inf, huge and negative numbers,
#: ragged lists, strings, sizes beyond any machine's memory
GARBAGE_VALUES = (
    None, True, False, 0, -1, 1, 3, 2**31, 2**63, 2**64, 10**30, -(10**30), 10**400,
    0.5, -0.5, 1e300, -1e300, float("nan"), float("inf"), float("-inf"), 1 + 1j,
    "", "abc", "3", b"x", [], [[]], [[1, 2], [3]], [[1, 2, 3, 4], [5, 6]], {}, {"a": 1}, object(), slice(None),
    (1, 2), (0, 0), (-1, 5), (5, 0), (1.5, 2), (10**9, 10**9), (2**40, 3), (2**70, 3), (float("nan"), 4),
    [[0.0, 0.0, 1e300, 1e300]], [[-1e300, 5.0]], [[float("nan"), 1.0]], [[2**64, 1]],
)

GARBAGE_DTYPES = (
    bool, np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint64, np.float16, np.float32, np.float64,
    np.complex128, object, "U3", "datetime64[s]",
)


@st.composite
def garbage_arrays(draw):
    """numpy arrays of any dtype (complex, object, strings, dates included) and shape (0 to 4 axes, empty ones too)."""
    dtype = np.dtype(draw(st.sampled_from(GARBAGE_DTYPES)))
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=4)))
    if dtype.kind in "biuf":
        fill = draw(st.sampled_from(["zeros", "ones", "random", "extreme"]))
        if fill == "random":
            rng = np.random.default_rng(draw(st.integers(0, 2**16)))
            return (rng.integers(-3, 4, shape) if dtype.kind != "b" else rng.integers(0, 2, shape)).astype(dtype)
        if fill == "extreme":
            value = np.finfo(dtype).max if dtype.kind == "f" else np.iinfo(dtype).max if dtype.kind in "iu" else True
            return np.full(shape, value, dtype)
        return (np.zeros if fill == "zeros" else np.ones)(shape, dtype)
    return np.zeros(shape, dtype)


def garbage():
    """Any wrong value: a fixed list of troublemakers, random arrays, numbers, short strings and lists."""
    return st.one_of(
        st.sampled_from(GARBAGE_VALUES),
        garbage_arrays(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=3),
        st.lists(st.one_of(st.integers(-5, 5), st.floats(-5, 5)), max_size=5),
    )


LABEL_DTYPES = (np.uint8, np.int16, np.int32, np.uint32, np.int64, np.uint64)


@st.composite
def label_images(draw, shape: tuple[int, ...]):
    """Integer label images of ``shape``, any width, with ids that may be huge (above 2**31, 2**63 for uint64)."""
    dtype = np.dtype(draw(st.sampled_from(LABEL_DTYPES)))
    top = int(np.iinfo(dtype).max)
    pool = sorted({1, 2, 3, min(top, 255), min(top, 2**31 + 1), min(top, 2**40), top - 1, top})
    ids = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    choice = rng.integers(0, len(ids) + 1, shape)  # 0 = background
    values = np.array([0] + ids, dtype=dtype)
    return values[choice]


@st.composite
def selector_scenes(draw):
    """One small consistent world for the selector functions: masks, their crops and boxes, an image,
    prompts, label images (2D and 3D, any integer width, huge ids), embeddings.

    Plausible arguments come from here, so a fuzzed call gets past the first checks and reaches the
    function's real work; boxes and crops are computed by hand, not with the code under test.
    """
    from types import SimpleNamespace

    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    n = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    masks = np.zeros((n, h, w), bool)
    for i in range(n):
        if rng.random() < 0.85:  # some masks stay empty
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            masks[i, y0 : rng.integers(y0 + 1, h + 1), x0 : rng.integers(x0 + 1, w + 1)] = True
    boxes = np.zeros((n, 4), np.int64)
    for i in range(n):
        ys, xs = np.nonzero(masks[i])
        if len(ys):
            boxes[i] = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    crops = [masks[i, y0:y1, x0:x1] for i, (x0, y0, x1, y1) in enumerate(boxes.tolist())]
    p = draw(st.integers(1, 4))
    z = draw(st.integers(1, 4))
    labels2 = draw(label_images((h, w)))
    labels3 = draw(label_images((z, h, w)))
    labels_any = labels2 if draw(st.booleans()) else labels3
    m, d, t = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    channels = draw(st.sampled_from([None, 1, 2]))
    return SimpleNamespace(
        hw=(h, w),
        masks=masks,
        areas=masks.sum(axis=(1, 2)),
        boxes=boxes,
        crops=crops,
        image=rng.integers(0, 256, (h, w, 3)).astype(np.uint8),
        points=np.stack([rng.uniform(-0.5, w - 0.5, p), rng.uniform(-0.5, h - 0.5, p)], 1),
        point_labels=rng.integers(0, 2, p),
        prompt_boxes=rng.uniform(-2, max(h, w) + 2, (draw(st.integers(1, 3)), 4)),
        labels2=labels2,
        labels2b=draw(label_images((h, w))),
        labels3=labels3,
        labels_any=labels_any,
        intensity=rng.normal(size=labels_any.shape + (() if channels is None else (channels,))),
        line=rng.uniform(-2, max(h, w) + 2, (draw(st.integers(2, 4)), 2)),
        crop_embeddings=rng.normal(size=(m, d)),
        text_embeddings=rng.normal(size=(t, d)),
        crop_indices=rng.integers(0, n, m),
        iou=rng.uniform(0, 1, (draw(st.integers(0, 3)), draw(st.integers(0, 3)))),
    )
