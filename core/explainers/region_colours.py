"""The colours of a heat region: each pixel's colour key from fixed HSV bins, and the
region's dominant colours weighted by heat (the grounded explainer's colour words)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from core.colours import COLOUR_KEYS

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from core.regions import Region

MAX_COLOURS = 2
SECOND_COLOUR_SHARE = 0.2

# Hue bins (degrees, upper bound exclusive) for saturated, bright-enough pixels.
_HUE_BINS = (
    (15.0, "red"),
    (40.0, "orange"),
    (70.0, "yellow"),
    (165.0, "green"),
    (200.0, "cyan"),
    (255.0, "blue"),
    (290.0, "purple"),
    (345.0, "pink"),
    (360.1, "red"),
)
# Saturation below the first edge is grey-like; below the second a warm hue may be beige.
_SAT_EDGES = (0.18, 0.4)
# Value below the first edge is black; a warm hue below the second is brown, at or above it
# beige; a grey-like pixel above the third is white.
_VAL_EDGES = (0.18, 0.62, 0.82)


def dominant_colours(
    image: Image.Image, cam: np.ndarray, region: Region, threshold: float
) -> list[tuple[str, float]]:
    """Up to two colour keys (``COLOUR_NAMES``) of the region's hot pixels (CAM at or above
    ``threshold`` of the region's peak, as :func:`core.regions.region_mask`), weighted by heat.

    The second colour is kept only when it holds at least ``SECOND_COLOUR_SHARE`` of the weight.
    """
    import numpy as np

    from core.regions import region_mask

    x0, y0, x1, y1 = region.bbox
    mask = region_mask(cam, region, threshold)[y0:y1, x0:x1]
    weights = np.asarray(cam, dtype=np.float64)[y0:y1, x0:x1] * mask
    crop = image.crop((x0, y0, x1, y1))  # per-pixel conversions: crop first, convert less
    hsv = np.asarray((crop if crop.mode == "RGB" else crop.convert("RGB")).convert("HSV"))
    keys = hsv_colour_keys(hsv)
    totals = np.bincount(keys.ravel(), weights=weights.ravel(), minlength=len(COLOUR_KEYS))
    total = float(totals.sum())
    if total <= 0.0:
        return []
    shares = totals / total
    order = sorted(range(len(COLOUR_KEYS)), key=lambda k: (-shares[k], k))
    picked = [order[0]] + [k for k in order[1:MAX_COLOURS] if shares[k] >= SECOND_COLOUR_SHARE]
    return [(COLOUR_KEYS[k], float(shares[k])) for k in picked]


def colour_keys(hue: np.ndarray, sat: np.ndarray, val: np.ndarray) -> np.ndarray:
    """Index into ``COLOUR_KEYS`` per pixel from HSV (hue in degrees, s and v in [0, 1])."""
    import numpy as np

    index = {key: i for i, key in enumerate(COLOUR_KEYS)}
    out = np.full(hue.shape, index["grey"], dtype=np.int64)
    bounds = np.array([b for b, _ in _HUE_BINS])
    hue_names = np.array([index[name] for _, name in _HUE_BINS])
    chromatic = hue_names[np.searchsorted(bounds, hue, side="right").clip(0, len(bounds) - 1)]
    warm = (hue >= 15.0) & (hue < 50.0)
    grey_like = sat < _SAT_EDGES[0]
    white = val > _VAL_EDGES[2]
    out = np.where(grey_like, np.where(white, index["white"], index["grey"]), chromatic)
    out = np.where(~grey_like & warm & (val < _VAL_EDGES[1]), index["brown"], out)
    beige = ~grey_like & warm & (sat < _SAT_EDGES[1]) & (val >= _VAL_EDGES[1])
    out = np.where(beige, index["beige"], out)
    out = np.where(val < _VAL_EDGES[0], index["black"], out)
    return out


def hsv_colour_keys(hsv: np.ndarray) -> np.ndarray:
    """:func:`colour_keys` of an 8-bit HSV image ``[H, W, 3]`` (PIL's "HSV"), from a table.

    :func:`colour_keys` reads saturation and value only through its thresholds, and the 256
    hue bytes fall into a few classes with the same keys, so a code per byte of each channel
    (their sum indexes the table) covers every pixel: the table holds :func:`colour_keys`
    itself at one byte of each class, the same keys without the float maths per pixel
    (``tests/test_speed5_colours.py`` checks all 256**3 bytes).
    """
    table, hue_code, sat_code, val_code = _colour_table()
    return table.take(
        hue_code.take(hsv[..., 0]) + sat_code.take(hsv[..., 1]) + val_code.take(hsv[..., 2])
    )


@functools.cache
def _colour_table() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(keys, hue code, saturation code, value code)`` for :func:`hsv_colour_keys`: a code
    per byte of each channel, their sum an index into ``keys``. A saturation or value class
    groups the bytes on the same side of every threshold; a hue class, the hue bytes whose keys
    agree at every saturation and value class."""
    import numpy as np

    levels = np.arange(256, dtype=np.float64) / 255.0
    sat_class = np.searchsorted(np.array(_SAT_EDGES), levels, side="right")
    # value > 0.82 is strict: the last edge's class starts just above it
    val_class = (levels >= _VAL_EDGES[0]).astype(np.intp) + (levels >= _VAL_EDGES[1])
    val_class = val_class + (levels > _VAL_EDGES[2])
    sat_rep = [int(np.argmax(sat_class == c)) for c in range(int(sat_class.max()) + 1)]
    val_rep = [int(np.argmax(val_class == c)) for c in range(int(val_class.max()) + 1)]
    hue = np.arange(256, dtype=np.float64)[:, None, None] * 360.0 / 256.0
    sat = (np.array(sat_rep) / 255.0)[None, :, None]
    val = (np.array(val_rep) / 255.0)[None, None, :]
    full = colour_keys(*np.broadcast_arrays(hue, sat, val))  # [256 hue bytes, S, V]
    n_sat, n_val = full.shape[1:]
    by_hue, hue_class = np.unique(full.reshape(256, -1), axis=0, return_inverse=True)
    size = len(by_hue) * n_sat * n_val
    code = np.uint8 if size <= 256 else np.intp
    return (
        by_hue.ravel().astype(code),
        (hue_class.ravel() * n_sat * n_val).astype(code),
        (sat_class * n_val).astype(code),
        val_class.astype(code),
    )
