"""Text prompts, split so that no model is needed here.

1. :func:`mask_crops` cuts one picture per mask for an image encoder (CLIP).
2. The caller embeds the crops and the text with any model.
3. :func:`select_by_text` ranks the masks by cosine similarity to the text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import (
    SelectorInputError,
    as_areas,
    as_count,
    as_embeddings,
    as_flag,
    as_image,
    as_indices,
    as_int_boxes,
    as_masks,
    as_real,
    check_boxes_inside,
    unit_rows,
)
from .masks import contour_boxes

DEFAULT_MIN_AREA = 100  # masks of at most this many pixels are skipped, as in FastSAM


@dataclass(frozen=True)
class MaskCrops:
    """Crops of an image, one per kept mask.

    Attributes
    ----------
    crops : list of (h_i, w_i, 3) uint8
        The mask's bounding box cut from the image (``"tight"``), or full
        (H, W, 3) frames (``"fastsam"``).
    indices : (M,) int64
        ``crops[j]`` comes from ``masks[indices[j]]``.
    """

    crops: list[np.ndarray]
    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.crops)


@dataclass(frozen=True)
class TextMatches:
    """Masks ranked for each text, best first.

    Attributes
    ----------
    indices : (T, k) int64
        Original mask indices.
    scores : (T, k) float64
        Cosine similarity between the mask's crop and the text, in [-1, 1].
    """

    indices: np.ndarray
    scores: np.ndarray


def mask_crops(
    image: np.ndarray,
    masks: np.ndarray,
    *,
    min_area: int = DEFAULT_MIN_AREA,
    fill_background: bool = True,
    areas: np.ndarray | None = None,
    boxes: np.ndarray | None = None,
    style: str = "tight",
) -> MaskCrops:
    """Cut the picture an image encoder sees for each mask.

    Two styles:

    * ``"tight"`` (default, this project's choice): the mask's bounding box
      cut from the image, pixels outside the MASK painted white (with
      ``fill_background``), so the encoder sees the object alone and small
      objects fill the encoder's input.
    * ``"fastsam"``: what the original FastSAM code does (``_crop_image`` /
      ``segment_image``): a full-frame picture, white outside the mask's BOX,
      the image unchanged inside the box. Costs H x W x 3 bytes per mask.

    Parameters
    ----------
    image : (H, W, 3) uint8
    masks : (N, H, W) bool or 0/1 integer array
    min_area : int
        Masks with at most this many pixels are skipped (default 100); a
        finite number >= 0 (NaN, which would skip every mask, is an error).
    fill_background : bool
        ``"tight"`` style only: paint the pixels outside the mask white.
        ``False`` keeps the surroundings inside the box.
    areas : (N,) int, optional
        Precomputed pixel counts.
    boxes : (N, 4) int, optional
        Precomputed :func:`mask_selectors.contour_boxes`.
    style : {"tight", "fastsam"}

    Returns
    -------
    MaskCrops
        May hold no crop when every mask is too small.
    """
    if not isinstance(style, str) or style not in ("tight", "fastsam"):
        raise SelectorInputError(f"style must be 'tight' or 'fastsam'; got {style!r}.")
    smallest = as_real(min_area, "min_area", low=0.0)
    fill_background = as_flag(fill_background, "fill_background")
    m = as_masks(masks)
    img = as_image(image, m.shape[1:])
    a = as_areas(areas, m)
    if boxes is None:
        b = contour_boxes(m)
    else:
        b = as_int_boxes(boxes, "boxes", n=len(m))
        check_boxes_inside(b, m.shape[1:])
    crops, kept = [], []
    for i in np.flatnonzero(a > smallest):
        x0, y0, x1, y1 = b[i]
        if style == "fastsam":  # full frame, white outside the box
            crop = np.full_like(img, 255)
            crop[y0:y1, x0:x1] = img[y0:y1, x0:x1]
        else:
            crop = img[y0:y1, x0:x1].copy()
            if fill_background:
                crop[~m[i, y0:y1, x0:x1]] = 255
        crops.append(crop)
        kept.append(i)
    return MaskCrops(crops=crops, indices=np.asarray(kept, dtype=np.int64))


def text_similarity(crop_embeddings: np.ndarray, text_embeddings: np.ndarray) -> np.ndarray:
    """Cosine similarity between every text and every crop.

    Parameters
    ----------
    crop_embeddings : (M, D) float
    text_embeddings : (T, D) or (D,) float

    Returns
    -------
    similarity : (T, M) float64
    """
    crops = as_embeddings(crop_embeddings, "crop_embeddings")
    texts = as_embeddings(text_embeddings, "text_embeddings")
    if crops.shape[1] != texts.shape[1]:
        raise SelectorInputError(
            f"crop_embeddings have dimension {crops.shape[1]} but text_embeddings {texts.shape[1]}; "
            "embed crops and text with the same model."
        )
    # scale-safe unit vectors: embeddings of any magnitude (1e-170 .. 1e200) give their true cosine
    return np.clip(unit_rows(texts) @ unit_rows(crops).T, -1.0, 1.0)


def select_by_text(
    crop_embeddings: np.ndarray,
    text_embeddings: np.ndarray,
    crop_indices: np.ndarray,
    *,
    top_k: int = 1,
) -> TextMatches:
    """Rank masks by how well their crop matches each text.

    Parameters
    ----------
    crop_embeddings : (M, D) float
        One embedding per crop of :func:`mask_crops`.
    text_embeddings : (T, D) or (D,) float
    crop_indices : (M,) int
        ``MaskCrops.indices``: the mask each crop came from.
    top_k : int
        How many masks to return per text (at most M).

    Returns
    -------
    TextMatches
        ``indices`` and ``scores`` of shape (T, min(top_k, M)).
    """
    sim = text_similarity(crop_embeddings, text_embeddings)
    idx = as_indices(crop_indices, 2**63 - 1, "crop_indices")  # mask indices: whole numbers >= 0
    if np.shape(crop_indices) != (sim.shape[1],):
        raise SelectorInputError(
            f"crop_indices must have one entry per crop embedding, shape ({sim.shape[1]},); "
            f"got {np.shape(crop_indices)}."
        )
    k = min(as_count(top_k, "top_k", minimum=1), sim.shape[1])
    order = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    return TextMatches(indices=idx[order], scores=np.take_along_axis(sim, order, axis=1))
