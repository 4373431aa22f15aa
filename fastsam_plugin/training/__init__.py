"""Training data (synthetic scenes, dataset readers, YOLO format) and training/evaluation of models."""
