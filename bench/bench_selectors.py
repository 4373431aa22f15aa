"""Prompt selection speed: mask_selectors against the original FastSAM per-call loops.

1024 x 1024 image, 200 masks, 10 prompts. The reference does on every call
what the original FastSAM code does: convert every mask, compute every area,
sort, then loop over masks and points in Python (points); sum every full mask
per box (boxes). Ours computes areas once per result (as the napari session
does) and reuses them for every prompt.
"""

from __future__ import annotations

import sys

import numpy as np
from _common import best_of, synthetic_masks, table
from mask_selectors import mask_areas, select_by_boxes, select_by_points
from mask_selectors.masks import contour_boxes


def reference_points(masks_list, points, labels):
    """Original FastSAM point rule: areas, sort, Python loops over masks and points."""
    annotations = [{"segmentation": np.asarray(m), "area": int(np.sum(m))} for m in masks_list]
    annotations = sorted(annotations, key=lambda a: a["area"], reverse=True)
    h, w = annotations[0]["segmentation"].shape
    onemask = np.zeros((h, w))
    for ann in annotations:
        mask = ann["segmentation"]
        for (x, y), label in zip(points, labels):
            if mask[y, x] == 1 and label == 1:
                onemask[mask] = 1
            if mask[y, x] == 1 and label == 0:
                onemask[mask] = 0
    return onemask >= 1


def reference_boxes(masks, boxes):
    """Original FastSAM box rule: full mask sums on every call."""
    out = []
    for x0, y0, x1, y1 in boxes:
        inter = masks[:, y0:y1, x0:x1].sum(axis=(1, 2))
        areas = masks.sum(axis=(1, 2))
        iou = inter / ((x1 - x0) * (y1 - y0) + areas - inter)
        out.append(int(np.argmax(iou)))
    return out


def run(quick: bool = False) -> list[tuple]:
    masks = synthetic_masks(200, (1024, 1024))
    rng = np.random.default_rng(1)
    n_prompts = 10
    areas = mask_areas(masks)
    boxes_px = contour_boxes(masks)
    targets = rng.choice(len(masks), n_prompts, replace=False)
    point_sets = []
    for t in targets:
        ys, xs = np.nonzero(masks[t])
        k = rng.integers(len(ys))
        point_sets.append((np.array([[xs[k], ys[k]], [rng.integers(1024), rng.integers(1024)]]), np.array([1, 0])))
    box_prompts = boxes_px[targets]

    masks_list = list(masks)
    for pts, lab in point_sets:  # same answers before timing
        assert np.array_equal(select_by_points(masks, pts, lab, areas=areas), reference_points(masks_list, pts, lab))
    assert select_by_boxes(masks, box_prompts, areas=areas).tolist() == reference_boxes(masks, box_prompts)

    repeat = 2 if quick else 5
    ours_p = best_of(lambda: [select_by_points(masks, p, lb, areas=areas, boxes=boxes_px) for p, lb in point_sets], repeat)
    ref_p = best_of(lambda: [reference_points(masks_list, p, lb) for p, lb in point_sets], max(1, repeat // 2))
    ours_b = best_of(lambda: [select_by_boxes(masks, b[None], areas=areas) for b in box_prompts], repeat)
    ref_b = best_of(lambda: reference_boxes(masks, box_prompts), max(1, repeat // 2))
    rows = [
        ("points (fg + bg)", f"{ours_p / n_prompts * 1e3:.2f}", f"{ref_p / n_prompts * 1e3:.1f}", f"{ref_p / ours_p:.0f}x",
         "< 2 ms and >= 20x"),
        ("box", f"{ours_b / n_prompts * 1e3:.2f}", f"{ref_b / n_prompts * 1e3:.1f}", f"{ref_b / ours_b:.1f}x", ">= 5x"),
    ]
    return rows


HEADER = ("selector (1024 px, 200 masks)", "ours ms/prompt", "FastSAM-style ms/prompt", "speed-up", "goal")

if __name__ == "__main__":
    print(table(run("--quick" in sys.argv), HEADER))
