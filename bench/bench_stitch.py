"""How well slice-to-slice IoU linking rebuilds 3D objects, given perfect per-slice 2D labels.

    python bench/bench_stitch.py [threshold ...]

Uses the StarDist synthetic nuclei volume (``../shared/data/microscopy``); each
slice's true labels are shuffled so only the linking (``mask_selectors.stitch_labels``)
is judged. Prints, per threshold, with and without cutting at waists
(``split_at_narrowings``, ratio 0.5), the number of 3D objects, how many true
objects are matched at IoU > 0.5 and the mean best IoU per true object.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import tifffile
from mask_selectors import label_iou, split_at_narrowings, stitch_labels

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "microscopy" / "nuclei3d_synthetic_labels.tif"


def shuffled_slices(truth: np.ndarray, seed: int = 0) -> np.ndarray:
    """Per-slice labels as a 2D segmenter would give them: the true masks, ids renumbered in every slice."""
    rng = np.random.default_rng(seed)
    out = np.zeros_like(truth)
    for z in range(truth.shape[0]):
        ids = np.unique(truth[z])[1:]
        lut = np.zeros(int(truth.max()) + 1, truth.dtype)
        lut[ids] = rng.permutation(len(ids)) + 1
        out[z] = lut[truth[z]]
    return out


def main(thresholds: list[float]) -> None:
    if not DATA.exists():
        sys.exit(f"{DATA} is missing (shared data of this project's checkout)")
    truth = tifffile.imread(DATA)
    per_slice = shuffled_slices(truth)
    n_true = len(np.unique(truth)) - 1
    print(f"{DATA.name}: {truth.shape}, {n_true} true objects")
    print("| threshold | split waists | 3D objects | matched at IoU > 0.5 | mean best IoU |\n|---|---|---|---|---|")
    for t in thresholds:
        for split in (None, 0.5):
            linked = stitch_labels(per_slice, t)
            linked = split_at_narrowings(linked, split) if split else linked
            # IoU of every true object with every linked object over the whole volume
            iou, _, pred = label_iou(truth.reshape(-1, truth.shape[-1]), linked.reshape(-1, linked.shape[-1]))
            best = iou.max(axis=1)
            print(f"| {t:.2f} | {split or 'off'} | {len(pred)} | {int((best > 0.5).sum())} of {n_true} | "
                  f"{best.mean():.3f} |")


if __name__ == "__main__":
    main([float(a) for a in sys.argv[1:]] or [0.1, 0.25, 0.5])
