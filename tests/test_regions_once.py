"""Regions are computed once per photo: the explainer and the marks picture share them."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from test_grounded import blob

from core import regions


@pytest.fixture
def counted(monkeypatch):
    calls: list[tuple] = []
    original = regions.compute_regions

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(regions, "compute_regions", counting)
    regions._RECENT.clear()
    return calls


def test_the_same_map_values_give_the_stored_regions(counted):
    cam = blob(64, 20, 20, 5) + 0.8 * blob(64, 45, 40, 5)
    first = regions.find_regions(cam, max_regions=4)
    again = regions.find_regions(cam.copy(), max_regions=4)  # another array, same values
    assert again == first and len(first) == 2 and len(counted) == 1
    assert regions.find_regions(cam, max_regions=1) == first[:1]  # other settings: computed
    changed = cam.copy()
    changed[0, 0] += 0.01
    regions.find_regions(changed, max_regions=4)
    assert len(counted) == 3
    again.clear()  # callers get their own list
    assert regions.find_regions(cam, max_regions=4) == first


def test_the_pipeline_finds_each_photos_regions_once(counted, tmp_path):
    import torch
    import torchvision

    from core.explainers.grounded import GroundedExplainer
    from core.models import Classifier, Preprocessing
    from core.pipeline import explain_loaded

    torch.manual_seed(0)
    labels = ["a", "b", "c"]
    model = Classifier(
        module=torchvision.models.resnet18(weights=None, num_classes=3).eval(),
        labels=labels,
        preprocess=Preprocessing(image_size=64, resize=64),
        localized_labels={"en": labels, "ja": labels},
    )
    rng = np.random.default_rng(0)
    photos = [Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)) for _ in range(3)]
    explainer = GroundedExplainer(crop_model=model, lang="en", min_prob=0.0)
    results = explain_loaded(model, explainer, photos, out_dir=tmp_path)
    assert all(r.ok and r.marks_path and r.explanation.error is None for r in results)
    assert len(counted) == len(photos)


def test_two_threads_asking_for_the_same_map_compute_it_once(monkeypatch):
    import threading
    import time

    calls = []
    original = regions.compute_regions

    def slow(*args, **kwargs):
        calls.append(1)
        time.sleep(0.2)  # the second thread arrives while the first computes
        return original(*args, **kwargs)

    monkeypatch.setattr(regions, "compute_regions", slow)
    regions._RECENT.clear()
    cam = blob(64, 30, 30, 6)
    answers = []
    threads = [
        threading.Thread(target=lambda: answers.append(regions.find_regions(cam, max_regions=4)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and answers[0] == answers[1] and answers[0]
