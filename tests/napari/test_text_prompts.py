"""Text prompts: CLIP ranking of the objects, shown with their similarity."""

import numpy as np

from fastsam_plugin.napari.quality import min_text_similarity

from .conftest import layer, wait_idle


def test_top_k_matches_are_ranked_with_scores(segmented, qtbot):
    dock, _ = segmented
    dock.text.query.value = "a red circle"
    dock.text.top_k.value = 3
    dock.text.min_similarity.value = -1.0  # show all three, whatever their similarity
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


def test_matches_below_the_minimum_similarity_select_nothing(segmented, qtbot):
    dock, _ = segmented
    assert dock.text.min_similarity.value == min_text_similarity("demo") > 0
    dock.text.query.value = "a red circle"
    dock.text.min_similarity.value = 0.999
    dock.text.run()
    wait_idle(qtbot, dock)
    best = dock.text.last_scores[0][1]
    assert not layer(dock.viewer, "selection").data.any()
    assert dock.status.is_error and f"best similarity {best:.2f} is below 1.00" in dock.status.value


def test_text_model_choice_sets_its_threshold(dock):
    dock.model.text_model.value = "ViT-B-32 (openai)"
    assert dock.text.min_similarity.value == min_text_similarity("ViT-B-32 (openai)")
    dock.model.text_model.value = "demo"
    assert dock.text.min_similarity.value == min_text_similarity("demo")


def test_cancel_during_text_matching_says_it_cannot_stop(segmented, qtbot):
    dock, _ = segmented
    dock.text.query.value = "a blue square"
    dock.text.run()
    dock.controller.cancel()
    assert "cannot be cancelled" in dock.status.value
    wait_idle(qtbot, dock)
    assert "matches" in dock.status.value or dock.status.is_error
