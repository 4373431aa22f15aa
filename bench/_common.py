"""Shared helpers for the benchmarks: timing and a synthetic everything-mode result."""

from __future__ import annotations

import platform
import time

import numpy as np


def best_of(fn, repeat: int = 5, number: int = 1) -> float:
    """Best wall time of ``fn()`` in seconds (min over ``repeat`` runs of ``number`` calls)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return min(times)


def synthetic_masks(n: int = 200, hw: tuple[int, int] = (1024, 1024), seed: int = 0) -> np.ndarray:
    """(N, H, W) bool masks of random ellipses, sizes from tiny to large, overlapping."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = hw
    masks = np.zeros((n, h, w), bool)
    for i in range(n):
        canvas = np.zeros(hw, np.uint8)
        r = int(rng.choice([8, 20, 40, 90, 200], p=[0.3, 0.3, 0.2, 0.15, 0.05]))
        centre = (int(rng.integers(r, w - r)), int(rng.integers(r, h - r)))
        axes = (r, max(3, int(r * rng.uniform(0.4, 1.0))))
        cv2.ellipse(canvas, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        masks[i] = canvas.astype(bool)
    return masks


def machine() -> str:
    import os

    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}"


def table(rows: list[tuple], header: tuple) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
