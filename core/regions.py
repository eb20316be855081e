"""The main heat regions of a class activation map (CAM).

A region is a hot blob of the map: pixels above ``threshold`` x the map's maximum, split into
connected components, and a component with several clearly separated peaks (each standing at
least ``min_prominence`` above the saddle that joins them) split further by a watershed. Each
region carries its share of the map's total heat, a bounding box, a heat-weighted centroid and
a position on a 3x3 grid of the image, so that explainers can say *where* the model looked.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

ROWS = ("upper", "middle", "lower")
COLUMNS = ("left", "center", "right")

_POSITION_NAMES: dict[str, dict[str, str]] = {
    "ja": {
        "upper-left": "左上",
        "upper-center": "上部中央",
        "upper-right": "右上",
        "middle-left": "左側",
        "middle-center": "中央",
        "middle-right": "右側",
        "lower-left": "左下",
        "lower-center": "下部中央",
        "lower-right": "右下",
    },
    "en": {
        "upper-left": "upper left",
        "upper-center": "upper centre",
        "upper-right": "upper right",
        "middle-left": "centre left",
        "middle-center": "centre",
        "middle-right": "centre right",
        "lower-left": "lower left",
        "lower-center": "lower centre",
        "lower-right": "lower right",
    },
}


@dataclass(frozen=True)
class Region:
    """One hot region of a CAM.

    Attributes:
        index: 1-based mark number (1 = the region holding the most heat).
        bbox: ``(x0, y0, x1, y1)`` in pixels, ``x1``/``y1`` exclusive.
        centroid: heat-weighted centre ``(x, y)`` in pixels.
        heat_share: the region's share of the map's total heat, in [0, 1].
        area: number of pixels in the region.
        position: key on a 3x3 grid, ``"{upper|middle|lower}-{left|center|right}"``.
        peak: the map's highest value inside the region.
    """

    index: int
    bbox: tuple[int, int, int, int]
    centroid: tuple[float, float]
    heat_share: float
    area: int
    position: str
    peak: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        data = asdict(self)
        data["bbox"] = list(self.bbox)
        data["centroid"] = [round(c, 2) for c in self.centroid]
        data["heat_share"] = round(self.heat_share, 4)
        data["peak"] = round(self.peak, 4)
        return data


def position_key(x: float, y: float, width: int, height: int) -> str:
    """The 3x3-grid key of point ``(x, y)`` in a ``width`` x ``height`` image."""
    col = min(2, max(0, int(3 * x / max(width, 1))))
    row = min(2, max(0, int(3 * y / max(height, 1))))
    return f"{ROWS[row]}-{COLUMNS[col]}"


def position_name(key: str, lang: str = "ja") -> str:
    """Human name of a grid position: ``upper-center`` -> 上部中央 (ja) / upper centre (en)."""
    names = _POSITION_NAMES.get(lang, _POSITION_NAMES["en"])
    if key not in names:
        raise ValueError(f"unknown position key {key!r}; expected one of {', '.join(names)}")
    return names[key]


# find_regions' last answers: (map digest, settings) -> regions. The pipeline asks twice for a
# photo's regions (the explainer, then the marks picture), with the same map and settings.
_RECENT: OrderedDict[tuple, tuple[Region, ...]] = OrderedDict()
_RECENT_SIZE = 64
_RECENT_LOCK = threading.Lock()
_PENDING: dict[tuple, threading.Lock] = {}  # maps being computed now
_LEVELS = 1000  # the normalised map in steps of 1/1000: exact, deterministic comparisons


def find_regions(
    cam: np.ndarray,
    max_regions: int = 5,
    threshold: float = 0.4,
    min_prominence: float = 0.15,
    min_share: float = 0.05,
) -> list[Region]:
    """The main hot regions of ``cam`` (2-D, non-negative), most heat first.

    Same as :func:`compute_regions`; a map seen recently with the same settings (the same
    values, even in another array) gets the answer computed then.
    """
    import numpy as np

    arr = np.ascontiguousarray(cam)
    digest = hashlib.blake2b(arr.view(np.uint8).reshape(-1), digest_size=16).digest()
    key = (digest, arr.shape, arr.dtype.str, max_regions, threshold, min_prominence, min_share)
    with _RECENT_LOCK:
        found = _RECENT.get(key)
        if found is not None:
            _RECENT.move_to_end(key)
            return list(found)
        pending = _PENDING.setdefault(key, threading.Lock())
    with pending:  # two threads asking for the same map (explainer, pictures): one computes
        with _RECENT_LOCK:
            found = _RECENT.get(key)
        if found is not None:
            return list(found)
        regions = compute_regions(arr, max_regions, threshold, min_prominence, min_share)
        with _RECENT_LOCK:
            _RECENT[key] = tuple(regions)
            _PENDING.pop(key, None)
            while len(_RECENT) > _RECENT_SIZE:
                _RECENT.popitem(last=False)
    return regions


def compute_regions(
    cam: np.ndarray,
    max_regions: int = 5,
    threshold: float = 0.4,
    min_prominence: float = 0.15,
    min_share: float = 0.05,
) -> list[Region]:
    """The main hot regions of ``cam`` (2-D, non-negative), most heat first.

    Args:
        cam: saliency map [H, W]; any non-negative scale (values are normalised by the max).
        max_regions: at most this many regions are returned.
        threshold: a pixel is hot when it is at least this fraction of the map's maximum.
        min_prominence: peaks of one hot component closer than this (relative to the max)
            to their joining saddle are merged into one region.
        min_share: regions holding less than this share of the total heat are dropped
            (the hottest region is always kept).

    Returns an empty list for an empty, all-zero or non-finite map.
    """
    import numpy as np
    from scipy import ndimage

    cam = np.nan_to_num(np.asarray(cam, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    if cam.ndim != 2:
        raise ValueError(f"find_regions expects a 2-D map, got shape {cam.shape}")
    cam = np.clip(cam, 0.0, None)
    height, width = cam.shape
    top = float(cam.max()) if cam.size else 0.0
    if top <= 0.0:
        return []
    norm = cam / top
    total = float(cam.sum())
    mask = norm >= threshold
    components, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    labels = _split_peaks(norm, components, count, min_prominence)

    regions: list[tuple[float, Region]] = []
    slices = ndimage.find_objects(labels)  # None for an id no pixel has
    for region_id, sl in enumerate(slices, start=1):
        if sl is None:
            continue
        inside = labels[sl] == region_id
        heat = np.where(inside, cam[sl], 0.0)
        mass = float(heat.sum())
        if mass <= 0.0:
            continue
        ys, xs = np.nonzero(inside)
        ys = ys + sl[0].start
        xs = xs + sl[1].start
        weights = heat[inside]
        cx = float((xs * weights).sum() / mass) + 0.5
        cy = float((ys * weights).sum() / mass) + 0.5
        bbox = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        region = Region(
            index=0,
            bbox=bbox,
            centroid=(cx, cy),
            heat_share=mass / total,
            area=int(inside.sum()),
            position=position_key(cx, cy, width, height),
            peak=float(norm[sl][inside].max()),
        )
        regions.append((mass, region))

    # Most heat first; ties broken by position so the order is deterministic.
    regions.sort(key=lambda item: (-item[0], item[1].bbox[1], item[1].bbox[0]))
    kept = [r for i, (_, r) in enumerate(regions) if i == 0 or r.heat_share >= min_share]
    kept = kept[: max(0, max_regions)]
    return [_with_index(r, i + 1) for i, r in enumerate(kept)]


def region_mask(cam: np.ndarray, region: Region, threshold: float = 0.4) -> np.ndarray:
    """Boolean mask of the hot pixels of ``cam`` inside ``region``'s bounding box."""
    import numpy as np

    cam = np.clip(np.nan_to_num(np.asarray(cam, dtype=np.float64)), 0.0, None)
    top = float(cam.max()) if cam.size else 0.0
    mask = np.zeros(cam.shape, dtype=bool)
    if top <= 0.0:
        return mask
    x0, y0, x1, y1 = region.bbox
    mask[y0:y1, x0:x1] = cam[y0:y1, x0:x1] >= threshold * top
    return mask


