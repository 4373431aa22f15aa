"""Model weights that never need unpickling: safetensors plus a JSON of architecture and operating point.

A pickled ``.pt`` checkpoint can only be read by unpickling it (restricted or not). This form holds
nothing but numbers and text:

* ``NAME.safetensors``: every tensor of the model's ``state_dict`` (the safetensors format is a JSON
  header and raw little-endian buffers; reading it runs no code);
* ``NAME.json``: ``{"format", "architecture" (the Ultralytics model YAML as a dict), "stride", "names",
  "record" (the operating point ``{"imgsz", "conf", "bands"...}`` of :mod:`.operating_point`), "weights"
  (the safetensors file name when written), "sha256" (of that file: it ties the pair together, so a
  pair renamed together still loads), "source" (what it was converted from)}``.

:func:`convert_checkpoint` writes it from a checkpoint the user trusts (``napari-fastsam weights
convert IN.pt OUT``); :func:`load_weights_file` reads it back: the JSON (size-capped), the weights' bytes
once (size-capped, sha256 checked against the JSON and, for bundled files, the pin), then the model is
built from the architecture on the ``meta`` device and given the tensors
(:func:`fastsam_plugin.engine.loader.model_from_state`), with the same limits as a checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..errors import FastSAMError
from .checkpoints import CheckpointFormatError

FORMAT = "napari-fastsam-weights/1"
MAX_JSON_BYTES = 1 << 20


class WeightsFormatError(CheckpointFormatError):
    """A safetensors + JSON pair that is incomplete, mismatched or not in napari-fastsam's format."""


def pair_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """The ``(NAME.safetensors, NAME.json)`` pair for either file name, or for ``NAME`` alone."""
    path = Path(path)
    base = path.with_suffix("") if path.suffix.lower() in (".safetensors", ".json") else path
    return base.with_name(base.name + ".safetensors"), base.with_name(base.name + ".json")


def is_weights_pair(path: str | os.PathLike) -> bool:
    """Whether ``path`` names one file of a safetensors + JSON pair in this format."""
    weights, meta = pair_paths(path)
    return Path(path).suffix.lower() in (".safetensors", ".json") and weights.is_file() and meta.is_file()


def read_description(path: str | os.PathLike) -> dict:
    """The JSON half of a pair, checked for its format and fields.

    Raises
    ------
    WeightsFormatError
    """
    from .loader import read_checkpoint_bytes

    _, meta = pair_paths(path)
    if not meta.is_file():
        raise WeightsFormatError(f"could not load {path}: its description {meta} is missing (a .safetensors file "
                                 "needs the .json written next to it by `napari-fastsam weights convert`).")
    from .weights import check_digest

    raw = read_checkpoint_bytes(meta, MAX_JSON_BYTES)
    check_digest(meta, hashlib.sha256(raw).hexdigest())  # bundled descriptions are pinned too
    try:
        desc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsFormatError(f"could not load {path}: {meta} is not valid JSON ({exc}).") from None
    fields = {"format": str, "architecture": dict, "stride": list, "names": dict, "record": dict, "weights": str,
              "sha256": str}
    if not isinstance(desc, dict) or desc.get("format") != FORMAT or not all(
            isinstance(desc.get(k), t) for k, t in fields.items()):
        raise WeightsFormatError(f"could not load {path}: {meta} is not a {FORMAT} description. Convert the "
                                 "checkpoint again with `napari-fastsam weights convert`.")
    return desc


def load_weights_file(path: str | os.PathLike):
    """Build the segmentation model of a safetensors + JSON pair; nothing is unpickled.

    Parameters
    ----------
    path : path
        ``NAME.safetensors`` or ``NAME.json``.

    Returns
    -------
    model : ultralytics.nn.tasks.SegmentationModel
        Float32, eval mode.
    checkpoint : dict
        ``{"model": model, "napari_fastsam": record, "train_args": {}}``, read like a checkpoint's records.

    Raises
    ------
    WeightsFormatError, ChecksumMismatchError, CheckpointLimitError
    """
    from safetensors import SafetensorError
    from safetensors.torch import load as load_tensors

    from .loader import model_from_state, read_checkpoint_bytes
    from .weights import check_digest

    weights, meta = pair_paths(path)
    desc = read_description(path)
    data = read_checkpoint_bytes(weights)
    digest = hashlib.sha256(data).hexdigest()
    check_digest(weights, digest)  # bundled files: their pins
    if digest != desc["sha256"]:
        from .checkpoints import ChecksumMismatchError

        raise ChecksumMismatchError(f"{weights} is not the file {meta} describes (its sha256 differs): one of the "
                                    "two was replaced. Convert the checkpoint again.")
    try:
        state = load_tensors(data)
    except (SafetensorError, ValueError) as exc:
        raise WeightsFormatError(f"could not load {weights}: it is not a readable safetensors file ({exc}).") from None
    names = {int(k): str(v) for k, v in desc["names"].items() if str(k).isdigit()}
    model = model_from_state(desc["architecture"], state, desc["stride"], weights,
                             {"names": names or {0: "object"}, "task": "segment"})
    from ultralytics.cfg import DEFAULT_CFG_DICT

    model.args = dict(DEFAULT_CFG_DICT)
    model.pt_path = str(weights)
    from .operating_point import CHECKPOINT_KEY

    return model, {"model": model, CHECKPOINT_KEY: dict(desc["record"]), "train_args": {}}


