"""Measure the evaluation figures and write docs/evaluation.md (and the boundary-speed row of docs/benchmarks.md).

Every number on that page comes from this script, together with the machine
it ran on (read at run time). Re-run to regenerate:

    nice -n 10 .venv/bin/python scripts/evaluation_report.py --bsds ../shared/data/bsds500

Parts (``--parts``, default all): ``human``, ``canny`` and ``demo`` score
BSDS500 val with the official one-to-one matching and with the ``--fast``
distance-transform approximation side by side; ``speed`` times 200 train
images at 99 thresholds (the demo model's edge maps, all cores); ``text``
measures the demo CLIP's top-1 text-prompt accuracy with both crop styles;
``models`` re-measures the shipped demo segmenter's recall for docs/models.md.
Results of each part are kept as JSON in ``--work`` so that a part can be
re-run alone; the page is rebuilt from all of them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from _common import cpu_name

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fastsam_plugin.evaluation.boundaries import DEFAULT_THRESHOLDS
from fastsam_plugin.evaluation.bsds import bsds_images, default_workers
from fastsam_plugin.evaluation.runner import evaluate_bsds_boundaries

PARTS = ("human", "canny", "demo", "speed", "text", "models")
DEMO_POINTS = ((320, 0.40), (320, 0.25), (416, 0.40), (416, 0.25))  # (imgsz, conf) of the shipped demo segmenter
DEMO_BSDS = {"imgsz": 480, "conf": 0.05, "iou": 0.9}  # as the BSDS rows of docs/models.md


def machine() -> dict:
    """What this ran on, read now."""
    import numba
    import scipy
    import skimage

    cpu = cpu_name()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu, "cores": default_workers(), "load_1min": round(os.getloadavg()[0], 1),
        "nice": os.nice(0), "python": platform.python_version(), "numpy": np.__version__,
        "scipy": scipy.__version__, "scikit-image": skimage.__version__, "numba": numba.__version__,
    }


def demo_edge_maps(root: Path, split: str, out: Path, limit: int | None = None) -> Path:
    """The demo segmenter's edge maps for a split, saved as 16-bit PNGs (kept between runs)."""
    import cv2

    from fastsam_plugin.engine.edges import edge_map
    from fastsam_plugin.engine.model import EverythingParams
    from fastsam_plugin.engine.pipeline import TileOptions
    from fastsam_plugin.engine.session import Session
    from fastsam_plugin.io import read_image

    out.mkdir(parents=True, exist_ok=True)
    items = bsds_images(root, split, limit)
    todo = [it for it in items if not (out / f"{it.stem}.png").exists()]
    if todo:
        session = Session("demo", "cpu", params=EverythingParams(**DEMO_BSDS), tiling=TileOptions(enabled=False))
        for it in todo:
            edges = edge_map(session.segment(read_image(it.image)))
            cv2.imwrite(str(out / f"{it.stem}.png"), np.round(edges * 65535).astype(np.uint16))
    return out


def both_rules(root: Path, source, limit: int | None) -> dict:
    res = {}
    for rule in ("optimal", "distance"):
        t0, stats = time.perf_counter(), {}
        res[rule] = evaluate_bsds_boundaries(root, source, split="val", limit=limit, rule=rule, stats=stats)
        res[rule]["seconds"] = time.perf_counter() - t0
        res[rule]["cpu_seconds"] = stats["cpu_seconds"]
    return res


def part_speed(root: Path, work: Path, limit: int | None, rules=("optimal", "distance")) -> dict:
    maps = demo_edge_maps(root, "train", work / "demo_edges_train", limit)
    res = {"images": len(bsds_images(root, "train", limit)), "thresholds": len(DEFAULT_THRESHOLDS),
           "workers": default_workers(), "machine": machine()}
    for rule in rules:
        t0, stats = time.perf_counter(), {}
        scores = evaluate_bsds_boundaries(root, maps, split="train", limit=limit, rule=rule, stats=stats)
        res[rule] = {"seconds": time.perf_counter() - t0, "cpu_seconds": stats["cpu_seconds"], "ODS": scores["ODS"]}
    return res


