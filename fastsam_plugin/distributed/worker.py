"""What a Dask worker keeps between tasks: one loaded model per session settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ..engine.model import EverythingParams
from ..engine.pipeline import ImageOptions, TileOptions
from ..engine.session import Session


@dataclass(frozen=True)
class SessionSpec:
    """Everything a worker needs to build the same :class:`Session` as the client (picklable, hashable)."""

    weights: str | None = None
    device: str = "cpu"
    params: EverythingParams = field(default_factory=EverythingParams)
    image_options: ImageOptions = field(default_factory=ImageOptions)
    tiling: TileOptions = field(default_factory=TileOptions)
    clip_model: str = "ViT-B-32"
    clip_pretrained: str | None = None
    object_size: float | None = None  # the user's --object-size (engine/scale.py): the same scale on every worker

    def build(self) -> Session:
        """A new session with these settings (the model loads on first use)."""
        return Session(self.weights, self.device, self.clip_model, self.clip_pretrained, params=self.params,
                       image_options=self.image_options, tiling=self.tiling, object_size=self.object_size)


_sessions: dict[SessionSpec, Session] = {}
_lock = threading.Lock()


def worker_session(spec: SessionSpec) -> Session:
    """The session for ``spec`` in this process, built (and its model loaded) once and then reused."""
    with _lock:
        session = _sessions.get(spec)
        if session is None:
            session = _sessions[spec] = spec.build()
            _ = session.segmenter  # load now, inside the lock: one model per worker process
        return session


def warm_up(spec: SessionSpec) -> str:
    """Load the model of ``spec`` in this worker now (``client.run(warm_up, spec)``); returns the weights' name."""
    worker_session(spec)
    return str(spec.weights)
