"""The trees training set: crown masks grown from the Urban Tree Detection points.

The dataset (``../shared/data/aerial/urban-trees``, read from there and never
copied) gives 60 cm NAIP tiles (256 x 256 x 4 uint8: red, green, blue,
near-infrared) and one point per visible tree, no outlines. A segmenter needs
instance masks, so :func:`derive_crowns` grows one crown around each point:

1. **Vegetation** from the near-infrared band: NDVI = (NIR - R) / (NIR + R),
   smoothed, above :data:`NDVI_THRESHOLD` (measured on the validation tiles:
   tree points sit above it, roofs and roads below).
2. **Seeded watershed** (scikit-image) on the image's edge strength, one
   marker per tree point and one for everything that is not vegetation, so
   neighbouring crowns split along the darker gaps between them and a crown
   stops where a lawn's texture changes; *compactness* keeps crowns round.
3. **Size limits**: a crown never reaches beyond ``max_radius`` pixels of its
   own point (a lawn is not a tree) and is at least a small disk around the
   point (a tree whose point falls on shadow still gets an object).

The model sees the bands named by :data:`TREE_BANDS` (1-based, as GDAL):
the NIR-R-G false-colour composite, in which vegetation is bright red and
roofs, roads and bare soil are not, the separation NDVI measures.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ..engine.scale import ModelScale
from .yolo_dataset import Sample, write_data_yaml, write_split

#: bands shown to the model as (red, green, blue), numbered from 1: NIR, red, green
TREE_BANDS = (4, 1, 2)
NDVI_THRESHOLD = 0.05
MAX_RADIUS = 11.0  # px at 0.6 m: crowns up to ~13 m across
MIN_RADIUS = 3.0  # px: the smallest object a tree point gets
#: Ultralytics settings for aerial tiles: north-up imagery has no preferred direction (both flips, any
#: 90-degree turn via flips + mosaic); colour jitter would move vegetation out of its false-colour red
TREES_TRAIN_OVERRIDES = {"flipud": 0.5, "fliplr": 0.5, "degrees": 0.0, "hsv_h": 0.0, "hsv_s": 0.3, "hsv_v": 0.3,
                         "scale": 0.3, "mosaic": 1.0, "close_mosaic": 5, "max_det": 300}


def dataset_root(shared: str | Path) -> Path:
    """The ``urban-trees`` folder below ``shared`` (``../shared/data`` or the folder itself)."""
    shared = Path(shared)
    for cand in (shared, shared / "aerial" / "urban-trees", shared / "data" / "aerial" / "urban-trees"):
        if (cand / "train_socal.txt").is_file() and (cand / "images").is_dir():
            return cand
    raise FileNotFoundError(
        f"no Urban Tree Detection tiles under {shared}: give the folder holding train_socal.txt, images/ and csv/ "
        "(../shared/data/aerial/urban-trees)."
    )


def split_names(root: str | Path, split: str) -> list[str]:
    """Tile names of ``split`` (``"train"`` or ``"val"``: the dataset's ``train_socal``/``val_socal``)."""
    path = Path(root) / f"{split}_socal.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: split must be 'train' or 'val'.")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def read_tile(root: str | Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """One tile and its tree points.

    Returns
    -------
    image : (H, W, 4) uint8
        Red, green, blue, near-infrared.
    points : (K, 2) float64
        Tree positions as (x, y) pixel coordinates (column, row); (0, 2) when the tile has no tree.
    """
    import tifffile

    root = Path(root)
    image = tifffile.imread(str(root / "images" / f"{name}.tif"))
    if image.ndim != 3 or image.shape[2] != 4:
        raise ValueError(f"{name}: expected a (H, W, 4) tile; got {image.shape}.")
    csv = root / "csv" / f"{name}.csv"
    points = np.loadtxt(csv, delimiter=",", skiprows=1, ndmin=2) if csv.is_file() else np.zeros((0, 2))
    return image, points.reshape(-1, 2).astype(np.float64)


def ndvi(image: np.ndarray) -> np.ndarray:
    """(H, W) float32 NDVI of a (H, W, 4) R, G, B, NIR image (0 where both bands are 0)."""
    red = image[..., 0].astype(np.float32)
    nir = image[..., 3].astype(np.float32)
    return (nir - red) / np.maximum(nir + red, 1.0)


def false_colour(image: np.ndarray, bands: tuple[int, ...] = TREE_BANDS) -> np.ndarray:
    """(H, W, 3) uint8 composite of a (H, W, B) uint8 tile; ``bands`` numbered from 1."""
    return np.ascontiguousarray(image[..., [b - 1 for b in bands]])


def derive_crowns(
    image: np.ndarray,
    points: np.ndarray,
    max_radius: float = MAX_RADIUS,
    min_radius: float = MIN_RADIUS,
    ndvi_threshold: float = NDVI_THRESHOLD,
) -> np.ndarray:
    """Grow one crown mask around each tree point.

    Parameters
    ----------
    image : (H, W, 4) uint8
        Red, green, blue, near-infrared.
    points : (K, 2) float
        Tree positions (x, y) in pixels.
    max_radius, min_radius : float
        A crown lies within ``max_radius`` of its point and holds at least
        the disk of ``min_radius`` around it (clipped at its neighbours).
    ndvi_threshold : float
        Smoothed NDVI above which a pixel is vegetation.

    Returns
    -------
    (K', H, W) bool
        One mask per point inside the image, in the points' order (points
        outside the image, and points on the same pixel as an earlier one, are dropped).
    """
    from skimage.segmentation import watershed

    h, w = image.shape[:2]
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
    pts = pts[inside]
    pixels = np.clip(np.round(pts), 0, [w - 1, h - 1]).astype(int)
    _, first = np.unique(pixels[:, 1] * w + pixels[:, 0], return_index=True)
    pts = pts[np.sort(first)]  # one tree per pixel: a seed marker holds one id
    if not len(pts):
        return np.zeros((0, h, w), bool)
    veg = cv2.GaussianBlur(ndvi(image), (0, 0), 1.0) > ndvi_threshold
    # edge strength of the smoothed image: crowns split along the dark gaps between them
    smooth = cv2.GaussianBlur(image.astype(np.float32), (0, 0), 1.0)
    grad = np.zeros((h, w), np.float32)
    for c in range(image.shape[2]):
        grad += np.hypot(cv2.Sobel(smooth[..., c], cv2.CV_32F, 1, 0), cv2.Sobel(smooth[..., c], cv2.CV_32F, 0, 1))
    cols, rows = np.clip(np.round(pts[:, 0]).astype(int), 0, w - 1), np.clip(np.round(pts[:, 1]).astype(int), 0, h - 1)
    seeds = np.zeros((h, w), np.int32)
    seeds[rows, cols] = np.arange(1, len(pts) + 1)
    # distance to and identity of the nearest tree point: the Voronoi cell bounds every crown
    near = np.ones((h, w), np.uint8)
    near[rows, cols] = 0
    dist, nearest = cv2.distanceTransformWithLabels(near, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    pixel_to_point = np.zeros(nearest.max() + 1, np.int32)
    pixel_to_point[nearest[rows, cols]] = np.arange(1, len(pts) + 1)
    cell = pixel_to_point[nearest]
    reach = dist <= max_radius
    markers = seeds.copy()
    background = len(pts) + 1
    markers[~veg & ~reach] = background
    markers[~veg & (dist > min_radius + 1)] = background
    markers[seeds > 0] = seeds[seeds > 0]
    grown = watershed(grad, markers, mask=reach | (markers == background), compactness=0.01)
    grown[grown == background] = 0
    core = dist <= min_radius  # every point keeps a small disk inside its own cell
    grown = np.where(core, cell, grown)
    grown = np.where(grown == cell, grown, 0)  # never into a neighbour's cell
    ids = np.arange(1, len(pts) + 1)
    return grown[None] == ids[:, None, None]


def tree_samples(root: str | Path, split: str, bands: tuple[int, ...] = TREE_BANDS) -> Iterator[Sample]:
    """Each tile of ``split`` as a training sample: the false-colour image and its derived crowns."""
    for name in split_names(root, split):
        image, points = read_tile(root, name)
        yield Sample(name, false_colour(image, bands), derive_crowns(image, points))


def trees_scale(shared: str | Path, imgsz: int) -> ModelScale:
    """The scale a model trained on these tiles records: their side and pixel size, from the source GeoTIFFs.

    The training set's PNG copies carry no pixel size, so :func:`~fastsam_plugin.training.dataset_scale.dataset_scale`
    could not tell it; read from the first training tile's transform (NAIP: 0.6 m). No object diameter is
    recorded: crowns grown from points are no size to estimate from, and the pixel size decides the zoom.
    """
    import tifffile

    from ..io.pixel_size import of_file

    root = dataset_root(shared)
    first = root / "images" / f"{split_names(root, 'train')[0]}.tif"
    with tifffile.TiffFile(first) as tif:
        side = max(tif.pages[0].shape[:2])
    size = of_file(first)
    pixel_size, unit = (round(size[0], 6), size[1]) if size else (None, None)
    return ModelScale(tile=int(side), imgsz=int(imgsz), pixel_size=pixel_size, unit=unit)


def trees_dataset(out_dir: str | Path, shared: str | Path, bands: tuple[int, ...] = TREE_BANDS) -> Path:
    """Write the Ultralytics dataset (train_socal -> train, val_socal -> val); return ``data.yaml``."""
    root = dataset_root(shared)
    write_split(tree_samples(root, "train", bands), out_dir, "train")
    write_split(tree_samples(root, "val", bands), out_dir, "val")
    return write_data_yaml(out_dir)
