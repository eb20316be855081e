"""Benchmark ``wordcam train`` / ``wordcam eval`` throughput on the default backbone.

Measures, on the offline ImageNet EfficientNet-Lite0 at 224 px with photos decoded in
DataLoader worker processes:

* full fine-tuning (augmentation on) training images/s,
* ``--freeze-backbone`` training images/s (augmentation on: the backbone runs each epoch
  without gradients),
* evaluation images/s (the forward pass ``wordcam eval`` and the frozen-feature cache use),
* JPEG decoding: :func:`core.datasets.read_photo` (reduced-scale DCT decoding) against a full
  :func:`core.images.load_image` on 12-megapixel camera-sized JPEGs.

Throughput is taken from the second epoch (warm workers); each setting runs for each
``--threads`` value (default 1 and 2). The photos come from
:func:`core.lab.synth.make_cue_dataset` (640 px JPEGs).

Run: ``.venv/bin/python benchmarks/bench_train.py [--per-class 16] [--threads 1,2]``; results
go to ``benchmarks/results/train.json`` and ``train.md``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def _decode_benchmark(
    folder: Path, n: int = 6, size: tuple[int, int] = (4032, 3024), min_side: int = 336
) -> dict[str, Any]:
    """Seconds per 12-Mpx JPEG: full decode vs reduced-scale decode."""
    from PIL import Image

    from core.datasets import read_photo
    from core.images import load_image

    source = next(folder.rglob("*.jpg"))
    paths = []
    with Image.open(source) as im:
        big = im.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    for i in range(n):
        path = folder / f"camera_{i}.jpg"
        big.save(path, quality=92)
        paths.append(path)
    timings: dict[str, list[float]] = {"load_image": [], "read_photo": []}
    for path in paths:
        t0 = time.perf_counter()
        load_image(path)
        timings["load_image"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        read_photo(path, min_side)
        timings["read_photo"].append(time.perf_counter() - t0)
    for path in paths:
        path.unlink()
    full = statistics.median(timings["load_image"])
    fast = statistics.median(timings["read_photo"])
    return {
        "image": f"{size[0]}x{size[1]} JPEG",
        "min_side": min_side,
        "load_image_ms": round(full * 1000, 1),
        "read_photo_ms": round(fast * 1000, 1),
        "speedup": round(full / fast, 1),
    }


def run_benchmark(
    per_class: int = 16,
    n_classes: int = 3,
    image_size: int = 224,
    source_size: int = 640,
    batch_size: int = 16,
    workers: int = 2,
    threads: tuple[int | None, ...] = (None,),
    modes: tuple[str, ...] = ("full", "frozen"),
    epochs: int = 2,
    write: bool = True,
) -> dict[str, Any]:
    """Measure training/evaluation images/s; return (and by default write) the results."""
    import torch

    from core.lab.synth import make_cue_dataset

    logging.getLogger("wordcam").setLevel(logging.WARNING)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="wordcam-bench-train-") as tmp:
        root = Path(tmp)
        synth = make_cue_dataset(
            root / "data",
            n_classes=n_classes,
            per_class=per_class,
            val_per_class=0,
            holdout_per_class=per_class,
            image_size=source_size,
            seed=0,
        )
        decode = _decode_benchmark(root / "data" / "holdout", min_side=round(image_size * 1.5))
        for n_threads in threads:
            for mode in modes:
                out = root / f"model-{mode}-{n_threads}"
                settings = {
                    "epochs": epochs,
                    "image_size": image_size,
                    "batch_size": batch_size,
                    "workers": workers,
                    "threads": n_threads,
                    "freeze_backbone": mode == "frozen",
                }
                runs.append(_train_run(root / "data" / "train", out, mode, settings))
            runs.append(_eval_run(out, root / "data" / "holdout", batch_size, workers))
    result = {
        "benchmark": "train",
        "arch": "imagenet (EfficientNet-Lite0)",
        "image_size": image_size,
        "batch_size": batch_size,
        "workers": workers,
        "source_photos": f"{synth['images']} synthetic {source_size}px JPEGs",
        "runs": runs,
        "decode": decode,
        "machine": {
            "platform": platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
        "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if write:
        write_results(result)
    return result


def _train_run(data: Path, out: Path, mode: str, settings: dict[str, Any]) -> dict[str, Any]:
    """One ``train()`` without validation: its throughput in the first and last epoch."""
    from core.train import train

    t0 = time.perf_counter()
    metrics = train(data, out, val_split=0.0, progress=False, **settings)
    wall = time.perf_counter() - t0
    history = metrics["history"]
    return {
        "kind": "train",
        "mode": "full fine-tuning" if mode == "full" else "--freeze-backbone",
        "threads": metrics["threads"],
        "images": history[-1]["train_images"],
        "images_per_s_epoch1": history[0]["images_per_s"],
        "images_per_s": history[-1]["images_per_s"],
        "wall_s": round(wall, 1),
    }


def _eval_run(model_dir: Path, data: Path, batch_size: int, workers: int) -> dict[str, Any]:
    """Forward passes over ``data`` with the model in ``model_dir`` (after one warm-up batch)."""
    import torch

    from core.datasets import scan_labelled_folder
    from core.evaluation import predict_samples
    from core.models import load_model

    model = load_model(str(model_dir))
    samples = scan_labelled_folder(data, classes=model.labels).samples
    predict_samples(model, samples[:batch_size], batch_size=batch_size, workers=0, progress=False)
    t0 = time.perf_counter()
    y, _probs, _skipped = predict_samples(
        model, samples, batch_size=batch_size, workers=workers, progress=False
    )
    seconds = time.perf_counter() - t0
    return {
        "kind": "eval",
        "mode": "wordcam eval (forward only)",
        "threads": torch.get_num_threads(),
        "images": len(y),
        "images_per_s": round(len(y) / seconds, 2),
        "wall_s": round(seconds, 1),
    }


def write_results(result: dict[str, Any]) -> None:
    """``benchmarks/results/train.json`` and a Markdown summary ``train.md``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "train.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    m = result["machine"]
    d = result["decode"]
    lines = [
        "# wordcam train / eval benchmark",
        "",
        f"- model: {result['arch']}, {result['image_size']} px, batch {result['batch_size']}, "
        f"{result['workers']} decoding worker process(es); photos: {result['source_photos']}",
        f"- machine: {m['platform']}, {m['cpus']} CPUs, Python {m['python']}, torch "
        f"{m['torch']}; measured {result['measured_at']}, load average {m['load_average']} "
        "(a shared machine: noisy)",
        "",
        "| what | torch threads | images | images/s (warm epoch) | images/s (epoch 1) |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in result["runs"]:
        first = r.get("images_per_s_epoch1", "")
        lines.append(
            f"| {r['mode']} | {r['threads']} | {r['images']} | {r['images_per_s']} | {first} |"
        )
    lines += [
        "",
        f"JPEG decoding of a {d['image']}: full `load_image` {d['load_image_ms']} ms, "
        f"reduced-scale `read_photo` (short side >= {d['min_side']} px) {d['read_photo_ms']} ms "
        f"({d['speedup']}x faster).",
        "",
    ]
    (RESULTS / "train.md").write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=16, help="training photos per class")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--threads",
        default="all",
        help="comma-separated torch thread counts to try, 'all' = every CPU",
    )
    parser.add_argument("--modes", default="full,frozen")
    args = parser.parse_args(argv)
    threads = tuple(None if t.strip() == "default" else int(t) for t in args.threads.split(","))
    result = run_benchmark(
        per_class=args.per_class,
        image_size=args.image_size,
        batch_size=args.batch_size,
        workers=args.workers,
        threads=threads,
        modes=tuple(args.modes.split(",")),
    )
    print((RESULTS / "train.md").read_text(encoding="utf-8"))
    return 0 if result["runs"] else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
