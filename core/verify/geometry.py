"""Where to change: a word's regions as a pixel mask, a fair control, and a move's displacement.

The word's area is the union of the bounding boxes of its heat regions (as the explainer
stored them in ``explanations.details["regions"]``, in the model's view). Its **control** must
differ from it only in what the word names, so it matches the word's area in

* **size**: the same number of pixels (up to the clipping of a rescaled box, within 10%);
* **place**: the same mean distance from the centre and from the border (within
  :data:`PLACE_TOL` of the half side);
* **heat**, as far as the photo allows: the heat of an area is estimated from the photo's
  stored regions (each region's ``heat_share`` times the part of its box the area covers),
  and among the candidates of the right size and place the one closest in heat is chosen
  (another hot region rather than a cold mirror when one fits). It is a preference, not a
  condition: a word's region is usually the CAM's one hot region, and requiring an equally
  hot area elsewhere left no photo to test on the planted data (``docs/verify.md``). But
  a control *hotter* than the word (more than :data:`HEAT_RATIO` times its heat plus
  :data:`HEAT_ABS`) is not fair: it would hide the photo's hot object for a cold word;
* optionally a **value** map (the colour test's chroma): a similar mean (within a factor
  :data:`VALUE_RATIO`), so that the control has colour to take away too;

and overlaps it by at most :data:`MAX_OVERLAP`. The candidates are the word's mask mirrored
(left-right, up-down, both: size and place kept exactly) and every other stored region of the
photo, its box rescaled about its centre to the word's area. The fair candidate with the
smallest mismatch is the control; when none is fair there is **no control** and the photo
does not count for that word-test (its reason is kept). There is no fallback to a corner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Box = tuple[int, int, int, int]

MAX_OVERLAP = 0.1
PLACE_TOL = 0.15
#: Weight of the heat mismatch (``|h - h_word| / (max(h, h_word) + HEAT_ABS)``, 0..1) in
#: the choice among fair candidates: it outweighs the place mismatch (at most PLACE_TOL).
HEAT_WEIGHT = 1.0
HEAT_ABS = 0.05
#: A control may not be hotter than this many times the word's heat (+ HEAT_ABS): a cold
#: word's control must not land on the photo's hot object (the planted nulls showed it did).
HEAT_RATIO = 2.0
AREA_TOL = 0.1
#: The colour test's control has a mean chroma within this factor of the word's.
VALUE_RATIO = 3.0
#: A word's area larger than this share of the view has no fair control.
MAX_SHARE = 0.5


@dataclass(frozen=True)
class Region:
    """A stored heat region of a photo: its index, box and share of the CAM (None: unknown)."""

    index: int
    box: Box
    heat: float | None = None


@dataclass(frozen=True)
class Control:
    """A fair control: same size and place as the word's area (closest in heat); its kind."""

    mask: np.ndarray
    kind: str
    overlap: float
    heat: float | None = None
    mismatch: float = 0.0


@dataclass(frozen=True)
class NoControl:
    """Why a photo has no fair control for a word (the photo does not count)."""

    reason: str


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


def place(mask: np.ndarray) -> tuple[float, float]:
    """Mean distance of the mask's pixels from the centre and from the border (half sides)."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    half = min(h, w) / 2.0
    centre = np.hypot(xs + 0.5 - w / 2.0, ys + 0.5 - h / 2.0).mean() / half
    border = np.minimum.reduce([xs + 0.5, w - xs - 0.5, ys + 0.5, h - ys - 0.5]).mean() / half
    return float(centre), float(border)


def heat_of(mask: np.ndarray, regions: Sequence[Region]) -> float | None:
    """The CAM share of ``mask`` estimated from the stored regions (None when none has heat)."""
    if not any(r.heat is not None for r in regions):
        return None
    total = 0.0
    for r in regions:
        part = boxes_mask([r.box], (mask.shape[1], mask.shape[0]))
        size = int(part.sum())
        if size and r.heat:
            total += float(r.heat) * float((part & mask).sum()) / size
    return total


def _rescaled(box: Box, area: int, size: tuple[int, int]) -> np.ndarray | None:
    """``box`` scaled about its centre to ``area`` pixels; None when it leaves the view."""
    x0, y0, x1, y1 = box
    bw, bh = max(1, x1 - x0), max(1, y1 - y0)
    scale = np.sqrt(area / float(bw * bh))
    nw, nh = max(1, round(bw * scale)), max(1, round(bh * scale))
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    nx0, ny0 = round(cx - nw / 2.0), round(cy - nh / 2.0)
    if nx0 < 0 or ny0 < 0 or nx0 + nw > size[0] or ny0 + nh > size[1]:
        return None
    return boxes_mask([(nx0, ny0, nx0 + nw, ny0 + nh)], size)


def candidates(
    hidden: np.ndarray, regions: Sequence[Region], word_regions: Sequence[int]
) -> list[tuple[str, np.ndarray]]:
    """The mirrored masks and the other regions rescaled to the word's area."""
    out = [
        ("mirror-lr", hidden[:, ::-1]),
        ("mirror-ud", hidden[::-1, :]),
        ("mirror-both", hidden[::-1, ::-1]),
    ]
    area, size = int(hidden.sum()), (hidden.shape[1], hidden.shape[0])
    for r in regions:
        if r.index not in word_regions:
            mask = _rescaled(r.box, area, size)
            if mask is not None:
                out.append((f"region-{r.index}", mask))
    return out


