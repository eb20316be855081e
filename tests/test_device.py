"""``--device``: parsing, resolution without a GPU, models on a device, and the GPU check."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import WordcamError
from core.runtime import default_batch_size, parse_device, resolve_device

ROOT = Path(__file__).resolve().parents[1]
HAS_CUDA = importlib.util.find_spec("torch") is not None and __import__("torch").cuda.is_available()


def test_parse_device_normalises_and_rejects_in_one_line() -> None:
    assert [parse_device(d) for d in ("auto", "CPU", " cuda ", "cuda:1", None)] == [
        "auto",
        "cpu",
        "cuda",
        "cuda:1",
        "auto",
    ]
    for bad in ("gpu", "cpu:0", "cuda:x", "cuda:-1", "tpu", ""):
        with pytest.raises(WordcamError, match="use auto, cpu, cuda or cuda:N") as info:
            parse_device(bad)
        assert "\n" not in str(info.value)


@pytest.mark.skipif(HAS_CUDA, reason="checks the behaviour on a machine without CUDA")
def test_without_cuda_auto_is_cpu_and_cuda_is_one_clear_line() -> None:
    assert resolve_device("auto") == "cpu" and resolve_device("cpu") == "cpu"
    for device in ("cuda", "cuda:1"):
        with pytest.raises(WordcamError) as info:
            resolve_device(device)
        message = str(info.value)
        assert "\n" not in message and f"--device {device}:" in message
        assert "no CUDA device" in message and "--device cpu" in message


def test_cuda_index_beyond_the_devices_names_the_count(monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("auto") == "cuda" and resolve_device("cuda:0") == "cuda:0"
    with pytest.raises(WordcamError, match=r"cuda:1: this machine has 1 CUDA device;"):
        resolve_device("cuda:1")


def test_batch_sizes_per_device() -> None:
    from core.cli.common import batch_size_for

    assert default_batch_size("cpu", 8) == 8 and default_batch_size("cpu", 16) == 16
    assert default_batch_size("cuda", 8) == 64 and default_batch_size("cuda:1", 128) == 128
    args = argparse.Namespace(device="cpu", batch_size=None)
    assert batch_size_for(args, 8) == 8
    assert batch_size_for(argparse.Namespace(device="cuda:7", batch_size=3), 8) == 3


def test_explain_cli_device_errors(tmp_path: Path, capsys) -> None:
    from PIL import Image

    from core.cli import main

    photo = tmp_path / "p.png"
    Image.new("RGB", (40, 40), (10, 200, 10)).save(photo)
    with pytest.raises(SystemExit) as info:  # argparse: a usage error, exit 2
        main(["explain", str(photo), "--device", "gpu"])
    assert info.value.code == 2
    assert "unknown device 'gpu': use auto, cpu, cuda or cuda:N" in capsys.readouterr().err
    if not HAS_CUDA:
        assert main(["explain", str(photo), "--device", "cuda:1", "--out", str(tmp_path)]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--device cuda:1: this machine has" in err


def test_classifier_on_a_device_copies_and_never_moves_the_original() -> None:
    import torch

    from core.models import default_device, load_model, on_device

    cpu = load_model("imagenet")
    assert cpu.device == torch.device("cpu") and default_device() == "cpu"
    assert load_model("imagenet", device="cpu").module is cpu.module  # no copy on the CPU
    assert load_model("imagenet", device="auto").module is cpu.module or HAS_CUDA
    assert cpu.on("cpu") is cpu
    meta = cpu.on("meta")  # a device every torch has: the copy is moved, the original not
    assert meta.device.type == "meta" and meta.module is not cpu.module
    assert cpu.device.type == "cpu" and meta.labels == cpu.labels
    assert cpu.on("meta").module is meta.module  # one copy per module and device
    with on_device("cpu") as device:
        assert device == "cpu" and default_device() == "cpu"
    batch = torch.zeros(2, 3, 224, 224)
    probs = cpu.predict_proba(batch)
    assert probs.shape == (2, 1000) and abs(float(probs[0].sum()) - 1) < 1e-4
    assert cpu.logits(batch).device.type == "cpu"


def test_the_explainer_runs_on_the_models_device(tmp_path: Path) -> None:
    """The pipeline runs the explainer inside ``on_device(model.device)``: models it loads
    without a device (the grounded crop model) land where the explained model is."""
    from PIL import Image

    from core.explainers.base import Explanation
    from core.models import default_device, load_model
    from core.pipeline import explain_loaded

    seen = []

    class Recorder:
        lang = "en"

        def explain_batch(self, requests):
            seen.append(default_device())
            return [Explanation(text="ok") for _ in requests]

    model = load_model("imagenet", device="cpu")
    results = explain_loaded(model, Recorder(), [Image.new("RGB", (64, 64))], top_k=2)
    assert (
        seen == ["cpu"] and results[0].ok and results[0].to_json()["predictions"][0]["index"] >= 0
    )


def test_gpu_check_skips_cleanly_without_cuda() -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)}
    for argv in ([], ["--device", "cuda:1"]):
        done = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "skipped: no CUDA device"


def _gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpu_check_logic_cpu_against_itself() -> None:
    """The map comparison run CPU vs CPU: every row passes with (near) zero difference."""
    check = _gpu_check()
    rows = check.check_maps("cpu", models=["imagenet"], methods=["gradcam", "eigencam"], count=2)
    assert [(r["model"], r["method"], r["photos"]) for r in rows] == [
        ("imagenet", "gradcam", 2),
        ("imagenet", "eigencam", 2),
    ]
    assert all(r["ok"] and r["max_map_diff"] < 1e-5 for r in rows)
    report = {"environment": check.environment("cpu"), "tolerance": 1e-3, "maps": rows, "ok": True}
    assert "| imagenet | gradcam | 2 |" in check.to_markdown(report)


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
def test_gpu_maps_pipeline_and_job_agree_with_the_cpu() -> None:
    """On a GPU: every CAM method on both models, the grounded pipeline, the job's speed."""
    check = _gpu_check()
    report = check.run_check("cuda", count=32)
    print(check.to_markdown(report))
    assert report["ok"], check.to_markdown(report)


