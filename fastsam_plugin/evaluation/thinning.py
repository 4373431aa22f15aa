"""Thinning to one-pixel lines: scikit-image's ``thin`` (MATLAB ``bwmorph(.., 'thin', inf)``), on foreground pixels only.

The same two-subiteration algorithm (Lam, Lee and Suen 1992) and the same
lookup tables as :func:`skimage.morphology.thin`, but each subiteration visits
only the remaining foreground pixels instead of correlating the whole image;
edge maps are sparse, so this is several times faster. The result equals
scikit-image's (tested); without the tables (a future scikit-image), that
function is used.
"""

from __future__ import annotations

import numpy as np
from numba import njit

try:  # the decision tables of scikit-image's thin
    from skimage.morphology._skeletonize import G123_LUT, G123P_LUT
except ImportError:  # pragma: no cover - depends on the scikit-image version
    G123_LUT = G123P_LUT = None


@njit(cache=True, nogil=True)
def _thin(img, lut1, lut2):  # pragma: no cover - compiled
    h, w = img.shape
    ys, xs = np.nonzero(img)
    n = ys.shape[0]
    delete = np.zeros(n, np.bool_)
    alive = np.ones(n, np.bool_)
    changed = True
    while changed:
        changed = False
        for sub in range(2):
            lut = lut1 if sub == 0 else lut2
            for k in range(n):
                delete[k] = False
                if not alive[k]:
                    continue
                y, x = ys[k], xs[k]
                code = 0
                if y > 0:
                    if x > 0 and img[y - 1, x - 1]:
                        code += 8
                    if img[y - 1, x]:
                        code += 4
                    if x < w - 1 and img[y - 1, x + 1]:
                        code += 2
                if x > 0 and img[y, x - 1]:
                    code += 16
                if x < w - 1 and img[y, x + 1]:
                    code += 1
                if y < h - 1:
                    if x > 0 and img[y + 1, x - 1]:
                        code += 32
                    if img[y + 1, x]:
                        code += 64
                    if x < w - 1 and img[y + 1, x + 1]:
                        code += 128
                delete[k] = lut[code]
            # all decisions of a subiteration are taken on the same image, then applied
            for k in range(n):
                if delete[k]:
                    img[ys[k], xs[k]] = False
                    alive[k] = False
                    changed = True
    return img


def thin(image: np.ndarray) -> np.ndarray:
    """Thin a binary image to one-pixel lines.

    Parameters
    ----------
    image : (H, W) bool

    Returns
    -------
    thinned : (H, W) bool
        Equal to ``skimage.morphology.thin(image)``.
    """
    img = np.array(image, dtype=bool, copy=True)
    if img.ndim != 2:
        raise ValueError(f"thinning needs a 2-D image; got shape {img.shape}.")
    if G123_LUT is None:  # pragma: no cover
        from skimage.morphology import thin as sk_thin

        return sk_thin(img)
    return _thin(img, G123_LUT, G123P_LUT)
