"""One small worked example per public selector: the input written out, the expected answer written out.

Read these first to learn what a function does; the hypothesis properties in the other files check the
same rules on random input. Conventions: points ``(x, y)`` = (column, row), boxes ``(x0, y0, x1, y1)``
with exclusive ends, masks ``(N, H, W)``, label images with 0 as background.
"""

from __future__ import annotations

import inspect

import mask_selectors as ms
import numpy as np
from numpy.testing import assert_allclose, assert_array_equal

T, F = True, False

# Two masks on a 4 x 4 image: a 2 x 2 square in the top-left corner, and the whole image.
SQUARE = np.array(
    [[1, 1, 0, 0],
     [1, 1, 0, 0],
     [0, 0, 0, 0],
     [0, 0, 0, 0]], bool)
WHOLE = np.ones((4, 4), bool)
MASKS = np.stack([SQUARE, WHOLE])
# The same two masks stored cropped to their boxes.
CROPS = [np.ones((2, 2), bool), np.ones((4, 4), bool)]
BOXES = np.array([[0, 0, 2, 2], [0, 0, 4, 4]])


# -- masks -------------------------------------------------------------------------------------

def test_mask_areas():
    assert ms.mask_areas(MASKS).tolist() == [4, 16]


def test_contour_box_and_contour_boxes():
    two_parts = np.array(
        [[0, 0, 0, 0, 0, 0],
         [0, 1, 0, 0, 0, 0],
         [0, 0, 0, 0, 0, 0],
         [0, 0, 0, 0, 1, 0],
         [0, 0, 0, 0, 0, 0]], bool)
    assert ms.contour_box(two_parts) == (1, 1, 5, 4)  # one box around both parts, exclusive ends
    empty = np.zeros_like(two_parts)
    assert ms.contour_boxes(np.stack([two_parts, empty])).tolist() == [[1, 1, 5, 4], [0, 0, 0, 0]]


def test_paint_order():
    assert ms.paint_order([3, 9, 3, 5]).tolist() == [1, 3, 0, 2]  # largest first, ties in input order


def test_masks_to_labels():
    # the whole-image mask is painted first (id 2), the square on top of it (id 1)
    assert_array_equal(ms.masks_to_labels(MASKS), [
        [1, 1, 2, 2],
        [1, 1, 2, 2],
        [2, 2, 2, 2],
        [2, 2, 2, 2]])


def test_crops_to_labels():
    crops = [np.ones((2, 2), bool), np.ones((1, 3), bool)]
    boxes = [[0, 0, 2, 2], [1, 1, 4, 2]]  # the 1 x 3 bar overlaps the square at row 1, column 1
    assert_array_equal(ms.crops_to_labels(crops, boxes, (3, 4)), [
        [1, 1, 0, 0],
        [1, 2, 2, 2],
        [0, 0, 0, 0]])


def test_smooth_mask():
    holed = np.array(
        [[0, 0, 0, 0, 0, 0, 0],
         [0, 0, 0, 0, 0, 0, 0],
         [0, 0, 1, 1, 1, 0, 0],
         [0, 0, 1, 0, 1, 0, 0],
         [0, 0, 1, 1, 1, 0, 0],
         [0, 0, 0, 0, 0, 0, 0],
         [0, 0, 0, 0, 0, 0, 0]], bool)
    filled = holed.copy()
    filled[3, 3] = True
    assert_array_equal(ms.smooth_mask(holed, close_size=3, open_size=0), filled)  # closing fills the pinhole
    speck = np.zeros((5, 5), bool)
    speck[2, 2] = True
    assert not ms.smooth_mask(speck, close_size=0, open_size=2).any()  # opening removes a lone pixel


# -- points ------------------------------------------------------------------------------------

def test_check_points_and_points_in_image():
    assert ms.check_points([[0.4, 1.6]], (3, 3)).tolist() == [[0, 2]]  # rounded to the nearest pixel
    # x = -0.5 still rounds to column 0; x = 2.5 rounds to column 3, outside a 3-wide image
    assert ms.points_in_image([[-0.5, 0.0], [2.5, 0.0], [0.0, -0.6]], (3, 3)).tolist() == [True, False, False]


def test_point_actions_and_masks_containing_points():
    # (0, 0) lies in both masks (foreground); (3, 3) only in the whole-image mask (background)
    assert ms.point_actions(MASKS, [[0, 0], [3, 3]], [1, 0]).tolist() == [1, -1]
    assert ms.masks_containing_points(MASKS, [[0, 0]]).tolist() == [0, 1]
    assert ms.masks_containing_points(MASKS, [[0, 0], [3, 3]], [1, 0]).tolist() == [0]


def test_select_by_points():
    # the big mask is removed (background click), then the square is added: the square alone
    assert_array_equal(ms.select_by_points(MASKS, [[0, 0], [3, 3]], [1, 0]), SQUARE)
    assert ms.select_by_points(MASKS, [[3, 3]]).all()


