"""The job's cheap speed-ups give the same answers as the plain computation."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


def _map(seed: int, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.random((7, 7)).astype(np.float32) ** 3
    return np.asarray(Image.fromarray(small).resize(size[::-1], Image.Resampling.BILINEAR))


@pytest.mark.parametrize("seed", range(12))
def test_regions_do_not_depend_on_the_cold_border_around_the_hot_pixels(seed):
    # The peaks are split on the hot pixels' bounding box only: a cold border added around
    # the map moves each region by the border and changes nothing else.
    from core.regions import compute_regions

    cam = _map(seed)
    pad = 9
    padded = np.pad(cam, pad)
    plain = compute_regions(cam, max_regions=4, min_prominence=0.05)
    framed = compute_regions(padded, max_regions=4, min_prominence=0.05)
    assert len(plain) == len(framed) >= 1
    for a, b in zip(plain, framed, strict=True):
        assert b.bbox == (a.bbox[0] + pad, a.bbox[1] + pad, a.bbox[2] + pad, a.bbox[3] + pad)
        assert (b.area, b.peak) == (a.area, a.peak)
        assert b.heat_share == pytest.approx(a.heat_share, rel=1e-12)


def test_a_map_whose_hot_pixels_touch_every_edge_splits_as_before():
    from core.regions import compute_regions

    y, x = np.mgrid[0:60, 0:80]
    cam = np.exp(-((x - 2) ** 2 + (y - 3) ** 2) / 200.0) + np.exp(
        -((x - 77) ** 2 + (y - 57) ** 2) / 200.0
    )
    regions = compute_regions(cam, threshold=0.01, min_prominence=0.15)
    # Two peaks in one hot component that fills the map: split by the watershed, each region
    # reaching its own corner.
    assert sorted(r.bbox for r in regions) == [(0, 0, 33, 34), (47, 27, 80, 60)]
    assert sum(r.heat_share for r in regions) == pytest.approx(0.993, abs=1e-3)


def test_views_from_one_shared_blurred_photo_equal_views_made_alone():
    from core.explainers.grounded import blurred_image, region_views
    from core.regions import find_regions

    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
    cam = _map(5)
    regions = find_regions(cam, max_regions=4, min_prominence=0.05)
    shared = blurred_image(image, cam)
    for region in regions:
        alone = region_views(image, cam, region)
        together = region_views(image, cam, region, blurred=shared)
        assert [v.tobytes() for v in alone] == [v.tobytes() for v in together]
