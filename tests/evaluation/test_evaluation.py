"""The evaluation harness gives the figures it should on known inputs."""

import numpy as np
import pytest

from fastsam_plugin.evaluation.coco import average_precision, average_recall
from fastsam_plugin.io import encode_rle, labels_to_coco


def ground_truth():
    lab = np.zeros((200, 200), np.int32)
    lab[5:40, 5:38] = 1         # 1155 px: medium
    lab[45:145, 40:160] = 2     # 12000 px: large
    lab[150:160, 20:30] = 3     # 100 px: small
    lab[170:190, 150:190] = 4   # 800 px: medium
    return lab, labels_to_coco(lab)


def as_predictions(coco, score=0.9):
    return [{"image_id": a["image_id"], "segmentation": a["segmentation"], "bbox": a["bbox"], "score": score}
            for a in coco["annotations"]]


def test_ground_truth_as_predictions_gives_recall_and_precision_one():
    _, gt = ground_truth()
    ar = average_recall(gt, as_predictions(gt))
    assert ar["AR@10"] == pytest.approx(1.0) and ar["AR@1000_small"] == pytest.approx(1.0)
    assert average_precision(gt, as_predictions(gt))["AP"] == pytest.approx(1.0)
    box_ar = average_recall(gt, as_predictions(gt), iou_type="bbox")
    assert box_ar["AR@100"] == pytest.approx(1.0)


def test_dropped_predictions_lower_recall_by_their_share():
    _, gt = ground_truth()
    preds = as_predictions(gt)
    ar = average_recall(gt, preds[:2])  # 2 of 4 objects
    assert ar["AR@100"] == pytest.approx(0.5)
    assert ar["AR@100_small"] == pytest.approx(0.0)
    assert average_recall(gt, [])["AR@100"] == 0.0


def test_shifted_masks_lose_recall_at_strict_thresholds_only():
    lab, gt = ground_truth()
    shifted = np.roll(lab, 4, axis=1)  # IoU of object 2 after a 4-px shift: 116*100 / (124*100) = 0.935
    preds = []
    for a in gt["annotations"]:
        m = shifted == a["label_id"]
        preds.append({"image_id": 1, "segmentation": encode_rle(m), "bbox": a["bbox"], "score": 0.9})
    ar = average_recall(gt, preds)
    assert 0.0 < ar["AR@100"] < 1.0
    # object 2 (IoU 0.935) is found at thresholds 0.50..0.90: 9 of 10
    assert ar["AR@100_large"] == pytest.approx(0.9)
