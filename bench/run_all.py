"""Run every benchmark and write docs/benchmarks.md (``make bench``; ``--quick`` for a short run)."""

from __future__ import annotations

import datetime
import os
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_checkpoint_scan
import bench_distributed
import bench_everything
import bench_gui_stall
import bench_memory
import bench_outputs
import bench_prompts
import bench_prompts_large
import bench_selectors
import bench_tiles
import bench_tiling
from _common import machine, table


def main() -> None:
    import torch
    import ultralytics

    quick = "--quick" in sys.argv
    parts = [f"# Benchmarks\n\nMeasured {datetime.date.today()} on {machine()}, torch {torch.__version__}, "
             f"Ultralytics {ultralytics.__version__}, device {'cuda' if torch.cuda.is_available() else 'cpu'}. "
             "Rerun with `make bench` (writes this file). Ratios are measured side by side in one run.\n"]
    sections = [
        ("Selectors (`mask_selectors`)", bench_selectors.run, bench_selectors.HEADER),
        ("Prompt latency", bench_prompts.run, bench_prompts.HEADER),
        ("Prompts on large masks", bench_prompts_large.run, bench_prompts_large.HEADER),
        ("Everything mode", bench_everything.run, bench_everything.HEADER),
        ("Tiling and stacks", bench_tiling.run, bench_tiling.HEADER),
        (bench_checkpoint_scan.TITLE, bench_checkpoint_scan.run, bench_checkpoint_scan.HEADER),
        (bench_outputs.TITLE, bench_outputs.run, bench_outputs.HEADER),
        (bench_memory.TITLE, bench_memory.run, bench_memory.HEADER),
        (bench_distributed.TITLE, bench_distributed.run, bench_distributed.HEADER),
        (bench_tiles.TITLE, bench_tiles.run, bench_tiles.HEADER),
    ]
    if os.environ.get("DISPLAY") or shutil.which("xvfb-run"):  # a real napari window, cold processes
        sections.append((bench_gui_stall.TITLE, bench_gui_stall.run, bench_gui_stall.HEADER))
    for title, fn, header in sections:
        print(f"== {title}", flush=True)
        rows = fn(quick)
        if title == "Prompt latency" and os.environ.get("DISPLAY"):
            rows += bench_prompts.napari_latency()
        text = table(rows, header)
        note = getattr(sys.modules.get(fn.__module__), "NOTE", "")  # how to read the table, when it needs saying
        text += f"\n\n{note}" if note else ""
        print(text, flush=True)
        parts.append(f"## {title}\n\n{text}\n")
    doc = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
    notes = (Path(__file__).parent / "NOTES.md").read_text() if (Path(__file__).parent / "NOTES.md").exists() else ""
    # sections that standalone benchmarks (bench_geotiff.py) wrote between <!-- name --> markers are kept
    old = doc.read_text() if doc.exists() else ""
    parts += [m.group(0) for m in re.finditer(r"<!-- (\w+) -->\n.*?<!-- /\1 -->\n", old, flags=re.DOTALL)]
    doc.write_text("\n".join(parts) + ("\n" + notes if notes else ""))
    print(f"wrote {doc}")


if __name__ == "__main__":
    main()
