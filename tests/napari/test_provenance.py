"""Every accepted object records its prompts; the record saves as a sidecar and replays to the same labels."""

import json

import numpy as np
import tifffile

from fastsam_plugin.engine.provenance import PromptRecord, replay
from fastsam_plugin.engine.session import Session
from fastsam_plugin.napari.provenance import layer_record
from fastsam_plugin.napari.writer import write_labels_tiff_with_record

from .conftest import inner_point, layer
from .test_annotations import disjoint_objects


def test_accepts_record_their_prompts_and_replay_reproduces_them(segmented, tmp_path):
    dock, image = segmented
    result = dock.controller.current_result()
    a, b = disjoint_objects(result, 2)
    points = dock.points.new_layer()
    points.data = np.array([inner_point(result, a)], float)
    dock.annotations.accept_selection()  # object 1: one foreground point
    points.data = np.zeros((0, 2))
    x0, y0, x1, y1 = result.pixel_boxes[b]
    boxes = dock.boxes.new_layer()
    boxes.add_rectangles(np.array([[y0, x0], [y1 - 1, x1 - 1]], float))  # corners on pixel centres
    dock.annotations.accept_selection()  # object 2: one box
    annotations = layer(dock.viewer, "annotation")

    record = layer_record(annotations)
    assert [(o.id, o.kind, o.output) for o in record.objects] == [(1, "points", annotations.name),
                                                                   (2, "box", annotations.name)]
    assert record.objects[0].labels == [1] and record.weights == "demo" and len(record.weights_sha256) == 64
    assert record.params == dock.controller.session().params

    dock.annotations.undo_accept()  # undo drops the box's record too
    assert [o.kind for o in layer_record(annotations).objects] == ["points"]
    boxes.data = []
    boxes.add_rectangles(np.array([[y0, x0], [y1 - 1, x1 - 1]], float))
    dock.annotations.accept_selection()

    written = write_labels_tiff_with_record(str(tmp_path / "ann.tif"), annotations.data,
                                            {"metadata": annotations.metadata})
    assert written[1].endswith("ann.prompts.json")
    saved = PromptRecord.from_dict(json.loads((tmp_path / "ann.prompts.json").read_text()))
    session = Session(saved.weights, "cpu", params=saved.params, image_options=saved.image_options,
                      tiling=saved.tiling)
    again = replay(session, session.segment(np.asarray(image.data)), saved.objects)[annotations.name]
    labels = tifffile.imread(tmp_path / "ann.tif")
    for i in (1, 2):
        inter = np.count_nonzero((again == i) & (labels == i))
        assert inter / np.count_nonzero((again == i) | (labels == i)) >= 0.99
