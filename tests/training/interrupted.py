"""A training run stopped after its first epoch, as a crash or Ctrl-C would leave it (for the resume tests)."""

from __future__ import annotations

from pathlib import Path

import pytest


class Interrupted(Exception):
    pass


def _stop_after_first_epoch(trainer) -> None:
    if trainer.epoch == 0:
        raise Interrupted


def train_interrupted_after_first_epoch(data: Path, runs: Path, **train_kwargs) -> Path:
    """A 2-epoch ``train()`` of the demo model in ``runs/r``, stopped after epoch 1; returns its ``last.pt``."""
    from fastsam_plugin.training.train import train

    with pytest.raises(Interrupted):
        train(data, "demo", epochs=2, project=runs, name="r", plots=False, workers=0,
              callbacks={"on_fit_epoch_end": _stop_after_first_epoch}, **train_kwargs)
    return runs / "r" / "weights" / "last.pt"
