"""Keep triton from loading into a napari process that already holds Mesa's LLVM.

Under software OpenGL (Mesa llvmpipe/swrast: VMs, remote desktops, Xvfb) and
some AMD drivers, the GL stack maps ``libLLVM`` into the process. torchvision
imports ``torch._dynamo``, which imports triton, whose own bundled LLVM then
crashes the whole process (segmentation fault). When that LLVM is already
mapped and triton has not been imported yet, triton is marked unavailable:
torch runs as usual without ``torch.compile``'s GPU kernels, which this plugin
never uses.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def gl_llvm_loaded() -> bool:
    """Whether a system ``libLLVM`` is mapped into this process (Linux only)."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return False
    try:
        return "libLLVM" in maps.read_text()
    except OSError:
        return False


def guard_triton() -> bool:
    """Block triton's import when it would clash with the GL stack's LLVM; return True if blocked."""
    if "triton" in sys.modules or not gl_llvm_loaded():
        return False
    sys.modules["triton"] = None  # ``import triton`` now raises ImportError; torch handles that
    log.info("napari-fastsam: the OpenGL driver holds libLLVM; triton disabled in this process to avoid a crash")
    return True
