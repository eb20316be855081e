"""The faster region finding gives the regions of the scipy reference, map for map."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from core import regions


def _scipy_peaks(levels: np.ndarray, basins: np.ndarray, count: int) -> np.ndarray:
    """The former computation: ``scipy.ndimage.maximum`` per basin, clipped at 0."""
    peaks = np.zeros(count + 1, dtype=np.int64)
    found = ndimage.maximum(levels, basins, np.arange(1, count + 1))
    peaks[1:] = np.maximum(np.asarray(found, dtype=np.int64), 0)
    return peaks


def _cam_like(rng: np.random.Generator, size: int = 224) -> np.ndarray:
    """A map made the way a CAM is: a coarse grid of activations upsampled bilinearly."""
    import torch

    grid = rng.random((7, 7)) ** rng.uniform(1.0, 4.0)
    up = torch.nn.functional.interpolate(
        torch.from_numpy(grid)[None, None].float(), size=(size, size), mode="bilinear"
    )
    return np.clip(up[0, 0].numpy(), 0.0, None)


def _maps() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    maps = [_cam_like(rng) for _ in range(40)]
    maps += [rng.random((int(rng.integers(3, 40)), int(rng.integers(3, 40)))) for _ in range(60)]
    maps += [ndimage.gaussian_filter(rng.random((64, 80)), rng.uniform(1, 5)) for _ in range(40)]
    plateau = np.zeros((30, 30))
    plateau[5:10, 5:10] = 1.0
    plateau[20:25, 18:28] = 1.0
    plateau[12:18, 8:22] = 0.5  # a ridge between two flat tops
    maps.append(plateau)
    return maps


def test_basin_peaks_equal_scipy_maximum_on_random_labels():
    rng = np.random.default_rng(3)
    for _ in range(200):
        shape = (int(rng.integers(1, 50)), int(rng.integers(1, 50)))
        count = int(rng.integers(1, 30))
        levels = rng.integers(0, 1001, shape).astype(np.int32)
        basins = rng.integers(0, count + 1, shape).astype(np.int32)  # some basins empty
        np.testing.assert_array_equal(
            regions._basin_peaks(levels, basins, count), _scipy_peaks(levels, basins, count)
        )


@pytest.mark.parametrize(
    "settings",
    [{}, {"max_regions": 4}, {"threshold": 0.2, "min_prominence": 0.05}, {"min_share": 0.0}],
)
def test_regions_equal_the_scipy_reference_on_many_maps(monkeypatch, settings):
    maps = _maps()
    fast = [regions.compute_regions(m, **settings) for m in maps]
    monkeypatch.setattr(regions, "_basin_peaks", _scipy_peaks)
    reference = [regions.compute_regions(m, **settings) for m in maps]
    assert fast == reference
    assert sum(len(r) > 1 for r in fast) >= 10  # the maps do split into several regions
