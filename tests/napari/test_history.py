"""The panels' undo history and pixel changes: plain Python, tested without Qt or a viewer."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fastsam_plugin.napari.label_edits import PixelChange, UndoHistory


def test_history_is_last_in_first_out_and_says_when_empty():
    history = UndoHistory()
    assert history.pop() is None and history.peek() is None and len(history) == 0
    for step in ("a", "b", "c"):
        history.push(step)
    assert history.peek() == "c" and [history.pop(), history.pop()] == ["c", "b"] and len(history) == 1


def test_history_limit_forgets_the_oldest_and_drop_forgets_chosen_steps():
    history = UndoHistory(limit=2)
    for step in range(5):
        history.push(step)
    assert len(history) == 2 and history.pop() == 4 and history.pop() == 3 and history.pop() is None
    history = UndoHistory()
    for step in ("layer1:a", "layer2:b", "layer1:c"):
        history.push(step)
    assert history.drop(lambda s: s.startswith("layer1")) == 2 and history.pop() == "layer2:b"
    with pytest.raises(ValueError, match="limit"):
        UndoHistory(limit=0)


def test_importing_the_history_loads_no_qt():
    code = ("import sys; import fastsam_plugin.napari.label_edits; "
            "print(any(m.split('.')[0] in ('qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "False"


@settings(max_examples=100)
@given(arrays(np.int32, (3, 6, 7), elements=st.integers(0, 5)), st.data())
def test_a_change_writes_only_what_differs_and_undo_restores_exactly(volume, data):
    before = volume.copy()
    index = data.draw(st.sampled_from([(), (0,), (2,)]))
    shape = volume.shape if not index else volume.shape[1:]
    new = data.draw(arrays(np.int32, shape, elements=st.integers(0, 5)))
    change = PixelChange.write(volume, index, new)
    assert np.array_equal(volume[index] if index else volume, new)
    target = before[index] if index else before
    assert change.size == int((target != new).sum())
    if index:  # other slices untouched
        others = [i for i in range(volume.shape[0]) if i != index[0]]
        assert np.array_equal(volume[others], before[others])
    change.undo()
    assert np.array_equal(volume, before)


def test_undo_of_several_steps_in_reverse_order_restores_the_start():
    labels = np.zeros((4, 4), np.int32)
    history = UndoHistory()
    for k in range(1, 4):
        new = labels.copy()
        new[k - 1:, :k] = k
        history.push(PixelChange.write(labels, (), new))
    assert labels.any()
    while (step := history.pop()) is not None:
        step.undo()
    assert not labels.any()
