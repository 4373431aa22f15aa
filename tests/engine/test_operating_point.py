"""Operating points: named models, the record of trained checkpoints, the user's explicit choice."""

import shutil
from types import SimpleNamespace

import numpy as np
import pytest

import fastsam_plugin.engine.operating_point as op
from fastsam_plugin.engine.model import DEMO_PARAMS, EverythingParams
from fastsam_plugin.engine.operating_point import (
    CHECKPOINT_KEY,
    NAMED_OPERATING_POINTS,
    UserChoice,
    operating_point,
    register_operating_point,
    resolve,
)
from fastsam_plugin.engine.session import Session
from fastsam_plugin.errors import UsageError
from fastsam_plugin.training.train import recommended_conf, record_operating_point


def test_demo_name_gives_demo_point_and_the_users_choice_wins_setting_by_setting():
    assert operating_point("DEMO") == DEMO_PARAMS
    p = resolve("DEMO", None, UserChoice(iou=0.7, max_det=50))
    assert (p.imgsz, p.conf, p.iou, p.max_det) == (DEMO_PARAMS.imgsz, DEMO_PARAMS.conf, 0.7, 50)
    assert operating_point("FastSAM-s") == EverythingParams()  # no entry: FastSAM's defaults
    assert resolve("FastSAM-s", None, UserChoice()) == EverythingParams()


def test_user_choice_is_checked_when_made_with_a_clear_message():
    with pytest.raises(UsageError, match="imgsz"):
        UserChoice(imgsz=5)
    with pytest.raises(UsageError, match="conf"):
        UserChoice(conf=1.5)
    with pytest.raises(UsageError, match="object size"):
        UserChoice(object_size=-3.0)
    with pytest.raises(UsageError, match="object size"):
        UserChoice(object_size=True)
    assert UserChoice(object_size=np.float32(12.5)).object_size == 12.5  # a number from numpy is a number
    assert UserChoice.fixed(DEMO_PARAMS).over(EverythingParams()) == DEMO_PARAMS


def test_registered_name_and_user_choice(monkeypatch):
    monkeypatch.setattr(op, "NAMED_OPERATING_POINTS", dict(NAMED_OPERATING_POINTS))  # the registry is restored
    register_operating_point("My-Model", EverythingParams(imgsz=256, conf=0.3))
    p = operating_point("my-model")
    assert (p.imgsz, p.conf) == (256, 0.3)
    assert resolve("My-Model", None, UserChoice(conf=0.5)) == EverythingParams(imgsz=256, conf=0.5)
    assert resolve("my-model", None, UserChoice(imgsz=640)).conf == 0.3
    with pytest.raises(TypeError):
        register_operating_point("x", {"imgsz": 3})


def test_checkpoint_record_is_read_and_bad_records_ignored():
    assert operating_point("/some/best.pt", {CHECKPOINT_KEY: {"imgsz": 320, "conf": 0.18}}) == EverythingParams(
        imgsz=320, conf=0.18
    )
    assert operating_point("/some/best.pt", {CHECKPOINT_KEY: {"imgsz": 320}}).conf == EverythingParams().conf
    assert operating_point("/x.pt", {CHECKPOINT_KEY: {"imgsz": 320, "conf": 7.0}}) == EverythingParams()
    assert operating_point("/x.pt", {"train_args": {}}) == EverythingParams()
    # a model's maker may record the NMS IoU too (a bundled model's JSON); a bad one is ignored like the rest
    assert operating_point("/x.pt", {CHECKPOINT_KEY: {"imgsz": 416, "conf": 0.1, "iou": 0.3}}) == EverythingParams(
        imgsz=416, conf=0.1, iou=0.3
    )
    assert operating_point("/x.pt", {CHECKPOINT_KEY: {"iou": 1.5}}) == EverythingParams()
    assert operating_point("/x.pt", {CHECKPOINT_KEY: {"iou": True}}).iou == EverythingParams().iou


def test_recommended_conf_is_the_max_mean_f1_confidence():
    px = np.linspace(0, 1, 11)
    f1 = np.array([[0.1, 0.2, 0.3, 0.6, 0.5, 0.4, 0.2, 0.1, 0.0, 0.0, 0.0]])
    assert recommended_conf(SimpleNamespace(seg=SimpleNamespace(f1_curve=f1, px=px))) == pytest.approx(0.3)
    assert recommended_conf(SimpleNamespace(seg=SimpleNamespace(f1_curve=f1 * 0, px=px))) is None
    assert recommended_conf(None) is None


def test_session_uses_demo_point_unless_user_sets_it():
    s = Session("demo", "cpu")
    assert s.params == DEMO_PARAMS
    assert s.choose(conf=0.5) == EverythingParams(imgsz=DEMO_PARAMS.imgsz, conf=0.5, iou=DEMO_PARAMS.iou)
    assert s.choose(conf=None) == DEMO_PARAMS  # given back to the weights
    with pytest.raises(TypeError, match="not both"):
        Session("demo", "cpu", params=DEMO_PARAMS, choice=UserChoice())


def test_trained_checkpoint_record_reaches_the_session(fastsam_s_checkpoint, tmp_path):
    ckpt = tmp_path / "best.pt"
    shutil.copy(fastsam_s_checkpoint, ckpt)
    record_operating_point(ckpt, 352, 0.21)
    s = Session(str(ckpt), "cpu", choice=UserChoice(imgsz=640))
    _ = s.segmenter
    assert (s.params.imgsz, s.params.conf) == (640, 0.21)  # the user's imgsz, the record's conf
    assert s.choose(imgsz=None).imgsz == 352


def test_file_operating_point_reads_the_record_through_the_safe_loader(fastsam_s_checkpoint, tmp_path):
    from fastsam_plugin.engine.operating_point import file_operating_point

    assert file_operating_point(fastsam_s_checkpoint) is None  # no record: the caller keeps its settings
    ckpt = tmp_path / "best.pt"
    shutil.copy(fastsam_s_checkpoint, ckpt)
    record_operating_point(ckpt, 288, 0.33)
    assert file_operating_point(ckpt) == EverythingParams(imgsz=288, conf=0.33)


def test_api_session_without_params_uses_the_weights_operating_point(fastsam_s_checkpoint, tmp_path):
    assert Session("demo", "cpu").params == EverythingParams(imgsz=DEMO_PARAMS.imgsz, conf=DEMO_PARAMS.conf)
    assert Session("demo", "cpu", params=EverythingParams()).params == EverythingParams()  # given: kept
    ckpt = tmp_path / "best.pt"
    shutil.copy(fastsam_s_checkpoint, ckpt)
    record_operating_point(ckpt, 256, 0.3)
    s = Session(str(ckpt), "cpu")
    assert s.params == EverythingParams()  # the record is read with the model...
    _ = s.segmenter
    assert (s.params.imgsz, s.params.conf) == (256, 0.3)  # ...and used from then on
