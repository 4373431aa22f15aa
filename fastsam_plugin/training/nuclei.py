"""Procedural fluorescence-nuclei images with exact instance labels.

What a nucleus looks like here, and why:

* **Shape**: an ellipse (aspect 1-2.2, elongated nuclei up to 3) whose
  radius is perturbed by a few low Fourier modes, so outlines are smooth but
  not geometric. Some nuclei are *dividing*: two smaller daughters side by
  side, each its own instance, nearly touching (telophase), as stain-based
  ground truths label them.
* **Layout**: isolated nuclei plus *clusters* where neighbours touch or
  overlap (centre distance 0.6-1.05 times the sum of radii). The nucleus
  drawn later lies on top: its mask is whole, the one below keeps its visible
  part, and in the image the overlap is brighter (fluorescence adds up).
* **Interior**: per-nucleus brightness (a 3-10x spread, as in DSB2018),
  smooth chromatin texture, a few bright spots (nucleoli/chromocentres) or a
  dim centre, and an edge falloff.
* **Optics and camera**: Gaussian blur (sigma 0.4-2.5 px), an uneven
  background (offset + smooth gradient + low-frequency haze), Poisson shot
  noise at a random photon budget, Gaussian read noise, and a random bit
  depth: 8-bit, 12-bit in uint16, or full-range 16-bit.
* **Size**: one typical diameter per image, drawn log-uniformly from 5 to
  60 px, with a +-35% spread inside the image.

The raw image (uint8 or uint16, single channel) is what a microscope
writes; :func:`to_model_input` applies the plugin's own normalisation
(:func:`fastsam_plugin.engine.imaging.normalize_image`), so training sees
exactly what inference sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..engine.imaging import normalize_image

DIAMETER_RANGE = (5.0, 60.0)


@dataclass
class NucleiScene:
    """A generated fluorescence image and its instances.

    Attributes
    ----------
    image : (H, W) uint8 or uint16
        Raw single-channel intensities.
    labels : (H, W) int32
        0 background, 1..N nuclei (visible parts; a nucleus on top is whole).
    """

    image: np.ndarray
    labels: np.ndarray

    @property
    def masks(self) -> np.ndarray:
        """(N, H, W) bool, one mask per label 1..N in order (empty labels dropped)."""
        return labels_to_masks(self.labels)


def labels_to_masks(labels: np.ndarray) -> np.ndarray:
    """(H, W) int labels to an (N, H, W) bool stack, one per non-zero label present, in label order."""
    ids = np.unique(labels)
    ids = ids[ids != 0]
    return (labels[None] == ids[:, None, None]) if len(ids) else np.zeros((0, *labels.shape), bool)


def _outline(rng: np.random.Generator, radius: float, aspect: float, n: int = 64) -> np.ndarray:
    """(n, 2) float polygon around the origin: a Fourier-perturbed ellipse, random orientation."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in (2, 3, 4, 5):
        r += rng.normal(0, 0.06 / k) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    a = radius * np.sqrt(aspect)
    b = radius / np.sqrt(aspect)
    x, y = a * r * np.cos(t), b * r * np.sin(t)
    th = rng.uniform(0, np.pi)
    c, s = np.cos(th), np.sin(th)
    return np.stack([c * x - s * y, s * x + c * y], axis=1)


def _smooth_noise(rng: np.random.Generator, hw: tuple[int, int], sigma: float) -> np.ndarray:
    """Zero-mean, unit-std smooth random field of shape ``hw`` (float32)."""
    f = cv2.GaussianBlur(rng.standard_normal(hw).astype(np.float32), (0, 0), max(sigma, 0.5))
    return (f - f.mean()) / (f.std() + 1e-6)


