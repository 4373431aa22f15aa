"""Screenshots of the microscopy walk-through (docs/microscopy.md); needs a display or Xvfb.

    xvfb-run -a -s "-screen 0 1600x1100x24" .venv/bin/python scripts/microscopy_screenshots.py

Writes a calibrated two-channel OME-TIFF and a small calibrated stack to a
temporary folder, opens them with the plugin's reader in a real napari window,
runs the bundled demo model and saves ``docs/images/microscopy_*.png``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

OUT = Path(__file__).resolve().parents[1] / "docs" / "images"


def settle(app, widget=None, timeout_s: float = 300) -> None:
    t0 = time.time()
    while widget is not None and widget.busy and time.time() - t0 < timeout_s:
        app.processEvents()
        time.sleep(0.05)
    for _ in range(30):
        app.processEvents()
        time.sleep(0.01)


def two_channel_file(folder: Path) -> Path:
    """The synthetic shapes scene as two 16-bit channels at 0.65 µm per pixel (OME-TIFF)."""
    from fastsam_plugin.training.synthetic import make_scene

    rgb = make_scene(7, (384, 384)).image
    planes = np.stack([rgb[..., 0], rgb[..., 1]]).astype(np.uint16) * 180
    path = folder / "cells.ome.tif"
    tifffile.imwrite(path, planes, ome=True, metadata={
        "axes": "CYX", "PhysicalSizeX": 0.65, "PhysicalSizeY": 0.65, "Channel": {"Name": ["DAPI", "GFP"]}})
    return path


def stack_file(folder: Path) -> Path:
    """A sphere and an ellipsoid through 14 slices, 0.5 µm pixels, 2 µm steps (ImageJ hyperstack, RGB)."""
    zz, yy, xx = np.indices((14, 160, 160))
    vol = np.full((14, 160, 160, 3), 128, np.uint8)
    vol[((zz - 6.5) / 8) ** 2 + ((yy - 55) / 32) ** 2 + ((xx - 55) / 32) ** 2 <= 1] = (230, 60, 60)
    vol[((zz - 6.5) / 6) ** 2 + ((yy - 110) / 24) ** 2 + ((xx - 105) / 40) ** 2 <= 1] = (60, 90, 230)
    path = folder / "bodies.tif"
    tifffile.imwrite(path, vol, imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "ZYXS", "spacing": 2.0, "unit": "micron"})
    return path


def main() -> None:
    import napari
    from qtpy.QtWidgets import QApplication

    from fastsam_plugin.napari.layers import owned
    from fastsam_plugin.napari.widget import FastSAMWidget

    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    app = QApplication.instance() or QApplication(sys.argv)

    # 1. channels: a calibrated two-channel OME-TIFF, segmented as one image; measurements in the features table
    viewer = napari.Viewer(title="napari-fastsam: channels", show=True)
    viewer.window.resize(1500, 1050)
    channels = viewer.open(str(two_channel_file(tmp)), plugin="napari-fastsam")
    viewer.scale_bar.visible = True
    widget = FastSAMWidget(viewer)
    widget.model.use_demo()
    widget.model.device.value = "cpu"
    viewer.window.add_dock_widget(widget, name="FastSAM", area="right")
    widget.microscopy.channels.value = list(channels)
    widget.everything.run()
    settle(app, widget)
    objects = next(ly for ly in viewer.layers if owned(ly, "everything"))
    viewer.layers.selection.active = objects
    viewer.reset_view()
    settle(app)
    viewer.screenshot(str(OUT / "microscopy_channels.png"), canvas_only=False)
    try:  # napari >= 0.6: the features table of the selected layer, grabbed on its own
        dock, _ = viewer.window.add_plugin_dock_widget("napari", "Features table widget")
        dock.setFloating(True)
        dock.resize(1300, 330)
        settle(app)
        dock.grab().save(str(OUT / "microscopy_features.png"))
    except Exception as exc:  # noqa: BLE001 - older napari: no table picture
        print(f"no features table widget: {exc}")
    print(objects.features.head().to_string())
    viewer.close()

    # 2. stacks: all slices segmented, linked into 3D objects, shown in 3D
    viewer = napari.Viewer(title="napari-fastsam: 3D objects", show=True)
    viewer.window.resize(1500, 1050)
    (image,) = viewer.open(str(stack_file(tmp)), plugin="napari-fastsam")
    viewer.scale_bar.visible = True
    widget = FastSAMWidget(viewer)
    widget.model.use_demo()
    widget.model.device.value = "cpu"
    viewer.window.add_dock_widget(widget, name="FastSAM", area="right")
    widget.controller.image.value = image
    widget.everything.all_slices.value = True
    widget.microscopy.link.value = True
    widget.everything.run()
    settle(app, widget)
    objects = next(ly for ly in viewer.layers if owned(ly, "everything"))
    image.visible = False
    viewer.dims.ndisplay = 3
    viewer.camera.angles = (-20, 30, 60)
    settle(app)
    viewer.screenshot(str(OUT / "microscopy_3d.png"), canvas_only=False)
    print(objects.features[["label", "area_px", "volume_um3", "centroid_z_um", "score"]].to_string())
    viewer.close()


if __name__ == "__main__":
    main()
