"""CLIP text and image embeddings with open_clip, batched.

The production default is ``ViT-B-32`` with OpenAI weights (downloaded by
open_clip on first use). ``model="demo"`` loads the small CLIP bundled with
this package, trained on synthetic shapes; it knows colours and shapes only.

Crop embeddings are cached by the :class:`~fastsam_plugin.engine.session.Session`
per result, so a second text query on the same result costs one text forward.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..errors import FastSAMError
from .device import resolve_device
from .weights import PACKAGE_MODELS, verify_weights

DEFAULT_CLIP_MODEL = "ViT-B-32"
DEFAULT_CLIP_PRETRAINED = "openai"
DEMO_CLIP_NAME = "fastsam-demo-clip"
DEMO_CLIP_CONFIG = PACKAGE_MODELS / f"{DEMO_CLIP_NAME}.json"
DEMO_CLIP_WEIGHTS = PACKAGE_MODELS / f"{DEMO_CLIP_NAME}.pt"


class ClipLoadError(FastSAMError, RuntimeError):
    """CLIP weights or config could not be loaded; the message says what to do."""


def register_demo_config() -> None:
    """Make the bundled demo architecture known to open_clip under :data:`DEMO_CLIP_NAME`."""
    import open_clip

    if DEMO_CLIP_NAME not in open_clip.list_models():
        open_clip.add_model_config(DEMO_CLIP_CONFIG)


class ClipEmbedder:
    """Embed images and texts into CLIP's joint space.

    Parameters
    ----------
    model : str
        An open_clip model name (``"ViT-B-32"``), or ``"demo"``.
    pretrained : str or path, optional
        An open_clip pretrained tag (``"openai"``) or a local checkpoint file.
        Defaults: ``"openai"`` for ViT-B-32, the bundled weights for ``"demo"``.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"mps"``.
    batch_size : int
        Crops encoded per forward pass.
    """

    name = "open_clip"

    def __init__(
        self,
        model: str = DEFAULT_CLIP_MODEL,
        pretrained: str | os.PathLike | None = None,
        device: str = "auto",
        batch_size: int = 64,
    ) -> None:
        import open_clip
        import torch

        if model == "demo":
            register_demo_config()
            model, pretrained = DEMO_CLIP_NAME, pretrained or DEMO_CLIP_WEIGHTS
        elif pretrained is None:
            pretrained = DEFAULT_CLIP_PRETRAINED if model == DEFAULT_CLIP_MODEL else None
        self.model_name = model
        self.pretrained = str(pretrained) if pretrained is not None else None
        self.device = resolve_device(device)
        self.batch_size = int(batch_size)
        if self.pretrained is not None and os.path.isfile(self.pretrained):
            verify_weights(self.pretrained)  # scanned (and pinned if bundled) before open_clip reads it
        try:
            self.model, _, self.preprocess = open_clip.create_model_and_transforms(
                model, pretrained=self.pretrained, device=self.device, weights_only=True  # never full unpickling
            )
            self.tokenizer = open_clip.get_tokenizer(model)
        except Exception as exc:
            raise ClipLoadError(
                f"could not load CLIP model {model!r} with weights {self.pretrained!r} "
                f"({type(exc).__name__}: {exc}). Offline, open_clip cannot download weights: pass a local "
                "checkpoint file as pretrained=..., or use model='demo' for the bundled demo CLIP."
            ) from None
        self.model.eval()
        self._torch = torch

    @classmethod
    def from_model(cls, model, preprocess, tokenizer, device: str = "cpu", batch_size: int = 64) -> ClipEmbedder:
        """Wrap an already-built open_clip model (e.g. one you loaded or fine-tuned yourself)."""
        import torch

        self = cls.__new__(cls)
        self.model_name, self.pretrained = type(model).__name__, None
        self.model, self.preprocess, self.tokenizer = model.eval(), preprocess, tokenizer
        self.device, self.batch_size, self._torch = device, int(batch_size), torch
        return self

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return int(self.encode_text(["a"]).shape[1])

    def encode_images(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """L2-normalised embeddings of RGB crops, in batches of ``batch_size``.

        Parameters
        ----------
        crops : sequence of (h, w, 3) uint8

        Returns
        -------
        embeddings : (M, D) float32
        """
        from PIL import Image

        torch = self._torch
        chunks = []
        with torch.inference_mode():
            for start in range(0, len(crops), self.batch_size):
                batch = torch.stack([self.preprocess(Image.fromarray(c)) for c in crops[start : start + self.batch_size]])
                feats = self.model.encode_image(batch.to(self.device))
                chunks.append(torch.nn.functional.normalize(feats.float(), dim=-1).cpu().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), np.float32)

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised text embeddings.

        Returns
        -------
        embeddings : (T, D) float32
        """
        if isinstance(texts, str):
            texts = [texts]
        if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise ValueError("give at least one non-empty text prompt, e.g. 'a red circle'.")
        torch = self._torch
        with torch.inference_mode():
            feats = self.model.encode_text(self.tokenizer(list(texts)).to(self.device))
            return torch.nn.functional.normalize(feats.float(), dim=-1).cpu().numpy()
