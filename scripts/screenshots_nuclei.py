"""Screenshots of the nuclei model on the real DSB2018 image for docs/microscopy.md (needs a display or Xvfb).

    xvfb-run -a .venv/bin/python scripts/screenshots_nuclei.py [../shared/data/microscopy]

The image is read from the shared data folder (never copied into the
repository); only the screenshots are written, to ``docs/images/nuclei_*.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from microscopy_screenshots import settle  # the dock's event-loop wait, shared by the screenshot scripts

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "images"


def segmented(image_data, name: str, max_det: int | None = None, **layer_kwargs):
    """A viewer with ``image_data`` and the dock, demo-nuclei's everything mode run on it; (viewer, widget)."""
    import napari
    from qtpy.QtWidgets import QApplication

    from fastsam_plugin.napari.widget import FastSAMWidget

    viewer = napari.Viewer(title="napari-fastsam", show=True)
    app = QApplication.instance()
    viewer.window.resize(1400, 1040)
    image = viewer.add_image(image_data, name=name, **layer_kwargs)
    widget = FastSAMWidget(viewer)
    widget.model.weights.value = "demo-nuclei"  # its operating point (imgsz, conf) follows
    if max_det is not None:
        widget.model.max_det.value = max_det
    widget.model.device.value = "cpu"
    viewer.window.add_dock_widget(widget, name="FastSAM", area="right")
    widget.controller.image.value = image
    widget.everything.run()
    settle(app, widget, timeout_s=600)
    viewer.reset_view()  # the dock narrowed the canvas: fit the whole image again
    for _ in range(20):
        app.processEvents()
    return viewer, widget


def main() -> None:
    import tifffile
    from qtpy.QtWidgets import QApplication
    from skimage.io import imread

    from fastsam_plugin.napari.layers import owned

    data = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO.parent / "shared" / "data" / "microscopy"
    OUT.mkdir(parents=True, exist_ok=True)
    viewer, widget = segmented(tifffile.imread(str(data / "nuclei2d_dsb2018.tif")),
                               "nuclei2d_dsb2018 (DSB2018, real)", max_det=1000, colormap="gray")
    app = QApplication.instance()
    viewer.screenshot(str(OUT / "nuclei_everything.png"), canvas_only=False)

    # two nuclei of the held-out right third, each picked with one point and accepted as its own annotation;
    # typical single nuclei (area near the median), not the largest objects (which may be merged pairs)
    result = widget.controller.current_result()
    for ly in [ly for ly in viewer.layers if owned(ly, "everything") or owned(ly, "proposals")]:
        ly.visible = False
    median = np.median(result.areas)
    right = [i for i in np.argsort(np.abs(result.areas - median)) if result.pixel_boxes[i, 0] >= 360][:2]
    points = widget.points.new_layer()
    for i in right:
        ys, xs = np.nonzero(result.crops[i])
        k = len(ys) // 2
        points.data = np.array([[ys[k] + result.pixel_boxes[i, 1], xs[k] + result.pixel_boxes[i, 0]]])
        for _ in range(20):
            app.processEvents()
        widget.annotations.accept_selection()
    viewer.screenshot(str(OUT / "nuclei_points.png"), canvas_only=False)
    viewer.close()

    # a real H&E picture: the dock says in which form the model saw it
    viewer, widget = segmented(imread(str(data / "he_histology.jpg")), "he_histology (H&E, real)", rgb=True)
    viewer.screenshot(str(OUT / "nuclei_stained.png"), canvas_only=False)
    print("status:", widget.status.value)
    viewer.close()
    print(f"wrote {OUT / 'nuclei_everything.png'}, {OUT / 'nuclei_points.png'} and {OUT / 'nuclei_stained.png'}")


if __name__ == "__main__":
    main()
