"""Every public function of mask_selectors, called with garbage: only the selector error types may escape.

The contract (docs/selectors.md): a malformed argument raises :class:`SelectorInputError` (or its
subclass :class:`SelectorTypeError`) naming the argument, never an ``IndexError``, ``OverflowError``,
``MemoryError`` or an unnamed numpy error. Each call here draws every argument either from a small
consistent scene (so the call reaches the function's real work) or from a pool of garbage (wrong types,
NaN/inf, huge and negative numbers, empty, ragged and complex arrays, sizes beyond any memory).

``FUZZ`` lists, for each public function, the kind of value each parameter takes. A test checks that
every function in ``mask_selectors.__all__`` is listed and that every parameter of its signature is, so a
new function or a new parameter cannot be left out. **Adding a public function: add its line here.**

Set ``SELECTOR_FUZZ_EXAMPLES`` (default 60) for a longer run.
"""

from __future__ import annotations

import inspect
import os

import mask_selectors
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mask_selectors import SelectorInputError

from tests.strategies import garbage, selector_scenes

EXAMPLES = int(os.environ.get("SELECTOR_FUZZ_EXAMPLES", "60"))

#: public function -> {parameter: kind of value}; kinds are the keys of ``_plausible`` below
FUZZ: dict[str, dict[str, str]] = {
    "box_mask_iou": {"masks": "masks", "boxes": "prompt_boxes", "areas": "areas"},
    "carve_mask": {"labels": "labels_any", "label_id": "label_id", "mask": "label_mask", "new_id": "new_id"},
    "check_crops": {"crops": "crops", "boxes": "pixel_boxes"},
    "check_points": {"points": "points", "hw": "hw", "name": "name"},
    "contour_box": {"mask": "mask"},
    "contour_boxes": {"masks": "masks"},
    "crop_box_iou": {"crops": "crops", "boxes": "pixel_boxes", "hw": "hw", "prompt_boxes": "prompt_boxes",
                     "areas": "areas", "checked": "checked"},
    "crop_pictures": {"image": "image", "crops": "crops", "boxes": "pixel_boxes", "min_area": "min_area",
                      "fill_background": "flag", "areas": "areas", "checked": "checked"},
    "crop_point_actions": {"crops": "crops", "boxes": "pixel_boxes", "hw": "hw", "points": "points",
                           "labels": "point_labels", "checked": "checked"},
    "crops_to_labels": {"crops": "crops", "boxes": "pixel_boxes", "hw": "hw", "areas": "areas"},
    "delete_labels": {"labels": "labels_any", "ids": "ids"},
    "each_point_objects": {"masks": "masks", "points": "points", "labels": "point_labels", "areas": "areas"},
    "each_point_objects_in_crops": {"crops": "crops", "boxes": "pixel_boxes", "hw": "hw", "points": "points",
                                    "labels": "point_labels", "areas": "areas", "checked": "checked"},
    "innermost_objects": {"crops": "crops", "boxes": "pixel_boxes", "indices": "indices", "areas": "areas",
                          "checked": "checked"},
    "label_iou": {"previous": "labels2", "current": "labels2b"},
    "label_most_covered": {"labels": "labels2", "mask": "label_mask"},
    "labels_at_points": {"labels": "labels_any", "points": "index_points"},
    "labels_crossed": {"labels": "labels2", "line": "line"},
    "line_pixels": {"line": "line", "shape": "hw"},
    "mask_areas": {"masks": "masks"},
    "mask_crops": {"image": "image", "masks": "masks", "min_area": "min_area", "fill_background": "flag",
                   "areas": "areas", "boxes": "pixel_boxes", "style": "style"},
    "masks_containing_points": {"masks": "masks", "points": "points", "labels": "point_labels"},
    "masks_to_labels": {"masks": "masks", "areas": "areas"},
    "match_objects": {"iou": "iou", "threshold": "fraction"},
    "measure_labels": {"labels": "labels_any", "intensity": "intensity", "spacing": "spacing",
                       "channel_names": "channel_names"},
    "merge_labels": {"labels": "labels_any", "ids": "ids", "into": "label_id"},
    "normalize_boxes": {"boxes": "prompt_boxes", "hw": "hw"},
    "object_ids": {"labels": "labels_any"},
    "objects_in_boxes": {"masks": "masks", "boxes": "prompt_boxes", "min_inside": "fraction", "areas": "areas"},
    "objects_in_boxes_in_crops": {"crops": "crops", "boxes": "pixel_boxes", "hw": "hw",
                                  "prompt_boxes": "prompt_boxes", "min_inside": "fraction", "areas": "areas",
                                  "checked": "checked"},
    "paint_crops": {"out": "out", "crops": "crops", "boxes": "pixel_boxes", "indices": "indices",
                    "values": "values", "checked": "checked"},
    "paint_order": {"areas": "areas"},
    "point_actions": {"masks": "masks", "points": "points", "labels": "point_labels"},
    "points_in_image": {"points": "points", "hw": "hw"},
    "relabel_consecutive": {"labels": "labels_any"},
    "select_by_boxes": {"masks": "masks", "boxes": "prompt_boxes", "areas": "areas"},
    "select_by_boxes_in_crops": {"crops": "crops", "boxes": "pixel_boxes", "hw": "hw",
                                 "prompt_boxes": "prompt_boxes", "areas": "areas", "checked": "checked"},
    "select_by_points": {"masks": "masks", "points": "points", "labels": "point_labels", "areas": "areas",
                         "boxes": "pixel_boxes"},
    "select_by_points_in_crops": {"crops": "crops", "boxes": "pixel_boxes", "hw": "hw", "points": "points",
                                  "labels": "point_labels", "areas": "areas", "checked": "checked"},
    "select_by_text": {"crop_embeddings": "crop_embeddings", "text_embeddings": "text_embeddings",
                       "crop_indices": "crop_indices", "top_k": "count"},
    "set_label": {"labels": "labels_any", "old": "label_id", "new": "new_id"},
    "smooth_mask": {"mask": "mask", "close_size": "count", "open_size": "count"},
    "split_at_narrowings": {"labels": "labels3", "ratio": "fraction"},
    "split_by_line": {"labels": "labels2", "label_id": "label_id", "line": "line", "first_new_id": "new_id"},
    "stitch_labels": {"stack": "labels3", "threshold": "fraction"},
    "text_similarity": {"crop_embeddings": "crop_embeddings", "text_embeddings": "text_embeddings"},
}

