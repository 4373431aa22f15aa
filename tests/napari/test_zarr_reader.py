"""The Zarr reader contribution: OME-Zarr label results open lazily with their pixel size."""

from __future__ import annotations

import dask.array as da
import numpy as np

from fastsam_plugin.io.ome_zarr import write_labels_ome_zarr
from fastsam_plugin.napari.zarr_reader import get_reader


def test_ome_zarr_labels_open_lazily_with_their_scale(make_napari_viewer, tmp_path):
    truth = np.zeros((300, 500), np.int32)
    truth[20:80, 30:200] = 1
    truth[150:290, 400:480] = 2
    path = write_labels_ome_zarr(tmp_path / "scan_labels.ome.zarr", truth.shape,
                                 lambda b: truth[b[1]:b[3], b[0]:b[2]], chunk=128, pixel_size=(0.5, 0.25))
    assert get_reader(str(tmp_path / "other.tif")) is None
    viewer = make_napari_viewer()
    [layer] = viewer.open(str(path), plugin="napari-fastsam")
    assert layer._type_string == "labels"
    assert isinstance(layer.data, da.Array)  # lazy: chunks are read when shown
    np.testing.assert_array_equal(np.asarray(layer.data), truth)
    np.testing.assert_allclose(layer.scale, (0.5, 0.25))
