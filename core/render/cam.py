"""Pictures of a CAM: colour overlay, side-by-side panel, numbered marks, thumbnail.

Everything is deterministic PIL + numpy (no matplotlib): the jet colour map is computed from
its piecewise-linear definition into a 256-entry table.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from core.render.fonts import bundled_font

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from core.regions import Region

PANEL_GAP = 8
MARK_COLOURS = [(255, 255, 255), (255, 230, 0), (0, 255, 255), (255, 0, 255), (0, 255, 0)]


@lru_cache(maxsize=1)
def jet_table() -> np.ndarray:
    """The jet colour map as a uint8 table [256, 3] (dark blue -> cyan -> yellow -> dark red)."""
    import numpy as np

    x = np.linspace(0.0, 1.0, 256)
    channels = [np.clip(1.5 - np.abs(4.0 * x - centre), 0.0, 1.0) for centre in (3.0, 2.0, 1.0)]
    table = np.round(np.stack(channels, axis=1) * 255.0).astype(np.uint8)
    table.setflags(write=False)
    return table


def colorize(cam: np.ndarray) -> np.ndarray:
    """Map a saliency map in [0, 1] to jet RGB, uint8 [H, W, 3]."""
    import numpy as np

    values = np.clip(np.nan_to_num(np.asarray(cam, dtype=np.float32)), 0.0, 1.0)
    return jet_table()[np.round(values * 255.0).astype(np.uint8)]


def resize_cam(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a float map [h, w] to ``size`` = (width, height) with bilinear interpolation."""
    import numpy as np
    from PIL import Image as PILImage

    cam = np.nan_to_num(np.asarray(cam, dtype=np.float32))
    if cam.ndim != 2:
        raise ValueError(f"expected a 2-D saliency map, got shape {cam.shape}")
    if (cam.shape[1], cam.shape[0]) == tuple(size):
        return cam
    resized = PILImage.fromarray(np.ascontiguousarray(cam)).resize(
        size, PILImage.Resampling.BILINEAR
    )
    return np.asarray(resized, dtype=np.float32)


def overlay(image: Image.Image, cam: np.ndarray, alpha: float = 0.5) -> Image.Image:
    """The jet-coloured ``cam`` blended over ``image`` (RGB, image size); ``alpha`` = heat weight."""
    import numpy as np
    from PIL import Image as PILImage

    rgb = image.convert("RGB")
    alpha = float(np.clip(alpha, 0.0, 1.0))
    if alpha == 0.5:  # the default: the same bytes in integers, in a quarter of the time
        return PILImage.fromarray(_half_blend(np.asarray(rgb), colorize(resize_cam(cam, rgb.size))))
    heat = colorize(resize_cam(cam, rgb.size)).astype(np.float32)
    base = np.asarray(rgb, dtype=np.float32)
    mixed = np.round((1.0 - alpha) * base + alpha * heat)
    return PILImage.fromarray(np.clip(mixed, 0, 255).astype(np.uint8))