#: public names that are not functions (nothing to call with garbage), with what they are
NOT_FUNCTIONS = {
    "DEFAULT_MIN_AREA": "constant",
    "EMPTY_BOX": "constant",
    "MaskCrops": "result type (frozen dataclass)",
    "TextMatches": "result type (frozen dataclass)",
    "SelectorInputError": "the error type itself",
    "SelectorTypeError": "the error type itself",
}


def _label_ids(labels: np.ndarray) -> list[int]:
    return [int(v) for v in np.unique(labels) if v != 0]


def _plausible(kind: str, s) -> st.SearchStrategy:
    """Values of ``kind`` that fit scene ``s`` (or nearly: off by one, other dtypes, other containers)."""
    h, w = s.hw
    n = len(s.masks)
    strategies = {
        "masks": st.sampled_from([s.masks, s.masks.astype(np.uint8), s.masks[:1]]),
        "mask": st.sampled_from([s.masks[0], s.masks[-1].astype(np.int64)]),
        "label_mask": st.sampled_from([s.labels_any == s.labels_any.flat[0], s.labels2 != 0, s.masks[0]]),
        "hw": st.sampled_from([s.hw, (float(h), float(w)), (h + 1, w), [h, w], np.array(s.hw)]),
        "image": st.sampled_from([s.image, s.image[..., :2], s.image.astype(np.float32)]),
        "points": st.sampled_from([s.points, s.points[0], s.points.tolist(), s.points + 0.7, np.round(s.points)]),
        "index_points": st.sampled_from([s.points[:, ::-1], np.zeros((1, s.labels_any.ndim)), np.zeros((0, 2))]),
        "point_labels": st.sampled_from([None, s.point_labels, s.point_labels.astype(bool), [1] * len(s.points)]),
        "prompt_boxes": st.sampled_from([s.prompt_boxes, s.prompt_boxes[0], [[0, 0, w, h]], s.boxes]),
        "areas": st.sampled_from([None, s.areas, s.areas.astype(np.float64), s.areas.astype(np.uint64),
                                  s.areas + 1, s.areas[:-1]]),
        "crops": st.sampled_from([s.crops, [c.astype(np.uint8) for c in s.crops], s.crops[:-1], tuple(s.crops)]),
        "pixel_boxes": st.sampled_from([s.boxes, s.boxes.tolist(), s.boxes.astype(np.float64),
                                        s.boxes.astype(np.uint64), s.boxes + 1]),
        "checked": st.booleans(),
        "indices": st.lists(st.integers(-2, n + 1), max_size=4) | st.just(np.arange(n)),
        "values": st.integers(-3, 2**33) | st.just(np.arange(1, n + 1)),
        "out": st.sampled_from([np.int32, np.uint8, np.int64, bool, np.float32]).map(lambda t: np.zeros(s.hw, t)),
        "labels2": st.sampled_from([s.labels2, s.labels2.astype(np.int64, copy=False)]),
        "labels2b": st.sampled_from([s.labels2b, s.labels2]),
        "labels3": st.sampled_from([s.labels3, s.labels3[:1]]),
        "labels_any": st.just(s.labels_any),
        "label_id": st.sampled_from(_label_ids(s.labels_any) + _label_ids(s.labels2) + [None, 0, 1, 2**63 + 3]),
        "ids": st.lists(st.sampled_from(_label_ids(s.labels_any) + [1, 2]), max_size=3),
        "new_id": st.sampled_from([None, 1, 7, 2**31, 2**32 + 1, 2**63 - 1, 2**64 - 1, 2**64]),
        "line": st.sampled_from([s.line, s.line[:1], s.line.tolist(), s.line * 1e20]),
        "iou": st.just(s.iou),
        "fraction": st.floats(0, 1) | st.sampled_from([0.25, 0.5, 1e-9]),
        "count": st.integers(0, 12) | st.sampled_from([2.0, np.int64(3), 10**6]),
        "min_area": st.sampled_from([0, 1, 3, 100, 2.5, np.uint8(2)]),
        "flag": st.booleans(),
        "style": st.sampled_from(["tight", "fastsam"]),
        "name": st.just("points"),
        "spacing": st.sampled_from([None, (0.5,) * s.labels_any.ndim, [2] * s.labels_any.ndim]),
        "channel_names": st.sampled_from([None, ["a"], ["a", "b"], ("x y", 3)]),
        "intensity": st.sampled_from([None, s.intensity, s.intensity.astype(np.float16), s.labels_any != 0]),
        "crop_embeddings": st.sampled_from([s.crop_embeddings, s.crop_embeddings[0]]),
        "text_embeddings": st.sampled_from([s.text_embeddings, s.text_embeddings[0]]),
        "crop_indices": st.sampled_from([s.crop_indices, s.crop_indices.tolist()]),
    }
    return strategies[kind]


