"""``napari-fastsam demo``: the whole pipeline on a generated scene, offline.

Uses the bundled *demo* models (a small YOLOv8-seg and a small CLIP trained
on synthetic shapes, see ``docs/models.md``); they are not
FastSAM-s/x or ViT-B-32 and know only the synthetic world. Writes, for
everything mode and one point, one box and one text prompt, an overlay PNG and
a label TIFF, and prints how well each prompt found its ground-truth object.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from scipy import ndimage

from ..engine.session import demo_session
from ..io import overlay, write_labels
from ..training.synthetic import make_scene

DEMO_SIZE = (320, 320)
def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


def _save_png(path: Path, rgb: np.ndarray) -> None:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def run_demo(out: str | Path = "demo_out", *, seed: int = 2026, device: str = "auto") -> dict[str, float]:
    """Run everything mode and the three prompt kinds; return each prompt's IoU with the truth."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    scene = make_scene(seed, DEMO_SIZE, n_objects=(5, 7))
    session = demo_session(device)
    result = session.segment(scene.image, key="demo")
    _save_png(out / "scene.png", scene.image)
    write_labels(out / "everything_labels.tif", result.labels(), overwrite=True)
    _save_png(out / "everything.png", overlay(scene.image, result.labels()))
    print(f"everything mode: {len(result)} objects found, {len(scene.masks)} in the ground truth")

    areas = scene.masks.sum(axis=(1, 2))
    order = np.argsort(-areas)
    report: dict[str, float] = {"objects": float(len(result))}

    # point: the most interior pixel of the largest object
    target = order[0]
    y, x = np.unravel_index(np.argmax(ndimage.distance_transform_edt(scene.masks[target])), DEMO_SIZE)
    sel = session.select_points(result, np.array([[x, y]]), np.array([1]))
    pic = overlay(scene.image, sel.astype(np.int32))
    cv2.circle(pic, (int(x), int(y)), 4, (0, 255, 0), -1)
    _save_png(out / "point.png", pic)
    write_labels(out / "point_labels.tif", sel.astype(np.int32), overwrite=True)
    report["point_iou"] = _iou(sel, scene.masks[target])

    # box: the ground-truth box of the second-largest object
    target = order[min(1, len(order) - 1)]
    ys, xs = np.nonzero(scene.masks[target])
    box = np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    idx = session.select_boxes(result, box[None])
    sel = session.union_mask(result, idx)
    pic = overlay(scene.image, sel.astype(np.int32))
    cv2.rectangle(pic, (int(box[0]), int(box[1])), (int(box[2]) - 1, int(box[3]) - 1), (0, 255, 0), 1)
    _save_png(out / "box.png", pic)
    write_labels(out / "box_labels.tif", sel.astype(np.int32), overwrite=True)
    report["box_iou"] = _iou(sel, scene.masks[target])

    # text: an object whose colour and shape are unique in the scene; not a white one, which
    # disappears into the white background FastSAM paints around each crop (see docs/models.md)
    pairs = [(o.colour, o.shape) for o in scene.objects]
    target = next((i for i in order if pairs.count(pairs[i]) == 1 and pairs[i][0] != "white"), order[0])
    text = f"the {pairs[target][0]} {pairs[target][1]}"
    match = session.select_text(result, text)
    sel = session.union_mask(result, match.indices[0, :1])
    pic = overlay(scene.image, sel.astype(np.int32))
    cv2.putText(pic, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    _save_png(out / "text.png", pic)
    write_labels(out / "text_labels.tif", sel.astype(np.int32), overwrite=True)
    report["text_iou"] = _iou(sel, scene.masks[target])

    for name in ("point", "box", "text"):
        print(f"{name} prompt: IoU with the intended object {report[name + '_iou']:.3f}")
    print(f"wrote {out}/scene.png, everything.png, point.png, box.png, text.png and *_labels.tif")
    return report


def add_parser(sub) -> None:
    demo = sub.add_parser("demo", help="run the bundled demo models on a generated scene (offline)")
    demo.add_argument("--out", type=Path, default=Path("demo_out"))
    demo.add_argument("--seed", type=int, default=2026)
    demo.add_argument("--device", default="auto")
    demo.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from .batch import check_output_folder

    check_output_folder(args.out)  # a file in the way or a read-only folder: a usage error, before the models load
    run_demo(args.out, seed=args.seed, device=args.device)
    return 0
