"""The colour table (``hsv_colour_keys``) gives ``colour_keys``' key for every 8-bit HSV pixel,
and ``dominant_colours`` names and weighs colours as the float maths per pixel did."""

from __future__ import annotations

import numpy as np
from PIL import Image

from core.colours import COLOUR_KEYS
from core.explainers.grounded import REGION_THRESHOLD
from core.explainers.region_colours import (
    SECOND_COLOUR_SHARE,
    colour_keys,
    dominant_colours,
    hsv_colour_keys,
)
from core.regions import find_regions, region_mask


def _reference_keys(hsv: np.ndarray) -> np.ndarray:
    hsv = hsv.astype(np.float64)
    return colour_keys(hsv[..., 0] * 360.0 / 256.0, hsv[..., 1] / 255.0, hsv[..., 2] / 255.0)


def test_table_equals_colour_keys_on_every_hsv_byte_triple():
    byte = np.arange(256, dtype=np.uint8)
    s, v = np.meshgrid(byte, byte, indexing="ij")
    for h in range(0, 256, 1):
        hsv = np.stack([np.full_like(s, h), s, v], axis=-1)
        np.testing.assert_array_equal(hsv_colour_keys(hsv), _reference_keys(hsv), err_msg=f"h={h}")


def _reference_dominant(image, cam, region):
    x0, y0, x1, y1 = region.bbox
    mask = region_mask(cam, region, REGION_THRESHOLD)[y0:y1, x0:x1]
    weights = np.asarray(cam, dtype=np.float64)[y0:y1, x0:x1] * mask
    hsv = np.asarray(image.convert("RGB").crop((x0, y0, x1, y1)).convert("HSV"))
    totals = np.bincount(
        _reference_keys(hsv).ravel(), weights=weights.ravel(), minlength=len(COLOUR_KEYS)
    )
    shares = totals / totals.sum()
    order = sorted(range(len(COLOUR_KEYS)), key=lambda k: (-shares[k], k))
    picked = [order[0]] + [k for k in order[1:2] if shares[k] >= SECOND_COLOUR_SHARE]
    return [(COLOUR_KEYS[k], float(shares[k])) for k in picked]


def test_dominant_colours_equal_the_per_pixel_maths_on_random_photos():
    rng = np.random.default_rng(5)
    for mode in ("RGB", "L", "P", "RGBA"):
        for _ in range(4):
            pixels = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
            pixels[:, :20] = rng.integers(0, 256, 3, dtype=np.uint8)  # a flat colour block
            image = Image.fromarray(pixels).convert(mode)
            yy, xx = np.mgrid[0:48, 0:64]
            cy, cx = rng.uniform(10, 38), rng.uniform(10, 54)
            cam = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 150.0) + 0.2 * rng.random((48, 64))
            cam = cam.astype(np.float32)
            regions = find_regions(cam)
            assert regions
            for region in regions:
                got = dominant_colours(image, cam, region, REGION_THRESHOLD)
                assert got == _reference_dominant(image, cam, region)
                assert got and sum(share for _, share in got) <= 1.0 + 1e-12
