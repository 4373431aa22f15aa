"""Feature centroids of georeferenced layers are map coordinates (easting, northing), not metres from the corner."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fastsam_plugin.napari.label_edits import map_centroids

# a NAIP-like north-up tile: 0.6 m pixels, upper-left corner at easting 500000, northing 3760000
TRANSFORM = [0.6, 0.0, 500000.0, 0.0, -0.6, 3760000.0]


def test_pixel_centroids_become_easting_and_northing():
    table = pd.DataFrame({"label": [1, 2], "centroid_y": [0.0, 10.0], "centroid_x": [0.0, 20.0],
                          "centroid_y_m": [0.0, 6.0], "centroid_x_m": [0.0, 12.0]})
    out = map_centroids(table, {"transform": TRANSFORM})
    np.testing.assert_allclose(out["centroid_x_m"], [500000.3, 500012.3])  # pixel centres
    np.testing.assert_allclose(out["centroid_y_m"], [3759999.7, 3759993.7])  # northing falls with the row
    assert out["centroid_x"].tolist() == [0.0, 20.0]  # pixel columns stay pixels
    assert map_centroids(table, None) is table and map_centroids(table, {"crs": None}) is table


def test_measured_features_of_a_geotiff_layer_are_in_map_coordinates(dock):
    viewer = dock.viewer
    image = viewer.add_image(np.zeros((40, 50), np.uint8), name="tile", scale=(0.6, 0.6),
                             translate=(-(3760000.0 - 0.3), 500000.0 + 0.3), units=("m", "m"),
                             metadata={"georef": {"transform": TRANSFORM, "crs": None}})
    labels = np.zeros((40, 50), np.int32)
    labels[10:21, 20:31] = 1  # centroid at row 15, column 25
    layer = viewer.add_labels(labels, name="trees", scale=image.scale, translate=image.translate)
    dock.microscopy.measure_layer(layer, image)
    row = layer.features.set_index("label").loc[1]
    x_col = next(c for c in layer.features.columns if c.startswith("centroid_x_"))
    y_col = next(c for c in layer.features.columns if c.startswith("centroid_y_"))
    assert abs(row[x_col] - (500000 + 0.6 * 25.5)) < 1e-6 and abs(row[y_col] - (3760000 - 0.6 * 15.5)) < 1e-6
    # the same place as napari's world coordinates of that pixel (world y is minus the northing)
    world = image.data_to_world([15, 25])
    assert abs(row[x_col] - world[1]) < 1e-6 and abs(row[y_col] + world[0]) < 1e-6
