"""Synthetic GeoTIFFs with known georeferencing and drawn objects (shared by the GeoTIFF, vector and CLI tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CRS = "EPSG:32633"
ORIGIN = (500_000.0, 5_600_000.0)  # map x, y of the top-left corner
PIXEL = 10.0  # metres
NODATA = 65535


@dataclass
class Scene:
    path: Path
    # drawn objects in pixel coordinates: name -> (x0, y0, x1, y1) rectangles (exclusive ends)
    rects: dict[str, tuple[int, int, int, int]]
    disk: tuple[int, int, int]  # centre col, centre row, radius
    nodata_box: tuple[int, int, int, int]
    nir_only: tuple[int, int, int, int]  # a rectangle bright in band 4 only

    @property
    def transform(self):
        from rasterio.transform import from_origin

        return from_origin(*ORIGIN, PIXEL, PIXEL)


def write_scene(path: Path, hw: tuple[int, int] = (300, 400)) -> Scene:
    """A 4-band uint16 GeoTIFF in EPSG:32633: two rectangles and a disk bright in every band, a bright
    "NIR-only" rectangle visible in band 4 alone, and a nodata block (value 65535, which would look
    like a bright object if nodata were ignored)."""
    import rasterio
    from skimage.draw import disk

    h, w = hw
    data = np.full((4, h, w), 0, np.uint16)
    rects = {"field": (40, 60, 100, 100), "roof": (250, 180, 330, 230)}
    for x0, y0, x1, y1 in rects.values():
        data[:, y0:y1, x0:x1] = np.array([1200, 2400, 3600, 40000], np.uint16)[:, None, None]
    circle = (170, 200, 25)
    rr, cc = disk((circle[1], circle[0]), circle[2], shape=(h, w))
    data[:, rr, cc] = np.array([1000, 2000, 3000, 30000], np.uint16)[:, None]
    nir_only = (300, 40, 360, 90)
    data[3, nir_only[1]:nir_only[3], nir_only[0]:nir_only[2]] = 35000
    nodata_box = (0, 240, 120, 300)
    data[:, nodata_box[1]:nodata_box[3], nodata_box[0]:nodata_box[2]] = NODATA
    scene = Scene(path, rects, circle, nodata_box, nir_only)
    with rasterio.open(path, "w", driver="GTiff", height=h, width=w, count=4, dtype="uint16", crs=CRS,
                       transform=scene.transform, nodata=NODATA) as dst:
        dst.write(data)
        dst.descriptions = ("red", "green", "blue", "nir")
    return scene


def write_naip_like(path: Path, size: int = 600, pixel: float = 0.6) -> Path:
    """A ``size`` x ``size`` 4-band uint8 GeoTIFF of noise in EPSG:26911 with ``pixel`` metre pixels (NAIP's
    CRS and, at 0.6, its pixel size): for the scale rule, which reads only the pixel size and the shape."""
    import rasterio
    from rasterio.transform import from_origin

    data = np.random.default_rng(0).integers(0, 255, (4, size, size), dtype=np.uint8)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=4, dtype="uint8",
                       crs="EPSG:26911", transform=from_origin(430000, 3780000, pixel, pixel)) as ds:
        ds.write(data)
    return path
