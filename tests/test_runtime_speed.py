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


def test_views_from_one_shared_blurred_photo_equal_views_made_alone(monkeypatch):
    from core.explainers import grounded
    from core.explainers.grounded import blurred_image, region_views
    from core.regions import find_regions

    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
    cam = _map(5)
    regions = find_regions(cam, max_regions=4, min_prominence=0.05)
    shared = blurred_image(image, cam)
    alone = [region_views(image, cam, region) for region in regions]
    calls = []
    monkeypatch.setattr(grounded, "blurred_image", lambda *a: calls.append(a))
    together = [region_views(image, cam, region, blurred=shared) for region in regions]
    assert calls == []  # the shared picture is used, not blurred again per region
    for a, b in zip(alone, together, strict=True):
        assert [v.tobytes() for v in a] == [v.tobytes() for v in b]


def test_the_explainer_blurs_each_photo_once(monkeypatch):
    from core.explainers import grounded

    calls = []
    real = grounded.blurred_image
    monkeypatch.setattr(grounded, "blurred_image", lambda *a: calls.append(1) or real(*a))
    rng = np.random.default_rng(4)
    image = Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
    cam = np.zeros((96, 128), dtype=np.float32)
    cam[10:30, 10:30] = 1.0
    cam[60:90, 80:120] = 0.9  # two regions
    explainer = grounded.GroundedExplainer(crop_model=_tiny_crop_model())
    from core.explainers.base import ExplainRequest

    request = ExplainRequest(image=image, cam=cam, predictions=[], label=None, task="")
    out = explainer.explain_batch([request])
    assert out[0].error is None
    assert len(calls) == 1


def _tiny_crop_model():
    import torch

    from core.models import Classifier, Preprocessing

    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, stride=4),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 3),
    ).eval()
    return Classifier(
        module=module,
        labels=["a", "b", "c"],
        preprocess=Preprocessing(image_size=32),
        spec="tiny-crop",
        target_layer="0",
    )
