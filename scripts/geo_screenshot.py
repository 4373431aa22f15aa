"""Screenshot for docs/remote-sensing.md: a NAIP GeoTIFF in napari, in map units, with the saved polygons on it.

Needs ``../shared/data/aerial/urban-trees`` (read in place, never copied) and a
display or Xvfb: ``xvfb-run -a python scripts/geo_screenshot.py [tile]``.

1. ``napari-fastsam segment <tile> --bands 1,2,3 --vector gpkg`` (the CLI, demo segmenter).
2. The tile is opened with the plugin's reader (bands as named channels, RGB composite, map units).
3. The GeoPackage is read back with pyogrio and drawn as a Shapes layer from its *map* coordinates
   (world y = -northing), and the dataset's own tree points from its GeoJSON (map coordinates too):
   if the georeferencing were wrong anywhere, they would not sit on the picture.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "aerial" / "urban-trees"
OUT = REPO / "docs" / "images" / "remote_sensing.png"


def main(tile: str = "claremont_2020_56") -> None:
    import napari
    import pyogrio.raw
    import shapely
    from qtpy.QtWidgets import QApplication

    from fastsam_plugin.cli.main import main as cli

    image = DATA / "images" / f"{tile}.tif"
    if not image.exists():
        sys.exit(f"{image} is absent: this screenshot needs ../shared/data/aerial/urban-trees")
    out = Path(tempfile.mkdtemp())
    code = cli(["segment", str(image), "--out", str(out), "--weights", "demo", "--device", "cpu",
                "--bands", "1,2,3", "--vector", "gpkg"])
    assert code == 0
    meta, _, wkb, _ = pyogrio.raw.read(out / f"{tile}_objects.gpkg")
    print(f"{len(wkb)} polygons in {meta['crs']}")

    viewer = napari.Viewer(title="napari-fastsam: GeoTIFF in map units", show=True)
    viewer.window.resize(1300, 1000)
    viewer.open(str(image), plugin="napari-fastsam")
    polys = []
    for geom in shapely.from_wkb(wkb):
        for part in getattr(geom, "geoms", [geom]):
            xy = np.asarray(part.exterior.coords)[:-1]
            polys.append(np.column_stack([-xy[:, 1], xy[:, 0]]))  # map (x, y) -> napari world (-y, x)
    viewer.add_shapes(polys, shape_type="polygon", edge_color="yellow", face_color="transparent", edge_width=0.3,
                      units=("m", "m"), name=f"{tile}_objects.gpkg (EPSG:26911)")
    trees = json.loads((DATA / "json" / f"{tile}.json").read_text())["features"]
    pts = np.array([[-f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0]] for f in trees])
    viewer.add_points(pts, size=2.0, face_color="cyan", border_color="black", units=("m", "m"),
                      name="trees (dataset GeoJSON)")
    viewer.scale_bar.visible = True  # in metres: the layers carry the CRS's units
    viewer.reset_view()
    app = QApplication.instance()
    for _ in range(30):
        app.processEvents()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(OUT), canvas_only=False)
    print(f"wrote {OUT}")
    viewer.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