def part_text(n_scenes: int) -> dict:
    from fastsam_plugin.engine.clip import ClipEmbedder
    from fastsam_plugin.training.clip_demo import text_prompt_accuracy
    from fastsam_plugin.training.demo_quality import HELD_OUT_SEED

    emb = ClipEmbedder("demo", device="cpu")
    seeds = range(HELD_OUT_SEED, HELD_OUT_SEED + n_scenes)
    out = {"scenes": n_scenes}
    for style in ("tight", "fastsam"):
        acc, n = text_prompt_accuracy(emb, seeds, style=style)
        out[style] = {"accuracy": acc, "queries": n}
    return out


def part_models(n_scenes: int) -> dict:
    """Recall of the shipped demo segmenter at its operating points on held-out synthetic scenes."""
    from fastsam_plugin.engine.model import EverythingParams
    from fastsam_plugin.engine.pipeline import TileOptions
    from fastsam_plugin.engine.session import Session
    from fastsam_plugin.training.demo_quality import segmenter_recall

    rows = []
    for imgsz, conf in DEMO_POINTS:
        session = Session("demo", "cpu", params=EverythingParams(imgsz, conf, 0.9), tiling=TileOptions(enabled=False))
        rows.append({"imgsz": imgsz, "conf": conf, "recall": segmenter_recall(session, n_scenes=n_scenes)})
    return {"scenes": n_scenes, "rows": rows}


def write_models_blocks(results: dict) -> None:
    """The measured blocks of docs/models.md (shipped demo segmenter recall, demo CLIP accuracy)."""
    doc = REPO / "docs" / "models.md"
    if not doc.exists():
        return
    text = doc.read_text()
    blocks = {}
    if "models" in results:
        r, m = results["models"], results["models"]["machine"]
        blocks["segmenter"] = "\n".join([
            (f"Shipped demo segmenter (stage 2), re-measured by `scripts/evaluation_report.py` on {r['scenes']} "
            f"held-out scenes ({m['date']}, {m['cpu']}):"), "",
            "| imgsz | conf | recall@IoU 0.75 (objects > 200 px) |", "|---|---|---|",
            *[f"| {row['imgsz']} | {row['conf']:.2f} | {fmt(row['recall'])} |" for row in r["rows"]]])
    if "text" in results:
        t, m = results["text"], results["text"]["machine"]
        blocks["clip"] = (f"Measured by `scripts/evaluation_report.py` ({m['date']}, {m['cpu']}): "
                          f"**{fmt(t['tight']['accuracy'])} on {t['tight']['queries']} queries** with the default "
                          f"tight crops; {fmt(t['fastsam']['accuracy'])} with the original FastSAM crop style "
                          "(full frame, white outside the box; see docs/evaluation.md).")
    for name, block in blocks.items():
        begin, end = f"<!-- evaluation_report.py: {name} -->", f"<!-- /evaluation_report.py: {name} -->"
        if begin in text and end in text:
            text = text[: text.index(begin) + len(begin)] + "\n" + block + "\n" + text[text.index(end):]
    doc.write_text(text)


def fmt(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.3f}"