def _place(rng, hw, diameter, n_target, cluster_frac):
    """Centres, radii and aspects: isolated nuclei, clusters and dividing pairs.

    Returns a list of ``(cx, cy, radius, aspect)``; dividing daughters come as
    consecutive entries.
    """
    h, w = hw
    out: list[tuple[float, float, float, float]] = []

    def radius():
        return 0.5 * diameter * float(np.exp(rng.uniform(np.log(0.65), np.log(1.35))))

    def aspect():
        return float(rng.uniform(2.0, 3.0)) if rng.random() < 0.12 else float(rng.uniform(1.0, 1.8))

    xyr = np.zeros((n_target + 2, 3))  # centres and radii placed so far, for vectorised distance checks

    def free(cx, cy, r, slack):
        p = xyr[: len(out)]
        return bool(np.all(np.hypot(cx - p[:, 0], cy - p[:, 1]) >= slack * (r + p[:, 2])))

    def add(cx, cy, r, a):
        xyr[len(out)] = cx, cy, r
        out.append((cx, cy, r, a))

    tries = 0
    while len(out) < n_target and tries < n_target * 30:  # a dividing pair may overshoot by one
        tries += 1
        r = radius()
        cx, cy = rng.uniform(-0.3 * r, w + 0.3 * r), rng.uniform(-0.3 * r, h + 0.3 * r)
        kind = rng.random()
        if kind < 0.1:  # dividing: two daughters, each ~0.7 of a nucleus, touching
            rd = 0.7 * r
            th = rng.uniform(0, np.pi)
            dx, dy = np.cos(th) * rd * 1.05, np.sin(th) * rd * 1.05
            if free(cx, cy, 2 * rd, 1.0):
                add(cx - dx, cy - dy, rd, 1.3)
                add(cx + dx, cy + dy, rd, 1.3)
        elif kind < 0.1 + cluster_frac and out:  # join a neighbour: touching or overlapping
            x0, y0, r0, _ = out[rng.integers(len(out))]
            th = rng.uniform(0, 2 * np.pi)
            d = (r0 + r) * rng.uniform(0.6, 1.05)
            cx, cy = x0 + d * np.cos(th), y0 + d * np.sin(th)
            # overlap with the anchor is intended; every other neighbour keeps its distance
            if free(cx, cy, r, 0.6):
                add(cx, cy, r, aspect())
        elif free(cx, cy, r, 1.1):
            add(cx, cy, r, aspect())
    return out


