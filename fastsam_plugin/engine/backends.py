"""The backend registry: built-in FastSAM and open_clip, plus entry-point plugins."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pluggy

from ..errors import FastSAMError
from . import hookspecs
from .hookspecs import ENTRY_POINT_GROUP, PROJECT, hookimpl


class BackendError(FastSAMError, LookupError):
    """Unknown backend name."""


class _BuiltinBackends:
    """The backends that ship with napari-fastsam, registered like any plugin."""

    @hookimpl
    def fastsam_segmenters(self) -> dict[str, Callable[..., object]]:
        from .model import FastSAMSegmenter

        return {"fastsam": FastSAMSegmenter}

    @hookimpl
    def fastsam_embedders(self) -> dict[str, Callable[..., object]]:
        from .clip import ClipEmbedder

        return {"open_clip": ClipEmbedder}


def new_plugin_manager(load_entry_points: bool = True) -> pluggy.PluginManager:
    """A plugin manager with the built-ins and, optionally, installed entry points."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(_BuiltinBackends(), name="builtin")
    if load_entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm


@cache
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager (entry points loaded once)."""
    return new_plugin_manager()


def _collect(hook) -> dict[str, Callable[..., object]]:
    found: dict[str, Callable[..., object]] = {}
    for table in reversed(hook()):  # pluggy calls the last registered first; keep built-ins lowest
        found.update(table or {})
    return found


def segmenter_names(pm: pluggy.PluginManager | None = None) -> list[str]:
    """Names of every registered segmentation backend."""
    return sorted(_collect((pm or plugin_manager()).hook.fastsam_segmenters))


def embedder_names(pm: pluggy.PluginManager | None = None) -> list[str]:
    """Names of every registered text-embedding backend."""
    return sorted(_collect((pm or plugin_manager()).hook.fastsam_embedders))


def create_segmenter(name: str = "fastsam", pm: pluggy.PluginManager | None = None, **options):
    """Build the segmentation backend ``name`` with ``options``."""
    table = _collect((pm or plugin_manager()).hook.fastsam_segmenters)
    if name not in table:
        raise BackendError(f"no segmentation backend named {name!r}; installed: {sorted(table)}.")
    return table[name](**options)


def create_embedder(name: str = "open_clip", pm: pluggy.PluginManager | None = None, **options):
    """Build the text-embedding backend ``name`` with ``options``."""
    table = _collect((pm or plugin_manager()).hook.fastsam_embedders)
    if name not in table:
        raise BackendError(f"no text-embedding backend named {name!r}; installed: {sorted(table)}.")
    return table[name](**options)
