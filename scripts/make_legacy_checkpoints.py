"""Make the stand-ins for FastSAM-s.pt / FastSAM-x.pt that the loader tests read (tests/fixtures/checkpoints/).

Users' FastSAM checkpoints were saved by Ultralytics 8.0.x (mid-2023): pickled ``SegmentationModel`` objects
(half precision, ``Segment.detect = Detect.forward`` pickled through ``getattr``, training arguments as a dict,
module paths of that release). No pretrained weights exist here, so this script saves the same *layout* with
random weights:

* ``yolov8-seg-tiny-ul8.0.120.pt``: written by Ultralytics 8.0.120 the way its trainer ends a run
  (``save_model`` then ``strip_optimizer``: ``model`` = EMA in half precision, optimizer dropped,
  ``train_args`` the default-config keys);
* ``yolov8-seg-tiny-ul<today>.pt``: written by the installed Ultralytics (``YOLO.save``).

The architecture is YOLOv8-seg (the yolov8n-seg layer list, ``nc=1``) at width 1/16 so each file is a few
hundred KB; the layers, the head and the pickle layout are FastSAM's. Head biases are set so a random network
still proposes objects (masks to compare).

Usage (Ultralytics 8.0.120 in a throwaway venv, torch and numpy from the project's environment)::

    python3 -m venv --system-site-packages /tmp/old-ul
    /tmp/old-ul/bin/pip install "ultralytics==8.0.120" --no-deps
    .venv/bin/python scripts/make_legacy_checkpoints.py --old-site /tmp/old-ul/lib/python3.11/site-packages
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "checkpoints"
SCALE = [0.33, 0.0625, 1024]  # depth, width, max channels: yolov8n-seg's depth, 1/16 of the base width


def _architecture(load_yaml) -> dict:
    arch = dict(load_yaml("yolov8n-seg.yaml"))
    arch["nc"] = 1
    arch["scales"] = {"n": SCALE}
    arch["scale"] = "n"
    arch.pop("yaml_file", None)
    return arch


def _randomise(model, seed: int) -> None:
    """Random weights (seeded, PyTorch's default initialisation, BatchNorm statistics drawn too) with class
    biases of 1 and box biases of 2 so the network proposes objects with varied masks."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.copy_(torch.randn(module.running_mean.shape, generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(module.running_var.shape, generator=gen) + 0.5)
                module.weight.copy_(torch.rand(module.weight.shape, generator=gen) + 0.5)
                module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.1)
        head = model.model[-1]
        for box, cls in zip(head.cv2, head.cv3):
            box[-1].bias.fill_(2.0)
            cls[-1].bias.copy_(torch.randn(cls[-1].bias.shape, generator=gen))


def save_old(out: Path) -> Path:
    """Run under Ultralytics 8.0.120: its trainer's final checkpoint layout."""
    from copy import deepcopy
    from datetime import datetime

    import torch
    import ultralytics
    from ultralytics.nn.tasks import SegmentationModel, yaml_model_load
    from ultralytics.yolo.cfg import get_cfg
    from ultralytics.yolo.utils import DEFAULT_CFG_DICT, DEFAULT_CFG_KEYS

    torch.manual_seed(0)
    model = SegmentationModel(_architecture(yaml_model_load), ch=3, nc=1, verbose=False)
    _randomise(model, 0)
    args = get_cfg(overrides={"model": "yolov8n-seg.yaml", "data": "sa.yaml", "imgsz": 1024, "epochs": 100})
    model.args = args  # the trainer attaches its arguments (an IterableSimpleNamespace) to the model
    model.names = {0: "object"}
    ema = deepcopy(model)
    ckpt = {  # BaseTrainer.save_model
        "epoch": 99, "best_fitness": 0.5, "model": deepcopy(model).half(), "ema": ema.half(), "updates": 1000,
        "optimizer": None, "train_args": vars(args), "date": datetime.now().isoformat(),
        "version": ultralytics.__version__,
    }
    args_all = {**DEFAULT_CFG_DICT, **ckpt["train_args"]}  # strip_optimizer
    ckpt["model"] = ckpt["ema"]
    for key in ("optimizer", "best_fitness", "ema", "updates"):
        ckpt[key] = None
    ckpt["epoch"] = -1
    ckpt["model"].half()
    for p in ckpt["model"].parameters():
        p.requires_grad = False
    ckpt["train_args"] = {k: v for k, v in args_all.items() if k in DEFAULT_CFG_KEYS}
    path = out / f"yolov8-seg-tiny-ul{ultralytics.__version__}.pt"
    torch.save(ckpt, path)
    return path


def save_today(out: Path) -> Path:
    """Run under the installed Ultralytics: ``YOLO.save`` of a model built from the architecture."""
    import tempfile

    import torch
    import yaml

    os.environ.setdefault("YOLO_OFFLINE", "1")
    import ultralytics
    from ultralytics.nn.tasks import yaml_model_load

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "yolov8n-seg.yaml"  # the scale letter in the name picks scale "n"
        cfg.write_text(yaml.safe_dump(_architecture(yaml_model_load)))
        yolo = ultralytics.YOLO(str(cfg), task="segment")
    _randomise(yolo.model, 0)
    yolo.model.names = {0: "object"}
    yolo.model.half()
    path = out / f"yolov8-seg-tiny-ul{ultralytics.__version__}.pt"
    yolo.save(str(path))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-site", type=Path, help="site-packages holding Ultralytics 8.0.120")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--only", choices=("old", "today"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only == "old":
        print(save_old(args.out))
        return 0
    if args.only == "today":
        print(save_today(args.out))
        return 0
    if args.old_site is None:
        parser.error("--old-site is required (see the module docstring)")
    env = {**os.environ, "PYTHONPATH": str(args.old_site), "YOLO_OFFLINE": "1"}
    subprocess.run([sys.executable, __file__, "--only", "old", "--out", str(args.out)], env=env, check=True)
    subprocess.run([sys.executable, __file__, "--only", "today", "--out", str(args.out)], check=True)
    for f in sorted(args.out.glob("*.pt")):
        print(f"{f.name}: {f.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
