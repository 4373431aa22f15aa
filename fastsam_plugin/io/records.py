"""Prompt records as JSON files (``--record prompts.json``; sidecars of accepted annotations).

A record may come from a collaborator, so what it names is checked when it is
read (:func:`read_records`), before anything is loaded or written:

* every object's ``output`` is one plain file-name part (it becomes
  ``<image>_<output>.tif`` inside ``--out``);
* ``weights`` (and a local ``clip_pretrained``) is a named model (``demo``,
  ``demo-nuclei``, ``demo-trees``, ``FastSAM-s``, ``FastSAM-x``: the bundled
  files or the weights cache) or a regular file, never a device, FIFO or
  ``/proc`` pseudo-file (hashing ``/proc/kcore`` would read for ever).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..engine.provenance import PromptRecord, RecordError
from .outputs import write_json
from .paths import NotARegularFileError, PathOutsideError, check_output_name, check_regular_file

#: a prompt record is small JSON (prompts, not pixels); a bigger file is not one
MAX_RECORD_BYTES = 64 * 1024 * 1024


def write_record(path: str | Path, record: PromptRecord | list[PromptRecord], *, overwrite: bool = False) -> Path:
    """Write one record, or several (one per image) as ``{"records": [...]}``, atomically."""
    data = record.to_dict() if isinstance(record, PromptRecord) else {"records": [r.to_dict() for r in record]}
    return write_json(path, data, overwrite=overwrite)


def _named_weights(spec: str) -> bool:
    """Whether ``spec`` is one of the project's model names (bundled, or FastSAM-s/x in the weights cache)."""
    from ..engine.weights import BUNDLED_SEGMENTERS, KNOWN_WEIGHTS

    stem = spec.removesuffix(".pt").lower()
    return spec.lower() in BUNDLED_SEGMENTERS or stem in {k.lower() for k in KNOWN_WEIGHTS}


def check_record_weights(weights: str | None, *, source: str | Path, what: str = "weights") -> str | None:
    """``weights`` from a record when it is a model name or a regular checkpoint file; else :class:`RecordError`.

    A path that does not exist passes (replay then says the weights are not
    found, as for any missing file); one that exists must be a non-empty
    regular file outside ``/proc``, ``/sys`` and ``/dev``.
    """
    if weights is None:
        return None
    if not isinstance(weights, str) or not weights or "\x00" in weights:
        raise RecordError(f"{source}: the record's {what} {weights!r} is not a model name or a file path.")
    if _named_weights(weights):
        return weights
    p = Path(weights).expanduser()
    try:
        check_regular_file(p, source=source, what=f"{what} file")
    except FileNotFoundError:
        return weights
    except NotARegularFileError as exc:
        raise RecordError(str(exc)) from None
    except OSError as exc:  # permission denied on the way, a loop of links
        raise RecordError(f"{source}: cannot use the record's {what} {weights!r} ({exc.strerror or exc}).") from None
    return weights


def _looks_like_path(value: str) -> bool:
    """An open_clip ``pretrained`` value that names a file rather than a tag such as ``openai``."""
    return os.sep in value or "/" in value or value.endswith((".pt", ".pth", ".bin", ".safetensors")) \
        or os.path.lexists(value)


def _check(record: PromptRecord, source: Path) -> PromptRecord:
    """Refuse a record whose names reach outside what the user named (see the module docstring)."""
    try:
        for obj in record.objects:
            check_output_name(obj.output, source=source)
    except PathOutsideError as exc:
        raise RecordError(str(exc)) from None
    check_record_weights(record.weights, source=source)
    if isinstance(record.clip_pretrained, str) and _looks_like_path(record.clip_pretrained):
        check_record_weights(record.clip_pretrained, source=source, what="CLIP weights")
    return record


def read_records(path: str | Path) -> list[PromptRecord]:
    """The records in a file written by :func:`write_record`, each checked (see the module docstring).

    Raises
    ------
    RecordError
        Missing, unreadable, not a record, or naming an output outside ``--out`` / weights
        that are not a model name or a regular file.
    """
    p = Path(path)
    try:
        if p.is_file() and p.stat().st_size > MAX_RECORD_BYTES:
            raise RecordError(f"{p} is {p.stat().st_size / 2**20:.0f} MiB: too big for a prompt record "
                              f"(at most {MAX_RECORD_BYTES // 2**20} MiB).")
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise RecordError(f"no prompt record at {p}.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise RecordError(f"{p.name} is not a readable JSON prompt record ({type(exc).__name__}).") from None
    items = data.get("records") if isinstance(data, dict) and "records" in data else [data]
    if not isinstance(items, list):
        raise RecordError(f"{p.name}: 'records' must be a list of prompt records.")
    return [_check(PromptRecord.from_dict(item), p) for item in items]
