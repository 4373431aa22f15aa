"""Prompt latency after everything mode (1024 x 1024, 200 masks), and our CLIP path against the original's.

The text reference is what the original FastSAM code does (``FastSAMPrompt.retrieve``):
preprocess every crop, stack them, and run the image encoder ONCE on the whole
stack. Ours encodes the crops in batches of 64 and caches them per result.
A per-crop loop (one encoder call per crop) is timed as an extra row, named as
such: it is not what the original does. Same model, same crops, same answer.
"""

from __future__ import annotations

import sys

import numpy as np
from _common import best_of, synthetic_masks, table


def _result(seed: int = 0):
    from mask_selectors import contour_boxes

    from fastsam_plugin.engine.result import SegmentationResult

    masks = synthetic_masks(200, (1024, 1024), seed)
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    for m in masks:
        image[m] = rng.integers(0, 256, 3)
    return SegmentationResult.from_masks(masks, contour_boxes(masks), rng.random(len(masks)), image), masks


def run(quick: bool = False) -> list[tuple]:
    import torch
    from mask_selectors import mask_crops, select_by_text
    from PIL import Image

    from fastsam_plugin.engine.clip import ClipEmbedder
    from fastsam_plugin.engine.session import Session

    result, masks = _result()
    session = Session(embedder=ClipEmbedder("demo", device="cpu"))
    rng = np.random.default_rng(2)
    pts = [(np.array([[rng.integers(1024), rng.integers(1024)]]), np.array([1])) for _ in range(10)]
    boxes = [result.pixel_boxes[i] for i in rng.choice(len(result), 10, replace=False)]
    t_points = best_of(lambda: [session.select_points(result, p, lb) for p, lb in pts], 3) / 10
    t_boxes = best_of(lambda: [session.select_boxes(result, b[None]) for b in boxes], 3) / 10

    crops = mask_crops(result.image, masks)

    def text_rows(emb, label, repeat):
        text = emb.encode_text(["a red circle"])

        def batched():
            return select_by_text(emb.encode_images(crops.crops), text, crops.indices).indices[0, 0]

        def retrieve():  # the original FastSAM retrieve: preprocess all crops, ONE encode call on the stack
            with torch.inference_mode():
                x = torch.stack([emb.preprocess(Image.fromarray(c)) for c in crops.crops])
                feats = torch.nn.functional.normalize(emb.model.encode_image(x).float(), dim=-1).numpy()
            return select_by_text(feats, text, crops.indices).indices[0, 0]

        def one_by_one():  # a per-crop loop (NOT the original): one encoder call per crop
            feats = []
            with torch.inference_mode():
                for c in crops.crops:
                    x = emb.preprocess(Image.fromarray(c))[None]
                    feats.append(torch.nn.functional.normalize(emb.model.encode_image(x).float(), dim=-1).numpy()[0])
            return select_by_text(np.array(feats), text, crops.indices).indices[0, 0]

        assert batched() == retrieve() == one_by_one()  # same model, same crops, same chosen mask
        t_batched = best_of(batched, repeat)
        t_retrieve = best_of(retrieve, repeat)
        t_loop = best_of(one_by_one, repeat)
        probe = Session(embedder=emb)
        probe.select_text(result, "a red circle")  # fills the per-result cache
        t_second = best_of(lambda: probe.select_text(result, "a blue square"), 3)
        return [
            (f"text, {label}: encode {len(crops)} crops, ours (batches of 64) vs original batched retrieve (one call)",
             f"{t_batched:.2f} s", f"{t_retrieve:.2f} s", f"{t_retrieve / t_batched:.2f}x"),
            (f"text, {label}: ours vs a per-crop loop (one call per crop; not the original)",
             f"{t_batched:.2f} s", f"{t_loop:.2f} s", f"{t_loop / t_batched:.1f}x"),
            (f"text, {label}: second query (cached crops) vs original retrieve (re-encodes every crop)",
             f"{t_second * 1e3:.1f} ms", f"{t_retrieve:.2f} s", f"{t_retrieve / t_second:.0f}x"),
        ]

    import open_clip

    vit, _, vit_pre = open_clip.create_model_and_transforms("ViT-B-32", pretrained=None)  # architecture only
    vit_emb = ClipEmbedder.from_model(vit, vit_pre, open_clip.get_tokenizer("ViT-B-32"))
    rows = text_rows(session.embedder, "demo CLIP", 2 if quick else 3)
    rows += text_rows(vit_emb, "ViT-B-32 architecture", 1)
    return [
        ("point prompt (session, on stored crops)", f"{t_points * 1e3:.2f} ms", "", ""),
        ("box prompt (session, on stored crops)", f"{t_boxes * 1e3:.2f} ms", "", ""),
        *rows,
    ]


def napari_latency() -> list[tuple]:
    """Time from adding a point to the updated selection layer, in a real viewer."""
    import time

    import napari

    from fastsam_plugin.engine.session import Session
    from fastsam_plugin.napari.widget import FastSAMWidget

    result, _ = _result(1)
    viewer = napari.Viewer(show=False)
    image = viewer.add_image(result.image, rgb=True)
    widget = FastSAMWidget(viewer)
    c = widget.controller
    c.image.value = image
    c._session = Session(weights="demo")
    c._settings = widget.model.model_settings()
    c._session._cache[c._session._key(c.key(image, ()))] = result
    points = widget.points.new_layer()
    rng = np.random.default_rng(3)
    times = []
    for _ in range(20):
        t0 = time.perf_counter()
        points.add([rng.integers(1024), rng.integers(1024)])
        times.append(time.perf_counter() - t0)
    t_move = []
    for _ in range(10):
        data = points.data.copy()
        data[-1] += 3
        t0 = time.perf_counter()
        points.data = data
        t_move.append(time.perf_counter() - t0)
    viewer.close()
    return [("napari: add a point -> selection layer updated", f"{np.median(times) * 1e3:.1f} ms", "", "goal < 50 ms"),
            ("napari: move a point -> selection layer updated", f"{np.median(t_move) * 1e3:.1f} ms", "", "goal < 50 ms")]


HEADER = ("prompt (1024 x 1024, 200 objects)", "ours", "reference", "ratio")

if __name__ == "__main__":
    rows = run("--quick" in sys.argv)
    import os

    if os.environ.get("DISPLAY"):
        rows += napari_latency()
    print(table(rows, HEADER))
