"""Measure the prompt quality thresholds of the napari widget on the demo scenes.

For boxes: the box-to-mask IoU of the object FastSAM's box rule chooses, for
boxes drawn tightly around a true object ("good") and for boxes drawn on
background, away from every object ("bad"). For text: the CLIP similarity of
the object matching each caption ("right"), of the best other object
("wrong"), and the best similarity of a caption whose colour and shape match
no object of the scene ("absent"). Prints the distributions and the thresholds the widget uses
(``fastsam_plugin.napari.quality``); run ``python scripts/prompt_thresholds.py``.
"""

from __future__ import annotations

import numpy as np
from mask_selectors import box_mask_iou

from fastsam_plugin.engine.session import Session, demo_session
from fastsam_plugin.training.synthetic import COLOURS, SHAPES, make_scene


def chosen_iou(result, box: np.ndarray) -> tuple[int, float]:
    idx = int(Session.select_boxes(result, box[None])[0])
    if idx < 0:
        return -1, 0.0
    return idx, float(box_mask_iou(result.masks[idx][None], box[None])[0, 0])


def best_match(result, gt: np.ndarray) -> int:
    inter = (result.masks & gt).sum(axis=(1, 2))
    union = (result.masks | gt).sum(axis=(1, 2))
    iou = inter / np.maximum(union, 1)
    return int(np.argmax(iou)) if len(iou) and iou.max() > 0.5 else -1


def measure(seeds=range(100, 130)) -> dict[str, list[float]]:
    session = demo_session("cpu")
    rng = np.random.default_rng(0)
    out: dict[str, list[float]] = {"good box": [], "bad box": [], "right text": [], "wrong text": [], "absent text": []}
    for seed in seeds:
        scene = make_scene(seed)
        result = session.segment(scene.image)
        if len(result) == 0:
            continue
        present = {(o.colour, o.shape) for o in scene.objects}
        absent = [(c, sh) for c in COLOURS for sh in SHAPES if c not in {p[0] for p in present}
                  and sh not in {p[1] for p in present}]
        for colour, shape in absent[:3]:
            out["absent text"].append(float(session.select_text(result, f"a small {colour} {shape}").scores[0, 0]))
        covered = scene.masks.any(axis=0)
        h, w = covered.shape
        for gt, caption in zip(scene.masks, scene.captions):
            ys, xs = np.nonzero(gt)
            box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)
            out["good box"].append(chosen_iou(result, box)[1])
            # a box of the same size on background (less than 5 % object pixels)
            bw, bh = int(box[2] - box[0]), int(box[3] - box[1])
            for _ in range(20):
                x0, y0 = rng.integers(0, w - bw), rng.integers(0, h - bh)
                if covered[y0:y0 + bh, x0:x0 + bw].mean() < 0.05:
                    out["bad box"].append(chosen_iou(result, np.array([x0, y0, x0 + bw, y0 + bh], float))[1])
                    break
            target = best_match(result, gt)
            if target < 0:
                continue
            match = session.select_text(result, caption, top_k=len(result))
            scores = dict(zip(match.indices[0].tolist(), match.scores[0].tolist()))
            if target in scores:
                out["right text"].append(scores.pop(target))
                if scores:
                    out["wrong text"].append(max(scores.values()))
    return out


def main() -> None:
    from fastsam_plugin.napari.quality import MIN_BOX_IOU, min_text_similarity

    data = measure()
    for name, values in data.items():
        v = np.array(values)
        print(f"{name:11s} n={len(v):3d}  min {v.min():.3f}  p5 {np.percentile(v, 5):.3f}  median {np.median(v):.3f}"
              f"  p95 {np.percentile(v, 95):.3f}  max {v.max():.3f}")
    min_text = min_text_similarity("demo")
    good, bad = np.array(data["good box"]), np.array(data["bad box"])
    right, wrong = np.array(data["right text"]), np.array(data["wrong text"])
    print(f"box threshold {MIN_BOX_IOU}: keeps {np.mean(good >= MIN_BOX_IOU):.1%} of good boxes, "
          f"refuses {np.mean(bad < MIN_BOX_IOU):.1%} of background boxes")
    for t in (0.05, 0.1, 0.15, 0.2):
        print(f"  box {t}: keeps {np.mean(good >= t):.1%} good, refuses {np.mean(bad < t):.1%} background")
    absent = np.array(data["absent text"])
    for t in (0.0, 0.2, 0.3, 0.4, 0.5):
        print(f"  text {t}: keeps {np.mean(right >= t):.1%} right, refuses {np.mean(absent < t):.1%} absent")
    print(f"text threshold {min_text}: keeps {np.mean(right >= min_text):.1%} of right matches, "
          f"refuses {np.mean(wrong < min_text):.1%} of the best wrong ones")


if __name__ == "__main__":
    main()
