"""What a Dask worker keeps between tasks: one loaded model per session settings."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ..engine.operating_point import UserChoice
from ..engine.pipeline import ImageOptions, TileOptions
from ..engine.session import Session


@dataclass(frozen=True)
class SessionSpec:
    """Everything a worker needs to build the same :class:`Session` as the client (picklable, hashable)."""

    weights: str | None = None
    device: str = "cpu"
    # only what the user set: each worker resolves it against the weights it loads, as the client's session does
    choice: UserChoice = field(default_factory=UserChoice)
    image_options: ImageOptions = field(default_factory=ImageOptions)
    tiling: TileOptions = field(default_factory=TileOptions)
    clip_model: str = "ViT-B-32"
    clip_pretrained: str | None = None

    def build(self) -> Session:
        """A new session with these settings (the model loads on first use)."""
        return Session(self.weights, self.device, self.clip_model, self.clip_pretrained, choice=self.choice,
                       image_options=self.image_options, tiling=self.tiling)


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
