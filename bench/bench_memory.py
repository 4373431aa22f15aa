"""Memory stays flat over a long session: 200 images segmented (and prompted) by one Session.

FastSAM users report growing memory in loops (FastSAM issue #182). This measures
the resident memory of this process after a warm-up and after 200 different
images, each segmented and prompted with a point, a box and a text query.
Goal: growth under 50 MB. ``python bench/bench_memory.py`` writes its section
of docs/benchmarks.md.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table, write_section

TITLE = "Memory over a long session"
HEADER = ("workload", "RSS after 20 images", "RSS after 200 images", "growth", "goal")


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def run(quick: bool = False) -> list[tuple]:
    from fastsam_plugin.engine.session import demo_session
    from fastsam_plugin.training.synthetic import make_scene

    session = demo_session("cpu")
    n = 100 if quick else 200
    marks = {}
    for i in range(n):
        scene = make_scene(10_000 + i, (320, 320), n_objects=(5, 8))
        result = session.segment(scene.image, key=("bench", i))  # cached like the widget's results (LRU)
        session.select_points(result, [[160, 160]], [1])
        session.select_boxes(result, [[40, 40, 200, 200]])
        session.select_text(result, "a red circle")
        if i + 1 in (20, n):
            gc.collect()
            marks[i + 1] = _rss_mb()
    growth = marks[n] - marks[20]
    return [(f"demo session: {n} images 320 x 320, each segmented, point + box + text prompts",
             f"{marks[20]:.0f} MB", f"{marks[n]:.0f} MB", f"{growth:+.1f} MB", "< 50 MB")]


def main() -> None:
    rows = run("--quick" in sys.argv)
    text = table(rows, HEADER)
    print(text)
    write_section(TITLE, f"Measured on {machine()}. `python bench/bench_memory.py` rewrites this section. The "
                         "session keeps its last 16 results (LRU cache) and their crop embeddings, so memory "
                         "levels off after 16 images.\n\n" + text)


if __name__ == "__main__":
    main()
