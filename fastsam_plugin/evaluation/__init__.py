"""Scoring segmentations: COCO AR/AP with pycocotools, box-prompted AP, BSDS500 boundaries."""
