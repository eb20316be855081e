"""The next batch made ready on a thread (decoded, its CAM body run) while one is explained."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from test_precompute import CLASSES, make_photos, tiny_classifier

import core.jobs.engines as engines
from core.attribution import METHOD_NAMES, attribute_batch, method_class
from core.attribution.driver import body_ahead
from core.attribution.methods import needs_input
from core.models import Classifier, Preprocessing
from core.registry import register_model_loader
from core.store import connect_read


def bn_classifier(arg: str | None = None, **options) -> Classifier:
    """A small conv net with batch norm (its inference copy is a module of its own, the
    batch norm folded) and the test photos' classes: the CAM body can be run ahead."""
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, len(CLASSES)),
    ).eval()
    with torch.no_grad():  # batch-norm statistics that are not the identity
        module[1].running_mean.uniform_(-0.5, 0.5)
        module[1].running_var.uniform_(0.5, 2.0)
    return Classifier(
        module=module,
        labels=list(CLASSES),
        spec="tinybn",
        target_layer="3",
        preprocess=Preprocessing(image_size=64, resize=72),
        arch="tinybn",
    )


register_model_loader("tinybn", bn_classifier)


def _batch(seed: int = 0) -> torch.Tensor:
    return torch.randn(5, 3, 64, 64, generator=torch.Generator().manual_seed(seed))


def test_the_body_computed_ahead_gives_the_same_result():
    model = bn_classifier()
    batch = _batch()
    body = body_ahead(model, batch)
    assert body is not None and body.source is batch
    ahead = attribute_batch(model, batch, top_k=2, body=body)
    alone = attribute_batch(model, batch, top_k=2)
    np.testing.assert_array_equal(ahead.maps, alone.maps)
    np.testing.assert_array_equal(ahead.probs, alone.probs)
    np.testing.assert_array_equal(ahead.target_indices, alone.target_indices)


def test_a_body_for_another_batch_object_is_not_used():
    model = bn_classifier()
    batch, other = _batch(0), _batch(1)
    wrong = body_ahead(model, other)
    got = attribute_batch(model, batch, body=wrong)
    np.testing.assert_array_equal(got.maps, attribute_batch(model, batch).maps)


def test_no_body_ahead_where_attribute_batch_would_not_cut_the_model():
    model = bn_classifier()
    assert body_ahead(model, _batch(), method="scorecam") is None  # re-runs the input
    assert body_ahead(model, _batch(), method="no-such-method") is None  # raised later
    assert body_ahead(model.module, _batch()) is None  # a plain module: not the inference copy
    assert body_ahead(model, _batch(), layer="0") is None  # a folded convolution: the original
    assert body_ahead(tiny_classifier(), _batch()) is None  # nothing to fold: the original


def test_needs_input_agrees_with_the_classes_without_importing_them():
    assert {m for m in METHOD_NAMES if needs_input(m)} == {
        m for m in METHOD_NAMES if method_class(m).needs_input
    }


def _job_rows(db: Path) -> list[tuple]:
    with connect_read(db) as con:
        return con.execute(
            "SELECT i.rel_path, i.status, i.pred_label, CAST(i.probs AS VARCHAR), e.text, "
            "CAST(e.details AS VARCHAR) FROM images i LEFT JOIN explanations e USING (image_id) "
            "ORDER BY i.rel_path"
        ).fetchall()


def test_the_job_gives_the_same_rows_with_and_without_looking_ahead(tmp_path, monkeypatch):
    from core.jobs import run_precompute

    photos = make_photos(tmp_path / "photos", per_class=3)
    threads: set[str] = set()
    bodies: list[bool] = []
    prepare = engines.Backends._ahead

    def recording(self, batches):
        for chunk, ahead in prepare(self, batches):
            threads.update(t.name for t in threading.enumerate())
            bodies.append(ahead is not None and ahead.body is not None)
            yield chunk, ahead

    monkeypatch.setattr(engines.Backends, "_ahead", recording)
    options = dict(model="tinybn", explainer="testwords", batch_size=2, progress=False)
    ahead = run_precompute(photos, tmp_path / "ahead.duckdb", **options)
    assert any(name.startswith("wordcam-ahead") for name in threads)
    assert bodies == [True] * 5  # every batch of 2 has a readable photo
    monkeypatch.setattr(engines, "LOOK_AHEAD", False)
    plain = run_precompute(photos, tmp_path / "plain.duckdb", **options)
    assert (ahead.done, ahead.failed) == (plain.done, plain.failed) == (9, 1)
    assert _job_rows(tmp_path / "ahead.duckdb") == _job_rows(tmp_path / "plain.duckdb")


def test_the_body_ahead_runs_while_the_cam_classes_are_not_imported():
    """body_ahead needs neither pytorch-grad-cam nor the CAM classes (they import meanwhile)."""
    import subprocess

    code = (
        "import sys; sys.path.insert(0, 'tests'); import torch\n"
        "from test_speed_ahead import bn_classifier\n"
        "from core.attribution.driver import body_ahead\n"
        "b = body_ahead(bn_classifier(), torch.zeros(2, 3, 64, 64))\n"
        "assert b is not None\n"
        "print('pytorch_grad_cam' in sys.modules, 'core.attribution.cams' in sys.modules)\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False"]


@pytest.fixture(autouse=True)
def _torch_runtime(monkeypatch):
    monkeypatch.setenv("WORDCAM_RUNTIME", "torch")
