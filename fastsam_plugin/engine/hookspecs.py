"""pluggy hook specifications for segmentation backends and text embedders.

A third-party package adds a backend by exposing a module with
``@hookimpl``-decorated functions under the entry-point group
``napari_fastsam.backends``::

    # my_pkg/fastsam_backend.py
    from fastsam_plugin.engine.hookspecs import hookimpl

    @hookimpl
    def fastsam_segmenters():
        return {"my-model": MySegmenter}   # MySegmenter(**options).segment(rgb) -> SegmentationResult

    # pyproject.toml
    [project.entry-points."napari_fastsam.backends"]
    my-model = "my_pkg.fastsam_backend"
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

PROJECT = "napari_fastsam"
ENTRY_POINT_GROUP = "napari_fastsam.backends"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def fastsam_segmenters() -> dict[str, Callable[..., object]]:
    """Return ``{name: factory}``; ``factory(**options)`` builds an object with
    ``segment(image: (H, W, 3) uint8, **params) -> SegmentationResult``."""


@hookspec
def fastsam_embedders() -> dict[str, Callable[..., object]]:
    """Return ``{name: factory}``; ``factory(**options)`` builds an object with
    ``encode_images(crops) -> (M, D)`` and ``encode_text(texts) -> (T, D)``."""
