"""Screenshots of correcting labels from another tool (docs/annotate-finetune.md); needs a display or Xvfb.

    xvfb-run -a -s "-screen 0 2000x1400x24" .venv/bin/python scripts/label_edit_screenshots.py

Opens the DSB2018 nuclei image and its StarDist-distributed labels from
``../shared/data/microscopy`` (read in place, never copied), then drives the
**edit labels** panel as a user: two touching nuclei are merged by clicking
them (the kind of error a segmenter makes), a cut line is drawn along their
border, and **Split with line** separates them again. Saves
``docs/images/label_edit_line.png`` and ``docs/images/label_edit_split.png``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import tifffile

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "images"
DATA = REPO.parent / "shared" / "data" / "microscopy"
PAIR = (22, 73)  # two touching nuclei of the ground truth


def settle(app, n: int = 40) -> None:
    for _ in range(n):
        app.processEvents()
        time.sleep(0.01)


def save(viewer, name: str) -> None:
    """The window's middle band (the edited nuclei and the edit panel), as a PNG in docs/images."""
    from PIL import Image

    shot = viewer.screenshot(canvas_only=False, flash=False)
    h = shot.shape[0]
    Image.fromarray(shot[int(0.36 * h): int(0.88 * h), :, :3]).save(OUT / name, optimize=True)


def border_line(labels: np.ndarray, a: int, b: int, reach: float = 14.0) -> np.ndarray:
    """(2, 2) (row, col) end points of a straight line along the border of objects ``a`` and ``b``, extended."""
    touching = np.zeros(labels.shape, bool)
    for axis in (0, 1):
        for shift in (1, -1):
            touching |= (labels == a) & (np.roll(labels, shift, axis) == b)
    pts = np.argwhere(touching).astype(float)
    centre = pts.mean(0)
    direction = np.linalg.svd(pts - centre)[2][0]  # the border's main direction
    half = np.abs((pts - centre) @ direction).max() + reach
    return np.array([centre - half * direction, centre + half * direction])


def main() -> None:
    import napari
    from qtpy.QtWidgets import QApplication

    image_path, labels_path = DATA / "nuclei2d_dsb2018.tif", DATA / "nuclei2d_dsb2018_labels.tif"
    if not labels_path.exists():
        sys.exit(f"{labels_path} is missing: this script needs the shared microscopy data.")
    from fastsam_plugin.napari.widget import FastSAMWidget

    app = QApplication.instance() or QApplication(sys.argv)
    viewer = napari.Viewer(title="napari-fastsam: correct labels from another tool", show=True)
    viewer.window.resize(1900, 1100)
    viewer.add_image(tifffile.imread(image_path), name="nuclei (DSB2018)", colormap="gray")
    truth = tifffile.imread(labels_path).astype(np.int32)
    layer = viewer.add_labels(truth.copy(), name="stardist labels", opacity=0.5)
    widget = FastSAMWidget(viewer)
    dock = viewer.window.add_dock_widget(widget, name="FastSAM", area="right")
    from qtpy.QtCore import Qt

    viewer.window._qt_window.resizeDocks([dock], [700], Qt.Orientation.Horizontal)  # the whole panel in view
    panel = widget.label_edit
    panel.target.value = layer.name

    # an error to fix: merge the two nuclei by clicking them in the picks layer
    panel.pick.native.click()
    picks = viewer.layers[f"{layer.name} picks"]
    for i in PAIR:
        picks.add(np.argwhere(truth == i).mean(0).round())
    panel.merge.native.click()
    rows, cols = np.nonzero(np.isin(truth, PAIR))
    viewer.camera.center = (rows.mean(), cols.mean())
    viewer.camera.zoom = 7.0
    shapes = panel.cut_layer()
    shapes.add_lines(border_line(truth, *PAIR))
    settle(app)
    from qtpy.QtWidgets import QScrollArea

    scroll = widget.scroll  # the scroll area around the panels (widget.native is the dock frame with the status line)
    if isinstance(scroll, QScrollArea):  # the dock scrolls: show the edit panel
        scroll.ensureWidgetVisible(panel.native, 0, 200)
    settle(app)
    save(viewer, "label_edit_line.png")

    panel.split_line.native.click()
    settle(app)
    print(widget.status.value)
    save(viewer, "label_edit_split.png")
    after = layer.data
    for i in PAIR:  # how well each part matches the nucleus it came from
        part = np.bincount(after[truth == i]).argmax()
        inter = np.sum((after == part) & (truth == i))
        print(f"nucleus {i} -> id {part}: IoU {inter / np.sum((after == part) | (truth == i)):.3f}")
    viewer.close()


if __name__ == "__main__":
    main()
