"""The grounded explainer's crop passes start while the batch's later views are still made."""

from __future__ import annotations

import threading

import numpy as np
from PIL import Image
from test_grounded import blob, request, tiny_crop_model  # noqa: F401 (a fixture)

import core.explainers.grounded as grounded
from core.explainers.grounded import CropPasses, GroundedExplainer


def _requests(count: int):
    rng = np.random.default_rng(5)
    image = Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))
    cam = blob(96, 25, 20, 8) + 0.7 * blob(96, 70, 75, 8)
    return [request(image, cam if i % 2 else cam[::-1].copy()) for i in range(count)]


def test_queued_passes_give_the_rows_of_one_call_for_every_count(tiny_crop_model):  # noqa: F811
    explainer = GroundedExplainer(crop_model=tiny_crop_model, min_prob=0.0)
    rng = np.random.default_rng(3)
    views = [Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)) for _ in range(37)]
    for count in (0, 1, 2, 15, 16, 17, 33, 37):
        passes = CropPasses(explainer)
        regions = [(0, j, views[k : min(k + 2, count)]) for j, k in enumerate(range(0, count, 2))]
        for end in range(len(regions) + 1):  # one region more per photo
            passes.add(regions[:end])
        got = passes.probs()
        if count == 0:
            assert got.shape == (0, 0)
        else:
            np.testing.assert_array_equal(got, explainer._crop_probs(views[:count]))


def test_a_pass_starts_before_the_last_photos_regions_are_found(
    tiny_crop_model,  # noqa: F811
    monkeypatch,
):
    requests = _requests(12)  # 2 regions x 2 views each: a full pass every 4 photos
    found: list[int] = []
    started: list[tuple[int, str]] = []
    find = grounded.find_regions
    crop_pass = GroundedExplainer._crop_pass

    def counting(*args, **kwargs):
        found.append(1)
        return find(*args, **kwargs)

    def recording(self, part):
        started.append((len(found), threading.current_thread().name))
        return crop_pass(self, part)

    monkeypatch.setattr(grounded, "find_regions", counting)
    monkeypatch.setattr(GroundedExplainer, "_crop_pass", recording)
    explainer = GroundedExplainer(crop_model=tiny_crop_model, min_prob=0.0)
    streamed = explainer.explain_batch(requests)
    assert len(started) == 3 and started[0][0] < len(requests)
    assert all(name.startswith("wordcam-crops") for _, name in started)
    monkeypatch.setattr(grounded, "CropPasses", _AllAtTheEnd)
    at_the_end = explainer.explain_batch(requests)
    assert [e.text for e in streamed] == [e.text for e in at_the_end]
    assert [e.details for e in streamed] == [e.details for e in at_the_end]


class _AllAtTheEnd(CropPasses):
    """The former order: every view made first, then all passes (in this thread)."""

    def add(self, crops) -> None:
        self.crops = crops

    def probs(self):
        flat = [view for _, _, views in self.crops for view in views]
        return self.explainer._crop_probs(flat)


def test_a_crop_model_that_cannot_load_fails_the_photos_not_the_batch(monkeypatch):
    def broken(spec, **_options):
        raise OSError("no such model")

    monkeypatch.setattr("core.models.load_model", broken)
    explainer = GroundedExplainer(crop_model="missing-model", min_prob=0.0)
    answers = explainer.explain_batch(_requests(5))
    assert len(answers) == 5
    assert all("object model failed" in (e.error or "") for e in answers)


def test_a_subclass_that_names_regions_its_own_way_is_asked_as_before(
    tiny_crop_model,  # noqa: F811
):
    asked: list[int] = []

    class OwnProbs(GroundedExplainer):
        def _crop_probs(self, crops):
            asked.append(len(crops))
            return super()._crop_probs(crops)

    requests = _requests(6)
    own = OwnProbs(crop_model=tiny_crop_model, min_prob=0.0).explain_batch(requests)
    plain = GroundedExplainer(crop_model=tiny_crop_model, min_prob=0.0).explain_batch(requests)
    assert asked == [24]  # every view of the batch in one call, no passes started before
    assert [e.text for e in own] == [e.text for e in plain]
