"""CLIP text and image embeddings with open_clip, batched.

The production default is ``ViT-B-32`` with OpenAI weights (downloaded by
open_clip on first use). ``model="demo"`` loads the small CLIP bundled with
this package, trained on synthetic shapes; it knows colours and shapes only.

Crop embeddings are cached by the :class:`~fastsam_plugin.engine.session.Session`
per result, so a second text query on the same result costs one text forward.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from ..errors import FastSAMError
from .device import resolve_device
from .weights import PACKAGE_MODELS, verify_weights

DEFAULT_CLIP_MODEL = "ViT-B-32"
DEFAULT_CLIP_PRETRAINED = "openai"
DEMO_CLIP_NAME = "fastsam-demo-clip"
DEMO_CLIP_CONFIG = PACKAGE_MODELS / f"{DEMO_CLIP_NAME}.json"
DEMO_CLIP_WEIGHTS = PACKAGE_MODELS / f"{DEMO_CLIP_NAME}.safetensors"  # read by open_clip without unpickling


NETWORK_PROBE_S = 3.0  # how long to wait for the download host to answer before calling the machine offline
DEMO_FIX = ("choose the demo text model in the dock's 'text model' field (--clip-model demo on the command line), "
            "or give a local CLIP checkpoint file")


class ClipLoadError(FastSAMError, RuntimeError):
    """CLIP weights or config could not be loaded; the message says what to do."""


def _hf_cached(repo: str, filename: str) -> str | None:
    """The cached Hugging Face file (or its .safetensors twin) of ``repo``, or None (never downloads)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    names = [filename]
    if filename.endswith(".bin"):  # open_clip prefers the safetensors twin where the hub has one
        names.insert(0, filename.replace("_pytorch_model.bin", "_model.safetensors").replace(".bin", ".safetensors"))
    for name in names:
        found = try_to_load_from_cache(repo, name)
        if isinstance(found, str) and os.path.isfile(found):
            return found
    return None


def cached_pretrained(model: str, tag: str) -> tuple[dict, str | None]:
    """open_clip's record of the ``tag`` weights of ``model``, and their cached file (None if not on this machine).

    Looks where open_clip itself downloads to: the Hugging Face cache, then
    ``~/.cache/clip`` for weights fetched from a URL. Never touches the network.

    Raises
    ------
    ClipLoadError
        ``tag`` is not one of open_clip's weights for ``model`` (the message lists them).
    """
    import open_clip
    from open_clip.pretrained import HF_WEIGHTS_NAME

    cfg = open_clip.get_pretrained_cfg(model, tag)
    if not cfg:
        known = open_clip.list_pretrained_tags_by_model(model) if model in open_clip.list_models() else []
        has = f" (it has: {', '.join(known)})" if known else ""
        raise ClipLoadError(f"open_clip has no weights {tag!r} for CLIP model {model!r}{has}: {DEMO_FIX}.")
    if cfg.get("hf_hub"):
        repo, filename = os.path.split(cfg["hf_hub"])  # 'org/model/' (no file name): open_clip's default file
        found = _hf_cached(repo, filename or HF_WEIGHTS_NAME)
        if found:
            return cfg, found
    if cfg.get("url"):
        local = Path("~/.cache/clip").expanduser() / os.path.basename(cfg["url"])
        if local.is_file():
            return cfg, str(local)
    return cfg, None


def _download_hosts(cfg: dict) -> list[tuple[str, int]]:
    """(host, port) that open_clip would download ``cfg``'s weights from (a proxy when one is set)."""
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    if proxy:
        parsed = urlparse(proxy if "://" in proxy else f"http://{proxy}")
        return [(parsed.hostname or "", parsed.port or 80)]
    hosts = []
    if cfg.get("hf_hub"):
        endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
        hosts.append((endpoint.hostname or "huggingface.co", endpoint.port or 443))
    if cfg.get("url"):
        hosts.append((urlparse(cfg["url"]).hostname or "", 443))
    return hosts


