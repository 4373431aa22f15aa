"""Correcting labels made by another tool: merge, split, delete, renumber, each undone exactly."""

import numpy as np
import pandas as pd
import pytest

from fastsam_plugin.engine.model import EverythingParams
from fastsam_plugin.engine.provenance import ObjectPrompt, PromptRecord
from fastsam_plugin.engine.session import Session
from fastsam_plugin.napari.label_edits import remap_features
from fastsam_plugin.napari.layers import KEY
from fastsam_plugin.napari.provenance import RECORD, layer_record

from .conftest import click, drag


def cellpose_like() -> np.ndarray:
    """(60, 80) int32: four objects as another tool would give them (ids 1, 2, 5, 9)."""
    labels = np.zeros((60, 80), np.int32)
    labels[5:25, 5:25] = 1
    labels[5:25, 25:45] = 2  # touches object 1
    labels[35:55, 10:60] = 5  # a long object to cut in two
    labels[40:50, 65:75] = 9
    return labels


@pytest.fixture
def edit(dock):
    """(panel, the user's Labels layer) with the layer chosen in the panel; the layer is not the plugin's."""
    layer = dock.viewer.add_labels(cellpose_like(), name="cellpose masks")
    panel = dock.label_edit
    panel.target.value = layer.name
    return panel, layer


def test_merge_two_picked_objects_then_undo(edit):
    panel, layer = edit
    before = layer.data.copy()
    panel.pick.native.click()
    picks = panel.controller.viewer.layers.selection.active
    assert picks.name == "cellpose masks picks" and picks.mode == "add"
    click(panel.controller.viewer, 15, 10)  # object 1
    click(panel.controller.viewer, 15, 30)  # object 2
    panel.merge.native.click()
    after = layer.data
    assert (after[before == 2] == 1).all()
    untouched = ~np.isin(before, [1, 2])
    np.testing.assert_array_equal(after[untouched], before[untouched])
    assert len(picks.data) == 0  # the picks were used
    panel.undo.native.click()
    np.testing.assert_array_equal(layer.data, before)


def test_split_with_a_drawn_line_then_undo(edit):
    panel, layer = edit
    before = layer.data.copy()
    panel.draw_cut.native.click()
    shapes = panel.controller.viewer.layers.selection.active
    assert shapes.mode == "add_line"
    drag(panel.controller.viewer, (30, 35), (58, 35))  # down across object 5
    assert list(shapes.shape_type) == ["line"]
    panel.split_line.native.click()
    assert not panel.controller.status.is_error, panel.controller.status.value
    after = layer.data
    obj = before == 5
    np.testing.assert_array_equal(after[~obj], before[~obj])  # no other pixel changed
    assert set(np.unique(after[obj])) == {5, 10}  # the two sides; the new id follows the highest
    # the drawn line leans a little (napari grows a new line from a small diagonal seed: col 35 -> 35.4 on
    # napari 0.9, -> 37.5 on 0.5.6), so each side is checked clear of it
    left, right = after[35:55, 10:32], after[35:55, 40:60]
    assert {np.unique(left).item(), np.unique(right).item()} == {5, 10}
    assert len(shapes.data) == 0  # the cut was used
    panel.undo.native.click()
    np.testing.assert_array_equal(layer.data, before)


def test_delete_typed_ids_then_undo(edit):
    panel, layer = edit
    before = layer.data.copy()
    panel.ids.value = "2, 9"
    panel.delete.native.click()
    np.testing.assert_array_equal(layer.data, np.where(np.isin(before, [2, 9]), 0, before))
    panel.undo.native.click()
    np.testing.assert_array_equal(layer.data, before)


def test_renumber_and_set_id_each_undo_to_the_state_before(edit):
    panel, layer = edit
    original = layer.data.copy()
    panel.renumber.native.click()
    assert set(np.unique(layer.data)) == {0, 1, 2, 3, 4}
    np.testing.assert_array_equal(layer.data == 4, original == 9)
    renumbered = layer.data.copy()
    panel.ids.value = "4"
    panel.new_id.value = 40
    panel.set_id.native.click()
    np.testing.assert_array_equal(layer.data == 40, original == 9)
    panel.undo.native.click()
    np.testing.assert_array_equal(layer.data, renumbered)
    panel.undo.native.click()
    np.testing.assert_array_equal(layer.data, original)
    panel.undo.native.click()
    assert panel.controller.status.value == "no label edit to undo"


def test_bad_input_is_one_clear_line(dock):
    panel, status = dock.label_edit, dock.status
    panel.merge.native.click()
    assert status.is_error and status.value.startswith("No Labels layer to edit")
    layer = dock.viewer.add_labels(cellpose_like(), name="stardist")
    panel.target.value = layer.name
    before = layer.data.copy()
    panel.ids.value = "1, 7"
    panel.merge.native.click()
    assert status.is_error and "no object with id 7" in status.value
    panel.ids.value = "one"
    panel.delete.native.click()
    assert status.is_error and "whole numbers" in status.value
    panel.ids.value = "5"
    panel.split_line.native.click()
    assert status.is_error and "No line drawn" in status.value
    shapes = panel.cut_layer()
    shapes.add_lines(np.array([[30.0, 35.0], [45.0, 35.0]]))  # ends inside object 5
    panel.split_line.native.click()
    assert status.is_error and "does not cut object 5" in status.value
    np.testing.assert_array_equal(layer.data, before)  # nothing was changed by any of these
    assert "\n" not in status.line.value


