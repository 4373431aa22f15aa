"""Everything mode against the bare forward pass + NMS and against Ultralytics' retina pipeline.

Three pipelines on the same checkpoint, image and settings, timed interleaved
(medians of several runs, so that load on a shared machine hits all alike):

* forward + NMS: Ultralytics' letterbox, the network and NMS, no masks at all
  (``FastSAMSegmenter.predict_raw``): the floor any mask step adds to;
* ours: the same plus masks assembled inside their boxes in the image grid
  (``FastSAMSegmenter.segment``);
* Ultralytics: ``FastSAM(ckpt)(image, retina_masks=True)`` (every mask
  upsampled over the whole image, N x H x W).

The checkpoint is the FastSAM-s architecture (YOLOv8s-seg, one class) with
random weights: no pretrained weights exist here. It runs at conf 0.001 so that
it proposes many objects; ``max_det`` caps them at N. Peak memory of the mask
step is measured in a child process from the kernel's high-water mark.

``python bench/bench_everything.py`` writes its section of docs/benchmarks.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import machine, median_time, table, write_section

DOGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "fastsam_examples" / "images" / "dogs.jpg"
COUNTS = (10, 100, 300, 1000)
SIZES = (640, 1024)


def _image():
    from fastsam_plugin.io import read_image
    from fastsam_plugin.training.synthetic import make_scene

    return read_image(DOGS) if DOGS.exists() else make_scene(0, (603, 1072)).image


def run(quick: bool = False, arch: str = "FastSAM-s", sizes=SIZES, counts=COUNTS, conf: float = 0.001) -> list[tuple]:
    import torch

    from fastsam_plugin.engine._ultralytics import ultralytics
    from fastsam_plugin.engine.model import EverythingParams, FastSAMSegmenter, result_from_raw
    from fastsam_plugin.training.train import save_architecture_checkpoint

    ul = ultralytics()
    threads = torch.get_num_threads()
    image = _image()
    bgr = image[..., ::-1].copy()
    rows = []
    repeat = 3 if quick else 5
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = save_architecture_checkpoint(arch, Path(tmp) / f"{arch}.pt")
        ours = FastSAMSegmenter(ckpt, device="auto")
        theirs = ul.FastSAM(str(ckpt))
        for imgsz in sizes:
            for n in counts:
                params = EverythingParams(imgsz=imgsz, conf=conf, iou=0.9, max_det=n)
                raw = ours.predict_raw(image, params)
                kept = len(raw.boxes)
                found = len(ours.segment(image, **vars(params)))

                def bare(params=params):
                    return ours.predict_raw(image, params)

                def full(params=params):
                    return ours.segment(image, **vars(params))

                def retina(params=params):
                    return theirs(bgr, retina_masks=True, imgsz=params.imgsz, conf=params.conf, iou=params.iou,
                                  max_det=params.max_det, device=ours.device, verbose=False)

                retina()  # warm-up (predictor set-up)
                torch.set_num_threads(threads)  # Ultralytics' set-up drops to cpu_count - 1 threads: same for all
                t_bare, t_ours, t_theirs = median_time([bare, full, retina], repeat)
                t_masks = median_time([lambda raw=raw: result_from_raw(raw, image)], repeat)[0]
                goal = "<= 1.15x and <= 0.6x" if (imgsz, n) == (1024, 300) else ""
                rows.append((f"{arch} imgsz {imgsz}", f"{kept} ({found} masks)", f"{t_bare:.3f}", f"{t_ours:.3f}",
                             f"{t_masks * 1e3:.1f}", f"{t_theirs:.3f}", f"{t_ours / t_bare:.2f}x",
                             f"{t_ours / t_theirs:.2f}x", goal))
                print(" | ".join(rows[-1]), flush=True)
    mem = peak_memory(arch, 1000, (2048, 2048))
    rows.append((f"{arch} imgsz 1024, 2048 x 2048 image", f"{mem['objects']} ({mem['masks']} masks)", "", "", "", "",
                 f"mask step extra peak {mem['extra_mb']:.0f} MB",
                 f"Ultralytics' retina stack alone {mem['retina_mb']:.0f} MB", "extra peak < 200 MB"))
    return rows


def peak_memory(arch: str, n: int, hw: tuple[int, int]) -> dict:
    """Extra peak resident memory of the mask step for ``n`` objects on an ``hw`` image (child process)."""
    code = f"""
import json, sys, tempfile
from pathlib import Path
import cv2, numpy as np
sys.path.insert(0, {str(Path(__file__).parent)!r})
from bench_everything import _image
from fastsam_plugin.engine.model import EverythingParams, FastSAMSegmenter, result_from_raw
from fastsam_plugin.training.train import save_architecture_checkpoint

def status(key):
    for line in open('/proc/self/status'):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
image = cv2.resize(_image(), {hw[::-1]!r}, interpolation=cv2.INTER_LINEAR)
with tempfile.TemporaryDirectory() as tmp:
    seg = FastSAMSegmenter(save_architecture_checkpoint({arch!r}, Path(tmp) / 'm.pt'), device='cpu')
raw = seg.predict_raw(image, EverythingParams(imgsz=1024, conf=0.001, iou=0.9, max_det={n}))
result_from_raw(raw, image)  # warm-up: allocator pools, imports
with open('/proc/self/clear_refs', 'w') as f:
    f.write('5')  # reset the high-water mark to the current resident size
before = status('VmRSS:')
result = result_from_raw(raw, image)
print(json.dumps(dict(objects=len(raw.boxes), masks=len(result), extra_mb=status('VmHWM:') - before,
                      retina_mb=len(raw.boxes) * image.shape[0] * image.shape[1] / 2**20)))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


HEADER = ("everything mode (dogs.jpg 1072 x 603, random weights, conf 0.001)", "objects after NMS",
          "forward + NMS s", "ours s", "of which masks ms", "Ultralytics retina s", "ours / forward+NMS",
          "ours / Ultralytics", "goal")

if __name__ == "__main__":
    quick = "--quick" in sys.argv
    text = table(run(quick), HEADER)
    print(text)
    write_section("Everything mode", f"Measured on {machine()}.\n\n{text}")
