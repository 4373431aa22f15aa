"""Train and evaluate the small demo CLIP on synthetic shape crops.

The demo CLIP is an ordinary open_clip model (config
``fastsam_plugin/models/fastsam-demo-clip.json``, registered with
``open_clip.add_model_config``). It is trained contrastively on the crops that
:func:`mask_selectors.mask_crops` cuts from synthetic scenes, paired with
captions such as "a red circle". Captions that name the same colour and shape
are all positives for one another, so duplicates inside a batch are not
pushed apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mask_selectors import mask_crops, select_by_text

from .synthetic import make_scene

TEMPLATES = ("a {c} {s}", "a photo of a {c} {s}", "{c} {s}", "the {c} {s}", "select the {c} {s}")


@dataclass
class CropSet:
    """Preprocessed crops and the (colour, shape) class of each."""

    pixels: np.ndarray  # (M, 3, S, S) float32, the model's own preprocessing
    classes: list[tuple[str, str]]


def _crops_from_scenes(seeds: range, preprocess, size: int = 320) -> CropSet:
    import torch
    from PIL import Image

    tensors, classes = [], []
    for seed in seeds:
        scene = make_scene(seed, (size, size))
        if not len(scene.masks):
            continue
        crops = mask_crops(scene.image, scene.masks)
        for crop, i in zip(crops.crops, crops.indices):
            tensors.append(preprocess(Image.fromarray(crop)))
            obj = scene.objects[i]
            classes.append((obj.colour, obj.shape))
    return CropSet(torch.stack(tensors).numpy(), classes)


def train_demo_clip(out: str | Path, *, n_scenes: int = 2500, steps: int = 1500, batch: int = 256, seed: int = 0) -> Path:
    """Train the demo CLIP and save its weights (fp16 state dict) to ``out``.

    Parameters
    ----------
    out : path
        Checkpoint to write (loadable as ``pretrained=out``).
    n_scenes : int
        Synthetic training scenes (seeds ``seed .. seed + n_scenes - 1``).
    steps, batch : int
        AdamW steps and batch size.
    """
    import open_clip
    import torch

    from ..engine.clip import DEMO_CLIP_NAME, register_demo_config

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    register_demo_config()
    model, preprocess, _ = open_clip.create_model_and_transforms(DEMO_CLIP_NAME)
    tokenizer = open_clip.get_tokenizer(DEMO_CLIP_NAME)
    data = _crops_from_scenes(range(seed, seed + n_scenes), preprocess)
    class_names = sorted(set(data.classes))
    class_of = np.array([class_names.index(c) for c in data.classes])
    pixels = torch.from_numpy(data.pixels)

    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=steps, pct_start=0.1)
    model.train()
    for step in range(steps):
        idx = rng.choice(len(pixels), size=min(batch, len(pixels)), replace=False)
        images = pixels[idx]
        if rng.random() < 0.5:
            images = images.flip(-1)  # mirror: colour and shape are unchanged
        texts = [rng.choice(TEMPLATES).format(c=class_names[k][0], s=class_names[k][1]) for k in class_of[idx]]
        img = torch.nn.functional.normalize(model.encode_image(images), dim=-1)
        txt = torch.nn.functional.normalize(model.encode_text(tokenizer(texts)), dim=-1)
        logits = model.logit_scale.exp() * img @ txt.T
        same = torch.from_numpy(class_of[idx][:, None] == class_of[idx][None, :]).float()
        target = same / same.sum(1, keepdim=True)
        loss = (torch.sum(-target * logits.log_softmax(1), 1).mean() + torch.sum(-target * logits.log_softmax(0).T, 1).mean()) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step:5d}  loss {loss.item():.3f}", flush=True)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.half() for k, v in model.state_dict().items()}, out)
    return out


def text_prompt_accuracy(embedder, seeds: range, size: int = 320, style: str = "tight") -> tuple[float, int]:
    """Top-1 accuracy of "the {colour} {shape}" prompts on held-out scenes.

    ``style`` is the :func:`mask_selectors.mask_crops` picture style: "tight"
    (this project's default, which the demo CLIP was trained on) or "fastsam"
    (the original code's full frame, white outside the box).

    Only objects whose colour and shape are unique in their scene are asked
    for (otherwise two answers would be right). Ground-truth masks are used so
    the figure measures the text matching, not the segmenter.

    Returns
    -------
    accuracy : float
    n_queries : int
    """
    hits = total = 0
    for seed in seeds:
        scene = make_scene(seed, (size, size))
        if not len(scene.masks):
            continue
        crops = mask_crops(scene.image, scene.masks, style=style)
        if not len(crops):
            continue
        emb = embedder.encode_images(crops.crops)
        pairs = [(o.colour, o.shape) for o in scene.objects]
        for i, pair in enumerate(pairs):
            if pairs.count(pair) != 1 or i not in crops.indices:
                continue
            match = select_by_text(emb, embedder.encode_text([f"the {pair[0]} {pair[1]}"]), crops.indices)
            hits += int(match.indices[0, 0] == i)
            total += 1
    return (hits / total if total else float("nan")), total
