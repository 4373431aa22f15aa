"""The nuclei model on the bundled synthetic volume, through the CLI's ``--stack --stitch 0.25`` at its defaults.

    .venv/bin/python scripts/evaluate_nuclei_3d.py [--weights demo-nuclei] [--data ../shared/data/microscopy]

Prints one markdown row: 3D objects found (one-to-one matches at 3D IoU >= 0.5, as StarDist's matching),
their mean IoU, and how many linked objects the CLI wrote (docs/models.md, issue 30).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import tifffile

REPO = Path(__file__).resolve().parents[1]


def match_3d(true: np.ndarray, pred: np.ndarray, threshold: float = 0.5) -> tuple[int, int, int, float]:
    """(matched true objects, true objects, predicted objects, mean IoU of the matches) of two label volumes."""
    from scipy.optimize import linear_sum_assignment

    from fastsam_plugin.evaluation.instances import iou_matrix

    ids = np.unique(pred)
    ids = ids[ids != 0]
    iou = iou_matrix(true, np.stack([pred == i for i in ids]) if len(ids) else np.zeros((0, *pred.shape), bool))
    n_true = iou.shape[0]
    if iou.size == 0:
        return 0, n_true, len(ids), float("nan")
    rows, cols = linear_sum_assignment(-iou)
    good = iou[rows, cols] >= threshold
    return int(good.sum()), n_true, len(ids), float(iou[rows, cols][good].mean()) if good.any() else float("nan")


def main(argv: list[str] | None = None) -> int:
    from fastsam_plugin.cli import main as cli

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="demo-nuclei")
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared/data/microscopy")
    args = ap.parse_args(argv)
    volume = args.data / "nuclei3d_synthetic.tif"
    true = tifffile.imread(args.data / "nuclei3d_synthetic_labels.tif")
    with tempfile.TemporaryDirectory() as out:
        code = cli(["segment", str(volume), "--weights", args.weights, "--device", "cpu", "--stack", "--stitch",
                    "0.25", "--out", out])
        if code != 0:
            raise SystemExit(f"segment failed (exit {code})")
        pred = tifffile.imread(next(Path(out).glob("*labels*.tif")))
    found, n_true, n_pred, mean_iou = match_3d(true, pred.reshape(true.shape))
    print("| weights | 3D objects found (IoU >= 0.5) | mean IoU of those | linked objects written |")
    print("|---|---|---|---|")
    print(f"| {args.weights} | {found} / {n_true} = **{found / n_true:.2f}** | {mean_iou:.3f} | {n_pred} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
