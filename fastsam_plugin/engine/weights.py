"""Find model weights: by name, by path, or from the environment.

Resolution order for :func:`resolve_weights`:

1. an explicit argument: ``"demo"``, ``"FastSAM-s"``/``"FastSAM-x"`` (with or
   without ``.pt``), or a path to an Ultralytics checkpoint;
2. otherwise the environment variable ``NAPARI_FASTSAM_WEIGHTS`` (same forms);
3. otherwise ``"FastSAM-s"``.

Named FastSAM weights live in :func:`cache_dir` (``NAPARI_FASTSAM_CACHE``, or
``~/.cache/napari-fastsam``). When missing they are downloaded once from
Ultralytics' release assets; offline, the error names the file and the folder
to put it in.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import FastSAMError

PACKAGE_MODELS = Path(__file__).resolve().parents[1] / "models"  # fastsam_plugin/models
DEMO_SEGMENTER = PACKAGE_MODELS / "fastsam-demo-n.pt"
ASSET_URL = "https://github.com/ultralytics/assets/releases/download/v8.3.0/{name}.pt"
KNOWN_WEIGHTS = ("FastSAM-s", "FastSAM-x")
ENV_WEIGHTS = "NAPARI_FASTSAM_WEIGHTS"
ENV_CACHE = "NAPARI_FASTSAM_CACHE"


class WeightsNotFoundError(FastSAMError, FileNotFoundError):
    """Weights are neither on disk nor downloadable; the message says where to put them."""


def cache_dir() -> Path:
    """Folder for downloaded weights (``$NAPARI_FASTSAM_CACHE`` or ``~/.cache/napari-fastsam``)."""
    env = os.environ.get(ENV_CACHE)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "napari-fastsam"


def _known_name(spec: str) -> str | None:
    stem = spec.removesuffix(".pt")
    for name in KNOWN_WEIGHTS:
        if stem.lower() == name.lower():
            return name
    return None


def resolve_weights(spec: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """Return the path of a checkpoint, downloading a named one when allowed.

    Parameters
    ----------
    spec : str or path, optional
        ``"demo"``, ``"FastSAM-s"``, ``"FastSAM-x"`` or a checkpoint path.
        ``None`` reads ``$NAPARI_FASTSAM_WEIGHTS``, then falls back to FastSAM-s.
    download : bool
        Try to fetch a named checkpoint that is not cached yet.

    Raises
    ------
    WeightsNotFoundError
        With the expected file name and folder.
    """
    if spec is None:
        spec = os.environ.get(ENV_WEIGHTS) or "FastSAM-s"
    text = str(spec)
    if text.lower() == "demo":
        if not DEMO_SEGMENTER.exists():
            raise WeightsNotFoundError(f"the demo model {DEMO_SEGMENTER} is missing: reinstall napari-fastsam.")
        return DEMO_SEGMENTER
    name = _known_name(text)
    if name is None:
        path = Path(text).expanduser()
        if path.is_file():
            return path
        raise WeightsNotFoundError(
            f"weights {text!r} not found: give an existing checkpoint file, or one of "
            f"'demo', {', '.join(repr(k) for k in KNOWN_WEIGHTS)}."
        )
    target = cache_dir() / f"{name}.pt"
    if target.is_file():
        return target
    if download:
        try:
            _download(ASSET_URL.format(name=name), target)
            return target
        except Exception as exc:  # offline, proxy, HTTP error: all end in the same advice
            reason = f" ({type(exc).__name__}: {exc})"
    else:
        reason = ""
    raise WeightsNotFoundError(
        f"{name}.pt is not on this machine and could not be downloaded{reason}. "
        f"Download {ASSET_URL.format(name=name)} on a connected machine and copy it to {target} "
        f"(or set {ENV_CACHE} to the folder holding it, or pass its path). "
        "To try the plugin offline, use the bundled demo model: weights='demo'."
    )


def _download(url: str, target: Path) -> None:
    from torch.hub import download_url_to_file

    target.parent.mkdir(parents=True, exist_ok=True)
    download_url_to_file(url, str(target), progress=True)  # writes a temp file, then renames
