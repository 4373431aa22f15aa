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
