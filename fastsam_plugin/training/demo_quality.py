"""Measure the demo models on freshly generated held-out scenes.

Held-out scenes use seeds from 2_000_000 on; training used 0..N and
validation 1_000_000.. (see :func:`fastsam_plugin.training.train.synthetic_dataset`).
"""

from __future__ import annotations

import numpy as np

from .synthetic import make_scene

HELD_OUT_SEED = 2_000_000


def segmenter_recall(session, n_scenes: int = 50, iou: float = 0.75, min_area: int = 200, size: int = 320) -> float:
    """Share of ground-truth objects over ``min_area`` px matched by a predicted mask at ``iou``."""
    found = total = 0
    for seed in range(HELD_OUT_SEED, HELD_OUT_SEED + n_scenes):
        scene = make_scene(seed, (size, size))
        truth = scene.masks[scene.masks.sum(axis=(1, 2)) > min_area]
        if not len(truth):
            continue
        result = session.segment(scene.image)
        pred = result.masks if len(result) else np.zeros((0, size, size), bool)
        for m in truth:
            if len(pred):
                inter = (pred & m).sum(axis=(1, 2))
                union = (pred | m).sum(axis=(1, 2))
                found += int((inter / union).max() >= iou)
            total += 1
    return found / total if total else float("nan")
