"""Find model weights: by name, by path, or from the environment.

Resolution order for :func:`resolve_weights`:

1. an explicit argument: ``"demo"``, ``"demo-nuclei"``, ``"demo-trees"``, ``"FastSAM-s"``/``"FastSAM-x"`` (with or
   without ``.pt``), or a path to an Ultralytics checkpoint or to converted weights (``.safetensors`` + ``.json``);
2. otherwise the environment variable ``NAPARI_FASTSAM_WEIGHTS`` (same forms);
3. otherwise ``"FastSAM-s"``.

Named FastSAM weights live in :func:`cache_dir` (``NAPARI_FASTSAM_CACHE``, or
``~/.cache/napari-fastsam``). When missing they are downloaded once from
Ultralytics' release assets; offline, the error names the file and the folder
to put it in.

Every checkpoint is read by :func:`fastsam_plugin.engine.loader.load_checkpoint`, which calls
:func:`check_digest` on the bytes it read: the bundled model files against sha256 values pinned
here, downloaded FastSAM weights against the sha256 recorded next to them at download time
(see SECURITY.md). The bundled models are safetensors + JSON pairs and are never unpickled.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from ..errors import FastSAMError
from .checkpoints import (
    CheckpointFormatError,
    ChecksumMismatchError,
    UnsafeCheckpointError,
    read_record,
    write_record,
)

PACKAGE_MODELS = Path(__file__).resolve().parents[1] / "models"  # fastsam_plugin/models
# bundled models: safetensors + JSON pairs (never unpickled; see .safetensors_weights)
DEMO_SEGMENTER = PACKAGE_MODELS / "fastsam-demo-n.safetensors"
NUCLEI_SEGMENTER = PACKAGE_MODELS / "fastsam-demo-nuclei.safetensors"  # fluorescence nuclei (docs/models.md)
TREES_SEGMENTER = PACKAGE_MODELS / "fastsam-demo-trees.safetensors"  # trees in 4-band aerial tiles (docs/models.md)
#: bundled segmenters by name (case-insensitive)
BUNDLED_SEGMENTERS = {"demo": DEMO_SEGMENTER, "demo-nuclei": NUCLEI_SEGMENTER, "demo-trees": TREES_SEGMENTER}
ASSET_URL = "https://github.com/ultralytics/assets/releases/download/v8.3.0/{name}.pt"
KNOWN_WEIGHTS = ("FastSAM-s", "FastSAM-x")
ENV_WEIGHTS = "NAPARI_FASTSAM_WEIGHTS"
ENV_CACHE = "NAPARI_FASTSAM_CACHE"

#: sha256 of the files shipped in fastsam_plugin/models/ (update together with the files; the JSON
#: descriptions are pinned too: they hold the architecture the weights are built into).
BUNDLED_SHA256 = {
    "fastsam-demo-n.safetensors": "7cf57ce5cd825ca567a454e28e398aa0804f4cf04921572ae6a79c56f8aa0f53",
    "fastsam-demo-n.json": "3a0714bc706fff40e10071edc71ae1c6ed7dc18b40840b87e637ac7dd1383435",
    "fastsam-demo-nuclei.safetensors": "ba02da8d82efe1b5c364a1ea0e32886ceb07180210e5561012bca9344e17d5ae",
    "fastsam-demo-nuclei.json": "986b6d9ee3408a4e50e5dff4da4d617587f21e2a814d3ebdc1916320b429d19f",
    "fastsam-demo-trees.safetensors": "0317cf0adcc3891bc555a999ff162fffc259f98aa3b9bbce32df155115e9d886",
    "fastsam-demo-trees.json": "2a249324940be3e9663420ea5c47704fc840a6fb2e96b3ddada1955cdef10190",
    "fastsam-demo-clip.safetensors": "60f606f52661bdd9749c48e3f53f922101d7247280e1370307c68211ee01ff0d",
    "fastsam-demo-clip.json": "7a60c967bbe05666aa33de4c04babfa0a0225bc733f3ee01c18844363d477523",
}

#: Expected (size in bytes, sha256) of the named downloads. Neither Ultralytics nor the FastSAM authors
#: publish checksums; these are the values shared by several independent public copies of the files
#: (recorded in issue 11). A download that differs is not refused for that alone (the pickle scan
#: decides), but the user is told plainly that it is not the widely seen file.
EXPECTED_SHA256 = {
    "FastSAM-s": (23_832_055, "e9034d7478a8e9d1bfb57b51592e521a253287c7cdcf79258f61ea6d68584a0d"),
    "FastSAM-x": (144_943_063, "c0be4e7ddbe4c15333d15a859c676d053c486d0a746a3be6a7a9790d52a9b6d7"),
}


class WeightsNotFoundError(FastSAMError, FileNotFoundError):
    """Weights are neither on disk nor downloadable; the message says where to put them."""


class UnrecognisedWeightsWarning(UserWarning):
    """Named weights whose sha256 is not the widely seen one (the scan still decides whether they load)."""


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
    bundled = BUNDLED_SEGMENTERS.get(text.lower())
    if bundled is not None:
        if not bundled.exists():
            raise WeightsNotFoundError(f"the {text.lower()} model {bundled} is missing: reinstall napari-fastsam.")
        return bundled
    name = _known_name(text)
    if name is None:
        path = Path(text).expanduser()
        if path.is_file():
            return path
        raise WeightsNotFoundError(
            f"weights {text!r} not found: give an existing checkpoint file, or one of "
            f"'demo', 'demo-nuclei', 'demo-trees', {', '.join(repr(k) for k in KNOWN_WEIGHTS)}."
        )
    target = cache_dir() / f"{name}.pt"
    if target.is_file():
        return target
    if download:
        try:
            _download(ASSET_URL.format(name=name), target)
            return target
        except FastSAMError:
            raise  # the download arrived but was refused (unsafe, damaged, too large): say so, not "offline"
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
    """Fetch ``url``, scan it, and only then move it to ``target`` with its sha256 record."""
    from torch.hub import download_url_to_file

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    try:
        download_url_to_file(url, str(partial), progress=True)
        from .loader import load_checkpoint

        digest = load_checkpoint(partial, trust=False, digest=True).sha256  # refused before it sits where loaders look
        partial.replace(target)
    except UnsafeCheckpointError as exc:
        raise UnsafeCheckpointError(f"{url} (downloaded, then deleted)", exc.refused, exc.problems) from None
    finally:
        partial.unlink(missing_ok=True)
    write_record(target, digest)
    _warn_if_unrecognised(target, digest)


def _named(path: Path) -> str | None:
    """The known name of a file in the weights cache (``FastSAM-s``), else None."""
    try:
        in_cache = path.resolve().parent == cache_dir().resolve()
    except OSError:
        return None
    return _known_name(path.name) if in_cache and path.suffix == ".pt" else None


def _warn_if_unrecognised(path: Path, digest: str) -> None:
    name = _known_name(path.name)
    if name is None or digest == EXPECTED_SHA256[name][1]:
        return
    size, expected = EXPECTED_SHA256[name]
    warnings.warn(
        f"{path} is not the widely seen {name}.pt (sha256 {digest}, {path.stat().st_size:,} bytes; the usual "
        f"file has sha256 {expected}, {size:,} bytes). It passed the safety scan and will be used; if you did "
        f"not expect a different file, delete it and its .sha256 record to download a fresh copy.",
        UnrecognisedWeightsWarning,
        stacklevel=3,
    )


def digest_needed(path: str | os.PathLike) -> bool:
    """Whether ``path`` has a pin or a download record to check (a bundled file, a named file in the cache)."""
    path = Path(path)
    try:
        bundled = path.resolve().parent == Path(PACKAGE_MODELS).resolve() and path.name in BUNDLED_SHA256
    except OSError:
        bundled = False
    return bundled or _named(path) is not None


def check_digest(path: str | os.PathLike, digest: str) -> None:
    """Check the sha256 of bytes read from ``path`` against its pin or download record.

    * a bundled model file must have the sha256 pinned in :data:`BUNDLED_SHA256`;
    * a named file in the cache (``FastSAM-s.pt``) must match the sha256 recorded next to it at
      download time; a file put there by hand gets its record (and a warning when it is not the
      widely seen file) once :func:`fastsam_plugin.engine.loader.load_checkpoint` accepts it.

    Raises
    ------
    ChecksumMismatchError
        The file changed since it was pinned or recorded (substituted or truncated).
    """
    path = Path(path)
    pinned = BUNDLED_SHA256.get(path.name) if path.resolve().parent == Path(PACKAGE_MODELS).resolve() else None
    if pinned is not None and digest != pinned:
        raise ChecksumMismatchError(
            f"the bundled model {path} is not the file napari-fastsam shipped (its sha256 differs): it was "
            "changed or damaged. Reinstall napari-fastsam (pip install --force-reinstall napari-fastsam)."
        )
    name = _named(path)
    recorded = read_record(path) if name else None
    if recorded is not None and digest != recorded:
        raise ChecksumMismatchError(
            f"{path} changed since it was downloaded (sha256 {digest}, recorded {recorded}): it was replaced or "
            f"truncated. Delete {path} and {path.name}.sha256 next to it and run again to download a fresh copy "
            f"(or copy {ASSET_URL.format(name=name)} there by hand)."
        )


def record_if_new(path: str | os.PathLike, digest: str) -> None:
    """Record the sha256 of a named cache file that passed the loader and has no record yet."""
    path = Path(path)
    if _named(path) and read_record(path) is None:
        write_record(path, digest)
        _warn_if_unrecognised(path, digest)


def verify_weights(path: str | os.PathLike, *, trust: bool | None = None) -> Path:
    """Check a checkpoint the way every load does; return its path.

    Reads it once through :func:`fastsam_plugin.engine.loader.load_checkpoint` (pins and records,
    archive checks, restricted unpickling; ``trust=True`` or
    ``$NAPARI_FASTSAM_TRUST_CHECKPOINTS`` skips only the unpickling restrictions), and records
    a named cache file put there by hand.

    Raises
    ------
    ChecksumMismatchError
        The file changed since it was pinned or recorded (substituted or truncated).
    UnsafeCheckpointError, CheckpointFormatError, CheckpointLimitError
        The loader refused the file.
    """
    from .loader import load_checkpoint

    path = Path(path)
    if not path.is_file():
        raise WeightsNotFoundError(f"weights {path} not found: give an existing checkpoint file.")
    if path.suffix.lower() in (".safetensors", ".json"):
        from .safetensors_weights import check_weights_file, is_weights_pair, load_weights_file, read_description

        if is_weights_pair(path) and path.suffix.lower() == ".safetensors":
            try:
                read_description(path)
            except CheckpointFormatError:  # a plain safetensors file (the demo CLIP's config is not ours)
                check_weights_file(path)
                return path
            load_weights_file(path)
        elif path.suffix.lower() == ".safetensors":
            check_weights_file(path)
        return path
    loaded = load_checkpoint(path, trust=trust, unpickle=False)  # checked; a trusted file is not unpickled here
    if loaded.sha256 is not None:
        record_if_new(path, loaded.sha256)
    return path
