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


@pytest.fixture
def openvino_runtime(tmp_path, monkeypatch):
    pytest.importorskip("openvino")
    import torch

    from core.models import accelerate

    monkeypatch.setenv("WORDCAM_CACHE", str(tmp_path))
    monkeypatch.setenv(accelerate.ENV, "torch")  # restored (unset) after the test
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # two streams
    accelerate.set_runtime("openvino")
    yield accelerate
    accelerate.set_runtime(None)
    torch.set_num_threads(threads)


def _conv_net(extra: bool = False):
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 6, 3, padding=1)
            self.head = torch.nn.Linear(6, 4)

        def forward(self, x):
            out = self.head(self.conv(x).relu().mean((2, 3)))
            # a second output without a batch axis: the batch cannot be split and joined
            return (out, self.head.bias * 2) if extra else out

    torch.manual_seed(0)
    return Net().eval()


def test_a_batch_split_over_the_streams_equals_torch_for_every_size(openvino_runtime):
    import torch

    module = _conv_net()
    x = torch.randn(5, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    for rows in (5, 4, 2, 1):
        with torch.no_grad():
            want = module(x[:rows])
        got = openvino_runtime.run(module, x[:rows])
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    runner = openvino_runtime._RUNNERS[module][("forward", (3, 16, 16))]
    assert runner is not None and len(runner.requests) == 2  # one request per stream


def test_every_model_shares_one_openvino_core(openvino_runtime, monkeypatch):
    """A new ``Core`` per model (two per model before) is what other projects found to crash a
    process after many models; every runner now compiles through the process's one ``Core``."""
    import torch

    ov = openvino_runtime.openvino()

    made = []

    class CountingCore(ov.Core):
        def __init__(self, *args, **kwargs) -> None:
            made.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(ov, "Core", CountingCore)
    monkeypatch.setattr(openvino_runtime, "_CORE", [], raising=False)
    x = torch.randn(2, 3, 16, 16)
    for seed in range(3):  # three different models, each converted and compiled
        torch.manual_seed(seed)
        openvino_runtime.run(torch.nn.Conv2d(3, 4, 3).eval(), x)
    assert len(made) == 1


def test_an_output_without_a_batch_axis_keeps_the_batch_in_one_request(openvino_runtime):
    import torch

    module = _conv_net(extra=True)
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want = module(x)
    got = openvino_runtime.run(module, x)
    assert isinstance(got, tuple) and got[1].shape == want[1].shape == (4,)
    torch.testing.assert_close(got[0], want[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(got[1], want[1], atol=1e-5, rtol=1e-5)
    runner = openvino_runtime._RUNNERS[module][("forward", (3, 16, 16))]
    assert runner is not None and len(runner.requests) == 1


def test_without_openvino_auto_runs_torch_and_openvino_is_refused(tmp_path):
    # OpenVINO "not installed": a sitecustomize that makes every import of it fail.
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['openvino'] = None\n")
    script = (
        "import torch\n"
        "from core.models import accelerate\n"
        "print(accelerate.available_runtimes(), accelerate.runtime())\n"
        "net = torch.nn.Conv2d(3, 2, 3).eval()\n"
        "print(tuple(accelerate.run(net, torch.zeros(2, 3, 8, 8)).shape))\n"
        "try:\n"
        "    accelerate.set_runtime('openvino')\n"
        "except ValueError as exc:\n"
        "    print('refused:', exc)\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k != "WORDCAM_RUNTIME"},  # the default: auto
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(root)]),
        "WORDCAM_CACHE": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "('torch',) torch"
    assert lines[1] == "(2, 2, 6, 6)"
    assert lines[2].startswith("refused: runtime 'openvino' is not installed")
    assert not (tmp_path / "cache").exists()  # nothing converted


def test_the_graph_cache_sidecar_is_written_by_rename_never_through_a_link(
    openvino_runtime, tmp_path
):
    """The sidecar JSON goes through ``core.files.replace_text`` (temporary + rename): a link
    left under its name is replaced, not written through, and the ``.xml``, renamed last,
    still marks a complete entry that a later process reads."""
    import json

    import torch

    accelerate = openvino_runtime
    module = _conv_net()
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    name = accelerate._fingerprint(module, [-1, 3, 16, 16], "forward")
    cache = accelerate.cache_dir()
    cache.mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (cache / f"{name}.json").symlink_to(victim)
    accelerate.run(module, x)
    assert victim.read_text() == "keep me"
    sidecar = cache / f"{name}.json"
    assert not sidecar.is_symlink() and json.loads(sidecar.read_text()) == {"tuple": False}
    assert (cache / f"{name}.xml").exists() and (cache / f"{name}.bin").exists()
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        f"{name}{suffix}" for suffix in (".bin", ".json", ".xml")
    )  # no temporary left
    accelerate._RUNNERS.clear()  # a new process: read from the cache, not converted
    reread = accelerate._OpenVinoRunner(module, x, "forward")
    torch.testing.assert_close(reread(x), module(x).detach(), atol=1e-5, rtol=1e-5)
