"""Check the light oldest-napari environment before its tests run (called by ``make test``).

The environment is a venv whose site-packages holds only napari ``EXPECTED`` and the few
packages it needs older; a ``.pth`` file appends the main venv's site-packages behind them.
This script fails (exit status 1, one line per problem) unless:

- ``napari.__version__`` is the expected one, imported from this venv;
- numpy, torch and Qt are imported from the main venv, and exactly one numpy, one torch and
  one Qt binding distribution are visible (two copies of a compiled package would mix ABIs).

Usage: ``.venv-napari-oldest/bin/python scripts/check_napari_oldest.py 0.5.6``
"""

from __future__ import annotations

import importlib
import sys
from importlib import metadata
from pathlib import Path


def _distributions(name: str) -> list[str]:
    """The site-packages folders holding a distribution called ``name`` (normally one)."""
    return [str(d.locate_file("")) for d in metadata.distributions() if (d.metadata["Name"] or "").lower() == name]


def problems(expected: str) -> list[str]:
    """What is wrong with this environment for the oldest-napari tests (empty when all is well)."""
    import napari
    import numpy
    import qtpy
    import torch

    binding = importlib.import_module(qtpy.API_NAME)  # PyQt6 with the [qt] extra
    own = Path(sys.prefix).resolve()
    found = []
    if napari.__version__ != expected:
        found.append(f"napari {napari.__version__} imported, expected {expected}")
    if own not in Path(napari.__file__).resolve().parents:
        found.append(f"napari imported from {napari.__file__}, not from {own}")
    for module in (numpy, torch, binding):
        if own in Path(module.__file__).resolve().parents:
            found.append(f"{module.__name__} installed again in {own}: it must come from the main venv")
    for name in ("numpy", "torch", qtpy.API_NAME.lower()):
        copies = _distributions(name)
        if len(copies) != 1:
            found.append(f"{len(copies)} {name} distributions visible: {copies}")
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: check_napari_oldest.py NAPARI_VERSION", file=sys.stderr)
        return 2
    found = problems(argv[0])
    for line in found:
        print(f"oldest-napari environment: {line}", file=sys.stderr)
    if not found:
        import napari
        import numpy
        import torch

        print(f"oldest-napari environment: napari {napari.__version__}, numpy {numpy.__version__}, "
              f"torch {torch.__version__} (numpy and torch shared with the main venv)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