def test_runtime_flag_chooses_the_runtime_for_the_process_and_its_workers(monkeypatch) -> None:
    from core.cli import build_parser
    from core.models import accelerate

    monkeypatch.setenv(accelerate.ENV, "auto")  # restored after the test
    try:
        args = build_parser().parse_args(["precompute", "photos", "--runtime", "torch"])
        assert args.runtime == "torch" and accelerate.runtime() == "torch"
        assert os.environ[accelerate.ENV] == "torch"  # Ray workers and children follow
    finally:
        accelerate.set_runtime(None)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["precompute", "photos", "--runtime", "tensorrt"])


def test_gpu_check_reports_forwards_per_photo_like_the_precompute_benchmark() -> None:
    check = _gpu_check()
    # 0.2 s per photo against 0.1 s per reference image (10 images/s before and after).
    assert check.forwards_per_item(10, 2.0, [10.0, 10.0]) == 2.0
    assert check.forwards_per_item(10, 2.0, [5.0, 20.0]) == pytest.approx(1.6)
    assert check.forwards_per_item(0, 2.0, [10.0]) is None
    assert check.forward_rate("cpu", 2, seconds=0.01) > 0
    job = {
        "photos": 8, "seconds": 2.0, "photos_per_s": 4.0, "batch_size": 16,
        "forward_images_per_s": [10.0, 10.0], "forwards_per_photo": 2.5, "ok": True,
    }  # fmt: skip
    report = {"environment": check.environment("cpu"), "tolerance": 1e-3, "job": job, "ok": True}
    assert "**2.5 forwards per photo**" in check.to_markdown(report)
