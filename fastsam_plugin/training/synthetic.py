"""Seeded synthetic scenes with exact instance masks and captions.

Two modes:

* ``"shapes"``: filled circles, ellipses, rectangles, triangles and irregular
  blobs in named colours and two sizes, overlapping, on a noisy or textured
  background; RGB uint8. Every object carries a caption such as
  ``"a small red circle"`` for text-prompt training and tests.
* ``"microscopy"``: bright, blurred nuclei with shot noise on a dark
  background; single-channel uint16.

Objects are drawn in order, so a later object hides part of an earlier one;
the masks are the visible parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 180, 40),
    "blue": (30, 60, 220),
    "yellow": (235, 215, 30),
    "purple": (140, 40, 190),
    "orange": (245, 130, 20),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
}
SHAPES = ("circle", "ellipse", "rectangle", "triangle", "blob")
SIZES = {"small": (0.07, 0.11), "large": (0.15, 0.22)}  # radius as a fraction of the shorter side


@dataclass
class SceneObject:
    """One drawn object: its attributes and caption."""

    shape: str
    colour: str
    size: str

    @property
    def caption(self) -> str:
        return f"a {self.size} {self.colour} {self.shape}"


@dataclass
class Scene:
    """A generated image with its ground truth.

    Attributes
    ----------
    image : (H, W, 3) uint8 for ``"shapes"``, (H, W) uint16 for ``"microscopy"``
    masks : (N, H, W) bool
        Visible part of each object.
    objects : list of SceneObject
        Same order as ``masks``.
    """

    image: np.ndarray
    masks: np.ndarray
    objects: list[SceneObject] = field(default_factory=list)

    @property
    def captions(self) -> list[str]:
        return [o.caption for o in self.objects]


def _shape_mask(rng: np.random.Generator, shape: str, hw: tuple[int, int], radius: float) -> np.ndarray:
    h, w = hw
    canvas = np.zeros((h, w), np.uint8)
    cx = rng.uniform(radius, w - radius)
    cy = rng.uniform(radius, h - radius)
    centre = (int(round(cx)), int(round(cy)))
    r = int(round(radius))
    if shape == "circle":
        cv2.circle(canvas, centre, r, 1, -1)
    elif shape == "ellipse":
        axes = (r, max(2, int(r * rng.uniform(0.4, 0.6))))
        cv2.ellipse(canvas, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    elif shape == "rectangle":
        half = np.array([r, r * rng.uniform(0.5, 1.0)])
        angle = rng.uniform(0, 90)
        box = cv2.boxPoints(((cx, cy), tuple(2 * half), angle))
        cv2.fillPoly(canvas, [np.round(box).astype(np.int32)], 1)
    elif shape == "triangle":
        start = rng.uniform(0, 2 * np.pi)
        angles = start + np.array([0, 2 * np.pi / 3, 4 * np.pi / 3])
        pts = np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles)], 1)
        cv2.fillPoly(canvas, [np.round(pts).astype(np.int32)], 1)
    elif shape == "blob":
        angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        radii = r * (0.75 + 0.25 * np.sin(3 * angles + rng.uniform(0, 6)) + rng.uniform(-0.1, 0.1, 16))
        pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1)
        cv2.fillPoly(canvas, [np.round(pts).astype(np.int32)], 1)
    else:
        raise ValueError(f"unknown shape {shape!r}; choose from {SHAPES}.")
    return canvas.astype(bool)


def _background(rng: np.random.Generator, hw: tuple[int, int]) -> np.ndarray:
    h, w = hw
    base = rng.uniform(90, 170, size=3)
    if rng.random() < 0.5:  # smooth texture: upsampled noise
        coarse = rng.normal(0, 25, size=(max(2, h // 32), max(2, w // 32), 3)).astype(np.float32)
        texture = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    else:
        texture = np.zeros((h, w, 3), np.float32)
    return base + texture + rng.normal(0, 6, size=(h, w, 3))


def make_scene(
    seed: int | np.random.Generator = 0,
    size: tuple[int, int] = (320, 320),
    n_objects: int | tuple[int, int] = (3, 8),
    mode: str = "shapes",
    min_visible: int = 30,
) -> Scene:
    """Generate one scene.

    Parameters
    ----------
    seed : int or numpy Generator
        Same seed, same scene.
    size : (int, int)
        Image height and width.
    n_objects : int or (int, int)
        Number of objects drawn, or an inclusive range to draw it from.
    mode : {"shapes", "microscopy"}
    min_visible : int
        Objects whose visible part has fewer pixels are dropped from the
        ground truth (they are still drawn).

    Returns
    -------
    Scene
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if mode not in ("shapes", "microscopy"):
        raise ValueError(f"mode must be 'shapes' or 'microscopy'; got {mode!r}.")
    h, w = size
    n = n_objects if isinstance(n_objects, int) else int(rng.integers(n_objects[0], n_objects[1] + 1))
    if mode == "microscopy":
        return _microscopy_scene(rng, (h, w), n, min_visible)

    canvas = _background(rng, (h, w))
    owner = np.full((h, w), -1, np.int32)
    objects = []
    for k in range(n):
        obj = SceneObject(
            shape=str(rng.choice(SHAPES)),
            colour=str(rng.choice(list(COLOURS))),
            size=str(rng.choice(list(SIZES))),
        )
        lo, hi = SIZES[obj.size]
        radius = rng.uniform(lo, hi) * min(h, w)
        m = _shape_mask(rng, obj.shape, (h, w), radius)
        shade = np.asarray(COLOURS[obj.colour], float) * rng.uniform(0.9, 1.05)
        canvas[m] = shade + rng.normal(0, 4, size=(int(m.sum()), 3))
        owner[m] = k
        objects.append(obj)
    image = np.clip(canvas, 0, 255).astype(np.uint8)
    return _visible(image, owner, objects, min_visible)


def _microscopy_scene(rng: np.random.Generator, hw: tuple[int, int], n: int, min_visible: int) -> Scene:
    h, w = hw
    signal = np.zeros((h, w), np.float32)
    owner = np.full((h, w), -1, np.int32)
    objects = []
    for k in range(n):
        radius = rng.uniform(0.04, 0.09) * min(h, w)
        shape = "ellipse" if rng.random() < 0.7 else "blob"
        m = _shape_mask(rng, shape, (h, w), radius)
        signal[m] = rng.uniform(0.4, 1.0)
        owner[m] = k
        objects.append(SceneObject(shape="nucleus", colour="bright", size="small"))
    blurred = cv2.GaussianBlur(signal, (0, 0), 1.5)
    photons = rng.poisson(blurred * 3000 + 200).astype(np.float64)
    image = np.clip(photons + rng.normal(0, 30, size=(h, w)), 0, 65535).astype(np.uint16)
    return _visible(image, owner, objects, min_visible)


def _visible(image: np.ndarray, owner: np.ndarray, objects: list[SceneObject], min_visible: int) -> Scene:
    masks = np.stack([owner == k for k in range(len(objects))]) if objects else np.zeros((0, *owner.shape), bool)
    keep = masks.sum(axis=(1, 2)) >= min_visible
    return Scene(image=image, masks=masks[keep], objects=[o for o, k in zip(objects, keep) if k])


def make_stack(seed: int = 0, depth: int = 5, size: tuple[int, int] = (256, 256)) -> np.ndarray:
    """A (Z, H, W) uint16 microscopy-like stack of independent slices."""
    rng = np.random.default_rng(seed)
    return np.stack([make_scene(rng, size, (4, 9), mode="microscopy").image for _ in range(depth)])
