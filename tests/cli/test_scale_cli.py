"""The CLI brings each input to the model's scale and says how (issue #29)."""

import numpy as np
import pytest
import tifffile

from fastsam_plugin.cli import main

from ..io.geo_fixtures import write_naip_like

pytestmark = pytest.mark.slow


def test_a_geotiff_scene_is_cut_into_the_models_tiles(tmp_path, capsys):
    pytest.importorskip("rasterio")
    write_naip_like(tmp_path / "scene.tif")
    assert main(["segment", str(tmp_path / "scene.tif"), "--out", str(tmp_path / "out"), "--weights", "demo-trees",
                 "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "scale: the model was trained on 0.6 m pixels, 256 px tiles at 416 px input" in out
    assert "scene.tif: 0.6 m/px, tiles of 256 px, 416 px model input, zoom 1.62 (pixel size)" in out


def test_drone_imagery_far_from_the_training_scale_is_resized_and_warned(tmp_path, capsys):
    pytest.importorskip("rasterio")
    write_naip_like(tmp_path / "drone.tif", size=300, pixel=0.1)
    assert main(["segment", str(tmp_path / "drone.tif"), "--out", str(tmp_path / "out"), "--weights", "demo-trees",
                 "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "drone.tif: 0.1 m/px, one pass" in out and "warning" in out and "far from the training data" in out


def test_object_size_sets_the_zoom_and_an_expert_imgsz_wins(tmp_path, capsys):
    tifffile.imwrite(tmp_path / "cells.tif", np.random.default_rng(1).integers(0, 4000, (300, 300), np.uint16))
    args = ["segment", str(tmp_path / "cells.tif"), "--weights", "demo-nuclei", "--device", "cpu"]
    assert main([*args, "--out", str(tmp_path / "a"), "--object-size", "47.4"]) == 0
    assert "cells.tif: one pass, 192 px model input, zoom 0.62 (object size)" in capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "b"), "--imgsz", "320"]) == 0
    out = capsys.readouterr().out
    assert "cells.tif:" not in out and "scale:" not in out  # the fixed input size the user chose


def test_object_size_must_be_a_positive_number(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["segment", str(tmp_path), "--out", str(tmp_path / "o"), "--object-size", "nan"])
    assert exit_.value.code == 2 and "--object-size" in capsys.readouterr().err
