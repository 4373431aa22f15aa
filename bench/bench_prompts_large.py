"""Prompt latency on large, overlapping masks (the shape of FastSAM output on natural scenes).

Workload: 1024 x 1024, 200 masks of all sizes (radii log-uniform from 4 to
300 pixels, ellipses and rectangles at random angles; one in twenty of radius
290 to 330 pixels, about a quarter of the image). The masks overlap about
eight deep on average: a random point lies in several masks, as in FastSAM
output, whose nested proposals (object, part, group) overlap. The text row
uses 300 such masks.

Each row times the session's path (answers on the stored box crops) against
the path it replaced (each prompt copied every candidate mask into a window,
then ran the full-mask rule) and the pure full-mask rule with cached areas.
All paths give the same answers (asserted before timing). Times are the CPU
time of this process (the work is single-threaded numpy/OpenCV, so this is the
latency on an idle core, robust to other processes' load); the wall time under
the load of the moment is shown next to the prompt rows.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from _common import machine, median_time, table, write_section


def large_masks(n: int = 200, hw=(1024, 1024), seed: int = 0) -> np.ndarray:
    """(N, H, W) bool: ellipses and rotated rectangles, overlapping.

    Radii are log-uniform from 4 to 300 px; one mask in twenty gets 290 to
    330 px, about a quarter of a 1024 x 1024 image.
    """
    import cv2

    rng = np.random.default_rng(seed)
    h, w = hw
    masks = np.zeros((n, h, w), bool)
    for i in range(n):
        canvas = np.zeros(hw, np.uint8)
        r = float(rng.uniform(290, 330)) if i % 20 == 0 else float(np.exp(rng.uniform(np.log(4), np.log(300))))
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        axes = (max(2, int(r)), max(2, int(r * rng.uniform(0.5, 1.0))))
        angle = float(rng.uniform(0, 180))
        if rng.random() < 0.5:
            cv2.ellipse(canvas, (cx, cy), axes, angle, 0, 360, 1, -1)
        else:
            pts = cv2.boxPoints(((cx, cy), (2 * axes[0], 2 * axes[1]), angle)).astype(np.int32)
            cv2.fillPoly(canvas, [pts], 1)
        if not canvas.any():
            canvas[min(cy, h - 1), min(cx, w - 1)] = 1
        masks[i] = canvas.astype(bool)
    return masks


def _result(n: int, seed: int = 0):
    from mask_selectors import contour_boxes

    from fastsam_plugin.engine.result import SegmentationResult

    masks = large_masks(n, seed=seed)
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (*masks.shape[1:], 3), dtype=np.uint8)
    return SegmentationResult.from_masks(masks, contour_boxes(masks), rng.random(n), image), masks


def _windowed_points(result, xy, labels):
    """The replaced session path: copy every candidate mask into a window, then the full-mask rule."""
    from mask_selectors import select_by_points

    b = result.pixel_boxes
    holds = (b[:, None, 0] <= xy[None, :, 0]) & (xy[None, :, 0] < b[:, None, 2])
    holds &= (b[:, None, 1] <= xy[None, :, 1]) & (xy[None, :, 1] < b[:, None, 3])
    cands = np.flatnonzero(holds.any(axis=1))
    out = np.zeros(result.shape, bool)
    if len(cands) == 0:
        return out
    win = (b[cands, 0].min(), b[cands, 1].min(), b[cands, 2].max(), b[cands, 3].max())
    inside = (xy[:, 0] >= win[0]) & (xy[:, 0] < win[2]) & (xy[:, 1] >= win[1]) & (xy[:, 1] < win[3])
    local = select_by_points(result.window(cands, win), xy[inside] - np.array(win[:2]), labels[inside],
                             areas=result.areas[cands])
    out[win[1] : win[3], win[0] : win[2]] = local
    return out


def _windowed_box(result, box):
    from mask_selectors import select_by_boxes

    b = result.pixel_boxes
    cands = np.flatnonzero((b[:, 0] < box[2]) & (b[:, 2] > box[0]) & (b[:, 1] < box[3]) & (b[:, 3] > box[1]))
    if len(cands) == 0:
        return -1
    allb = np.vstack([b[cands], box[None]])
    win = (allb[:, 0].min(), allb[:, 1].min(), allb[:, 2].max(), allb[:, 3].max())
    local = box - np.array([win[0], win[1], win[0], win[1]])
    best = select_by_boxes(result.window(cands, win), local[None], areas=result.areas[cands])[0]
    return cands[best] if best >= 0 else -1


def run(quick: bool = False) -> list[tuple]:
    from mask_selectors import crop_pictures, mask_crops, select_by_boxes, select_by_points

    from fastsam_plugin.engine.session import Session

    result, masks = _result(200)
    areas = result.areas
    print(f"workload: {len(result)} masks, area median {np.median(areas):.0f} px, "
          f"{int((areas >= 1024 * 1024 / 5).sum())} of a fifth of the image or more, "
          f"{areas.sum() / 1024**2:.1f} images deep in all", flush=True)
    rng = np.random.default_rng(2)
    k = 20 if quick else 50
    points = [np.array([[rng.integers(1024), rng.integers(1024)]]) for _ in range(k)]
    labels = np.array([1])
    # boxes drawn around objects (what users do), slightly loose
    chosen = rng.choice(len(result), k, replace=False)
    boxes = [np.clip(result.pixel_boxes[i] + rng.integers(-8, 9, 4), 0, 1024) for i in chosen]
    boxes = [bx if bx[2] > bx[0] and bx[3] > bx[1] else result.pixel_boxes[i] for bx, i in zip(boxes, chosen)]

    for p in points[:10]:  # same answers on every path
        want = select_by_points(masks, p, labels, areas=areas)
        assert np.array_equal(Session.select_points(result, p, labels), want)
        assert np.array_equal(_windowed_points(result, p, labels), want)
    for bx in boxes[:10]:
        want = select_by_boxes(masks, bx[None], areas=areas)[0]
        assert Session.select_boxes(result, bx[None])[0] == want == _windowed_box(result, bx)

    repeat = 3 if quick else 7
    wall = median_time([lambda: [Session.select_points(result, p, labels) for p in points],
                        lambda: [Session.select_boxes(result, bx[None]) for bx in boxes]], repeat)
    # CPU time of this process: single-threaded numpy work, so the latency on an idle core
    t_pt, t_pt_old, t_pt_full = median_time([
        lambda: [Session.select_points(result, p, labels) for p in points],
        lambda: [_windowed_points(result, p, labels) for p in points],
        lambda: [select_by_points(masks, p, labels, areas=areas) for p in points],
    ], repeat, time.process_time)
    t_bx, t_bx_old, t_bx_full = median_time([
        lambda: [Session.select_boxes(result, bx[None]) for bx in boxes],
        lambda: [_windowed_box(result, bx) for bx in boxes],
        lambda: [select_by_boxes(masks, bx[None], areas=areas) for bx in boxes],
    ], repeat, time.process_time)
    pick = list(chosen[:5])

    def old_paint():  # the replaced path: a full-size mask per object, then a full-image boolean index
        out = np.zeros(result.shape, np.int32)
        for k, i in enumerate(pick, start=1):
            out[Session.union_mask(result, [i])] = k
        return out

    assert np.array_equal(Session.selection_labels(result, pick), old_paint())
    t_paint, t_paint_old = median_time([lambda: Session.selection_labels(result, pick), old_paint], repeat,
                                       time.process_time)

    text_result, text_masks = _result(300, seed=1)
    text_areas = text_result.areas

    def old_text():  # the replaced session loop: mask_crops on each object's crop, one at a time
        out = []
        for i in range(len(text_result)):
            x0, y0, x1, y1 = text_result.pixel_boxes[i]
            one = mask_crops(text_result.image[y0:y1, x0:x1], text_result.crops[i][None], areas=text_areas[i : i + 1])
            out += one.crops
        return out

    new = crop_pictures(text_result.image, text_result.crops, text_result.pixel_boxes, areas=text_areas)
    ref = mask_crops(text_result.image, text_masks, areas=text_areas)
    assert all(np.array_equal(a, b) for a, b in zip(new.crops, ref.crops)) and len(new) == len(ref)
    t_txt, t_txt_old = median_time([
        lambda: crop_pictures(text_result.image, text_result.crops, text_result.pixel_boxes, areas=text_areas),
        old_text,
    ], repeat, time.process_time)
    n = len(points)
    ms = 1e3
    return [
        ("one point (session, on crops)", f"{t_pt / n * ms:.3f} ms (wall {wall[0] / n * ms:.2f})",
         f"{t_pt_old / n * ms:.2f} ms",
         f"{t_pt_full / n * ms:.2f} ms", f"{t_pt_old / t_pt:.0f}x", "< 1 ms"),
        ("one box (session, on crops)", f"{t_bx / n * ms:.3f} ms (wall {wall[1] / n * ms:.2f})",
         f"{t_bx_old / n * ms:.2f} ms",
         f"{t_bx_full / n * ms:.2f} ms", f"{t_bx_old / t_bx:.0f}x", "< 2 ms"),
        ("paint 5 chosen objects into labels", f"{t_paint * ms:.2f} ms", f"{t_paint_old * ms:.2f} ms", "",
         f"{t_paint_old / t_paint:.1f}x", ""),
        (f"text: encoder pictures for {len(text_result)} objects", f"{t_txt * ms:.1f} ms", f"{t_txt_old * ms:.1f} ms",
         "", f"{t_txt_old / t_txt:.1f}x", "< 50 ms"),
    ]


HEADER = ("prompt (1024 x 1024, 200 large overlapping masks)", "ours", "replaced session path",
          "full-mask rule, cached areas", "ours vs replaced", "goal")

if __name__ == "__main__":
    text = table(run("--quick" in sys.argv), HEADER)
    print(text)
    write_section("Prompts on large masks", f"Measured on {machine()}.\n\n{text}")
