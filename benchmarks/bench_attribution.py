"""Benchmark CAM throughput: ``core.attribute`` vs plain pytorch-grad-cam vs a forward pass.

For each model (ResNet-50, random weights; the default ``imagenet`` model) and batch size
(1 and 16) at 224x224 on the CPU, side by side in one run and interleaved round by round
(so that load from other processes hits every contender alike), medians of images/s of:

* ``forward``: ``model(batch)`` under ``torch.inference_mode`` (predictions only), and
  ``forward_nhwc`` the same with the batch in channels-last memory format, which core uses on
  the CPU (oneDNN's NHWC kernels are faster): this column shows how much of core's speed
  comes from that alone;
* ``core``: ``core.attribution.attribute_batch`` (predictions + Grad-CAM, top-1);
* ``plain``: pytorch-grad-cam used as its README shows (``GradCAM(model, [layer])(batch)``,
  logits from ``cam.outputs``);
* ``core top-3`` / ``plain top-3``: maps of the three most probable classes (plain: one call
  for the predicted class, then one per further class).

Goals: ``core`` >= 3x ``plain`` and ``core`` time <= 1.15x a forward pass.

Run: ``.venv/bin/python benchmarks/bench_attribution.py [--quick] [--json | --markdown]``;
results go to ``benchmarks/results/attribution.json`` and ``attribution.md``. Importable:
``run_benchmark(...) -> dict`` (used by ``wordcam bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parent.parent
GOAL_SPEEDUP = 3.0
GOAL_OVERHEAD = 1.15


def _load(name: str) -> tuple[Any, Any, str]:
    """(model for core, torch module, layer name) for ``resnet50`` or a core model spec."""
    import torch
    import torchvision

    if name == "resnet50":
        torch.manual_seed(0)
        module = torchvision.models.resnet50(weights=None).eval()
        return module, module, "layer4"
    from core.attribution import default_layer
    from core.models import load_model

    classifier = load_model(name)
    return classifier, classifier.module, default_layer(classifier)


def _contenders(
    model: Any, module: Any, layer_name: str, batch: Any, method: str, top_k: int
) -> dict[str, Callable[[], Any]]:
    import numpy as np
    import torch
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from core.attribution import CAM_METHODS, attribute_batch, resolve_layer

    layer = resolve_layer(module, layer_name)
    plain_cam = CAM_METHODS[method](model=module, target_layers=[layer])

    nhwc = batch.contiguous(memory_format=torch.channels_last)

    def forward(inputs: Any) -> Any:
        with torch.inference_mode():
            return torch.softmax(module(inputs), dim=1)

    def plain(k: int) -> Any:
        maps = [plain_cam(input_tensor=batch, targets=None)]
        top = np.argsort(-plain_cam.outputs.detach().numpy(), axis=1)[:, :k]
        for rank in range(1, k):
            targets = [ClassifierOutputTarget(int(t)) for t in top[:, rank]]
            maps.append(plain_cam(input_tensor=batch, targets=targets))
        return maps

    return {
        "forward": lambda: forward(batch),
        "forward_nhwc": lambda: forward(nhwc),
        "core": lambda: attribute_batch(model, batch, method=method, layer=layer_name),
        "plain": lambda: plain(1),
        f"core_top{top_k}": lambda: attribute_batch(
            model, batch, method=method, layer=layer_name, top_k=top_k
        ),
        f"plain_top{top_k}": lambda: plain(top_k),
    }


def _measure(contenders: dict[str, Callable[[], Any]], repeats: int, warmup: int) -> dict:
    """Median seconds per call of each contender, measured round-robin."""
    for _ in range(warmup):
        for fn in contenders.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def run_benchmark(
    models: Sequence[str] = ("resnet50", "imagenet"),
    batch_sizes: Sequence[int] = (1, 16),
    image_size: int = 224,
    method: str = "gradcam",
    top_k: int = 3,
    repeats: int = 5,
    warmup: int = 1,
    threads: int = 2,
    quick: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Measure and return ``{"rows": [...], "meta": {...}, "markdown": str}``.

    ``quick`` uses 2 repeats (noisier). Rows hold images/s per contender and the ratios
    ``speedup`` (core vs plain), ``speedup_top_k`` and ``overhead`` (core time / forward time).
    """
    import torch

    if quick:
        repeats = min(repeats, 2)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    rows = []
    try:
        for name in models:
            model, module, layer = _load(name)
            for batch_size in batch_sizes:
                if progress:
                    progress(f"{name} batch {batch_size}")
                generator = torch.Generator().manual_seed(batch_size)
                batch = torch.randn(batch_size, 3, image_size, image_size, generator=generator)
                contenders = _contenders(model, module, layer, batch, method, top_k)
                seconds = _measure(contenders, repeats, warmup)
                per_s = {key: batch_size / value for key, value in seconds.items()}
                rows.append(
                    {
                        "model": name,
                        "layer": layer,
                        "batch": batch_size,
                        "seconds": seconds,
                        "images_per_s": per_s,
                        "speedup": seconds["plain"] / seconds["core"],
                        "speedup_top_k": seconds[f"plain_top{top_k}"] / seconds[f"core_top{top_k}"],
                        "overhead": seconds["core"] / seconds["forward"],
                        "overhead_nhwc": seconds["core"] / seconds["forward_nhwc"],
                        "overhead_top_k": seconds[f"core_top{top_k}"] / seconds["forward"],
                    }
                )
    finally:
        torch.set_num_threads(previous_threads)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    meta = {
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "method": method,
        "top_k": top_k,
        "image_size": image_size,
        "repeats": repeats,
        "warmup": warmup,
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "load_average": load,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    result = {"rows": rows, "meta": meta}
    result["markdown"] = to_markdown(result)
    return result


def to_markdown(result: dict[str, Any]) -> str:
    """The results as a Markdown table with the goals and the measuring conditions."""
    meta = result["meta"]
    k = meta["top_k"]
    lines = [
        f"| model | batch | forward img/s | core img/s | plain grad-cam img/s | core top-{k} img/s "
        f"| plain top-{k} img/s | core vs plain | core vs plain (top-{k}) | core / forward "
        "| core / forward NHWC |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        ips = row["images_per_s"]
        lines.append(
            f"| {row['model']} (`{row['layer']}`) | {row['batch']} | {ips['forward']:.3g} "
            f"| {ips['core']:.3g} | {ips['plain']:.3g} | {ips[f'core_top{k}']:.3g} "
            f"| {ips[f'plain_top{k}']:.3g} | {row['speedup']:.2f}x | {row['speedup_top_k']:.2f}x "
            f"| {row['overhead']:.2f}x | {row['overhead_nhwc']:.2f}x |"
        )
    load = meta.get("load_average")
    load_text = f"; load average {load[0]:.1f} at the end" if load else ""
    lines.append(
        f"\n{meta['method']}, {meta['image_size']}x{meta['image_size']}, CPU, "
        f"torch.set_num_threads({meta['threads']}), median of {meta['repeats']} rounds after "
        f"{meta['warmup']} warm-up, contenders interleaved; {meta['cpu_count']} CPUs{load_text}; "
        f"torch {meta['torch']}, {meta['created']}. Goals: core >= {GOAL_SPEEDUP:.0f}x plain "
        f"pytorch-grad-cam, core <= {GOAL_OVERHEAD}x a forward pass. core feeds conv nets "
        "channels-last on the CPU; 'core / forward NHWC' compares with a forward pass that does "
        "the same. Numbers on a shared machine are noisy."
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--markdown", action="store_true", help="print the Markdown table")
    parser.add_argument("--quick", action="store_true", help="2 rounds instead of 5 (noisier)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=["resnet50", "imagenet"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 16])
    parser.add_argument("--method", default="gradcam")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(RESULTS), help="folder for attribution.json/.md")
    args = parser.parse_args(argv)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    result = run_benchmark(
        models=args.models,
        batch_sizes=args.batch_sizes,
        method=args.method,
        repeats=args.repeats,
        threads=args.threads,
        quick=args.quick,
        progress=lambda text: print(f"measuring {text} ...", file=sys.stderr, flush=True),
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    payload = {key: value for key, value in result.items() if key != "markdown"}
    (out / "attribution.json").write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    (out / "attribution.md").write_text(
        "# CAM throughput\n\n" + result["markdown"] + "\n", encoding="utf-8"
    )
    if args.json:
        print(json.dumps(payload, indent=1))
    else:
        print(result["markdown"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
