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


def median_time(fns, repeat: int = 5, clock=time.perf_counter) -> list[float]:
    """Median time in seconds of each function, the functions run in turn ``repeat`` times.

    Interleaving spreads the load of a shared machine over all of them, so
    their ratios stay fair even when absolute times drift. ``clock`` may be
    ``time.process_time`` (CPU time of this process: for single-threaded code,
    the latency on an idle machine, unaffected by other processes' load).
    """
    times = [[] for _ in fns]
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            t0 = clock()
            fn()
            times[k].append(clock() - t0)
    return [float(np.median(t)) for t in times]


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
    except OSError:
        names = []
    return names[0] if names else platform.processor() or platform.machine()


def machine() -> str:
    """The machine as read now: CPU model, cores, load, torch device and threads."""
    import os

    text = f"{cpu_name()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}"
    try:
        import torch

        dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
        text += f", torch {torch.__version__} on {dev} ({torch.get_num_threads()} threads)"
    except ImportError:
        pass
    if hasattr(os, "getloadavg"):
        text += f", load average {os.getloadavg()[0]:.1f} at the start"
    return text


def write_section(title: str, body: str, doc=None) -> None:
    """Replace (or append) the ``## title`` section of docs/benchmarks.md with ``body``."""
    from pathlib import Path

    doc = Path(doc or Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md")
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    head = f"## {title}\n"
    if head in text:
        start = text.index(head)
        nxt = text.find("\n## ", start + len(head))
        end = len(text) if nxt < 0 else nxt + 1
        text = text[:start] + f"{head}\n{body.strip()}\n\n" + text[end:]
    else:
        text = text.rstrip() + f"\n\n{head}\n{body.strip()}\n"
    doc.write_text(text)


def table(rows: list[tuple], header: tuple) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