def reachable(host: str, port: int, timeout: float = NETWORK_PROBE_S) -> bool:
    """Whether a TCP connection to ``host:port`` opens within ``timeout`` seconds (name lookup included)."""
    answer: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                answer.append(True)
        except OSError:
            answer.append(False)

    thread = threading.Thread(target=probe, name="fastsam-network-probe", daemon=True)
    thread.start()
    thread.join(timeout)  # a name lookup can hang far longer than the socket timeout: do not wait for it
    return bool(answer and answer[0])


def offline_reason(cfg: dict) -> str | None:
    """Why ``cfg``'s weights cannot be downloaded now (Hugging Face offline mode, no network), or None."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set"
    hosts = _download_hosts(cfg)
    if hosts and not any(reachable(host, port) for host, port in hosts):
        return f"{hosts[0][0]} cannot be reached (no network)"
    return None


def register_demo_config() -> None:
    """Make the bundled demo architecture known to open_clip under :data:`DEMO_CLIP_NAME`."""
    import open_clip

    if DEMO_CLIP_NAME not in open_clip.list_models():
        open_clip.add_model_config(DEMO_CLIP_CONFIG)


def _looks_like_path(value: str) -> bool:
    """Whether ``pretrained`` names a file (missing or not) rather than an open_clip weights tag."""
    return os.sep in value or "/" in value or value.endswith((".pt", ".pth", ".bin", ".safetensors"))


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
        options: dict = {}
        if self.pretrained is not None and os.path.isfile(self.pretrained):
            verify_weights(self.pretrained)  # scanned (and pinned if bundled) before open_clip reads it
        elif self.pretrained is not None and not _looks_like_path(self.pretrained):
            options = self._cached_tag_options(model, self.pretrained)
        weights = options.pop("pretrained", self.pretrained)
        try:
            self.model, _, self.preprocess = open_clip.create_model_and_transforms(
                model, pretrained=weights, device=self.device, weights_only=True, **options  # never full unpickling
            )
            self.tokenizer = open_clip.get_tokenizer(model)
        except Exception as exc:
            raise ClipLoadError(
                f"could not load CLIP model {model!r} with weights {self.pretrained!r} "
                f"({type(exc).__name__}: {exc}). Offline, open_clip cannot download weights: {DEMO_FIX}."
            ) from None
        self.model.eval()
        self._torch = torch

    @staticmethod
    def _cached_tag_options(model: str, tag: str) -> dict:
        """open_clip options that load the ``tag`` weights from this machine's cache, at once.

        Asked for a weights tag (``"openai"``), open_clip asks the network even
        when the file is cached, and offline it retries for over a minute before
        failing. So: a cached file is loaded as a file, with the preprocessing
        and activation its record prescribes (the original OpenAI weights need
        QuickGELU); weights that are not cached are downloaded by open_clip when
        the download host answers, and refused at once when it does not.

        Raises
        ------
        ClipLoadError
            Not cached and no way to download them now; the message gives the fix.
        """
        cfg, found = cached_pretrained(model, tag)
        if found is None:
            reason = offline_reason(cfg)
            if reason is None:
                return {}  # online: open_clip downloads them (once)
            raise ClipLoadError(
                f"the text model {model} ({tag}) is not on this machine and cannot be downloaded now ({reason}): "
                f"{DEMO_FIX}. To use {model} offline, run it once on a connected machine and copy the Hugging "
                "Face cache (~/.cache/huggingface) here."
            )
        options: dict = {"pretrained": found, "force_quick_gelu": bool(cfg.get("quick_gelu", False))}
        for key, option in (("mean", "image_mean"), ("std", "image_std"), ("interpolation", "image_interpolation"),
                            ("resize_mode", "image_resize_mode")):
            if cfg.get(key) is not None:
                options[option] = cfg[key]
        return options

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
