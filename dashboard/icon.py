"""The dashboard's favicon, drawn locally (no request to a font or emoji CDN)."""

from __future__ import annotations

import functools


@functools.cache
def favicon():
    """A 64 px PIL image: a photo frame with a word bubble (the app's mark)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((4, 10, 60, 54), radius=8, fill=(255, 75, 75, 255))
    draw.ellipse((14, 18, 32, 36), fill=(255, 255, 255, 255))
    draw.polygon([(10, 50), (30, 30), (44, 44), (54, 34), (54, 50)], fill=(255, 214, 214, 255))
    return image
