"""The grounded explainer's crop passes: padded to a power of two in torch, not in OpenVINO."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
from PIL import Image
from test_precompute import tiny_classifier

import core.explainers.grounded as grounded
from core.models.accelerate import ENV, set_runtime

HAS_OPENVINO = importlib.util.find_spec("openvino") is not None


@pytest.fixture
def runtime(monkeypatch, tmp_path):
    """Set the runtime for one test (graphs cached in ``tmp_path``); the environment's after."""
    monkeypatch.setenv("WORDCAM_CACHE", str(tmp_path))
    monkeypatch.setenv(ENV, os.environ.get(ENV, "torch"))  # set_runtime writes it: restored
    yield set_runtime
    set_runtime(None)


def crops(count: int) -> list[Image.Image]:
    rng = np.random.default_rng(3)
    return [
        Image.fromarray(rng.integers(0, 256, (40 + k, 50, 3), dtype=np.uint8)) for k in range(count)
    ]


def pass_sizes(explainer, count: int, monkeypatch) -> tuple[list[int], np.ndarray]:
    """The batch rows of each crop pass for ``count`` crops, and the probabilities."""
    model = explainer.crop_model
    sizes: list[int] = []
    logits = model.logits

    def recording(batch):
        sizes.append(int(batch.shape[0]))
        return logits(batch)

    monkeypatch.setattr(model, "logits", recording)
    probs = explainer._crop_probs(crops(count))
    monkeypatch.setattr(model, "logits", logits)
    return sizes, probs


def test_torch_pads_each_pass_to_a_power_of_two(runtime, monkeypatch):
    runtime("torch")
    explainer = grounded.GroundedExplainer(crop_model=tiny_classifier())
    sizes, probs = pass_sizes(explainer, 21, monkeypatch)
    assert sizes == [16, 8] and probs.shape == (21, 3)


@pytest.mark.skipif(not HAS_OPENVINO, reason="needs the optional OpenVINO runtime")
def test_openvino_runs_just_the_crops_with_the_padded_probabilities(runtime, monkeypatch):
    runtime("openvino")
    explainer = grounded.GroundedExplainer(crop_model=tiny_classifier())
    sizes, probs = pass_sizes(explainer, 21, monkeypatch)
    assert sizes == [16, 5] and probs.shape == (21, 3)
    monkeypatch.setattr(grounded, "_pass_rows", lambda model, n: 1 << (n - 1).bit_length())
    padded_sizes, padded = pass_sizes(explainer, 21, monkeypatch)
    assert padded_sizes == [16, 8]
    assert np.array_equal(probs, padded)  # no blank rows, the same bits
