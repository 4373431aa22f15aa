"""The shipped demo models, end to end: their documented quality holds."""

import numpy as np

from fastsam_plugin.engine.clip import ClipEmbedder
from fastsam_plugin.engine.weights import DEMO_SEGMENTER
from fastsam_plugin.training.clip_demo import text_prompt_accuracy
from fastsam_plugin.training.demo_quality import HELD_OUT_SEED, segmenter_recall
from fastsam_plugin.training.synthetic import make_scene


def test_demo_files_are_small():
    from fastsam_plugin.engine.clip import DEMO_CLIP_WEIGHTS

    assert DEMO_SEGMENTER.stat().st_size < 8e6 and DEMO_CLIP_WEIGHTS.stat().st_size < 8e6


def test_demo_segmenter_recall_on_held_out_scenes(demo_session):
    # documented: >= 0.9 on 200 scenes; a 25-scene sample must not fall far below
    assert segmenter_recall(demo_session, n_scenes=25) >= 0.85


def test_demo_clip_text_accuracy_on_held_out_scenes():
    acc, n = text_prompt_accuracy(ClipEmbedder("demo", device="cpu"), range(HELD_OUT_SEED, HELD_OUT_SEED + 25))
    assert n > 50 and acc >= 0.85


def test_end_to_end_point_box_text(demo_session):
    scene = make_scene(HELD_OUT_SEED + 7)
    result = demo_session.segment(scene.image)
    target = int(np.argmax(scene.masks.sum(axis=(1, 2))))
    ys, xs = np.nonzero(scene.masks[target])
    k = len(ys) // 2
    sel = demo_session.select_points(result, [[xs[k], ys[k]]], [1])
    assert (sel & scene.masks[target]).sum() / (sel | scene.masks[target]).sum() > 0.75
    box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    (i,) = demo_session.select_boxes(result, [box])
    picked = demo_session.union_mask(result, [i])
    assert (picked & scene.masks[target]).sum() / (picked | scene.masks[target]).sum() > 0.75
    pairs = [(o.colour, o.shape) for o in scene.objects]
    if pairs.count(pairs[target]) == 1:
        match = demo_session.select_text(result, f"the {pairs[target][0]} {pairs[target][1]}")
        found = demo_session.union_mask(result, match.indices[0, :1])
        assert (found & scene.masks[target]).sum() / (found | scene.masks[target]).sum() > 0.5
