"""Tree detection on the Urban Tree Detection tiles, scored by the dataset's own rule (``napari-fastsam eval --trees``).

Each tile of a split is segmented once (one model for all tiles) and its
objects are matched to the tile's tree points with
:mod:`fastsam_plugin.evaluation.points`: a tree is found when its point lies
inside an object's box (the model's box), each tree and each object used at
most once, counts pooled over the tiles. The stricter variant asks the point
to lie inside the object's mask.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from .points import PointCounts, count_box_matches, count_mask_matches, pixel_centres

#: Ventura et al. 2024 (HR-SFANet), on the dataset's held-out test_socal tiles, which are not in ../shared/data
PUBLISHED = {"method": "HR-SFANet (Ventura et al. 2024)", "tiles": "test_socal", "precision": 0.736, "recall": 0.733}
PUBLISHED["F1"] = round(2 * PUBLISHED["precision"] * PUBLISHED["recall"] / (PUBLISHED["precision"] + PUBLISHED["recall"]), 3)

SPLITS = ("train", "val")


def evaluate_trees(
    session,
    root: str | Path,
    *,
    split: str = "val",
    bands: Sequence[int] = (1, 2, 3),
    limit: int | None = None,
    progress: bool = True,
) -> dict[str, dict[str, float]]:
    """Point-in-box and point-in-mask scores of ``session``'s everything mode on one split of the tiles.

    Parameters
    ----------
    session : fastsam_plugin.engine.session.Session
        Runs at its current ``params``; its model is loaded once and reused for every tile.
    root : path
        The ``urban-trees`` folder (or ``../shared/data`` above it): ``images/``, ``csv/``, ``<split>_socal.txt``.
    split : {"val", "train"}
        The dataset's ``val_socal`` (43 tiles) or ``train_socal`` (383 tiles).
    bands : sequence of int
        1-based bands of the (H, W, 4) R, G, B, NIR tiles shown to the model as red, green, blue
        (``(4, 1, 2)``: the NIR-R-G false colour).
    limit : int, optional
        Score the first ``limit`` tiles of the split only.
    progress : bool
        A progress bar on stderr.

    Returns
    -------
    dict
        ``{"box": scores, "mask": scores, "speed": {"seconds per tile": s}}``; ``scores`` as
        :meth:`PointCounts.scores` (tiles, trees, objects, TP, precision, recall, F1).

    Raises
    ------
    FileNotFoundError
        No tiles at ``root``.
    ValueError
        An unknown split, or bands the tiles do not have.
    """
    from tqdm.auto import tqdm

    from ..training.trees_data import dataset_root, false_colour, read_tile, split_names

    if split not in SPLITS:
        raise ValueError(f"split {split!r}: the tiles come as 'train' (train_socal) or 'val' (val_socal); "
                         "the dataset's test_socal tiles are not in the folder.")
    bands = tuple(int(b) for b in bands)
    if not 1 <= len(bands) <= 3 or not all(1 <= b <= 4 for b in bands):
        raise ValueError(f"bands {bands}: give one to three of the tiles' bands 1-4 (red, green, blue, near-IR).")
    root = dataset_root(root)
    names = split_names(root, split)[:limit]
    _ = session.segmenter  # load before the clock starts: the time per tile is the segmentation alone
    box, mask, seconds = PointCounts(), PointCounts(), 0.0
    import tifffile

    from ..io.images import check_tiff
    from ..io.paths import path_inside

    for name in tqdm(names, desc="segmenting", unit="tile", disable=not progress):
        # the names come from the dataset's split file: each tile and its CSV must lie inside the root
        tile, _ = (path_inside(root, part, source=root / f"{split}_socal.txt", what="tile",
                               folder_label="dataset folder") for part in (f"images/{name}.tif", f"csv/{name}.csv"))
        if tile.is_file():  # its declared size, before it is decoded (io.limits)
            with tifffile.TiffFile(tile) as tif:
                check_tiff(tif, tile.name)
        image, points = read_tile(root, name)
        shown = false_colour(image, bands)
        t0 = time.perf_counter()
        result = session.segment(shown)
        seconds += time.perf_counter() - t0
        box += count_box_matches(pixel_centres(points), result.boxes)
        mask += count_mask_matches(points, result.crops, result.pixel_boxes)
    return {"box": box.scores(), "mask": mask.scores(),
            "speed": {"seconds per tile": seconds / len(names) if names else float("nan")}}
