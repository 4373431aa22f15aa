"""Regenerate the documentation screenshots (``make screenshots``; needs a display or Xvfb).

Opens a real napari window with the FastSAM dock widget on the sample data,
runs the demo models and saves ``docs/images/*.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from microscopy_screenshots import settle  # the dock's event-loop wait, shared by the screenshot scripts

OUT = Path(__file__).resolve().parents[1] / "docs" / "images"


def disjoint(result, n: int) -> list[int]:
    """``n`` objects whose masks do not overlap, largest first."""
    chosen, taken = [], np.zeros(result.shape, bool)
    for i in np.argsort(-result.areas):
        if not (result.masks[i] & taken).any():
            chosen.append(int(i))
            taken |= result.masks[i]
    return chosen[:n]


def inner(result, i: int) -> list[int]:
    """(row, col) of a pixel inside object ``i``."""
    ys, xs = np.nonzero(result.crops[i])
    k = len(ys) // 2
    return [int(ys[k] + result.pixel_boxes[i, 1]), int(xs[k] + result.pixel_boxes[i, 0])]


def shot(viewer, widget, name: str, part=None) -> None:
    """Fit the image in the canvas, scroll the dock to ``part`` (a small widget) and save ``name``."""
    from qtpy.QtWidgets import QApplication

    viewer.reset_view()
    area = widget.root_native_widget  # the dock's scroll area
    if part is not None:
        area.ensureWidgetVisible(part.native, 0, 300)
    for _ in range(10):
        QApplication.processEvents()
    viewer.screenshot(str(OUT / name), canvas_only=False)


def hide(viewer, *roles) -> None:
    from fastsam_plugin.napari.layers import owned

    for ly in viewer.layers:
        if any(owned(ly, r) for r in roles):
            ly.visible = False


def main() -> None:
    import napari
    from qtpy.QtWidgets import QApplication

    from fastsam_plugin.napari.sample_data import shapes_scene
    from fastsam_plugin.napari.widget import FastSAMWidget
    from fastsam_plugin.training.synthetic import make_scene

    OUT.mkdir(parents=True, exist_ok=True)
    viewer = napari.Viewer(title="napari-fastsam", show=True)
    viewer.window.resize(2200, 1200)
    app = QApplication.instance()
    data, meta = shapes_scene()[0]
    image = viewer.add_image(data, **meta)
    widget = FastSAMWidget(viewer)
    widget.model.use_demo()
    widget.model.device.value = "cpu"
    viewer.window.add_dock_widget(widget, name="FastSAM", area="right")
    viewer.window.resize(2200, 1200)
    widget.controller.image.value = image
    widget.everything.show_boxes.value = True
    widget.everything.run()
    settle(app, widget)
    shot(viewer, widget, "everything.png", widget.status)

    # two objects accepted one after the other: two ids; the selection outline over dimmed objects
    result = widget.controller.current_result()
    hide(viewer, "proposals")
    points = widget.points.new_layer()
    first, second = disjoint(result, 2)
    points.add(inner(result, first))
    widget.annotations.accept_selection()
    points.data = np.array([inner(result, second)], float)
    widget.annotations.accept_selection()
    settle(app, widget)
    shot(viewer, widget, "widget_points.png", widget.annotations)

    # box prompts: one around an object (its IoU), one on background (refused, with the reason)
    points.visible = False
    hide(viewer, "annotation")
    boxes = widget.boxes.new_layer()
    x0, y0, x1, y1 = result.pixel_boxes[first]
    labels = result.labels()
    free = np.argwhere(labels[20:-40, 20:-40] == 0)
    free = free[len(free) // 2] + 20  # a background spot inside the image, not at its edge
    boxes.add_rectangles(np.array([[[y0, x0], [y1 - 1, x1 - 1]], [free, free + 16]]))
    settle(app, widget)
    shot(viewer, widget, "box_prompt.png", widget.boxes)

    boxes.visible = False
    widget.text.query.value = "the purple triangle" if len(sys.argv) < 2 else sys.argv[1]
    widget.text.top_k.value = 1
    widget.text.run()
    settle(app, widget)
    shot(viewer, widget, "text_prompt.png", widget.text)

    # a 4-band image napari shows as RGBA: band presets and the preview of the model's input
    viewer.layers.clear()
    scene = make_scene(7, (320, 320))
    nir = np.where(scene.masks.any(axis=0), 230, 40).astype(np.uint8)  # objects bright in "near-infrared"
    four = viewer.add_image(np.dstack([scene.image, nir]), rgb=True, name="4-band tile")
    widget.controller.image.value = four
    widget.bands.preset.value = "NIR false colour (bands 4, 1, 2)"
    settle(app, widget)
    shot(viewer, widget, "bands.png", widget.bands)

    viewer.layers.clear()
    # a time series of shape scenes: the demo model knows shapes only (nuclei need FastSAM weights)
    stack = np.stack([make_scene(s, (320, 320)).image for s in range(40, 44)])
    image = viewer.add_image(stack, rgb=True, name="shapes series")
    widget.controller.image.value = image
    widget.everything.all_slices.value = True
    widget.everything.run()
    settle(app, widget)
    viewer.dims.set_current_step(0, 2)
    shot(viewer, widget, "stack.png", widget.status)
    viewer.close()
    print(f"wrote screenshots to {OUT}")


if __name__ == "__main__":
    main()