def _with_index(region: Region, index: int) -> Region:
    from dataclasses import replace

    return replace(region, index=index)


def _split_peaks(norm: np.ndarray, components: np.ndarray, count: int, min_prominence: float):
    """Split hot components into one region per prominent peak (watershed + saddle merging).

    Every local maximum seeds a watershed basin inside the hot mask; neighbouring basins are
    then merged, highest saddle first, while the lower of their two peaks stands less than
    ``min_prominence`` above the saddle joining them (the peak's *dynamic*).
    """
    import numpy as np

    if count == 0:
        return components
    # Only the hot pixels' bounding box and a one-pixel margin matter (every 3x3 neighbourhood
    # of a hot pixel lies inside it; at the map's edge the box's edge is the map's): the same
    # labels as on the whole map, for a fraction of the pixels.
    ys, xs = np.nonzero(components)
    box = (
        slice(max(int(ys.min()) - 1, 0), int(ys.max()) + 2),
        slice(max(int(xs.min()) - 1, 0), int(xs.max()) + 2),
    )
    labels = _split_box(norm[box], components[box], min_prominence)
    if labels is None:
        return components
    out = np.zeros(components.shape, dtype=labels.dtype)
    out[box] = labels
    return out


def _split_box(norm: np.ndarray, components: np.ndarray, min_prominence: float):
    """:func:`_split_peaks` on a box holding every hot pixel; None when nothing splits."""
    import numpy as np
    from scipy import ndimage
    from skimage.segmentation import watershed

    hot = components > 0
    levels = np.round(norm * _LEVELS).astype(np.int32)  # exact, deterministic comparisons
    peaks = (ndimage.maximum_filter(levels, size=3, mode="nearest") == levels) & hot
    eight = np.ones((3, 3), dtype=bool)
    markers, n_markers = ndimage.label(peaks, structure=eight)
    if n_markers <= 1:
        return None
    basins = watershed(-levels, markers, mask=hot, connectivity=2)
    peak_of = _basin_peaks(levels, basins, n_markers)

    # Saddle between two touching basins: the highest min(level) over their touching pixel pairs.
    firsts, seconds, values = [], [], []
    h, w = basins.shape
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        ya, yb = slice(0, h - dy), slice(dy, h)
        xa, xb = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
        a, b = basins[ya, xa], basins[yb, xb]
        touching = (a != b) & (a > 0) & (b > 0)
        if touching.any():
            firsts.append(np.minimum(a, b)[touching])
            seconds.append(np.maximum(a, b)[touching])
            values.append(np.minimum(levels[ya, xa], levels[yb, xb])[touching])
    if not firsts:
        return basins
    first, second, value = (np.concatenate(x).astype(np.int64) for x in (firsts, seconds, values))
    keys = first * (n_markers + 1) + second
    order = np.lexsort((-value, keys))
    keys, value = keys[order], value[order]
    unique = np.ones(len(keys), dtype=bool)
    unique[1:] = keys[1:] != keys[:-1]
    edges = sorted(
        zip(
            (-value[unique]).tolist(),
            (keys[unique] // (n_markers + 1)).tolist(),
            (keys[unique] % (n_markers + 1)).tolist(),
            strict=True,
        )
    )
    parent = list(range(n_markers + 1))
    top = peak_of.tolist()

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    threshold = int(round(min_prominence * _LEVELS))
    for negative_saddle, a, b in edges:
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        if min(top[ra], top[rb]) + negative_saddle < threshold:  # lower peak - saddle
            keep, drop = (ra, rb) if (top[ra], -ra) >= (top[rb], -rb) else (rb, ra)
            parent[drop] = keep
    lookup = np.array([root(i) for i in range(n_markers + 1)], dtype=np.int64)
    return lookup[basins]


def _basin_peaks(levels: np.ndarray, basins: np.ndarray, count: int) -> np.ndarray:
    """Each basin's highest level (``[count + 1]``, basin 0 and a basin without pixels: 0).

    The same numbers as ``scipy.ndimage.maximum(levels, basins, range(1, count + 1))`` for
    levels in 0..1000, in a tenth of its time: which (basin, level) pairs occur is marked in
    a table of ``count + 1`` rows of 1,001 levels, and each row's last mark is its peak.
    """
    import numpy as np

    width = _LEVELS + 1
    seen = np.zeros((count + 1) * width, dtype=bool)
    seen[(basins.astype(np.int64) * width + levels).ravel()] = True
    table = seen.reshape(count + 1, width)
    peaks = _LEVELS - np.argmax(table[:, ::-1], axis=1).astype(np.int64)
    peaks[~table.any(axis=1)] = 0
    peaks[0] = 0
    return peaks
