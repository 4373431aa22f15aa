"""The bundled nuclei model (weights ``demo-nuclei``): found by name, small, and good on held-out real nuclei."""

import pytest

from fastsam_plugin.engine.operating_point import NAMED_OPERATING_POINTS, operating_point
from fastsam_plugin.engine.weights import NUCLEI_SEGMENTER, resolve_weights
from tests.paths import SHARED

MICRO = SHARED / "microscopy"


def test_nuclei_weights_resolve_by_name_and_are_small():
    assert resolve_weights("demo-nuclei") == NUCLEI_SEGMENTER == resolve_weights("Demo-Nuclei")
    assert NUCLEI_SEGMENTER.stat().st_size < 8e6


def test_nuclei_weights_have_their_own_operating_point():
    point = operating_point("demo-nuclei")
    assert point == NAMED_OPERATING_POINTS["demo-nuclei"]
    assert (point.imgsz, point.conf) != (operating_point("demo").imgsz, operating_point("demo").conf)


@pytest.mark.slow
@pytest.mark.skipif(not (MICRO / "nuclei2d_dsb2018.tif").is_file(), reason="shared microscopy data absent")
def test_bundled_model_finds_held_out_real_nuclei():
    from fastsam_plugin.engine.operating_point import UserChoice
    from fastsam_plugin.engine.session import Session
    from fastsam_plugin.evaluation.instances import score_result
    from fastsam_plugin.training.nuclei_data import load_real

    held = load_real(MICRO).held_out_part()  # columns 342-511: never trained on
    session = Session("demo-nuclei", "cpu", choice=UserChoice(max_det=1000))  # its defaults: point and scale rule
    s = score_result(held.labels, session.segment(held.image))
    # documented in docs/models.md (scripts/evaluate_nuclei.py); the shapes demo model reaches 0.17 / 0.05
    assert s.recall50 >= 0.8  # measured 0.889
    assert s.coco_ap50 >= 0.8  # measured 0.876


def test_named_nms_iou_applies_unless_the_caller_chose_one():
    from fastsam_plugin.engine.operating_point import UserChoice, resolve

    assert operating_point("demo-nuclei").iou == NAMED_OPERATING_POINTS["demo-nuclei"].iou < 0.9
    assert resolve("demo-nuclei", None, UserChoice()).iou == NAMED_OPERATING_POINTS["demo-nuclei"].iou
    assert resolve("demo-nuclei", None, UserChoice(iou=0.7)).iou == 0.7
    assert resolve("demo", None, UserChoice(iou=0.7)).iou == 0.7
