"""segment --record writes how every label was made; replay reproduces the labels from it."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import tifffile

from fastsam_plugin.cli import main
from fastsam_plugin.engine.model import EverythingParams
from fastsam_plugin.engine.provenance import ObjectPrompt, PromptRecord, RecordError
from fastsam_plugin.io.records import read_records, write_record
from fastsam_plugin.training.synthetic import make_scene

PROMPTS = ["--points", "160,160", "40,40,0", "--box", "10,10,200,150", "30,30,300,300",
           "--text", "a red circle", "--clip-model", "demo", "--top-k", "2"]


@pytest.fixture
def scenes(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"s{i}.png"), cv2.cvtColor(make_scene(i, (320, 320), n_objects=(5, 7)).image,
                                                             cv2.COLOR_RGB2BGR))
    return folder


def _per_object_iou(a: np.ndarray, b: np.ndarray) -> list[float]:
    ious = []
    for i in np.unique(np.concatenate([a.ravel(), b.ravel()])):
        if i:
            ma, mb = a == i, b == i
            ious.append(np.count_nonzero(ma & mb) / np.count_nonzero(ma | mb))
    return ious


def test_record_then_replay_reproduces_every_object(scenes, tmp_path, capsys):
    record = tmp_path / "out" / "prompts.json"
    assert main(["segment", str(scenes), "--out", str(tmp_path / "out"), "--weights", "demo", "--device", "cpu",
                 *PROMPTS, "--record", str(record)]) == 0
    [first, *_] = records = read_records(record)
    assert len(records) == 3 and first.image == "s0.png" and first.weights == "demo"
    assert len(first.weights_sha256) == 64 and first.params == EverythingParams(416, 0.25, 0.9, 300)
    kinds = [(o.kind, o.output, o.id) for o in first.objects]
    assert kinds == [("points", "points", 1), ("box", "box", 1), ("box", "box", 2), ("text", "text", 2),
                     ("text", "text", 1)]
    assert first.objects[0].labels == [1, 0] and first.objects[-1].rank == 0

    assert main(["replay", str(record), str(scenes), "--out", str(tmp_path / "replay")]) == 0
    compared = 0
    for i in range(3):
        for kind in ("points", "box", "text"):
            original = tifffile.imread(tmp_path / "out" / f"s{i}_{kind}.tif")
            again = tifffile.imread(tmp_path / "replay" / f"s{i}_{kind}.tif")
            ious = _per_object_iou(original, again)
            assert all(iou >= 0.99 for iou in ious)
            compared += len(ious)
    assert compared >= 10


def test_one_record_applies_its_settings_to_a_whole_folder(scenes, tmp_path):
    record = PromptRecord(weights="demo", weights_sha256=None, params=EverythingParams(416, 0.25),
                          objects=[ObjectPrompt(1, "box", "box", box=[0, 0, 320, 320])])
    write_record(tmp_path / "one.json", record)
    assert main(["replay", str(tmp_path / "one.json"), str(scenes), "--out", str(tmp_path / "r")]) == 0
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["s0_box.tif", "s1_box.tif", "s2_box.tif"]


def test_changed_weights_are_reported_when_replaying(scenes, tmp_path):
    record = PromptRecord(weights="demo", weights_sha256="0" * 64, params=EverythingParams(416, 0.25),
                          objects=[ObjectPrompt(1, "points", "points", points=[[160, 160]], labels=[1])])
    write_record(tmp_path / "r.json", record)
    with pytest.warns(UserWarning, match="differ from the recorded file"):
        main(["replay", str(tmp_path / "r.json"), str(scenes / "s0.png"), "--out", str(tmp_path / "r")])


def test_bad_records_give_clear_errors(tmp_path):
    (tmp_path / "other.json").write_text(json.dumps({"images": []}))
    with pytest.raises(RecordError, match="not a napari-fastsam prompt record"):
        read_records(tmp_path / "other.json")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(RecordError, match="not a readable JSON"):
        read_records(tmp_path / "broken.json")
    newer = PromptRecord("demo", None, EverythingParams()).to_dict() | {"format_version": 99}
    (tmp_path / "newer.json").write_text(json.dumps(newer))
    with pytest.raises(RecordError, match="update napari-fastsam"):
        read_records(tmp_path / "newer.json")
    with pytest.raises(RecordError, match="without its box"):
        ObjectPrompt(1, "box", "box")
    with pytest.raises(RecordError, match="kind must be one of"):
        ObjectPrompt(1, "lasso", "x", points=[[0, 0]])


def test_record_round_trips_through_json():
    record = PromptRecord("model.pt", "ab" * 32, EverythingParams(640, 0.3, 0.8, 100), image="a.tif",
                          image_shape=[5, 64, 64], objects=[ObjectPrompt(3, "text", "ann", text="a cell", rank=1,
                                                                         slice=[2])])
    again = PromptRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record
