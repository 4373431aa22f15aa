"""Screenshots of the trees model on a real NAIP tile for docs/remote-sensing.md (needs a display or Xvfb).

    xvfb-run -a -s "-screen 0 2400x1300x24" .venv/bin/python scripts/screenshots_trees.py [tile]

The tile is read from ``../shared/data/aerial/urban-trees`` (never copied into
the repository); only the screenshots are written, to ``docs/images/trees_*.png``.
It is opened as napari's own reader opens a 4-band TIFF (RGBA), so the dock's
band picker shows what it does with band 4; the trees model takes its recorded
bands 4,1,2 (near-infrared false colour).

1. ``trees_everything.png``: everything mode with ``demo-trees``, the dataset's
   tree points on top (white), the model's view in the dock's preview.
2. ``trees_prompts.png``: one click on a tree (point prompt) and one box around
   a tree, each accepted as its own annotation.
3. ``trees_crowns.png`` (no napari): the crowns the training set derives from
   the dataset's points on validation tiles (``--crowns`` writes only this one).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from microscopy_screenshots import settle  # the dock's event-loop wait, shared by the screenshot scripts

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "aerial" / "urban-trees"
OUT = REPO / "docs" / "images"


def crowns_figure(tiles=("santa_monica_2020_14", "riverside_2020_0"), scale: float = 1.5) -> Path:
    """Side by side per tile: the model's NIR-R-G input, and true colour with derived outlines and points."""
    import cv2

    from fastsam_plugin.training.trees_data import derive_crowns, false_colour, read_tile

    rows = []
    for tile in tiles:
        image, points = read_tile(DATA, tile)
        labels = np.zeros(image.shape[:2], np.int32)
        for k, crown in enumerate(derive_crowns(image, points), start=1):
            labels[crown] = k
        size = (int(image.shape[1] * scale), int(image.shape[0] * scale))
        up = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
        grown, shrunk = (f(up.astype(np.float32), np.ones((3, 3))) for f in (cv2.dilate, cv2.erode))
        edge = ((grown != up) | (shrunk != up)) & (up > 0)  # each crown's own outline
        rgb = cv2.resize(np.ascontiguousarray(image[..., :3]), size, interpolation=cv2.INTER_CUBIC)
        rgb[edge] = (255, 255, 0)
        for x, y in (points + 0.5) * scale:
            cv2.circle(rgb, (int(x), int(y)), 2, (255, 0, 255), -1)
        shown = cv2.resize(false_colour(image), size, interpolation=cv2.INTER_CUBIC)
        rows.append(np.concatenate([shown, np.full((size[1], 8, 3), 255, np.uint8), rgb], axis=1))
    out = OUT / "trees_crowns.png"
    cv2.imwrite(str(out), cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return out


def main(tile: str = "santa_monica_2020_14") -> None:
    import napari
    from qtpy.QtWidgets import QApplication

    from fastsam_plugin.napari.layers import owned
    from fastsam_plugin.napari.widget import FastSAMWidget
    from fastsam_plugin.training.trees_data import read_tile

    if not (DATA / "images" / f"{tile}.tif").is_file():
        sys.exit(f"{DATA} is absent: these screenshots need ../shared/data/aerial/urban-trees")
    data, trees = read_tile(DATA, tile)
    OUT.mkdir(parents=True, exist_ok=True)
    viewer = napari.Viewer(title="napari-fastsam: trees on a NAIP tile", show=True)
    viewer.window.resize(1500, 1040)
    app = QApplication.instance()
    # the plugin's reader: the bands as named layers and an RGB composite of bands 1-3 in map units, which
    # stands for the file (the widget segments the file's bands 4, 1, 2 for this model)
    image = viewer.open(str(DATA / "images" / f"{tile}.tif"), plugin="napari-fastsam")[-1]
    widget = FastSAMWidget(viewer)
    widget.model.weights.value = "demo-trees"  # its operating point (imgsz 416, conf, NMS IoU) follows
    widget.model.device.value = "cpu"
    viewer.window.add_dock_widget(widget, name="FastSAM", area="right")
    widget.controller.image.value = image
    widget.everything.run()
    settle(app, widget, timeout_s=600)
    widget.bands.update_preview()  # the model is loaded now: the preview shows its bands
    # the dataset's (column, row) pixel indices as napari (row, col) data coordinates (pixel centres), in map units
    points = viewer.add_points(trees[:, ::-1], name="trees (dataset points)", size=3, face_color="white",
                               border_color="black", scale=image.scale, translate=image.translate, units=image.units)
    viewer.reset_view()
    settle(app)
    viewer.screenshot(str(OUT / "trees_everything.png"), canvas_only=False)

    # one click on a tree the model found, one box around another; each accepted as its own object
    result = widget.controller.current_result()
    points.visible = False
    for ly in [ly for ly in viewer.layers if owned(ly, "everything") or owned(ly, "proposals")]:
        ly.visible = False
    order = np.argsort(-result.scores)
    first, second = order[0], order[len(order) // 3]
    prompt = widget.points.new_layer()
    ys, xs = np.nonzero(result.crops[first])
    k = len(ys) // 2
    prompt.data = np.array([[ys[k] + result.pixel_boxes[first, 1], xs[k] + result.pixel_boxes[first, 0]]])
    settle(app, widget, timeout_s=600)
    widget.annotations.accept_selection()
    settle(app, widget, timeout_s=600)
    boxes = widget.boxes.new_layer()
    x0, y0, x1, y1 = result.boxes[second]
    boxes.add_rectangles(np.array([[y0 - 2, x0 - 2], [y1 + 2, x1 + 2]]))
    settle(app, widget, timeout_s=600)
    widget.annotations.accept_selection()
    settle(app, widget, timeout_s=600)
    print("status:", widget.status.value)
    viewer.screenshot(str(OUT / "trees_prompts.png"), canvas_only=False)
    viewer.close()
    print(f"wrote {OUT / 'trees_everything.png'} and {OUT / 'trees_prompts.png'}")


if __name__ == "__main__":
    if "--crowns" in sys.argv:
        print(f"wrote {crowns_figure()}")
    else:
        crowns_figure()
        main(*sys.argv[1:2])