def render(results: dict) -> str:
    lines = ["# Evaluation: how the figures are measured, and what they are here", ""]
    lines += [
        "This page is written by `scripts/evaluation_report.py`; every figure below comes from its last run",
        "(re-run it to regenerate the tables). Each table names the machine and time it was measured on.",
        "",
        "## Boundary benchmark (BSDS500), as the official code",
        "",
        "`napari-fastsam eval --bsds ROOT --split SPLIT` follows the official BSDS500 benchmark",
        "(and the `edgesEvalDir` variant used for the SAM and FastSAM edge tables): at each of 99",
        "thresholds the edge map is binarised and thinned to one-pixel lines (scikit-image's `thin`,",
        "MATLAB's `bwmorph(.., 'thin', inf)`; `fastsam_plugin/evaluation/thinning.py` gives the same result faster);",
        "then, for each annotator separately, predicted and human pixels are matched one-to-one within",
        "0.0075 x the image diagonal at minimum total distance (`fastsam_plugin/evaluation/matching.py`,",
        "the official `correspondPixels`). A predicted pixel is correct when matched for any annotator;",
        "recall sums over annotators. Reported: ODS, OIS, AP (area under the PR curve) and R50 (recall at",
        "50% precision), the four columns of the paper's edge table (FastSAM 0.750 / 0.790 / 0.793 / 0.903,",
        "SAM 0.768 / 0.786 / 0.794 / 0.928, on the test split with the real weights).",
        "",
        "```bash",
        "napari-fastsam eval --bsds BSDS500/data --split test --weights FastSAM-x   # a model's edge maps (+ region AR)",
        "napari-fastsam eval --bsds BSDS500/data --split test --edge-maps my_edges/  # saved maps: <id>.png/.tif",
        "napari-fastsam eval --bsds BSDS500/data --split val --human                 # annotators vs each other",
        "napari-fastsam eval --bsds BSDS500/data --split val --canny --json          # the Canny reference, as JSON",
        "```",
        "",
        "Edge maps are read as uint8 (/255), uint16 (/65535) or float in [0, 1]. Images are scored in parallel",
        "processes (all cores; `--workers N`) with a progress bar on stderr. `--json` prints one object with",
        "`ODS`, `OIS`, `AP`, `R50` (and `ODS_P`, `ODS_R`, `ODS_threshold`), or `F`, `P`, `R` for `--human`;",
        "further rows (e.g. `--canny` beside `--edge-maps`) are nested under their names.",
        "The matching needs numba (a dependency); `solver=\"scipy\"` in `fastsam_plugin.evaluation.matching`",
        "solves the same problem with scipy only, about 100x slower.",
        "",
        "`--fast` swaps the matching for distance transforms (a pixel counts when any pixel of the other",
        "map is within reach, so one predicted pixel can stand for several human ones). It is an",
        "approximation; the tables below measure how much it overstates. Only the one-to-one figures are",
        "comparable with published tables.",
        "",
    ]
    val = {k: results[k] for k in ("human", "canny", "demo") if k in results}
    if val:
        m = next(iter(val.values()))["machine"]
        n = sorted({int(v["optimal"]["images"]) for v in val.values()})
        lines += [(f"BSDS500 **val** (the test split is not on this machine); where a table says fewer than its "
                   f"100 images ({'/'.join(map(str, n))} here), the first ones by id, as the cores were shared with "
                   "other jobs. "
                   f"Measured on {m['cpu']}, {m['cores']} cores: "
                   + "; ".join(f"{key} finished {v['machine']['date']} (load {v['machine']['load_1min']} then, "
                               f"nice {v['machine']['nice']})" for key, v in val.items()) + "."), ""]
    if "human" in val:
        h = val["human"]
        lines += ["| humans: each annotator vs the others, pooled | images | F | P | R | CPU time |",
                  "|---|---|---|---|---|---|"]
        for rule, name in (("optimal", "one-to-one (official)"), ("distance", "distance transform (`--fast`)")):
            r = h[rule]
            lines.append(f"| {name} | {int(r['images'])} | {fmt(r['F'])} | {fmt(r['P'])} | {fmt(r['R'])} | "
                         f"{r['cpu_seconds']:.0f} s |")
        lines += ["", (f"Published human F on the BSDS500 **test** split: 0.80. On val: "
                  f"{fmt(h['optimal']['F'])} one-to-one; the `--fast` rule adds "
                  f"{h['distance']['F'] - h['optimal']['F']:+.3f}."), ""]
    rows = [(k, name) for k, name in (("canny", "Canny (built-in reference, `--canny`)"),
                                      ("demo", ("demo segmenter edge maps (synthetic shapes only; imgsz 480, "
                                               "conf 0.05)"))) if k in val]
    if rows:
        lines += ["| edge maps | images | matching | ODS | OIS | AP | R50 | CPU time |",
                  "|---|---|---|---|---|---|---|---|"]
        for key, name in rows:
            for rule, rname in (("optimal", "one-to-one"), ("distance", "`--fast`")):
                r = val[key][rule]
                lines.append(f"| {name} | {int(r['images'])} | {rname} | {fmt(r['ODS'])} | {fmt(r['OIS'])} | {fmt(r['AP'])} | "
                             f"{fmt(r['R50'])} | {r['cpu_seconds']:.0f} s |")
        lines += ["", "Overstatement of `--fast` (distance transform minus one-to-one):", ""]
        for key, name in rows:
            d = {c: val[key]["distance"][c] - val[key]["optimal"][c] for c in ("ODS", "OIS", "AP")}
            lines.append(f"* {name}: ODS {d['ODS']:+.3f}, OIS {d['OIS']:+.3f}, AP {d['AP']:+.3f}")
        lines += ["", "R50 is n/a where precision never reaches 0.5.", "",
                  "For reference, the published Canny figures on BSDS500 test are ODS 0.611, OIS 0.676, AP 0.520",
                  "(Arbelaez et al. 2011; their Canny differs from ours in smoothing and thresholds).", ""]
    if "speed" in results:
        s = results["speed"]
        m = s["machine"]
        lines += ["## Speed", "",
                  (f"{s['images']} BSDS500 train images x {s['thresholds']} thresholds (the demo segmenter's edge "
                  f"maps from PNG), {s['workers']} worker processes, measured {m['date']} on {m['cpu']}, "
                  f"{m['cores']} cores, nice {m['nice']}, load {m['load_1min']} at the start (the cores were "
                  "shared with other jobs):"), "",
                  "| matching | wall time | CPU time of the scoring, all workers | CPU time / cores | ODS |",
                  "|---|---|---|---|---|",
                  *[f"| {name} | {s[r]['seconds'] / 60:.1f} min | {s[r]['cpu_seconds'] / 60:.1f} min | "
                    f"{s[r]['cpu_seconds'] / 60 / m['cores']:.1f} min | {fmt(s[r]['ODS'])} |"
                    for r, name in (("optimal", "one-to-one (official)"), ("distance", "distance transform (`--fast`)"))
                    if r in s],
                  "", "Goal: 200 images x 99 thresholds in under 15 minutes for the one-to-one run. The wall time is",
                  "what the run took on the shared machine; CPU time / cores is what it needs on the same cores when",
                  "nothing else runs." + (f" Only {s['images']} images were timed (the cores were saturated by other "
                                          f"jobs); at the measured CPU time per image, 200 images need "
                                          f"{s['optimal']['cpu_seconds'] / s['images'] * 200 / 60 / m['cores']:.1f} "
                                          "min on these cores." if s['images'] < 200 else ""), ""]
    if "text" in results:
        t = results["text"]
        m = t["machine"]
        lines += ["## Text prompts: crop style", "",
                  "`mask_selectors.mask_crops` cuts the picture CLIP sees for each mask. `style=\"tight\"` (this",
                  "project's default): the mask's box, white outside the *mask*. `style=\"fastsam\"` (the original",
                  "FastSAM code): the full frame, white outside the mask's *box*, the image unchanged inside it.",
                  f"Top-1 accuracy of \"the {{colour}} {{shape}}\" prompts with the bundled demo CLIP on {t['scenes']}",
                  ("held-out synthetic scenes (ground-truth masks; `fastsam_plugin.training.clip_demo."
                  "text_prompt_accuracy`), measured " f"{m['date']} on {m['cpu']}:"), "",
                  "| crop style | top-1 accuracy | queries |", "|---|---|---|",
                  f"| tight, white outside the mask (default) | {fmt(t['tight']['accuracy'])} | {t['tight']['queries']} |",
                  (f"| fastsam: full frame, white outside the box | {fmt(t['fastsam']['accuracy'])} | "
                  f"{t['fastsam']['queries']} |"), "",
                  "The demo CLIP was trained on tight crops, so this compares the styles on a model that favours",
                  "the default; with OpenAI's ViT-B-32 the gap may differ (no weights on this machine).", ""]
    return "\n".join(lines)


