"""How every label was made: the prompts, the model and the settings, recorded and replayable.

A :class:`PromptRecord` lists the objects a user made with prompts (points with
polarity, boxes, text with the rank of the match) together with the model
(name and sha256 of its file), the operating point, the image options and the
project version. Replaying it with :func:`replay` on the same image, model and
device gives the same labels: stage 2 of FastSAM is deterministic array work
over the stage-1 result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import FastSAMError
from .model import EverythingParams
from .pipeline import ImageOptions, TileOptions

FORMAT = "napari-fastsam prompt record"
FORMAT_VERSION = 1
KINDS = ("points", "box", "text")


class RecordError(FastSAMError, ValueError):
    """A prompt record that cannot be read or replayed; the message says what is wrong."""


@dataclass
class ObjectPrompt:
    """The prompt that made one object.

    Attributes
    ----------
    id : int
        The object's label id in its output.
    kind : str
        ``"points"``, ``"box"`` or ``"text"``.
    output : str
        Which label image the object went into (e.g. ``"points"``, ``"box"``,
        ``"text"`` for the CLI, or an annotation layer's name in napari).
    points : list of [x, y], optional
        Image pixel coordinates of point prompts.
    labels : list of int, optional
        Polarity of each point: 1 foreground, 0 background.
    box : [x0, y0, x1, y1], optional
    text : str, optional
    rank : int
        For text: which match (0 = best) became this object.
    smooth : bool
        Whether the selection was smoothed (close then open).
    slice : list of int
        Index of the 2D slice in a stack (empty for a 2D image).
    """

    id: int
    kind: str
    output: str
    points: list[list[float]] | None = None
    labels: list[int] | None = None
    box: list[float] | None = None
    text: str | None = None
    rank: int = 0
    smooth: bool = False
    slice: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise RecordError(f"object {self.id}: prompt kind must be one of {KINDS}; got {self.kind!r}.")
        need = {"points": self.points, "box": self.box, "text": self.text}[self.kind]
        if need is None:
            raise RecordError(f"object {self.id}: a {self.kind} prompt without its {self.kind}.")


@dataclass
class PromptRecord:
    """Prompts, model and settings of one image's objects (see the module docstring)."""

    weights: str
    weights_sha256: str | None
    params: EverythingParams
    image_options: ImageOptions = field(default_factory=ImageOptions)
    tiling: TileOptions = field(default_factory=TileOptions)
    image: str = ""
    image_shape: list[int] = field(default_factory=list)
    device: str = "cpu"
    clip_model: str = "ViT-B-32"
    clip_pretrained: str | None = None
    objects: list[ObjectPrompt] = field(default_factory=list)
    project_version: str = __version__
    # label edits made afterwards (merge, split, delete, set id, renumber), in order, as JSON-ready dicts;
    # ``objects`` already carry the ids after the edits, so replay paints merged objects with one id
    edits: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """A JSON-ready dict (``format`` and ``format_version`` first)."""
        return {"format": FORMAT, "format_version": FORMAT_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> PromptRecord:
        """Inverse of :meth:`to_dict`; raises :class:`RecordError` on a file of another kind or version."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise RecordError(f"not a {FORMAT} (no 'format': {FORMAT!r} field).")
        if data.get("format_version", 0) > FORMAT_VERSION:
            raise RecordError(f"this record has format version {data['format_version']}; this napari-fastsam "
                              f"reads up to {FORMAT_VERSION}: update napari-fastsam.")
        try:
            opts = dict(data.get("image_options") or {})
            for key in ("channels", "percentiles"):
                if opts.get(key) is not None:
                    opts[key] = tuple(opts[key])
            return cls(
                weights=data["weights"],
                weights_sha256=data.get("weights_sha256"),
                params=EverythingParams(**data["params"]),
                image_options=ImageOptions(**opts),
                tiling=TileOptions(**(data.get("tiling") or {})),
                image=data.get("image", ""),
                image_shape=list(data.get("image_shape", [])),
                device=data.get("device", "cpu"),
                clip_model=data.get("clip_model", "ViT-B-32"),
                clip_pretrained=data.get("clip_pretrained"),
                objects=[ObjectPrompt(**o) for o in data.get("objects", [])],
                project_version=data.get("project_version", "unknown"),
                edits=[dict(e) for e in data.get("edits", [])],
            )
        except (KeyError, TypeError) as exc:
            raise RecordError(f"the record is incomplete or malformed ({type(exc).__name__}: {exc}).") from None


def weights_digest(weights: str | None) -> str | None:
    """sha256 of the checkpoint file behind ``weights`` (a name or a path), or None when it cannot be found."""
    from .checkpoints import sha256_file
    from .weights import WeightsNotFoundError, resolve_weights

    try:
        return sha256_file(resolve_weights(weights, download=False))
    except (WeightsNotFoundError, OSError):
        return None


def new_record(session, image_name: str, image_shape: tuple[int, ...]) -> PromptRecord:
    """An empty record of ``session``'s model and settings for one image."""
    return PromptRecord(
        weights=str(session.weights) if session.weights is not None else "FastSAM-s",
        weights_sha256=weights_digest(session.weights),
        params=session.params,
        image_options=session.image_options,
        tiling=session.tiling,
        image=Path(image_name).name,
        image_shape=[int(v) for v in image_shape],
        device=str(session.device),
        clip_model=str(session.clip_model),
        clip_pretrained=None if session.clip_pretrained is None else str(session.clip_pretrained),
    )


def cli_objects(points=None, point_labels=None, boxes=None, text: str | None = None, top_k: int = 1,
                smooth: bool = False) -> list[ObjectPrompt]:
    """The objects the batch CLI makes from its prompt flags, as it numbers them in its outputs.

    ``points`` (all together) make object 1 of the ``points`` output; box ``k``
    makes object ``k + 1`` of ``box`` (later boxes painted over earlier ones);
    text match of rank ``r`` makes object ``r + 1`` of ``text``, listed from the
    last rank to the best so that the best match is painted last, on top.
    """
    objects: list[ObjectPrompt] = []
    if points is not None and len(points):
        labels = [1] * len(points) if point_labels is None else [int(v) for v in point_labels]
        objects.append(ObjectPrompt(1, "points", "points", points=[[float(x), float(y)] for x, y in points],
                                    labels=labels, smooth=smooth))
    for k, box in enumerate(boxes if boxes is not None else []):
        objects.append(ObjectPrompt(k + 1, "box", "box", box=[float(v) for v in box], smooth=smooth))
    if text:
        objects += [ObjectPrompt(r + 1, "text", "text", text=text, rank=r) for r in reversed(range(int(top_k)))]
    return objects


def replay(session, result, objects: list[ObjectPrompt]) -> dict[str, np.ndarray]:
    """Apply recorded prompts to a result: one ``(H, W)`` int32 label image per output name.

    Each object is painted with its recorded id; objects are painted in record
    order, so a later accept lies over an earlier one as it did when recorded.
    """
    outputs: dict[str, np.ndarray] = {}
    text_matches: dict[str, object] = {}
    for obj in objects:
        if obj.kind == "points":
            mask = session.select_points(result, np.asarray(obj.points, float), np.asarray(obj.labels),
                                         smooth=obj.smooth)
        elif obj.kind == "box":
            (index,) = session.select_boxes(result, np.asarray([obj.box], float))
            mask = session.union_mask(result, [index], smooth=obj.smooth) if index >= 0 else None
        else:
            if obj.text not in text_matches:
                top_k = 1 + max(o.rank for o in objects if o.kind == "text" and o.text == obj.text)
                text_matches[obj.text] = session.select_text(result, obj.text, top_k=top_k)
            indices = text_matches[obj.text].indices[0]
            mask = session.union_mask(result, [indices[obj.rank]], smooth=obj.smooth) \
                if obj.rank < len(indices) else None
        labels = outputs.setdefault(obj.output, np.zeros(result.shape, np.int32))
        if mask is not None:
            labels[mask] = obj.id
    return outputs
