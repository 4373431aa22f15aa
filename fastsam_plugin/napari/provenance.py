"""Every accepted object records how it was made: prompts, model, operating point, version.

The prompt widgets leave the prompts behind the current selection in
``controller.selection_prompts`` (one :class:`ObjectPrompt` per selection id);
an accept copies them, renumbered to the new object ids, into the annotation
layer's metadata as a :class:`~fastsam_plugin.engine.provenance.PromptRecord`.
The record is saved as a JSON sidecar with the labels (the plugin's TIFF
writer) and replays with ``napari-fastsam replay``.
"""

from __future__ import annotations

from dataclasses import replace

from ..engine.provenance import ObjectPrompt, PromptRecord, new_record
from .layers import KEY, spatial_shape

RECORD = "record"  # key of the prompt record inside the layer's plugin metadata


def layer_record(layer) -> PromptRecord | None:
    """The prompt record an annotation layer carries, or None."""
    data = layer.metadata.get(KEY, {}).get(RECORD)
    return PromptRecord.from_dict(data) if data else None


def record_accept(layer, session, image, ids: dict[int, int], prompts: list[ObjectPrompt]) -> int:
    """Add the prompts of the accepted selection ids (``{selection id: new id}``) to ``layer``'s record.

    Returns how many objects were recorded (for undo).
    """
    record = layer_record(layer) or new_record(session, image.name, spatial_shape(image))
    added = [replace(p, id=ids[p.id], output=layer.name) for p in prompts if p.id in ids]
    record.objects += added
    meta = dict(layer.metadata)
    meta[KEY] = {**meta.get(KEY, {}), RECORD: record.to_dict()}
    layer.metadata = meta
    return len(added)


def forget_last(layer, n: int) -> None:
    """Undo of :func:`record_accept`: drop the last ``n`` recorded objects."""
    record = layer_record(layer)
    if record is None or n <= 0:
        return
    record.objects = record.objects[:-n]
    meta = dict(layer.metadata)
    meta[KEY] = {**meta.get(KEY, {}), RECORD: record.to_dict()}
    layer.metadata = meta