def test_point_rules_on_crops():
    assert ms.crop_point_actions(CROPS, BOXES, (4, 4), [[0, 0], [3, 3]], [1, 0]).tolist() == [1, -1]
    assert_array_equal(ms.select_by_points_in_crops(CROPS, BOXES, (4, 4), [[0, 0], [3, 3]], [1, 0]), SQUARE)


# -- boxes -------------------------------------------------------------------------------------

def test_normalize_boxes():
    # corners in any order, rounded outward to whole pixels, clipped to the 6 x 4 (W x H) image
    assert ms.normalize_boxes([[3.5, 2.2, 1.2, 0.0], [-5, -5, 10, 2]], (4, 6)).tolist() == [
        [1, 0, 4, 3],
        [0, 0, 6, 2]]


def test_box_mask_iou():
    # box (0, 0, 2, 2) = the square: IoU 1 with it, 4 / 16 with the whole image
    assert_allclose(ms.box_mask_iou(MASKS, [[0, 0, 2, 2]]), [[1.0, 0.25]])
    assert_allclose(ms.crop_box_iou(CROPS, BOXES, (4, 4), [[0, 0, 2, 2]]), [[1.0, 0.25]])


def test_select_by_boxes():
    assert ms.select_by_boxes(MASKS, [[0, 0, 2, 2], [0, 0, 4, 4]]).tolist() == [0, 1]
    assert ms.select_by_boxes(MASKS[:1], [[3, 3, 4, 4]]).tolist() == [-1]  # nothing overlaps the box
    assert ms.select_by_boxes_in_crops(CROPS, BOXES, (4, 4), [[0, 0, 2, 2], [0, 0, 4, 4]]).tolist() == [0, 1]


# -- crops -------------------------------------------------------------------------------------

def test_check_crops():
    crops, boxes = ms.check_crops([[[1, 0], [1, 1]]], [[0, 0, 2, 2]])
    assert crops[0].dtype == bool and crops[0].tolist() == [[True, False], [True, True]]
    assert boxes.dtype == np.int64 and boxes.tolist() == [[0, 0, 2, 2]]


def test_paint_crops():
    out = np.zeros((3, 4), np.int32)
    crops = [np.ones((2, 2), bool), np.ones((1, 3), bool)]
    boxes = np.array([[0, 0, 2, 2], [1, 1, 4, 2]])
    ms.paint_crops(out, crops, boxes, [1, 0, -1], [10, 20, 30])  # in order; index -1 is skipped
    assert_array_equal(out, [
        [20, 20, 0, 0],
        [20, 20, 10, 10],
        [0, 0, 0, 0]])


# -- text --------------------------------------------------------------------------------------

IMAGE = np.arange(18, dtype=np.uint8).reshape(2, 3, 3) * 10  # pixel (row, col, channel) = 90 row + 30 col + 10 channel


def test_crop_pictures():
    crop = np.array([[1, 0], [1, 1]], bool)  # 3 pixels inside the box (1, 0, 3, 2)
    pics = ms.crop_pictures(IMAGE, [crop], [[1, 0, 3, 2]], min_area=0)
    assert pics.indices.tolist() == [0]
    assert pics.crops[0].tolist() == [
        [[30, 40, 50], [255, 255, 255]],  # outside the mask: white
        [[120, 130, 140], [150, 160, 170]]]
    assert len(ms.crop_pictures(IMAGE, [crop], [[1, 0, 3, 2]], min_area=3)) == 0  # 3 pixels: at most 3, skipped


def test_mask_crops():
    masks = np.array([[[0, 1, 0],
                       [0, 1, 1]]], bool)
    tight = ms.mask_crops(IMAGE, masks, min_area=0)
    assert tight.indices.tolist() == [0]
    assert tight.crops[0].tolist() == [
        [[30, 40, 50], [255, 255, 255]],
        [[120, 130, 140], [150, 160, 170]]]
    frame = ms.mask_crops(IMAGE, masks, min_area=0, style="fastsam")  # full frame, white outside the box
    assert frame.crops[0][:, 0].tolist() == [[255, 255, 255], [255, 255, 255]]
    assert frame.crops[0][0, 2].tolist() == [60, 70, 80]


def test_text_similarity_and_select_by_text():
    crops = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    assert_allclose(ms.text_similarity(crops, [0.0, 3.0]), [[0.0, 1.0, np.sqrt(0.5)]])
    match = ms.select_by_text(crops, [0.0, 3.0], [4, 7, 9], top_k=2)  # crop j came from mask [4, 7, 9][j]
    assert match.indices.tolist() == [[7, 9]]
    assert_allclose(match.scores, [[1.0, np.sqrt(0.5)]])


# -- label images: editing ---------------------------------------------------------------------

def test_object_ids():
    labels = np.array([[0, 5], [2**63 + 1, 5]], np.uint64)
    assert ms.object_ids(labels).tolist() == [5, 2**63 + 1]  # any width, exactly


def test_merge_delete_and_set_label():
    labels = np.array([[1, 2], [3, 0]])
    assert_array_equal(ms.merge_labels(labels, [2, 3]), [[1, 2], [2, 0]])  # into the smallest id
    assert_array_equal(ms.delete_labels(labels, [2]), [[1, 0], [3, 0]])
    assert_array_equal(ms.set_label(labels, 2, 9), [[1, 9], [3, 0]])