def test_features_follow_the_edits_and_undo(edit):
    panel, layer = edit
    table = pd.DataFrame({"index": [1, 2, 5, 9], "label": [1, 2, 5, 9], "cell_type": ["a", "b", "c", "d"]})
    layer.features = table
    panel.ids.value = "2, 1"  # the merged object keeps the first id, 2
    panel.merge.native.click()
    assert layer.features["index"].tolist() == [2, 5, 9]
    assert layer.features.loc[0, "cell_type"] == "b"
    panel.ids.value = "9"
    panel.delete.native.click()
    assert layer.features["label"].tolist() == [2, 5]
    panel.undo.native.click()
    panel.undo.native.click()
    pd.testing.assert_frame_equal(layer.features.reset_index(drop=True), table)


def test_remap_features_splits_copy_the_parent_row():
    table = pd.DataFrame({"index": [3, 4], "kind": ["x", "y"]})
    out = remap_features(table, {}, {7: 3})
    assert out["index"].tolist() == [3, 4, 7] and out["kind"].tolist() == ["x", "y", "x"]
    assert remap_features(pd.DataFrame({"area": [1.0]}), {1: 0}, {}).equals(pd.DataFrame({"area": [1.0]}))


def test_edits_are_written_into_the_layers_prompt_record(edit):
    panel, layer = edit
    record = PromptRecord(weights="demo", weights_sha256=None, params=EverythingParams(),
                          objects=[ObjectPrompt(1, "box", layer.name, box=[5, 5, 25, 25]),
                                   ObjectPrompt(2, "box", layer.name, box=[25, 5, 45, 25])])
    layer.metadata = {KEY: {RECORD: record.to_dict()}}
    panel.ids.value = "2, 1"
    panel.merge.native.click()
    after = layer_record(layer)
    assert after.edits == [{"edit": "merge", "ids": [2, 1], "into": 2}]
    assert [o.id for o in after.objects] == [2, 2]  # both prompts now make object 2
    panel.undo.native.click()
    assert layer_record(layer).edits == [] and [o.id for o in layer_record(layer).objects] == [1, 2]


def test_split_with_a_box_carves_the_models_object_out(segmented):
    dock, _ = segmented
    result = dock.controller.current_result()
    h, w = result.shape
    obj = max((i for i in range(len(result)) if result.areas[i] < h * w / 2), key=lambda i: result.areas[i])
    region = np.ones(result.shape, np.int32)  # a coarse hand annotation: one object over everything
    layer = dock.viewer.add_labels(region, name="hand")
    panel = dock.label_edit
    panel.target.value = layer.name
    x0, y0, x1, y1 = result.pixel_boxes[obj]
    panel.draw_box.native.click()
    drag(dock.viewer, (y0, x0), (y1 - 1, x1 - 1))
    panel.split_box.native.click()
    assert not dock.status.is_error, dock.status.value
    (chosen,) = Session.select_boxes(result, np.array([[x0, y0, x1, y1]], float))
    np.testing.assert_array_equal(layer.data == 2, Session.union_mask(result, [chosen]))  # the model's object
    assert set(np.unique(layer.data)) == {1, 2}
    panel.undo.native.click()
    np.testing.assert_array_equal(layer.data, region)


def test_a_users_layer_that_received_accepts_stays_a_target_for_accepts_and_edits(segmented):
    dock, _ = segmented
    layer = dock.viewer.add_labels(np.zeros(dock.controller.current_result().shape, np.int32), name="stardist")
    dock.annotations.target.value = layer.name
    result = dock.controller.current_result()
    x0, y0, x1, y1 = result.pixel_boxes[0]
    dock.points.new_layer().add([(y0 + y1) // 2, (x0 + x1) // 2])
    dock.annotations.accept_selection()
    assert layer_record(layer) is not None  # the accept recorded its prompt in the user's layer
    dock.annotations.target.reset_choices()
    dock.label_edit.target.reset_choices()
    assert layer.name in dock.annotations.target.choices and layer.name in dock.label_edit.target.choices


def test_in_a_stack_a_line_splits_its_slice_only_and_delete_clears_every_slice(dock):
    stack = np.zeros((3, 40, 40), np.uint16)
    stack[:, 10:30, 5:35] = 4
    stack[:, 2:6, 2:6] = 8
    layer = dock.viewer.add_labels(stack.copy(), name="3d masks")
    panel = dock.label_edit
    panel.target.value = layer.name
    panel.cut_layer().add_lines(np.array([[1.0, 0.0, 20.0], [1.0, 39.0, 20.0]]))  # down column 20 of slice 1
    panel.split_line.native.click()
    assert not dock.status.is_error, dock.status.value
    np.testing.assert_array_equal(layer.data[[0, 2]], stack[[0, 2]])
    assert set(np.unique(layer.data[1])) == {0, 4, 8, 9}
    panel.ids.value = "4"
    panel.delete.native.click()
    assert not (layer.data == 4).any() and (layer.data[1] == 9).sum() > 0
    panel.undo.native.click()
    panel.undo.native.click()
    np.testing.assert_array_equal(layer.data, stack)
