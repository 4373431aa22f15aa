"""Prompt records as JSON files (``--record prompts.json``; sidecars of accepted annotations)."""

from __future__ import annotations

import json
from pathlib import Path

from ..engine.provenance import PromptRecord, RecordError
from .outputs import write_json


def write_record(path: str | Path, record: PromptRecord | list[PromptRecord], *, overwrite: bool = False) -> Path:
    """Write one record, or several (one per image) as ``{"records": [...]}``, atomically."""
    data = record.to_dict() if isinstance(record, PromptRecord) else {"records": [r.to_dict() for r in record]}
    return write_json(path, data, overwrite=overwrite)


def read_records(path: str | Path) -> list[PromptRecord]:
    """The records in a file written by :func:`write_record`."""
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise RecordError(f"no prompt record at {p}.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError(f"{p.name} is not a readable JSON prompt record ({type(exc).__name__}).") from None
    items = data.get("records") if isinstance(data, dict) and "records" in data else [data]
    return [PromptRecord.from_dict(item) for item in items]
