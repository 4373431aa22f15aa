"""Everything mode: our pipeline against Ultralytics' own FastSAM on the same checkpoint and image.

Ours: normalise, infer, masks resampled inside their boxes only, boxes.
Ultralytics: ``FastSAM(ckpt)(image, retina_masks=True)`` (every mask upsampled
to full resolution). The checkpoint is the FastSAM-s architecture (YOLOv8s-seg,
one class); no pretrained weights exist here, so it is untrained and run at a
low confidence (0.001) so that it returns objects at all (both sides alike).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from _common import best_of, table

SHARED_CAT = Path(__file__).resolve().parents[2] / "shared" / "data" / "fastsam_examples" / "images" / "dogs.jpg"


def run(quick: bool = False, arch: str = "FastSAM-s", sizes=(640, 1024), conf: float = 0.001) -> list[tuple]:
    from fastsam_plugin.engine._ultralytics import ultralytics
    from fastsam_plugin.engine.model import FastSAMSegmenter
    from fastsam_plugin.engine.pipeline import segment_image
    from fastsam_plugin.io import read_image
    from fastsam_plugin.training.synthetic import make_scene
    from fastsam_plugin.training.train import save_architecture_checkpoint

    ul = ultralytics()
    image = read_image(SHARED_CAT) if SHARED_CAT.exists() else make_scene(0, (768, 1024)).image
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = save_architecture_checkpoint(arch, Path(tmp) / f"{arch}.pt")
        ours = FastSAMSegmenter(ckpt, device="auto")
        theirs = ul.FastSAM(str(ckpt))
        for imgsz in sizes:
            from fastsam_plugin.engine.model import EverythingParams

            params = EverythingParams(imgsz=imgsz, conf=conf, iou=0.9)

            def run_ours(params=params):
                return segment_image(ours, image, params=params)

            def run_theirs(imgsz=imgsz):
                return theirs(image[..., ::-1].copy(), retina_masks=True, imgsz=imgsz, conf=conf, iou=0.9,
                              device=ours.device, verbose=False)

            n = len(run_ours())
            run_theirs()  # warm-up
            repeat = 1 if quick else 3
            t_theirs = best_of(run_theirs, repeat)
            t_ours = best_of(run_ours, repeat)
            rows.append((f"{arch} imgsz {imgsz}", n, f"{t_ours:.2f}", f"{t_theirs:.2f}", f"{t_ours / t_theirs:.2f}",
                         "<= 1.1"))
    return rows


HEADER = ("everything mode", "objects", "ours s", "Ultralytics FastSAM s", "ours / theirs", "goal")

if __name__ == "__main__":
    print(f"image: {SHARED_CAT.name if SHARED_CAT.exists() else 'synthetic 768x1024'}")
    print(table(run("--quick" in sys.argv), HEADER))
