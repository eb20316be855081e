"""``wordcam bench``: does the pipeline find what the model relies on, and how fast is the CAM?

Three parts, in one run:

1. **Cue recovery** on the planted-cue demo (:func:`core.demo.run_demo`): for each ward,
   whether a word naming its planted object is among its top-10 keywords. Goal >= 0.9.
2. **CAM faithfulness** per method (:mod:`core.faithfulness`): deletion/insertion AUC and
   pytorch-grad-cam's ROAD on real bundled photos with the default model, next to a random and
   a Sobel-edge map; a method that does not beat both baselines on a metric is flagged.
3. **CAM throughput**: ``benchmarks/bench_attribution.py`` of the source tree (images/s of
   ``core.attribute`` vs plain pytorch-grad-cam vs a forward pass).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from core.errors import WordcamError

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_PHOTOS = [
    "skimage:chelsea",
    "skimage:coffee",
    "skimage:astronaut",
    "skimage:rocket",
    "skimage:stereo_motorcycle",
    "skimage:camera",
    "sklearn:china.jpg",
    "sklearn:flower.jpg",
]


def bundled_photo(name: str):
    """A real photo shipped with scikit-image (``skimage:NAME``) or scikit-learn (``sklearn:FILE``)."""
    from PIL import Image

    from core.synth import source_photo

    return Image.fromarray(source_photo(name))


def load_benchmark_script(name: str):
    """Import ``benchmarks/<name>.py`` of the source tree (benchmarks are not installed)."""
    path = REPO_ROOT / "benchmarks" / f"{name}.py"
    if not path.is_file():
        raise WordcamError(f"{path} not found; `wordcam bench` runs from a source checkout")
    spec = importlib.util.spec_from_file_location(f"wordcam_benchmarks_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def faithfulness_part(photos: list[str] | None = None, steps: int = 24) -> dict[str, Any]:
    """Faithfulness scores of every CAM method and both baselines on bundled photos."""
    from core.faithfulness import ANCHOR_RESNET50_GRADCAM, evaluate_faithfulness, flag_unfaithful
    from core.models import load_model

    model = load_model("imagenet")
    images = [bundled_photo(p) for p in (photos or BENCH_PHOTOS)]
    t0 = time.perf_counter()
    results = evaluate_faithfulness(model, images, steps=steps)
    flags = flag_unfaithful(results)
    return {
        "model": "imagenet (EfficientNet-Lite0)",
        "photos": photos or BENCH_PHOTOS,
        "rows": [r.to_dict() for r in results],
        "flags": flags,
        "anchor_resnet50_gradcam_imagenet": ANCHOR_RESNET50_GRADCAM,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def faithfulness_markdown(part: dict[str, Any]) -> str:
    lines = [
        "| map | images | deletion AUC (lower better) | insertion AUC (higher better) "
        "| ROAD (higher better; images) | beats random and Sobel |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in part["rows"]:
        failed = part["flags"].get(row["method"])
        verdict = (
            "baseline"
            if failed is None
            else ("yes" if not failed else "FLAG: not on " + ", ".join(failed))
        )
        lines.append(
            f"| {row['method']} | {row['n']} | {row['deletion']:.3f} | {row['insertion']:.3f} "
            f"| {row['road']:.3f} ({row['road_n']}) | {verdict} |"
        )
    anchor = part["anchor_resnet50_gradcam_imagenet"]
    lines.append(
        f"\nPublished anchor (ResNet-50 Grad-CAM, ImageNet val): deletion {anchor['deletion']}, "
        f"insertion {anchor['insertion']}."
    )
    return "\n".join(lines)


def cue_part(
    demo_dir: str | Path | None = None, reuse: bool = False, device: str = "auto"
) -> dict[str, Any]:
    """Run the planted-cue demo (or reuse ``demo_dir/summary.json``) and report cue recovery."""
    from core.demo import run_demo

    if reuse and demo_dir and (Path(demo_dir) / "summary.json").is_file():
        summary = json.loads((Path(demo_dir) / "summary.json").read_text(encoding="utf-8"))
    else:
        out = Path(demo_dir) if demo_dir else Path(tempfile.mkdtemp(prefix="wordcam-bench-"))
        summary = run_demo(out, progress=False, device=device)
    return {
        "cue_recovery": summary["cue_recovery"],
        "per_class": summary["cue_recovery_per_class"],
        "image_accuracy": summary.get("image_accuracy"),
        "text_accuracy": summary.get("text_accuracy"),
        "baseline": summary.get("baseline"),
        "holdout_top1": summary.get("holdout_top1"),
        "seconds": summary.get("seconds_before_dashboard"),
    }


def cue_markdown(part: dict[str, Any]) -> str:
    lines = [
        "| ward | planted object | recovered | rank | matching words |",
        "|---|---|---|---:|---|",
    ]
    for cls, row in part["per_class"].items():
        lines.append(
            f"| {cls} | {row['object']} | {'yes' if row['recovered'] else 'no'} "
            f"| {row['rank'] or '-'} | {', '.join(row['hits']) or '-'} |"
        )
    lines.append(
        f"\ncue recovery **{part['cue_recovery']:.2f}** (goal >= 0.9); words -> label accuracy "
        f"{_pct(part['text_accuracy'])}, image model {_pct(part['image_accuracy'])}, "
        f"majority baseline {_pct(part['baseline'])}; held-out (no shortcut) top-1 "
        f"{_pct(part['holdout_top1'])}."
    )
    return "\n".join(lines)


def _pct(x: Any) -> str:
    return "-" if x is None else f"{100 * float(x):.1f}%"


def throughput_part(quick: bool = False) -> dict[str, Any]:
    """The CAM throughput table of ``benchmarks/bench_attribution.py``."""
    module = load_benchmark_script("bench_attribution")
    return module.run_benchmark(quick=quick) if quick else module.run_benchmark()


def run_bench(
    parts: tuple[str, ...] = ("cues", "faithfulness", "throughput"),
    demo_dir: str | Path | None = None,
    reuse_demo: bool = False,
    quick: bool = False,
    device: str = "auto",
) -> dict[str, Any]:
    """Run the selected parts; returns ``{"cues": ..., "faithfulness": ..., "throughput": ...,
    "markdown": ...}``. ``device`` is where the demo behind the cue part runs; faithfulness and
    throughput are CPU measurements."""
    report: dict[str, Any] = {"created": time.strftime("%Y-%m-%d %H:%M:%S")}
    sections = []
    if "cues" in parts:
        log.info("bench: 1/3 cue recovery on the planted-cue demo")
        report["cues"] = cue_part(demo_dir, reuse=reuse_demo, device=device)
        sections.append(
            "### Cue recovery (planted-cue demo, grounded explainer, blind)\n\n"
            + cue_markdown(report["cues"])
        )
    if "faithfulness" in parts:
        log.info("bench: 2/3 CAM faithfulness (deletion/insertion, ROAD)")
        report["faithfulness"] = faithfulness_part(steps=16 if quick else 24)
        sections.append(
            "### CAM faithfulness (default model, bundled photos)\n\n"
            + faithfulness_markdown(report["faithfulness"])
        )
    if "throughput" in parts:
        log.info("bench: 3/3 CAM throughput")
        report["throughput"] = throughput_part(quick=quick)
        table = report["throughput"].get("markdown") or json.dumps(report["throughput"], indent=1)
        sections.append("### CAM throughput (CPU, 224x224)\n\n" + table)
    report["markdown"] = "\n\n".join(sections)
    return report
