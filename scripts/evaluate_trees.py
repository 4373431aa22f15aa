"""Choose the trees model's operating point and write its figures into docs/models.md.

Usage: ``python scripts/evaluate_trees.py [--weights demo-trees] [--train-tiles 383] [--imgsz 384 448]``
(needs ``../shared/data/aerial/urban-trees``; read in place, never copied).

1. **Operating point, on training tiles only.** Every training tile is segmented
   once per NMS IoU at a low confidence; each candidate confidence is then a
   filter on the scores (NMS keeps a box only for higher-scoring boxes, so
   filtering afterwards gives what a run at that confidence gives), at each
   input size given with ``--imgsz`` (else the model's own). The point with
   the best pooled point-in-box F1 is chosen.
2. **Held-out figures, on the 43 validation tiles**, at that point, with
   :func:`fastsam_plugin.evaluation.trees.evaluate_trees` (the command
   ``napari-fastsam eval --trees``), and the old shapes demo beside it.

The table goes between the ``trees-eval`` markers of docs/models.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # bench/_common
DATA = REPO.parent / "shared" / "data" / "aerial" / "urban-trees"
START, END = "<!-- trees-eval:start -->", "<!-- trees-eval:end -->"
IOUS = (0.3, 0.5, 0.7)
CONFS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


def sweep(session, names, bands):
    """{(iou, conf): PointCounts} of point-in-box matching over ``names`` (one run per IoU)."""
    from fastsam_plugin.evaluation.points import PointCounts, count_box_matches, pixel_centres
    from fastsam_plugin.training.trees_data import false_colour, read_tile

    base = session.params
    counts = {}
    for iou in IOUS:
        session.params = replace(base, iou=iou, conf=min(CONFS))
        per_conf = {c: PointCounts() for c in CONFS}
        for name in names:
            image, points = read_tile(DATA, name)
            result = session.segment(false_colour(image, bands))
            centres = pixel_centres(points)
            for c in CONFS:
                per_conf[c] += count_box_matches(centres, result.boxes[result.scores >= c])
        counts.update({(iou, c): per_conf[c] for c in CONFS})
    session.params = base
    return counts


def main(argv=None) -> int:
    from bench._common import machine
    from fastsam_plugin.engine.session import Session
    from fastsam_plugin.evaluation.trees import PUBLISHED, evaluate_trees
    from fastsam_plugin.training.trees_data import TREE_BANDS, split_names

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="demo-trees")
    ap.add_argument("--label", help="the model's name in the table (default: --weights)")
    ap.add_argument("--train-tiles", type=int, default=383, help="training tiles used to choose the point")
    ap.add_argument("--imgsz", type=int, nargs="+",
                    help="input sizes to choose from as well (default: the model's recorded size only)")
    ap.add_argument("--doc", type=Path, default=REPO / "docs" / "models.md")
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        sys.exit(f"{DATA} is absent: this script needs ../shared/data/aerial/urban-trees")

    session = Session(args.weights, device="cpu")
    bands = session.model_bands or TREE_BANDS
    sizes = args.imgsz or [session.params.imgsz]
    t0 = time.perf_counter()
    train = split_names(DATA, "train")[: args.train_tiles]
    chosen = {}
    for size in sizes:
        session.params = replace(session.params, imgsz=size)
        chosen.update({(size, *point): counts for point, counts in sweep(session, train, bands).items()})
    (imgsz, iou, conf), best = max(chosen.items(), key=lambda kv: kv[1].scores()["F1"])
    print(f"chosen on {len(train)} training tiles: imgsz {imgsz}, conf {conf}, NMS IoU {iou}: {best.scores()}")

    rows = []
    session.params = replace(session.params, imgsz=imgsz, conf=conf, iou=iou)
    val = evaluate_trees(session, DATA, split="val", bands=bands, progress=False)
    label = args.label or args.weights
    rows.append((label, imgsz, conf, iou, val))
    for other_iou in IOUS:  # the neighbours of the chosen point, for the record
        if other_iou != iou:
            session.params = replace(session.params, iou=other_iou)
            rows.append((label, imgsz, conf, other_iou,
                         evaluate_trees(session, DATA, split="val", bands=bands, progress=False)))
    demo = Session("demo", device="cpu")
    rows.append(("demo (shapes)", demo.params.imgsz, demo.params.conf, demo.params.iou,
                 evaluate_trees(demo, DATA, split="val", bands=(1, 2, 3), progress=False)))
    minutes = (time.perf_counter() - t0) / 60

    lines = [
        f"Measured by `scripts/evaluate_trees.py` on {machine()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f" ({minutes:.0f} min).",
        "",
        f"Operating point chosen on the {len(train)} training tiles (best pooled point-in-box F1 over "
        f"{'imgsz ' + str(tuple(sizes)) + ' x ' if len(sizes) > 1 else ''}NMS IoU "
        f"{IOUS} x conf {CONFS}): **imgsz {imgsz}, conf {conf}, NMS IoU {iou}** (training-tile F1 "
        f"{best.scores()['F1']:.3f}). Held-out figures: the 43 `val_socal` tiles, which training never saw; "
        f"bands {','.join(map(str, bands))} for the trees model, 1,2,3 for the shapes demo.",
        "",
        "| model | imgsz | conf | NMS IoU | trees | objects | precision | recall | **F1** (point in box) "
        "| F1 (point in mask) | s / tile |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, size, c, i, res in rows:
        b, m = res["box"], res["mask"]
        lines.append(f"| {name} | {size} | {c} | {i} | {b['trees']} | {b['objects']} | {b['precision']:.3f} | "
                     f"{b['recall']:.3f} | **{b['F1']:.3f}** | {m['F1']:.3f} | "
                     f"{res['speed']['seconds per tile']:.3f} |")
    lines += ["", f"Published on the dataset's `{PUBLISHED['tiles']}` tiles (not in `../shared/data`): "
              f"{PUBLISHED['method']}, precision {PUBLISHED['precision']}, recall {PUBLISHED['recall']} "
              f"(F1 {PUBLISHED['F1']})."]
    block = "\n".join(lines)
    print(block)
    text = args.doc.read_text()
    if START in text and END in text:
        text = text[: text.index(START) + len(START)] + "\n" + block + "\n" + text[text.index(END):]
    else:
        text = text.rstrip() + f"\n\n{START}\n{block}\n{END}\n"
    args.doc.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
