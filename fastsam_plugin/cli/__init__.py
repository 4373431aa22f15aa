"""The ``napari-fastsam`` command line: thin commands over the engine, io, training and evaluation."""

from .main import main

__all__ = ["main"]
