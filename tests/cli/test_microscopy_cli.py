"""CLI options for microscopy: operating point of the weights, measurements, 3D stitching, OME-TIFF outputs."""

import cv2

from fastsam_plugin.cli.main import main
from fastsam_plugin.training.synthetic import make_scene


def test_demo_weights_use_demo_operating_point_unless_given(tmp_path, capsys):
    cv2.imwrite(str(tmp_path / "s.png"), make_scene(3).image[..., ::-1])
    assert main(["segment", str(tmp_path / "s.png"), "--out", str(tmp_path / "o"), "--weights", "demo",
                 "--device", "cpu"]) == 0
    assert "imgsz 416, conf 0.25" in capsys.readouterr().out
    assert main(["segment", str(tmp_path / "s.png"), "--out", str(tmp_path / "o2"), "--weights", "demo",
                 "--device", "cpu", "--conf", "0.5"]) == 0
    assert "imgsz 416, conf 0.5" in capsys.readouterr().out


def test_ome_input_gives_calibrated_labels_and_measurements_csv(tmp_path, capsys):
    import numpy as np
    import pandas as pd
    import tifffile

    from fastsam_plugin.io.ome import read_tiff

    scene = make_scene(5).image
    tifffile.imwrite(tmp_path / "cells.tif", scene, ome=True, photometric="rgb",
                     metadata={"axes": "YXS", "PhysicalSizeX": 0.65, "PhysicalSizeY": 0.65})
    out = tmp_path / "o"
    assert main(["segment", str(tmp_path / "cells.tif"), "--out", str(out), "--weights", "demo",
                 "--device", "cpu", "--measure"]) == 0
    labels, meta = read_tiff(out / "cells_labels.tif")
    assert meta.pixel_size == {"X": 0.65, "Y": 0.65} and meta.axes == "YX"
    table = pd.read_csv(out / "cells_measurements.csv")
    ids, counts = np.unique(labels[labels > 0], return_counts=True)
    assert table["label"].tolist() == ids.tolist() and table["area_px"].tolist() == counts.tolist()
    np.testing.assert_allclose(table["area_um2"], counts * 0.65**2, rtol=1e-5)
    assert table["score"].between(0, 1).all() and len(table) >= 3
    # intensities of the original RGB picture, channel by channel
    first = labels == ids[0]
    np.testing.assert_allclose(table.loc[0, "intensity_mean_0"], scene[first][:, 0].mean(), rtol=1e-5)


def test_stitch_links_slices_of_a_calibrated_stack(tmp_path, capsys):
    import numpy as np
    import pandas as pd
    import tifffile

    from fastsam_plugin.io.ome import read_tiff

    zz, yy, xx = np.indices((4, 128, 128))
    vol = np.full((4, 128, 128, 3), 128, np.uint8)
    vol[((zz - 1.5) / 3) ** 2 + ((yy - 45) / 28) ** 2 + ((xx - 45) / 28) ** 2 <= 1] = (230, 60, 60)  # a sphere
    vol[((zz - 1.5) / 3) ** 2 + ((yy - 90) / 22) ** 2 + ((xx - 85) / 34) ** 2 <= 1] = (60, 90, 230)  # an ellipsoid
    tifffile.imwrite(tmp_path / "vol.tif", vol, imagej=True, resolution=(1 / 0.5, 1 / 0.5),
                     metadata={"axes": "ZYXS", "spacing": 2.0, "unit": "micron"})
    out = tmp_path / "o"
    assert main(["segment", str(tmp_path / "vol.tif"), "--out", str(out), "--weights", "demo", "--device", "cpu",
                 "--imgsz", "320", "--stitch", "0.3", "--measure"]) == 0
    labels, meta = read_tiff(out / "vol_labels.tif")
    assert labels.shape == (4, 128, 128) and meta.axes == "ZYX"
    assert meta.pixel_size == {"X": 0.5, "Y": 0.5, "Z": 2.0}
    # each body is one 3D label through all four slices
    for y, x in ((45, 45), (90, 85)):
        column = labels[:, y, x]
        assert column[0] > 0 and (column == column[0]).all()
    table = pd.read_csv(out / "vol_measurements.csv")
    assert {"volume_um3", "centroid_z_um", "score"} <= set(table.columns)
    assert table["label"].tolist() == np.unique(labels[labels > 0]).tolist()
    np.testing.assert_allclose(table["volume_um3"], table["area_px"] * 0.5 * 0.5 * 2.0, rtol=1e-5)


def test_stitch_threshold_is_checked(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["segment", str(tmp_path), "--out", str(tmp_path / "o"), "--stitch", "1.5"])
    assert "IoU threshold" in capsys.readouterr().err
