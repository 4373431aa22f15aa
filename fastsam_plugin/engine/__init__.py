"""The engine: FastSAM's two stages behind one :class:`~fastsam_plugin.engine.session.Session`.

Stage 1 (everything mode): ``weights`` and ``device`` pick a checkpoint and a
device, ``model`` runs the Ultralytics network and assembles box-cropped masks,
``imaging`` turns any image into the model's 8-bit RGB, ``tiling`` and
``pipeline`` handle huge images and stacks, ``result`` holds the answer.
Stage 2 (prompts): ``session`` caches results and answers points, boxes and
text through the pure rules of ``mask_selectors``; ``clip`` embeds crops and
text. ``hookspecs`` and ``backends`` let other packages add segmenters and
embedders through pluggy. Nothing here imports napari or Qt.
"""
