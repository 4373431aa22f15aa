"""Time loading a FastSAM-x-sized model in both forms: a pickled checkpoint through the restricted loader, and a
safetensors + JSON pair; plus plain ``torch.load`` and Ultralytics' own loader of the same file, for scale.

The model is YOLOv8x-seg with one class (FastSAM-x's architecture, 72 M parameters) and random weights, saved in
half precision as Ultralytics saves checkpoints (~145 MB, like FastSAM-x.pt). Nothing is committed; files go to a
temporary folder. Each form is loaded ``--repeat`` times after one warm-up (imports, page cache); the median is
printed as a Markdown table for docs/models.md.

    .venv/bin/python scripts/measure_weights_load.py
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def _median_seconds(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    import torch

    from fastsam_plugin.engine._ultralytics import ultralytics
    from fastsam_plugin.engine.loader import load_checkpoint, segmentation_model_from_checkpoint, yolo_from_model
    from fastsam_plugin.engine.safetensors_weights import convert_checkpoint, load_weights_file
    from fastsam_plugin.training.train import save_architecture_checkpoint

    torch.set_num_threads(max(1, torch.get_num_threads()))
    with tempfile.TemporaryDirectory() as tmp:
        pt = save_architecture_checkpoint("FastSAM-x", Path(tmp) / "fastsam-x-random.pt")
        weights, _ = convert_checkpoint(pt, Path(tmp) / "fastsam-x-random")
        ul = ultralytics()
        from ultralytics.nn import tasks

        def ours_pt():
            loaded = load_checkpoint(pt)
            model, ckpt = segmentation_model_from_checkpoint(loaded)
            return yolo_from_model(model, ckpt, pt)

        def ours_safetensors():
            model, ckpt = load_weights_file(weights)
            return yolo_from_model(model, ckpt, weights)

        def plain_torch_load():
            return torch.load(pt, map_location="cpu", weights_only=False)

        def ultralytics_safe():
            return ul.YOLO(str(pt), task="segment")  # tasks.SAFE_LOAD is on: torch.load(weights_only=True)

        def ultralytics_load_checkpoint():
            return tasks.load_checkpoint(str(pt))  # restricted torch.load + model.float(): any safe load's floor

        rows = [
            ("checkpoint (.pt) through napari-fastsam's loader (checks + restricted unpickling + rebuild)", ours_pt),
            ("safetensors + JSON (no unpickling)", ours_safetensors),
            ("plain torch.load(weights_only=False), for scale (no checks, model not usable yet)", plain_torch_load),
            ("Ultralytics YOLO(path) with its restricted mode, for scale", ultralytics_safe),
            ("Ultralytics load_checkpoint (restricted torch.load + float), the floor", ultralytics_load_checkpoint),
        ]
        assert tasks.SAFE_LOAD
        n_params = sum(p.numel() for p in ours_pt().model.parameters())
        print(f"model: YOLOv8x-seg nc=1, {n_params / 1e6:.1f} M parameters; .pt {pt.stat().st_size / 1e6:.0f} MB, "
              f".safetensors {weights.stat().st_size / 1e6:.0f} MB; torch threads {torch.get_num_threads()}")
        print("| load | median of %d (s) |" % args.repeat)
        print("|---|---|")
        times = {}
        for name, fn in rows:
            times[name] = _median_seconds(fn, args.repeat)
            print(f"| {name} | {times[name]:.2f} |")
        ours, floor = times[rows[0][0]], times[rows[-1][0]]
        print(f"loader overhead over the restricted-load floor: {ours - floor:+.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