def test_relabel_consecutive():
    out, mapping = ms.relabel_consecutive(np.array([[0, 10], [30, 10]]))
    assert_array_equal(out, [[0, 1], [2, 1]])
    assert mapping == {10: 1, 30: 2}


def test_line_pixels():
    # a horizontal line through the middle of row 0, from the left edge to the right edge
    assert_array_equal(ms.line_pixels([[0, 0.5], [3, 0.5]], (2, 3)), [
        [T, T, T],
        [F, F, F]])


def test_split_by_line():
    labels = np.array(
        [[0, 0, 0, 0, 0, 0, 0],
         [0, 4, 4, 4, 4, 4, 0],
         [0, 4, 4, 4, 4, 4, 0],
         [0, 0, 0, 0, 0, 0, 0]], np.uint8)
    # a vertical cut through column 4 (x = 4.5 is its centre): columns 1-3 and column 5 are the parts;
    # the larger part keeps id 4, the other gets 5; the cut pixels join their nearest part (a tie here)
    out, new_ids = ms.split_by_line(labels, 4, [[4.5, -1], [4.5, 5]])
    assert new_ids == [5]
    assert_array_equal(out, [
        [0, 0, 0, 0, 0, 0, 0],
        [0, 4, 4, 4, 4, 5, 0],
        [0, 4, 4, 4, 4, 5, 0],
        [0, 0, 0, 0, 0, 0, 0]])


def test_carve_mask():
    labels = np.array([[1, 1, 0],
                       [1, 1, 0],
                       [0, 0, 2]], np.uint8)
    mask = np.array([[0, 1, 0],
                     [0, 1, 0],
                     [0, 0, 0]], bool)
    out, new_id = ms.carve_mask(labels, 1, mask)
    assert new_id == 3
    assert_array_equal(out, [[1, 3, 0],
                             [1, 3, 0],
                             [0, 0, 2]])


# -- label images: measuring and linking -------------------------------------------------------

def test_measure_labels():
    labels = np.array([[0, 7, 7],
                       [0, 0, 2**40]], np.int64)  # a huge id costs nothing extra
    m = ms.measure_labels(labels)
    assert m["label"].tolist() == [7, 2**40]
    assert m["area_px"].tolist() == [2, 1]
    assert_allclose(m["centroid_y"], [0.0, 1.0])
    assert_allclose(m["centroid_x"], [1.5, 2.0])
    assert [m["bbox_x0"].tolist(), m["bbox_x1"].tolist()] == [[1, 2], [3, 3]]


def test_label_iou():
    previous = np.array([[1, 1, 0],
                         [0, 2, 2]])
    current = np.array([[5, 5, 5],
                        [0, 0, 7]])
    iou, prev_ids, cur_ids = ms.label_iou(previous, current)
    assert_allclose(iou, [[2 / 3, 0.0],
                          [0.0, 1 / 2]])
    assert prev_ids.tolist() == [1, 2] and cur_ids.tolist() == [5, 7]


def test_match_objects():
    # (0, 0) is the best pair; (1, 0) would reuse column 0, and column 1 has nothing above 0.25
    assert ms.match_objects([[0.9, 0.2], [0.8, 0.1]], 0.25) == [(0, 0)]


def test_stitch_labels():
    stack = np.array([[[5, 5, 0, 0]],
                      [[0, 9, 9, 0]],   # overlaps object 5 with IoU 1/3: continues it
                      [[0, 0, 0, 3]]])  # touches nothing: a new object
    assert_array_equal(ms.stitch_labels(stack, threshold=0.25), [
        [[1, 1, 0, 0]],
        [[0, 1, 1, 0]],
        [[0, 0, 0, 2]]])


def test_split_at_narrowings():
    big = 2**63 + 5  # a uint64 id above 2**63 is kept exactly, and the cut-off part gets big + 1
    stack = np.zeros((5, 3, 3), np.uint64)
    stack[[0, 1, 3, 4]] = big  # 9 pixels per slice ...
    stack[2, 1, 1] = big  # ... and a 1-pixel waist in the middle slice
    out = ms.split_at_narrowings(stack, ratio=0.5)
    assert out.dtype == np.uint64
    # the waist overlaps both sides equally and stays with the lower part
    assert [int(v) for v in out[:, 1, 1]] == [big, big, big, big + 1, big + 1]
    assert set(np.unique(out).tolist()) == {0, big, big + 1}


# -- every selector has an example here --------------------------------------------------------

MY_MODULES = {f"mask_selectors.{m}" for m in ("boxes", "crops", "edit", "masks", "measure", "points", "stitch",
                                              "text", "_validation")}


def test_every_selector_of_these_modules_has_a_literal_example():
    source = inspect.getsource(inspect.getmodule(test_every_selector_of_these_modules_has_a_literal_example))
    missing = [
        name for name in ms.__all__
        if inspect.isfunction(getattr(ms, name)) and getattr(ms, name).__module__ in MY_MODULES
        and f"ms.{name}(" not in source
    ]
    assert not missing, f"no literal example calls {missing}"

