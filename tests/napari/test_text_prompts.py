"""Text prompts: CLIP ranking of the objects, shown with their similarity."""

import numpy as np

from .conftest import layer, wait_idle


def test_top_k_matches_are_ranked_with_scores(segmented, qtbot):
    dock, _ = segmented
    dock.text.query.value = "a red circle"
    dock.text.top_k.value = 3
    dock.text.run()
    wait_idle(qtbot, dock)
    scores = [s for _, s in dock.text.last_scores]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert "#1 object" in dock.status.value
    assert set(np.unique(layer(dock.viewer, "selection").data)) <= {0, 1, 2, 3}


def test_empty_text_asks_for_a_phrase(segmented):
    dock, _ = segmented
    dock.text.query.value = "  "
    dock.text.run()
    assert "Type what to find" in dock.status.value and not dock.busy
