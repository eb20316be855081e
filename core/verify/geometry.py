"""Where to hide: a word's regions as a pixel mask, and a control of the same area elsewhere.

The hidden area is the union of the bounding boxes of the word's heat regions (as the
explainer stored them in ``explanations.details["regions"]``, in the model's view: the centre
crop the CAM is aligned with). The control has the same area, away from the word's regions,
found in this order:

1. ``shifted``: the same mask, shape unchanged, translated to a place where it does not overlap
   the word's regions; among all such places (on a 4-pixel grid) one is drawn with the seed.
2. ``reshaped``: when no translation is disjoint (a box wider and taller than half the view
   cannot move off itself) but the rest of the view is large enough, the ``area`` pixels
   outside the word's regions nearest to the point farthest from them (a compact blob in the
   most distant part of the photo; ties drawn with the seed).
3. the **fallback**, when the word's regions cover more than half of the view so that no
   disjoint area of the same size exists: the translation overlapping them least. It is
   counted and reported (``fallback`` True, with its ``overlap`` share), never skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Control:
    """A control mask: same area as the hidden one; ``overlap`` share of it inside the hidden."""

    mask: np.ndarray
    kind: str
    fallback: bool
    overlap: float


def boxes_mask(boxes: Sequence[Sequence[int]], size: tuple[int, int]) -> np.ndarray:
    """Boolean ``[H, W]`` mask of the union of ``(x0, y0, x1, y1)`` boxes (clipped to the image)."""
    width, height = size
    mask = np.zeros((height, width), dtype=bool)
    for x0, y0, x1, y1 in boxes:
        x0, x1 = max(0, int(x0)), min(width, int(x1))
        y0, y1 = max(0, int(y0)), min(height, int(y1))
        if x1 > x0 and y1 > y0:
            mask[y0:y1, x0:x1] = True
    return mask


def _overlaps(mask: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Overlap (pixels) of the mask with itself shifted by every (dy, dx) that keeps it inside.

    Returns the table (row ``i`` is the shift ``dy = i + offset_y``, likewise columns) and the
    offsets.
    """
    from scipy.signal import fftconvolve

    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    h, w = mask.shape
    # Self-correlation: full[k, l] = sum mask[y, x] * mask[y + k - (H-1), x + l - (W-1)].
    full = fftconvolve(mask.astype(np.float64), mask[::-1, ::-1].astype(np.float64), mode="full")
    full = np.rint(full)
    # A shift (dy, dx) moves the mask by +dy/+dx; it stays inside for -y0 <= dy <= h - y1.
    dys = np.arange(-y0, h - y1 + 1)
    dxs = np.arange(-x0, w - x1 + 1)
    # overlap(dy, dx) = sum mask[y, x] * mask[y - dy, x - dx] = full[(H-1) - dy, (W-1) - dx]
    table = full[np.ix_((h - 1) - dys, (w - 1) - dxs)]
    return table, (int(-y0), int(-x0))


def control_mask(hidden: np.ndarray, rng: np.random.Generator, stride: int = 4) -> Control:
    """The control of ``hidden``: shifted, else reshaped, else the fallback (module doc)."""
    area = int(hidden.sum())
    if area == 0:
        return Control(hidden.copy(), "shifted", fallback=True, overlap=1.0)
    table, offset = _overlaps(hidden)
    grid = np.zeros_like(table, dtype=bool)
    grid[::stride, ::stride] = True
    grid[-1, :] = grid[:, -1] = True  # the far edges are always candidates
    free = np.argwhere(grid & (table == 0))
    if len(free):
        return _shifted(hidden, free[int(rng.integers(len(free)))], offset, "shifted", False)
    if hidden.size - area >= area:
        return _reshaped(hidden, area, rng)
    least = np.argwhere(grid & (table == table[grid].min()))
    return _shifted(hidden, least[int(rng.integers(len(least)))], offset, "fallback", True)


def _shifted(hidden: np.ndarray, index, offset, kind: str, fallback: bool) -> Control:
    dy, dx = int(index[0]) + offset[0], int(index[1]) + offset[1]
    h, w = hidden.shape
    moved = np.zeros_like(hidden)
    src = hidden[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
    moved[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    overlap = float((moved & hidden).sum()) / float(hidden.sum())
    return Control(moved, kind, fallback=fallback, overlap=round(overlap, 4))


def _reshaped(hidden: np.ndarray, area: int, rng: np.random.Generator) -> Control:
    """The ``area`` free pixels nearest to the free pixel farthest from ``hidden``."""
    from scipy.ndimage import distance_transform_edt

    away = distance_transform_edt(~hidden)
    far = np.argwhere(away == away.max())
    ay, ax = far[int(rng.integers(len(far)))]
    ys, xs = np.nonzero(~hidden)
    order = np.argsort((ys - ay) ** 2 + (xs - ax) ** 2, kind="stable")[:area]
    mask = np.zeros_like(hidden)
    mask[ys[order], xs[order]] = True
    return Control(mask, "reshaped", fallback=False, overlap=0.0)
