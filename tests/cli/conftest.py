"""Shared inputs of the CLI batch tests: small generated scenes and the demo model at a small input size."""

from __future__ import annotations

import cv2
import pytest

from fastsam_plugin.training.synthetic import make_scene

DEMO = ["--weights", "demo", "--device", "cpu", "--imgsz", "128"]


def scene_png(path, seed=1, size=(128, 128)):
    """Write a generated scene of coloured shapes as a PNG; return its path."""
    cv2.imwrite(str(path), make_scene(seed, size).image[..., ::-1])
    return path


@pytest.fixture
def two_scenes(tmp_path):
    """A folder ``in`` with scene1.png and scene2.png."""
    folder = tmp_path / "in"
    folder.mkdir()
    for k in (1, 2):
        scene_png(folder / f"scene{k}.png", k)
    return folder