def _half_blend(base: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """``round(0.5 * base + 0.5 * heat)`` of two uint8 arrays, rounding halves to even as
    ``np.round`` does (every such sum is exact in float32): the mean of the two bytes, plus
    one where the sum is odd and its half rounded down is odd."""
    import numpy as np

    total = base.astype(np.uint16) + heat
    half = total >> 1
    half += total & half & 1
    return half.astype(np.uint8)


def panel(
    image: Image.Image,
    cam: np.ndarray,
    alpha: float = 0.5,
    overlaid: Image.Image | None = None,
) -> Image.Image:
    """Input and overlay side by side (``input | overlay``) on white, ``PANEL_GAP`` px apart.

    ``overlaid``: :func:`overlay` of the same image, map and ``alpha`` when the caller has it
    already (the same pixels, drawn once).
    """
    from PIL import Image as PILImage

    rgb = image.convert("RGB")
    w, h = rgb.size
    out = PILImage.new("RGB", (2 * w + PANEL_GAP, h), (255, 255, 255))
    out.paste(rgb, (0, 0))
    out.paste(overlay(rgb, cam, alpha) if overlaid is None else overlaid, (w + PANEL_GAP, 0))
    return out


def marks_overlay(
    image: Image.Image,
    cam: np.ndarray,
    regions: Sequence[Region] | None = None,
    alpha: float = 0.5,
    overlaid: Image.Image | None = None,
) -> Image.Image:
    """The overlay with each main heat region outlined and numbered (Set-of-Mark style).

    ``regions`` default to :func:`core.regions.find_regions` of ``cam`` (resized to the image).
    Each region gets a two-tone box (black under colour, legible on any background) and a
    filled badge with its 1-based number at the box's top-left corner. ``overlaid``:
    :func:`overlay` of the same image, map and ``alpha`` when the caller has it already (the
    marks are drawn on a copy: the same pixels as drawing the overlay here).
    """
    from PIL import ImageDraw

    from core.regions import find_regions

    rgb = image.convert("RGB")
    cam_full = resize_cam(cam, rgb.size)
    regions = find_regions(cam_full) if regions is None else _scale_regions(regions, cam, rgb.size)
    # convert() to the same mode copies: the caller's overlay is not drawn on
    out = overlay(rgb, cam_full, alpha) if overlaid is None else overlaid.convert("RGB")
    draw = ImageDraw.Draw(out)
    w, h = out.size
    line = max(2, round(min(w, h) / 120))
    font_size = max(12, round(min(w, h) / 14))
    font = bundled_font(font_size)
    for region in regions:
        colour = MARK_COLOURS[(region.index - 1) % len(MARK_COLOURS)]
        x0, y0, x1, y1 = region.bbox
        box = (x0, y0, max(x0, x1 - 1), max(y0, y1 - 1))
        draw.rectangle(box, outline=(0, 0, 0), width=line + 2)
        draw.rectangle(box, outline=colour, width=line)
        text = str(region.index)
        tx0, ty0, tx1, ty1 = draw.textbbox((0, 0), text, font=font)
        pad = max(2, font_size // 5)
        bw, bh = tx1 - tx0 + 2 * pad, ty1 - ty0 + 2 * pad
        bx = min(max(0, x0), max(0, w - bw))
        by = min(max(0, y0), max(0, h - bh))
        draw.rectangle(
            (bx, by, bx + bw, by + bh), fill=(0, 0, 0), outline=colour, width=max(1, line // 2)
        )
        draw.text((bx + pad - tx0, by + pad - ty0), text, fill=colour, font=font)
    return out


def thumbnail(image: Image.Image, size: int = 256) -> Image.Image:
    """An RGB copy that fits in ``size`` x ``size`` (aspect kept; never enlarged)."""
    from PIL import Image as PILImage

    thumb = image.convert("RGB").copy()
    thumb.thumbnail((size, size), PILImage.Resampling.LANCZOS)
    return thumb


def _scale_regions(
    regions: Sequence[Region], cam: np.ndarray, size: tuple[int, int]
) -> list[Region]:
    """Regions found on ``cam`` expressed in the pixel grid of an image of ``size``."""
    from dataclasses import replace

    import numpy as np

    ch, cw = np.asarray(cam).shape[:2]
    sx, sy = size[0] / cw, size[1] / ch
    if sx == 1.0 and sy == 1.0:
        return list(regions)
    scaled = []
    for r in regions:
        x0, y0, x1, y1 = r.bbox
        bbox = (
            int(x0 * sx),
            int(y0 * sy),
            max(int(x0 * sx) + 1, round(x1 * sx)),
            max(int(y0 * sy) + 1, round(y1 * sy)),
        )
        scaled.append(replace(r, bbox=bbox, centroid=(r.centroid[0] * sx, r.centroid[1] * sy)))
    return scaled