@st.composite
def arguments(draw, spec: dict[str, str]) -> dict[str, object]:
    """Keyword arguments for one call: each plausible (3 in 4) or garbage (1 in 4); optional ones may be left out."""
    scene = draw(selector_scenes())
    kwargs = {}
    for param, kind in spec.items():
        choice = draw(st.integers(0, 7))
        if choice == 0:
            continue  # left out (a required one gives a TypeError, which the caller filters by signature)
        kwargs[param] = draw(garbage()) if choice <= 2 else draw(_plausible(kind, scene))
    # ``checked=True`` promises crops and boxes exactly as check_crops returned them: keep the promise
    if kwargs.get("checked") is True and not (kwargs.get("crops") is scene.crops and kwargs.get("boxes") is scene.boxes):
        kwargs["checked"] = False
    return kwargs


def _required(name: str) -> set[str]:
    sig = inspect.signature(getattr(mask_selectors, name))
    return {p.name for p in sig.parameters.values() if p.default is inspect.Parameter.empty}


def test_every_public_function_and_parameter_is_fuzzed():
    for name in mask_selectors.__all__:
        obj = getattr(mask_selectors, name)
        if name in NOT_FUNCTIONS:
            assert not inspect.isfunction(obj), f"{name} is a function now: give it a FUZZ entry"
            continue
        assert inspect.isfunction(obj), f"{name}: neither a function nor listed in NOT_FUNCTIONS"
        assert name in FUZZ, f"public function {name} is not fuzzed: add it to FUZZ in {__file__}"
        params = set(inspect.signature(obj).parameters)
        assert set(FUZZ[name]) == params, f"{name}: FUZZ names {sorted(FUZZ[name])}, the signature {sorted(params)}"
    # an entry for a function not exported (yet) in this checkout is skipped below; a private one is an error
    hidden = {n for n in FUZZ if n not in mask_selectors.__all__ and hasattr(mask_selectors, n)}
    assert not hidden, f"FUZZ lists names that are not in __all__: {sorted(hidden)}"


@pytest.mark.parametrize("name", sorted(FUZZ))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_garbage_raises_only_selector_errors(name, data):
    if name not in mask_selectors.__all__:
        pytest.skip(f"{name} is not exported in this checkout")
    kwargs = data.draw(arguments(FUZZ[name]), label="kwargs")
    if not _required(name) <= set(kwargs):
        return  # a missing required argument is Python's own TypeError, not the function's concern
    try:
        getattr(mask_selectors, name)(**kwargs)
    except SelectorInputError as err:
        assert str(err), "a selector error must say what is wrong"