def write_benchmark_row(results: dict) -> None:
    """Replace (or append) the boundary-evaluation block of docs/benchmarks.md."""
    if "speed" not in results:
        return
    s = results["speed"]
    m = s["machine"]
    begin, end = "<!-- evaluation_report.py: boundary speed -->", "<!-- /evaluation_report.py -->"
    block = "\n".join([
        begin, "## Boundary evaluation (`napari-fastsam eval --bsds`)", "",
        (f"Written by `scripts/evaluation_report.py` ({m['date']}, {m['cpu']}, {m['cores']} cores, nice {m['nice']}, "
        f"load {m['load_1min']} at the start)."), "",
        "| BSDS500 boundaries | images x thresholds | workers | wall time (shared cores) | CPU time / cores | goal |",
        "|---|---|---|---|---|---|",
        *[f"| {name} | {s['images']} x {s['thresholds']} | {s['workers']} | {s[r]['seconds'] / 60:.1f} min | "
          f"{s[r]['cpu_seconds'] / 60 / m['cores']:.1f} min | {goal} |"
          for r, name, goal in (("optimal", "one-to-one matching (official)", "< 15 min for 200 x 99"),
                                ("distance", "distance transform (`--fast`, approximation)", "")) if r in s],
        *([(f"| one-to-one, estimated for 200 x {s['thresholds']} from the CPU time per image | | | | "
           f"{s['optimal']['cpu_seconds'] / s['images'] * 200 / 60 / m['cores']:.1f} min | < 15 min |")]
          if s["images"] < 200 else []),
        end])
    doc = REPO / "docs" / "benchmarks.md"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bsds", type=Path, default=REPO.parent / "shared" / "data" / "bsds500")
    ap.add_argument("--parts", default=",".join(PARTS))
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "napari-fastsam-eval")
    ap.add_argument("--limit", type=int, default=None, help="first N images of each split only (the page says how many)")
    ap.add_argument("--text-scenes", type=int, default=200)
    ap.add_argument("--speed-rules", default="optimal,distance", help="matching rules the speed part times")
    ap.add_argument("--no-write", action="store_true", help="measure only")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    store = args.work / "results.json"
    results = json.loads(store.read_text()) if store.exists() else {}
    for part in [p for p in args.parts.split(",") if p]:
        if part not in PARTS:
            raise SystemExit(f"unknown part {part!r}; choose from {', '.join(PARTS)}")
        print(f"== {part}", flush=True)
        if part in ("human", "canny"):
            res = both_rules(args.bsds, part, args.limit)
        elif part == "demo":
            res = both_rules(args.bsds, demo_edge_maps(args.bsds, "val", args.work / "demo_edges_val", args.limit),
                             args.limit)
        elif part == "speed":
            res = part_speed(args.bsds, args.work, args.limit, args.speed_rules.split(","))
        elif part == "models":
            res = part_models(args.text_scenes)
        else:
            res = part_text(args.text_scenes)
        res["machine"] = res.get("machine", machine())
        res["limit"] = args.limit
        results = json.loads(store.read_text()) if store.exists() else {}  # another part may have run meanwhile
        results[part] = res
        store.write_text(json.dumps(results, indent=1, default=float))
        print(json.dumps(res, default=float), flush=True)
    if not args.no_write:
        results = json.loads(store.read_text())
        (REPO / "docs" / "evaluation.md").write_text(render(results))
        write_benchmark_row(results)
        write_models_blocks(results)
        print("wrote docs/evaluation.md and the boundary row of docs/benchmarks.md")


if __name__ == "__main__":
    main()