def check_weights_file(path: str | os.PathLike) -> str:
    """Check a safetensors file's size, pin and header without building anything; return its sha256.

    For weights another library reads itself (the demo CLIP, read by open_clip).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load as load_tensors

    from .loader import read_checkpoint_bytes
    from .weights import check_digest

    data = read_checkpoint_bytes(path)
    digest = hashlib.sha256(data).hexdigest()
    check_digest(path, digest)
    try:
        load_tensors(data)
    except (SafetensorError, ValueError) as exc:
        raise WeightsFormatError(f"could not load {path}: it is not a readable safetensors file ({exc}).") from None
    return digest


def convert_checkpoint(source: str | os.PathLike, out: str | os.PathLike, *, trust: bool = False,
                       half: bool = True) -> tuple[Path, Path]:
    """Write a checkpoint as a safetensors + JSON pair; later loads never unpickle.

    Parameters
    ----------
    source : path
        A ``.pt`` checkpoint (FastSAM-s/x, one of yours). Read through
        :func:`fastsam_plugin.engine.loader.load_checkpoint`; ``trust=True`` fully unpickles it (this once).
    out : path
        ``NAME``, ``NAME.safetensors`` or ``NAME.json``: both files are written.
    half : bool
        Store float tensors in half precision (as Ultralytics' checkpoints do; half the size).

    Returns
    -------
    (Path, Path)
        The safetensors and JSON files.
    """
    from safetensors.torch import save as save_tensors

    from .loader import load_checkpoint, segmentation_model_from_checkpoint
    from .operating_point import CHECKPOINT_KEY

    loaded = load_checkpoint(source, trust=trust, digest=True)
    model, ckpt = segmentation_model_from_checkpoint(loaded)
    record = ckpt.get(CHECKPOINT_KEY) if isinstance(ckpt.get(CHECKPOINT_KEY), dict) else {}
    return write_pair(model, out, record=_json_safe(record), source=f"{Path(source).name} sha256 {loaded.sha256}",
                      half=half, save=save_tensors)


def write_pair(model, out: str | os.PathLike, *, record: dict, source: str, half: bool = True, save=None,
               extra: dict | None = None) -> tuple[Path, Path]:
    """Write ``model`` (an Ultralytics segmentation model) as a safetensors + JSON pair."""
    import torch

    if save is None:
        from safetensors.torch import save as save
    weights, meta = pair_paths(out)
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {k: (v.half() if half and v.is_floating_point() else v).detach().contiguous().clone()
             for k, v in model.state_dict().items()}
    data = save(state, metadata={"format": FORMAT})
    arch = {k: v for k, v in dict(model.yaml).items() if k != "yaml_file"}
    stride = model.stride.tolist() if isinstance(model.stride, torch.Tensor) else list(model.stride)
    desc = {"format": FORMAT, "architecture": _json_safe(arch), "stride": [float(s) for s in stride],
            "names": {str(k): str(v) for k, v in dict(model.names).items()}, "record": record,
            "weights": weights.name, "sha256": hashlib.sha256(data).hexdigest(), "source": source, **(extra or {})}
    tmp = weights.with_name(weights.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(weights)
    meta.write_text(json.dumps(desc, indent=1) + "\n", encoding="utf-8")
    return weights, meta


def _json_safe(value):
    """Plain JSON values only (numbers, strings, lists, dicts with string keys)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise FastSAMError(f"cannot store {value!r} ({type(value).__name__}) in a weights description.")
