"""Instance masks assembled straight from a YOLOv8-seg head, each only inside its box.

A YOLOv8-seg model predicts ``C`` prototype maps at 1/4 of the letterboxed
input and ``C`` coefficients per object; an object's mask is the sign of
``coefficients @ prototypes`` resampled to the picture. Ultralytics
(``process_mask_native``, ``retina_masks=True``) resamples every mask over the
whole image, N x H x W. Here, for each object kept by NMS:

1. the product is formed on the prototype grid only around its box: on the
   CPU inside the box's node window (the box plus the nodes its pixels'
   filters reach), one matrix-vector product per object; on an accelerator
   objects are sorted by position and batched in bands, one GEMM per band;
2. the prototype nodes that are positive inside the box give the only region
   where the upsampled mask can be positive (bilinear interpolation is a convex
   combination with non-negative weights: non-positive nodes never give a
   positive pixel), so an
   object whose nodes are all negative costs nothing more;
3. only that region is resampled onto the ORIGINAL image grid (the letterbox
   undone) and thresholded at 0.

The resampling reproduces Ultralytics' retina geometry exactly: its upsampling
by 1, 2 or 4 followed by a bilinear resize of the letterbox content is, along
each axis, a fixed 3-tap filter of the prototype nodes per output pixel
(:func:`axis_taps`, computed once per image), so masks agree with Ultralytics
to the rounding of floating-point sums. Work and memory follow the objects'
boxes, never N x H x W. On an accelerator, steps 2 and 3 are batched tensor
work (3 is one gather per block of pixels); on the CPU they run per object in
numpy on its own window (two 3-tap passes), which is faster there than
full-band tensor passes and a gather per pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

LOGIT_BUDGET = 32 << 20  # bytes of float32 prototype-grid logits held at once
PIXEL_BLOCK = 1 << 20  # output pixels resampled per batched step (accelerators)


@dataclass(frozen=True)
class Letterbox:
    """Ultralytics' letterbox between an image and the model input.

    Attributes
    ----------
    image_hw : (int, int)
        Original image height and width.
    input_hw : (int, int)
        Letterboxed model input height and width.
    gain_x, gain_y : float
        Input pixels per image pixel (each side rounded as Ultralytics' ``LetterBox``).
    pad_x, pad_y : int
        Left and top padding in input pixels.
    """

    image_hw: tuple[int, int]
    input_hw: tuple[int, int]
    gain_x: float
    gain_y: float
    pad_x: int
    pad_y: int

    @classmethod
    def from_shapes(cls, image_hw: tuple[int, int], input_hw: tuple[int, int]) -> Letterbox:
        h, w = (int(v) for v in image_hw)
        hin, win = (int(v) for v in input_hw)
        gain = min(hin / h, win / w)
        new_h, new_w = max(round(h * gain), 1), max(round(w * gain), 1)
        pad_x, pad_y = round((win - new_w) / 2 - 0.1), round((hin - new_h) / 2 - 0.1)
        return cls((h, w), (hin, win), new_w / w, new_h / h, pad_x, pad_y)

    def boxes_to_image(self, boxes: torch.Tensor) -> torch.Tensor:
        """(N, 4) ``xyxy`` boxes in input pixels to image pixels, clipped to the image."""
        h, w = self.image_hw
        out = boxes.float().clone()
        out[:, [0, 2]] = ((out[:, [0, 2]] - self.pad_x) / self.gain_x).clamp(0, w)
        out[:, [1, 3]] = ((out[:, [1, 3]] - self.pad_y) / self.gain_y).clamp(0, h)
        return out


@dataclass
class AssembledMasks:
    """Box-cropped masks of the objects with at least one pixel.

    Attributes
    ----------
    crops : list of (h_i, w_i) bool
        Mask ``i`` inside ``pixel_boxes[i]``.
    pixel_boxes : (K, 4) int64
        Tight ``(x0, y0, x1, y1)`` pixel boxes, exclusive ends.
    keep : (K,) int64
        Index of each mask in the input objects (objects with empty masks are left out).
    """

    crops: list[np.ndarray]
    pixel_boxes: np.ndarray
    keep: np.ndarray




def retina_geometry(image_hw: tuple[int, int], proto_hw: tuple[int, int]) -> tuple[int, tuple[int, int, int, int]]:
    """Ultralytics' retina-mask geometry: upsampling factor and letterbox content on the upsampled grid.

    Returns
    -------
    f : int
        1, 2 or 4: prototypes are first upsampled by ``f`` so that the
        letterbox padding is a whole number of pixels.
    content : (top, left, bottom, right)
        The image's part of the ``f``-upsampled prototype grid.
    """
    h, w = image_hw
    mh, mw = proto_hw
    gain = min(4 * mh / h, 4 * mw / w)  # prototypes sit at stride 4 of the input
    pad = (4 * mh - max(round(h * gain), 1)) | (4 * mw - max(round(w * gain), 1))
    f = 4 // math.gcd(4, pad | pad // 2)
    fh, fw = mh * f, mw * f
    if (fh, fw) == (h, w):
        return f, (0, 0, h, w)
    g = min(fh / h, fw / w)
    top, left = round((fh - max(round(h * g), 1)) / 2 - 0.1), round((fw - max(round(w * g), 1)) / 2 - 0.1)
    return f, (top, left, top + max(round(h * g), 1), left + max(round(w * g), 1))


def axis_taps(n_out: int, n_proto: int, f: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Per output pixel along one axis: first prototype node and the weights of it and the next two.

    Bilinear upsampling by ``f`` then a bilinear resize of grid cells
    ``lo .. hi - 1`` to ``n_out`` pixels (both as ``torch.nn.functional.interpolate``
    with ``align_corners=False``: half-pixel centres, clamped at the edges)
    is linear in the nodes; two consecutive upsampled samples lie within three
    consecutive nodes.

    Returns
    -------
    base : (n_out,) int64
        First node, so that ``base + 2`` may pass the last node only with weight 0.
    weights : (n_out, 3) float32
        Non-negative, summing to 1.
    """
    n_in = hi - lo
    s = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
    u0 = np.minimum(np.floor(s).astype(np.int64), n_in - 1)
    t = s - u0
    u1 = np.minimum(u0 + 1, n_in - 1)

    def nodes(u):
        q = np.maximum((u + lo + 0.5) / f - 0.5, 0.0)
        q0 = np.minimum(np.floor(q).astype(np.int64), n_proto - 1)
        return q0, np.minimum(q0 + 1, n_proto - 1), q - q0

    a0, a1, r0 = nodes(u0)
    b0, b1, r1 = nodes(u1)
    weights = np.zeros((n_out, 3), np.float64)
    rows = np.arange(n_out)
    for node, wt in ((a0, (1 - t) * (1 - r0)), (a1, (1 - t) * r0), (b0, t * (1 - r1)), (b1, t * r1)):
        np.add.at(weights, (rows, node - a0), wt)
    return a0, weights.astype(np.float32)


def _first_last(flags: torch.Tensor, offset: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row of a (k, n) bool tensor: first and one-past-last True column, plus ``offset``."""
    n = flags.shape[1]
    idx = torch.arange(n, device=flags.device)
    first = torch.where(flags, idx, n).amin(1)
    last = torch.where(flags, idx, -1).amax(1) + 1
    return first + offset, last + offset


def assemble_masks(
    protos: torch.Tensor,
    coeffs: torch.Tensor,
    boxes: torch.Tensor,
    image_hw: tuple[int, int],
    *,
    method: str = "auto",
) -> AssembledMasks:
    """Masks of the kept objects in the original image grid, each cropped to its box.

    Parameters
    ----------
    protos : (C, mh, mw) tensor
        Prototype maps of one image (any float dtype, any device).
    coeffs : (N, C) tensor
        Mask coefficients of the objects kept by NMS.
    boxes : (N, 4) tensor
        ``xyxy`` boxes in image pixels (:meth:`Letterbox.boxes_to_image`).
    image_hw : (int, int)
        Original image height and width.
    method : {"auto", "torch", "numpy"}
        Resampling: batched tensor work on the prototypes' device, or numpy per
        object (``"auto"`` picks numpy when the prototypes are on the CPU).

    Returns
    -------
    AssembledMasks
        Pixel ``(y, x)`` of object ``i`` is set when its resampled logit is
        positive and ``x0 <= x < x1``, ``y0 <= y < y1`` for its box (Ultralytics'
        ``crop_mask`` rule).
    """
    if method not in ("auto", "torch", "numpy"):
        raise ValueError(f"method must be 'auto', 'torch' or 'numpy'; got {method!r}.")
    use_numpy = method == "numpy" or (method == "auto" and protos.device.type == "cpu")
    n, (c, mh, mw) = len(coeffs), protos.shape
    h, w = (int(v) for v in image_hw)
    empty = AssembledMasks([], np.zeros((0, 4), np.int64), np.zeros(0, np.int64))
    if n == 0:
        return empty
    dev = protos.device
    f, (top_c, left_c, bottom_c, right_c) = retina_geometry((h, w), (mh, mw))
    bx, wx = axis_taps(w, mw, f, left_c, right_c)
    by, wy = axis_taps(h, mh, f, top_c, bottom_c)
    taps = (torch.from_numpy(bx).to(dev), torch.from_numpy(wx).to(dev), torch.from_numpy(by).to(dev),
            torch.from_numpy(wy).to(dev))

    # pixel windows: columns c with x0 <= c < x1 (as Ultralytics' crop_mask), and the nodes they read
    win = torch.ceil(boxes.to(dev).float()).long()
    win[:, [0, 2]] = win[:, [0, 2]].clamp(0, w)
    win[:, [1, 3]] = win[:, [1, 3]].clamp(0, h)
    valid = (win[:, 2] > win[:, 0]) & (win[:, 3] > win[:, 1])
    bx_t, by_t = taps[0], taps[2]
    nx0 = bx_t[win[:, 0].clamp(max=w - 1)]
    nx1 = (bx_t[(win[:, 2] - 1).clamp(min=0)] + 3).clamp(max=mw)
    ny0 = by_t[win[:, 1].clamp(max=h - 1)]
    ny1 = (by_t[(win[:, 3] - 1).clamp(min=0)] + 3).clamp(max=mh)

    coeffs = coeffs.float()
    if use_numpy:
        host = torch.stack([win[:, 0], win[:, 1], win[:, 2], win[:, 3], nx0, nx1, ny0, ny1, valid.long()], 1).tolist()
        found = _objects_numpy(protos, coeffs, host, (bx, wx, by, wy))
        return _in_model_order(found, empty)
    proto_flat = protos.reshape(c, mh * mw).float()
    # objects sorted by their first node row: a chunk's band of prototype rows stays narrow for small objects
    order = torch.argsort(ny0 * (mh + 1) + ny1).tolist()
    rows_of = torch.stack([ny0, ny1], 1).tolist()
    found: list = []
    start = 0
    while start < n:
        stop, top, bottom = start, mh, 0
        while stop < n:  # grow the chunk while its band of logits fits the budget
            t, b = min(top, rows_of[order[stop]][0]), max(bottom, rows_of[order[stop]][1])
            if stop > start and (stop - start + 1) * (b - t) * mw * 4 > LOGIT_BUDGET:
                break
            top, bottom, stop = t, b, stop + 1
        idx = torch.tensor(order[start:stop], device=dev)
        start = stop
        logits = (coeffs[idx] @ proto_flat[:, top * mw : bottom * mw]).view(len(idx), bottom - top, mw)
        found += _chunk_torch(logits, top, idx, (win, valid, nx0, nx1, ny0, ny1), taps)
    return _in_model_order(found, empty)


def _in_model_order(found: list, empty: AssembledMasks) -> AssembledMasks:
    """``(index, crop, box)`` triples as :class:`AssembledMasks`, in the model's (score) order."""
    if not found:
        return empty
    keep_arr = np.asarray([i for i, _, _ in found], np.int64)
    back = np.argsort(keep_arr, kind="stable")
    return AssembledMasks([found[j][1] for j in back], np.asarray([found[j][2] for j in back], np.int64),
                          keep_arr[back])


def _chunk_torch(logits, top, idx, geometry, taps):
    """Batched on the logits' device: positive-node extents of a chunk, then the resampling of their sub-windows."""
    win, valid, nx0, nx1, ny0, ny1 = geometry
    bx_t, by_t = taps[0], taps[2]
    dev = logits.device
    bottom, mw = top + logits.shape[1], logits.shape[2]
    # where the mask can be positive: positive nodes inside the object's node window
    pos = logits > 0
    rows = torch.arange(top, bottom, device=dev)
    cols = torch.arange(mw, device=dev)
    in_rows = (rows[None] >= ny0[idx, None]) & (rows[None] < ny1[idx, None])
    in_cols = (cols[None] >= nx0[idx, None]) & (cols[None] < nx1[idx, None])
    py0, py1 = _first_last((pos & in_cols[:, None, :]).any(2) & in_rows, top)
    px0, px1 = _first_last((pos & in_rows[:, :, None]).any(1) & in_cols, 0)
    # pixels whose three taps reach a positive node: taps start at base, base is non-decreasing
    sub = torch.stack([torch.maximum(torch.searchsorted(bx_t, px0 - 2), win[idx, 0]),
                       torch.maximum(torch.searchsorted(by_t, py0 - 2), win[idx, 1]),
                       torch.minimum(torch.searchsorted(bx_t, px1), win[idx, 2]),
                       torch.minimum(torch.searchsorted(by_t, py1), win[idx, 3])], 1)
    has = valid[idx] & (px1 > px0) & (sub[:, 2] > sub[:, 0]) & (sub[:, 3] > sub[:, 1])
    local = torch.nonzero(has).flatten()
    if len(local) == 0:
        return []
    out = _resample_torch(logits[local], top, sub[local], taps)
    return [(i, mask[0], (x0 + mask[1][0], y0 + mask[1][1], x0 + mask[1][2], y0 + mask[1][3]))
            for i, mask, (x0, y0, _, _) in zip(idx[local].tolist(), out, sub[local].tolist()) if mask is not None]


def _objects_numpy(protos, coeffs, host, taps):
    """Per object on the CPU: logits only in its node window, then two 3-tap passes where nodes are positive.

    The node window is the object's box on the prototype grid plus the nodes
    its pixels' 3-tap filters reach (the margin), so each object costs
    ``C x`` its own window, not a band of full prototype rows. Prototypes are
    laid out ``(mh, mw, C)`` once, so that a window times the coefficients is
    one matrix-vector product over contiguous ``C``-vectors.
    """
    bx, wx, by, wy = taps
    p = protos.detach().float().permute(1, 2, 0).contiguous().cpu().numpy()  # (mh, mw, C)
    cf = coeffs.detach().cpu().numpy()
    mh, mw = p.shape[:2]
    found = []
    for i, (wx0, wy0, wx1, wy1, nx0, nx1, ny0, ny1, ok) in enumerate(host):
        if not ok:
            continue
        lg = p[ny0:ny1, nx0:nx1] @ cf[i]  # (ny1 - ny0, nx1 - nx0) float32 logits of the node window
        pos = lg > 0
        rows = np.flatnonzero(pos.any(axis=1))
        if len(rows) == 0:
            continue
        cols = np.flatnonzero(pos.any(axis=0))
        py0, py1 = ny0 + int(rows[0]), ny0 + int(rows[-1]) + 1
        px0, px1 = nx0 + int(cols[0]), nx0 + int(cols[-1]) + 1
        x0 = max(int(np.searchsorted(bx, px0 - 2)), wx0)
        x1 = min(int(np.searchsorted(bx, px1)), wx1)
        y0 = max(int(np.searchsorted(by, py0 - 2)), wy0)
        y1 = min(int(np.searchsorted(by, py1)), wy1)
        if x1 <= x0 or y1 <= y0:
            continue
        # nodes read by pixels y0..y1, x0..x1: inside the node window, as wy0 <= y0, y1 <= wy1 (same for x)
        r0, r1 = int(by[y0]), min(int(by[y1 - 1]) + 3, mh)
        c0, c1 = int(bx[x0]), min(int(bx[x1 - 1]) + 3, mw)
        window = lg[r0 - ny0 : r1 - ny0, c0 - nx0 : c1 - nx0]
        iy, last = by[y0:y1] - r0, window.shape[0] - 1
        rowmix = sum(wy[y0:y1, j, None] * window[np.minimum(iy + j, last)] for j in range(3))
        ix, lastc = bx[x0:x1] - c0, window.shape[1] - 1
        val = sum(wx[x0:x1, j] * rowmix[:, np.minimum(ix + j, lastc)] for j in range(3))
        mask = _tight(val > 0)
        if mask is not None:
            m, (tx0, ty0, tx1, ty1) = mask
            found.append((i, m, (x0 + tx0, y0 + ty0, x0 + tx1, y0 + ty1)))
    return found


def _tight(mask: np.ndarray):
    """``(mask cut to its pixels, (x0, y0, x1, y1) inside mask)``, or None when empty."""
    rows = np.flatnonzero(mask.any(axis=1))
    if len(rows) == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return np.ascontiguousarray(mask[y0:y1, x0:x1]), (int(x0), int(y0), int(x1), int(y1))


def _resample_torch(logits, top, sub, taps):
    """Batched: every pixel of every object's sub-window, in blocks, as 9 gathers on the logits' device."""
    bx, wx, by, wy = taps
    dev = logits.device
    _, hb, mw = logits.shape
    flat = logits.reshape(-1)
    ws, hs = sub[:, 2] - sub[:, 0], sub[:, 3] - sub[:, 1]
    ends = torch.cumsum(ws * hs, 0)
    starts = ends - ws * hs
    total = int(ends[-1])
    values = torch.empty(total, dtype=torch.bool, device=dev)
    for b0 in range(0, total, PIXEL_BLOCK):
        p = torch.arange(b0, min(b0 + PIXEL_BLOCK, total), device=dev)
        obj = torch.searchsorted(ends, p, right=True)
        off = p - starts[obj]
        ly = torch.div(off, ws[obj], rounding_mode="floor")
        x = off - ly * ws[obj] + sub[obj, 0]
        y = ly + sub[obj, 1]
        base = obj * (hb * mw)
        acc = torch.zeros(len(p), device=dev)
        for i in range(3):
            row = (by[y] - top + i).clamp(max=hb - 1) * mw + base
            part = torch.zeros(len(p), device=dev)
            for j in range(3):
                part += wx[x, j] * flat[row + (bx[x] + j).clamp(max=mw - 1)]
            acc += wy[y, i] * part
        values[b0 : b0 + len(p)] = acc > 0
    host = values.cpu().numpy()
    return [_tight(host[s:e].reshape(y1 - y0, x1 - x0)) for s, e, (x0, y0, x1, y1)
            in zip(starts.tolist(), ends.tolist(), sub.tolist())]
