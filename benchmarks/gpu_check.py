"""GPU check: CPU and GPU maps agree, and the precompute job's photos/s on the GPU.

1. **Maps.** For every CAM method, on the default model (``imagenet``, EfficientNet-Lite0) and
   a torchvision ResNet-50 (random weights, seeded), the maps of the same photos and the same
   target classes on the CPU and on the device differ by at most
   :data:`core.runtime.MAP_TOLERANCE` (maps are in [0, 1]; TF32 is off). Probabilities too.
2. **Pipeline.** ``explain_images`` with the grounded explainer on both devices: the same
   predicted classes, maps within the tolerance (this runs the decode/render threads and the
   grounded crop passes on the device); how many explanations are word-for-word equal.
3. **Job.** ``run_precompute`` of a folder of photos on the device (warm-up job first):
   photos/s.
4. **Verify.** ``wordcam verify --device`` on the device against ``--device cpu`` on copies of
   the same DB (by the predicted label): the same words with the same photo counts, effects
   within :data:`VERIFY_TOLERANCE`, nothing failed; photo-words/s on each.

Without a CUDA device it prints ``skipped: no CUDA device`` and exits 0. ``--device cpu``
runs the same logic CPU against CPU (a self-test: every difference is 0). Exit status 1 when a
check fails. Results go to ``benchmarks/results/gpu_check.json`` (and ``--json`` prints it).

Run: ``.venv/bin/python benchmarks/gpu_check.py [--device cuda:0] [--photos 256]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

RESULTS = REPO_ROOT / "benchmarks" / "results"
MODELS = ("imagenet", "torchvision:resnet50")
PHOTOS = ("skimage:chelsea", "skimage:coffee", "skimage:astronaut", "skimage:rocket")
SCORECAM_PHOTOS = 1  # ScoreCAM runs one forward pass per channel: keep its CPU reference short
#: Largest difference of a word's effect (a difference of mean probabilities) between the CPU
#: and the device: the probabilities themselves agree to about 1e-5 (TF32 off).
VERIFY_TOLERANCE = 1e-3
PARTS = ("maps", "pipeline", "job", "verify")


def cuda_device(requested: str) -> str | None:
    """The resolved device to check, or None when it is CUDA and there is none."""
    from core.errors import WordcamError
    from core.runtime import parse_device, resolve_device

    requested = parse_device(requested)
    try:
        device = resolve_device(requested)
    except WordcamError:
        return None
    if requested != "cpu" and device == "cpu":  # auto without a GPU
        return None
    return device


def load(name: str, device: str) -> Any:
    """``name`` on ``device``; the ResNet-50 is built from the same seed on every call."""
    import torch

    from core.models import load_model

    if name.startswith("torchvision:"):
        torch.manual_seed(0)
        labels = [f"class_{i}" for i in range(1000)]
        return load_model(name, device=device, random_init=True, labels=labels)
    return load_model(name, device=device)


def photos(model: Any, count: int) -> Any:
    """A preprocessed CPU batch of ``count`` bundled photos."""
    import torch
    from PIL import Image

    from core.lab.synth import source_photo

    images = [Image.fromarray(source_photo(p)) for p in PHOTOS[:count]]
    return torch.stack([model.preprocess(im) for im in images])


def check_maps(
    device: str,
    models: Sequence[str] = MODELS,
    methods: Sequence[str] | None = None,
    count: int = len(PHOTOS),
) -> list[dict[str, Any]]:
    """One row per (model, method): the largest map and probability differences CPU vs device."""
    import numpy as np

    from core.attribution import METHOD_NAMES, attribute_batch
    from core.runtime import MAP_TOLERANCE

    rows = []
    for name in models:
        cpu, other = load(name, "cpu"), load(name, device)
        for method in methods or METHOD_NAMES:
            n = min(count, SCORECAM_PHOTOS) if method == "scorecam" else count
            batch = photos(cpu, n)
            ref = attribute_batch(cpu, batch, method=method, top_k=2)
            got = attribute_batch(other, batch, method=method, targets=ref.target_indices)
            map_diff = float(np.abs(ref.maps - got.maps).max())
            prob_diff = float(np.abs(ref.probs - got.probs).max())
            rows.append(
                {
                    "model": name,
                    "method": method,
                    "photos": n,
                    "max_map_diff": map_diff,
                    "max_prob_diff": prob_diff,
                    "ok": map_diff <= MAP_TOLERANCE and prob_diff <= MAP_TOLERANCE,
                }
            )
    return rows


def check_pipeline(device: str, folder: Path, work: Path) -> dict[str, Any]:
    """``explain_images`` (grounded, threads on a GPU) on the CPU and on ``device``."""
    import numpy as np

    from core.explainers import load_explainer
    from core.models import load_model
    from core.pipeline import explain_images
    from core.runtime import MAP_TOLERANCE

    files = sorted(folder.rglob("*.jpg"))[:8]
    runs = []
    for n, where in enumerate(("cpu", device)):
        model = load_model("imagenet", device=where)
        explainer = load_explainer("grounded", lang="ja")  # a fresh crop model per device
        runs.append(list(explain_images(files, model, explainer, out_dir=work / f"out{n}")))
    cpu, other = runs
    same_class = sum(a.pred_index == b.pred_index for a, b in zip(cpu, other, strict=True))
    diffs = [float(np.abs(a.cam - b.cam).max()) for a, b in zip(cpu, other, strict=True)]
    texts = sum(a.explanation.text == b.explanation.text for a, b in zip(cpu, other, strict=True))
    return {
        "photos": len(files),
        "same_class": same_class,
        "max_map_diff": max(diffs),
        "same_explanation": texts,
        "pictures": all(Path(r.overlay_path).is_file() for r in other),
        "ok": same_class == len(files) and max(diffs) <= MAP_TOLERANCE,
    }


def make_photos(folder: Path, count: int) -> Path:
    """``count`` JPEGs (640x480 crops of the bundled photos) in two class folders."""
    import numpy as np
    from PIL import Image

    from core.lab.synth import source_photo

    rng = np.random.default_rng(0)
    sources = [Image.fromarray(source_photo(p)).convert("RGB") for p in PHOTOS]
    for i in range(count):
        image = sources[i % len(sources)].resize((800, 600))
        x, y = int(rng.integers(0, 160)), int(rng.integers(0, 120))
        image = image.crop((x, y, x + 640, y + 480))
        if i % 2:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        target = folder / ("ward_a" if i % 2 else "ward_b") / f"photo{i:05d}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(target, quality=90)
    return folder


def forward_rate(device: str, batch_size: int, seconds: float = 3.0) -> float:
    """Images/s of a plain forward of the default model's own module on ``device`` (inference
    mode, one batch of random images, repeated; channels-last on the CPU): the reference that
    ``benchmarks/bench_precompute.py`` divides by, so both report forwards per photo."""
    import torch

    from core.models import load_model

    classifier = load_model("imagenet")
    module = classifier.module.eval().to(device)
    size = classifier.preprocess.image_size
    x = torch.randn(batch_size, 3, size, size, generator=torch.Generator().manual_seed(0))
    x = x.to(device)
    if device == "cpu":
        x = x.contiguous(memory_format=torch.channels_last)

    def sync() -> None:
        if device != "cpu":
            torch.cuda.synchronize(device)

    with torch.inference_mode():
        module(x)  # warm-up
        sync()
        done, start = 0, time.perf_counter()
        while done == 0 or time.perf_counter() - start < seconds:
            module(x)
            done += batch_size
        sync()
    return done / (time.perf_counter() - start)


def forwards_per_item(items: int, seconds: float, rates: Sequence[float]) -> float | None:
    """Seconds per item over seconds per reference image (the mean of ``rates``' inverses)."""
    if not items or not rates:
        return None
    return round((seconds / items) / (sum(1.0 / r for r in rates) / len(rates)), 2)


def job_speed(device: str, folder: Path, work: Path, batch_size: int | None) -> dict[str, Any]:
    """Photos/s of the precompute job (grounded, blind) on ``device``, after a warm-up job, and
    its cost in plain forwards of the same model measured just before and after it."""
    from core.jobs import JobSettings, run_precompute
    from core.runtime import default_batch_size

    size = batch_size or default_batch_size(device, 16)
    settings = JobSettings(device=device, batch_size=size, progress=False)
    run_precompute(folder, work / "warmup.duckdb", settings=settings, limit=size)
    rates = [forward_rate(device, size)]
    started = time.perf_counter()
    summary = run_precompute(folder, work / "job.duckdb", settings=settings)
    seconds = time.perf_counter() - started
    rates.append(forward_rate(device, size))
    return {
        "photos": summary.done,
        "failed": summary.failed,
        "batch_size": size,
        "seconds": round(seconds, 2),
        "photos_per_s": round(summary.done / seconds, 2),
        "forward_images_per_s": [round(r, 2) for r in rates],
        "forwards_per_photo": forwards_per_item(summary.done, seconds, rates),
        "ok": summary.failed == 0 and summary.done > 0,
    }


def check_verify(device: str, folder: Path, work: Path) -> dict[str, Any]:
    """``verify`` on ``device`` against the CPU on copies of one DB (the job's, else a small one)."""
    import shutil

    from core.jobs import JobSettings, run_precompute
    from core.verify.job import verify

    db = work / "job.duckdb"
    if not db.exists():
        run_precompute(folder, db, settings=JobSettings(device=device, progress=False), limit=32)
    found, rates = {}, {}
    for name, on in (("reference", "cpu"), ("device", device)):
        copy = shutil.copyfile(db, work / f"verify-{name}.duckdb")
        rates[name] = [forward_rate(on, 16)]
        started = time.perf_counter()
        done = verify(copy, by="predicted", top=3, per_word=10, progress=False, device=on)
        found[name] = (done, time.perf_counter() - started)
        rates[name].append(forward_rate(on, 16))
    (cpu, cpu_s), (dev, dev_s) = found["reference"], found["device"]
    a = {(w.cls, w.word): w for w in cpu.report.words}
    b = {(w.cls, w.word): w for w in dev.report.words}
    same = a.keys() == b.keys() and all(a[k].n == b[k].n for k in a)
    diffs = [
        abs(a[k].effect - b[k].effect)
        for k in a.keys() & b.keys()
        if a[k].effect is not None and b[k].effect is not None
    ]
    return {
        "words": len(b),
        "photo_words": dev.summary.done,
        "failed": dev.summary.failed,
        "same_words": same,
        "max_effect_diff": max(diffs, default=0.0),
        "photo_words_per_s": round(dev.summary.done / dev_s, 2),
        "cpu_photo_words_per_s": round(cpu.summary.done / cpu_s, 2),
        "forwards_per_photo_word": forwards_per_item(dev.summary.done, dev_s, rates["device"]),
        "cpu_forwards_per_photo_word": forwards_per_item(
            cpu.summary.done, cpu_s, rates["reference"]
        ),
        "ok": same
        and dev.summary.failed == 0
        and dev.summary.done > 0
        and max(diffs, default=0.0) <= VERIFY_TOLERANCE,
    }


def environment(device: str) -> dict[str, Any]:
    import os

    import torch

    info: dict[str, Any] = {
        "device": device,
        "torch": torch.__version__,
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def run_check(
    device: str,
    methods: Sequence[str] | None = None,
    models: Sequence[str] = MODELS,
    count: int = 64,
    batch_size: int | None = None,
    parts: Sequence[str] = PARTS,
) -> dict[str, Any]:
    """Run the selected parts on ``device`` (resolved); ``ok`` is True when all of them pass."""
    from core.runtime import MAP_TOLERANCE, set_threads

    set_threads()
    report: dict[str, Any] = {"environment": environment(device), "tolerance": MAP_TOLERANCE}
    with tempfile.TemporaryDirectory(prefix="wordcam-gpu-check-") as tmp:
        work = Path(tmp)
        wanted = {"pipeline", "job", "verify"} & set(parts)
        folder = make_photos(work / "photos", count) if wanted else None
        if "maps" in parts:
            report["maps"] = check_maps(device, models, methods)
        if "pipeline" in parts and folder is not None:
            report["pipeline"] = check_pipeline(device, folder, work)
        if "job" in parts and folder is not None:
            report["job"] = job_speed(device, folder, work, batch_size)
        if "verify" in parts and folder is not None:
            report["verify"] = check_verify(device, folder, work)
    checks = [*report.get("maps", []), report.get("pipeline"), report.get("job")]
    checks.append(report.get("verify"))
    report["ok"] = all(c["ok"] for c in checks if c is not None)
    return report


def to_markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    lines = [
        f"GPU check on {env.get('gpu', env['device'])} (torch {env['torch']}, {env['cpus']} "
        f"CPUs), tolerance {report['tolerance']:g}: **{'pass' if report['ok'] else 'FAIL'}**",
        "",
    ]
    if report.get("maps"):
        lines += ["| model | method | photos | max map diff | max prob diff | ok |"]
        lines += ["|---|---|---:|---:|---:|---|"]
        for r in report["maps"]:
            lines.append(
                f"| {r['model']} | {r['method']} | {r['photos']} | {r['max_map_diff']:.2e} "
                f"| {r['max_prob_diff']:.2e} | {'yes' if r['ok'] else 'NO'} |"
            )
    if p := report.get("pipeline"):
        lines.append(
            f"\nPipeline (grounded): {p['same_class']}/{p['photos']} same class, max map diff "
            f"{p['max_map_diff']:.2e}, {p['same_explanation']}/{p['photos']} identical texts."
        )
    if j := report.get("job"):
        lines.append(
            f"\nPrecompute job on {env['device']}: {j['photos']} photos in {j['seconds']} s = "
            f"**{j['photos_per_s']} photos/s** (batch {j['batch_size']}, grounded, blind); "
            f"**{j.get('forwards_per_photo')} forwards per photo** (a plain forward of the "
            f"model: {j.get('forward_images_per_s')} images/s before / after)."
        )
    if v := report.get("verify"):
        lines.append(
            f"\nVerify on {env['device']} against the CPU: {v['words']} words, "
            f"{v['photo_words']} photo-words ({v['failed']} failed), same words and counts: "
            f"{'yes' if v['same_words'] else 'NO'}, max effect diff {v['max_effect_diff']:.2e}; "
            f"{v['photo_words_per_s']} photo-words/s (CPU {v['cpu_photo_words_per_s']}); "
            f"{v.get('forwards_per_photo_word')} forwards per photo-word "
            f"(CPU {v.get('cpu_forwards_per_photo_word')})."
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu")
    parser.add_argument("--methods", nargs="+", help="CAM methods (default: every one)")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--photos", type=int, default=256, help="photos in the job (default 256)")
    parser.add_argument("--batch-size", type=int, help="job batch (default: the device's)")
    parser.add_argument("--only", nargs="+", choices=list(PARTS), help="run only these parts")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--out", default=str(RESULTS), help="folder for gpu_check.json")
    args = parser.parse_args(argv)
    device = cuda_device(args.device)
    if device is None:
        print("skipped: no CUDA device")
        return 0
    report = run_check(
        device,
        methods=args.methods,
        models=args.models,
        count=args.photos,
        batch_size=args.batch_size,
        parts=args.only or PARTS,
    )
    report["markdown"] = to_markdown(report)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "gpu_check.json" if device != "cpu" else "gpu_check_cpu_selftest.json"
    (out / name).write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1, default=str) if args.json else report["markdown"])
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
