import numpy as np
import pytest
import tifffile

from fastsam_plugin.engine.result import SegmentationResult
from fastsam_plugin.io import (
    OutputExistsError,
    decode_rle,
    encode_rle,
    labels_to_coco,
    overlay,
    read_image,
    result_to_coco,
    write_labels,
)


def small_result():
    m = np.zeros((2, 20, 30), bool)
    m[0, 2:8, 3:10] = True
    m[1, 10:18, 5:25] = True
    return SegmentationResult.from_masks(m, [[3, 2, 10, 8], [5, 10, 25, 18]], [0.9, 0.8]), m


def test_rle_round_trip():
    _, m = small_result()
    np.testing.assert_array_equal(decode_rle(encode_rle(m[1])), m[1])


def test_result_to_coco_has_boxes_scores_and_masks():
    r, m = small_result()
    coco = result_to_coco(r, file_name="x.png")
    assert [a["bbox"] for a in coco["annotations"]] == [[3, 2, 7, 6], [5, 10, 20, 8]]
    assert [a["score"] for a in coco["annotations"]] == pytest.approx([0.9, 0.8])
    for ann, mask in zip(coco["annotations"], m):
        np.testing.assert_array_equal(decode_rle(ann["segmentation"]), mask)


def test_write_labels_refuses_to_overwrite(tmp_path):
    lab = np.arange(12, dtype=np.int32).reshape(3, 4)
    p = write_labels(tmp_path / "l.tif", lab)
    np.testing.assert_array_equal(tifffile.imread(p), lab)
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_labels(p, lab)
    write_labels(p, lab * 2, overwrite=True)
    np.testing.assert_array_equal(read_image(p), lab * 2)


def test_labels_to_coco_rejects_stacks_and_overlay_shape():
    with pytest.raises(ValueError, match="slice by slice"):
        labels_to_coco(np.zeros((2, 3, 3), int))
    img = np.zeros((20, 30, 3), np.uint8)
    out = overlay(img, small_result()[0].labels())
    assert out.shape == img.shape and out[3, 4].any() and not out[0, 0].any()
