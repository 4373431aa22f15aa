"""The CLI brings each input to the model's scale and says how (issue #29)."""

import numpy as np
import pytest
import tifffile

from fastsam_plugin.cli import main
from fastsam_plugin.engine.operating_point import NAMED_OPERATING_POINTS

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
    assert main([*args, "--out", str(tmp_path / "a"), "--object-size", "56"]) == 0  # twice demo-nuclei's 28 px
    assert "cells.tif: one pass, 160 px model input, zoom 0.50 (object size)" in capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "b"), "--imgsz", "320"]) == 0  # not the model's 256
    out = capsys.readouterr().out
    assert "cells.tif:" not in out and "scale:" not in out  # the fixed input size the user chose


def test_object_size_must_be_a_positive_number(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["segment", str(tmp_path), "--out", str(tmp_path / "o"), "--object-size", "nan"])
    assert exit_.value.code == 2 and "--object-size" in capsys.readouterr().err


def test_the_operating_point_is_the_models_unless_the_user_gives_a_setting(tmp_path, capsys):
    tifffile.imwrite(tmp_path / "cells.tif", np.random.default_rng(2).integers(0, 4000, (96, 96), np.uint16))
    args = ["segment", str(tmp_path / "cells.tif"), "--weights", "demo-nuclei", "--device", "cpu"]
    own = NAMED_OPERATING_POINTS["demo-nuclei"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert f"operating point: imgsz {own.imgsz}, conf {own.conf}, NMS IoU {own.iou}" in capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "b"), "--iou", "0.7", "--conf", "0.25"]) == 0
    assert f"operating point: imgsz {own.imgsz}, conf 0.25, NMS IoU 0.7" in capsys.readouterr().out  # only those


def test_stained_tissue_reaches_a_fluorescence_model_as_its_hematoxylin_channel_and_the_cli_says_so(
        tmp_path, capsys, monkeypatch):
    import fastsam_plugin.engine.operating_point as op

    from ..engine.test_stain_input import stained_tissue

    args = ["segment", str(tmp_path / "he.tif"), "--weights", "demo-nuclei", "--device", "cpu", "--object-size", "18"]
    tifffile.imwrite(tmp_path / "he.tif", stained_tissue(3), photometric="rgb")
    assert main([*args, "--out", str(tmp_path / "rgb")]) == 0  # the bundled model learnt colour: as it is
    out = capsys.readouterr().out
    assert "input: stained (H&E-like) colour images are shown to the model as they are" in out
    assert "he.tif: one pass" in out and "shown to the model as it is (it learnt stained tissue in colour)" in out
    assert "hematoxylin" not in out
    monkeypatch.setitem(op.NAMED_INPUT_FORMS, "demo-nuclei", "hematoxylin")  # a fluorescence-only model

    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "input: stained (H&E-like) colour images are shown to the model as their hematoxylin channel" in out
    assert "he.tif: one pass" in out and "hematoxylin channel (the form it was trained on)" in out
    assert tifffile.imread(tmp_path / "out" / "he_labels.tif").max() > 0
