"""Scoring segmentations: COCO AR/AP with pycocotools, box-prompted AP, and the BSDS500 boundary
benchmark (ODS/OIS/AP/R50 with the official one-to-one matching; see docs/evaluation.md)."""