def fair_control(
    hidden: np.ndarray,
    regions: Sequence[Region] = (),
    word_regions: Sequence[int] = (),
    value: np.ndarray | None = None,
) -> Control | NoControl:
    """The fair control of ``hidden`` (module doc), or why there is none."""
    area = int(hidden.sum())
    if area == 0:
        return NoControl("the word has no pixels in the photo")
    if area > MAX_SHARE * hidden.size:
        return NoControl(f"the word's regions cover {area / hidden.size:.0%} of the photo")
    centre, border = place(hidden)
    heat = heat_of(hidden, regions)
    wanted = None if value is None else float(value[hidden].mean())
    best: Control | None = None
    for kind, mask in candidates(hidden, regions, word_regions):
        size = int(mask.sum())
        if not size or abs(size - area) > AREA_TOL * area:
            continue
        overlap = float((mask & hidden).sum()) / area
        c, b = place(mask)
        misplaced = max(abs(c - centre), abs(b - border))
        h = heat_of(mask, regions)
        if overlap > MAX_OVERLAP or misplaced > PLACE_TOL:
            continue
        mismatch = overlap + misplaced
        if heat is not None and h is not None:
            if h > HEAT_RATIO * heat + HEAT_ABS:  # never hotter than the word: not its object
                continue
            mismatch += HEAT_WEIGHT * abs(h - heat) / (max(h, heat) + HEAT_ABS)
        if wanted is not None:
            got = float(value[mask].mean())
            if not wanted / VALUE_RATIO <= got <= wanted * VALUE_RATIO:
                continue
            mismatch += abs(np.log((got + 1e-6) / (wanted + 1e-6)))
        if best is None or mismatch < best.mismatch:
            best = Control(mask, kind, round(overlap, 4), h, round(mismatch, 4))
    if best is None:
        return NoControl("no area of the same size and place elsewhere in the photo")
    return best


def displacement(
    hidden: np.ndarray, control: np.ndarray, rng: np.random.Generator, stride: int = 8
) -> tuple[int, int] | None:
    """A move ``(dy, dx)`` that takes both masks to free places inside the view.

    The moved word's area must not overlap where it was, and the moved control neither where
    it was nor the word's area (so the control move never covers the word). Drawn with
    ``rng`` among the grid's valid moves; None when there is none.
    """
    h, w = hidden.shape
    hy, hx = np.nonzero(hidden)
    cy, cx = np.nonzero(control)
    # moves that keep both masks inside the view
    dys = range(-min(hy.min(), cy.min()), h - max(hy.max(), cy.max()), stride)
    dxs = range(-min(hx.min(), cx.min()), w - max(hx.max(), cx.max()), stride)
    valid = []
    for dy in dys:
        for dx in dxs:
            if hidden[hy + dy, hx + dx].any():
                continue
            if control[cy + dy, cx + dx].any() or hidden[cy + dy, cx + dx].any():
                continue
            valid.append((dy, dx))
    if not valid:
        return None
    return valid[int(rng.integers(len(valid)))]


def shift(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``mask`` translated by ``(dy, dx)`` (pixels leaving the view are dropped)."""
    h, w = mask.shape
    out = np.zeros_like(mask)
    src = mask[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
    out[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out
