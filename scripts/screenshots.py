"""Regenerate the documentation screenshots (``make screenshots``; needs a display or Xvfb).

Opens a real napari window with the FastSAM dock widget on the sample data,
runs the demo models and saves ``docs/images/*.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "docs" / "images"


def wait_for(app, widget, timeout_s: float = 300) -> None:
    import time

    t0 = time.time()
    while widget.busy and time.time() - t0 < timeout_s:
        app.processEvents()
        time.sleep(0.05)
    for _ in range(20):
        app.processEvents()


def main() -> None:
    import napari
    from qtpy.QtWidgets import QApplication

    from fastsam_plugin.napari.layers import owned
    from fastsam_plugin.napari.sample_data import shapes_scene
    from fastsam_plugin.napari.widget import FastSAMWidget
    from fastsam_plugin.training.synthetic import make_scene

    OUT.mkdir(parents=True, exist_ok=True)
    viewer = napari.Viewer(title="napari-fastsam", show=True)
    viewer.window.resize(1400, 1040)
    app = QApplication.instance()
    data, meta = shapes_scene()[0]
    image = viewer.add_image(data, **meta)
    widget = FastSAMWidget(viewer)
    widget.model.use_demo()
    widget.model.device.value = "cpu"
    viewer.window.add_dock_widget(widget, name="FastSAM", area="right")
    widget.controller.image.value = image
    widget.everything.show_boxes.value = True
    widget.everything.run()
    wait_for(app, widget)
    viewer.screenshot(str(OUT / "everything.png"), canvas_only=False)

    result = widget.controller.current_result()
    for ly in [ly for ly in viewer.layers if owned(ly, "everything") or owned(ly, "proposals")]:
        ly.visible = False
    order = np.argsort(-result.areas)
    points = widget.points.new_layer()
    for i in order[:2]:
        ys, xs = np.nonzero(result.crops[i])
        k = len(ys) // 2
        points.add([ys[k] + result.pixel_boxes[i, 1], xs[k] + result.pixel_boxes[i, 0]])
    widget.annotations.accept_selection()
    viewer.screenshot(str(OUT / "widget_points.png"), canvas_only=False)

    points.visible = False
    for ly in [ly for ly in viewer.layers if owned(ly, "annotation")]:
        ly.visible = False
    widget.text.query.value = "the purple triangle" if len(sys.argv) < 2 else sys.argv[1]
    widget.text.top_k.value = 1
    widget.text.run()
    wait_for(app, widget)
    viewer.screenshot(str(OUT / "text_prompt.png"), canvas_only=False)

    viewer.layers.clear()
    # a time series of shape scenes: the demo model knows shapes only (nuclei need FastSAM weights)
    stack = np.stack([make_scene(s, (320, 320)).image for s in range(40, 44)])
    image = viewer.add_image(stack, rgb=True, name="shapes series")
    widget.controller.image.value = image
    widget.everything.all_slices.value = True
    widget.everything.run()
    wait_for(app, widget)
    viewer.dims.set_current_step(0, 2)
    viewer.screenshot(str(OUT / "stack.png"), canvas_only=False)
    viewer.close()
    print(f"wrote screenshots to {OUT}")


if __name__ == "__main__":
    main()