def make_nuclei_scene(
    seed: int | np.random.Generator,
    size: tuple[int, int] = (256, 256),
    diameter: float | None = None,
    bit_depth: int | None = None,
    max_nuclei: int = 150,
) -> NucleiScene:
    """Generate one fluorescence nuclei image with its instance labels.

    Parameters
    ----------
    seed : int or numpy Generator
    size : (H, W)
    diameter : float, optional
        Typical nucleus diameter in pixels; default log-uniform in [5, 60].
    bit_depth : {8, 12, 16}, optional
        Output range: uint8 0..255, uint16 0..4095 or uint16 0..65535; default random.
    max_nuclei : int
        Cap on placed nuclei (small nuclei in a large image are sparser then);
        training cost grows with the instances per image.

    Returns
    -------
    NucleiScene
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    h, w = int(size[0]), int(size[1])
    if h < 16 or w < 16:
        raise ValueError(f"size must be at least 16 x 16 pixels; got {size}.")
    if diameter is None:
        diameter = float(np.exp(rng.uniform(np.log(DIAMETER_RANGE[0]), np.log(DIAMETER_RANGE[1]))))
    if not DIAMETER_RANGE[0] / 2 <= diameter <= 2 * DIAMETER_RANGE[1]:
        raise ValueError(f"diameter must lie in [{DIAMETER_RANGE[0] / 2}, {2 * DIAMETER_RANGE[1]}] px; got {diameter}.")
    if bit_depth is None:
        bit_depth = int(rng.choice([8, 12, 16]))
    if bit_depth not in (8, 12, 16):
        raise ValueError(f"bit_depth must be 8, 12 or 16; got {bit_depth}.")

    density = rng.uniform(0.15, 0.55)  # covered fraction before overlap
    n_target = max(1, int(density * h * w / (np.pi * (diameter / 2) ** 2)))
    n_target = min(n_target, max_nuclei)
    nuclei = _place(rng, (h, w), diameter, n_target, cluster_frac=rng.uniform(0.2, 0.6))

    labels = np.zeros((h, w), np.int32)
    signal = np.zeros((h, w), np.float32)
    texture = _smooth_noise(rng, (h, w), sigma=max(diameter / 10, 0.7))
    for k, (cx, cy, r, asp) in enumerate(nuclei, start=1):
        poly = _outline(rng, r, asp) + (cx, cy)
        # work inside the nucleus' bounding window: cost follows the nucleus, not the image
        x0, y0 = max(int(np.floor(poly[:, 0].min())) - 1, 0), max(int(np.floor(poly[:, 1].min())) - 1, 0)
        x1, y1 = min(int(np.ceil(poly[:, 0].max())) + 2, w), min(int(np.ceil(poly[:, 1].max())) + 2, h)
        if x1 <= x0 or y1 <= y0:
            continue
        m = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(m, [np.round((poly - (x0, y0)) * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
        if not m.any():
            continue
        inside = m.astype(bool)
        labels[y0:y1, x0:x1][inside] = k  # drawn later = on top
        # brightness: per nucleus, chromatin texture, edge falloff, optional spots / dim centre
        level = float(np.exp(rng.normal(0, 0.45)))
        dist = cv2.distanceTransform(cv2.copyMakeBorder(m, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0), cv2.DIST_L2, 3)
        dist = dist[1:-1, 1:-1]
        falloff = np.clip(dist / max(r * 0.35, 1.0), 0, 1) ** 0.5
        value = level * (0.55 + 0.45 * falloff) * (1 + rng.uniform(0.05, 0.3) * texture[y0:y1, x0:x1])
        if rng.random() < 0.3:  # dim centre (large, flat nuclei)
            value *= 1 - 0.35 * np.clip(dist / max(dist.max(), 1), 0, 1)
        if rng.random() < 0.5 and r > 4:
            ys, xs = np.nonzero(inside)
            spots = np.zeros(m.shape, np.float32)
            for _ in range(rng.integers(1, 5)):
                j = rng.integers(len(ys))
                radius = max(1, int(r * rng.uniform(0.08, 0.2)))
                cv2.circle(spots, (int(xs[j]), int(ys[j])), radius, float(rng.uniform(0.3, 1.0)), -1)
            value = value + level * spots
        signal[y0:y1, x0:x1] += np.where(inside, value, 0).astype(np.float32)

    # relabel consecutively; drop slivers left by occlusion
    ids, counts = np.unique(labels, return_counts=True)
    keep = [(i, c) for i, c in zip(ids, counts) if i != 0 and c >= 6]
    lut = np.zeros(labels.max() + 1, np.int32)
    for new, (old, _) in enumerate(keep, start=1):
        lut[old] = new
    labels = lut[labels]

    signal = cv2.GaussianBlur(signal, (0, 0), rng.uniform(0.4, 2.5))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gx, gy = rng.normal(0, 0.15, 2)
    background = rng.uniform(0.0, 0.15) + gx * (xx / w - 0.5) + gy * (yy / h - 0.5)
    background = background + rng.uniform(0, 0.06) * _smooth_noise(rng, (h, w), sigma=min(h, w) / 6)
    clean = np.clip(signal + np.clip(background, 0, None), 0, None)

    photons = float(np.exp(rng.uniform(np.log(15), np.log(1500))))  # per unit brightness
    counts = rng.poisson(clean * photons).astype(np.float32) / photons
    counts += rng.normal(0, rng.uniform(0.002, 0.02), counts.shape).astype(np.float32)
    top = {8: 255, 12: 4095, 16: 65535}[bit_depth]
    peak = np.percentile(counts, 99.9) if counts.size else 1.0
    scale = top * rng.uniform(0.2, 0.95) / max(peak, 1e-6)
    raw = np.clip(counts * scale, 0, top)
    image = raw.round().astype(np.uint8 if bit_depth == 8 else np.uint16)
    return NucleiScene(image, labels)


def to_model_input(image: np.ndarray) -> np.ndarray:
    """Raw single-channel image to the (H, W, 3) uint8 RGB the model sees.

    The plugin's default rule, unchanged: 16-bit data is stretched between its
    1 and 99.8 percentiles, 8-bit data passes through (so dim 8-bit scenes
    teach the model dim inputs).
    """
    return normalize_image(np.asarray(image))
