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
