"""``wordcam bench``: does the pipeline find what the model relies on, and how fast is the CAM?

Three parts, in one run:

1. **Cue recovery** on the planted-cue demo (:func:`core.lab.demo.run_demo`): for each ward,
   whether a word naming its planted object is among its top-10 keywords. Goal >= 0.9.
2. **CAM faithfulness** per method (:mod:`core.lab.faithfulness`): deletion/insertion AUC and
   pytorch-grad-cam's ROAD on real bundled photos with the default model, next to a random and
   a Sobel-edge map; a method that does not beat both baselines on a metric is flagged.
3. **CAM throughput**: ``benchmarks/bench_attribution.py`` of the source tree (images/s of
   ``core.attribute`` vs plain pytorch-grad-cam vs a forward pass).
4. **Verified words** (``verify``, :mod:`core.lab.verify_bench`) on the same demo: the fill
   comparison on the planted objects' true boxes, recall of the planted objects, false
   verification of the distractor words, the date-stamp shortcut (validation vs holdout),
   and the cost per word.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

from core.errors import WordcamError
from core.formatting import pct

log = logging.getLogger(__name__)
_pct = partial(pct, missing="-")  # the benchmark tables write "-" for an unknown share

REPO_ROOT = Path(__file__).resolve().parents[2]
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

    from core.lab.synth import source_photo

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
    from core.lab.faithfulness import (
        ANCHOR_RESNET50_GRADCAM,
        evaluate_faithfulness,
        flag_unfaithful,
    )
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
    from core.lab.demo import run_demo

    if reuse and demo_dir and (Path(demo_dir) / "summary.json").is_file():
        summary = json.loads((Path(demo_dir) / "summary.json").read_text(encoding="utf-8"))
    else:
        out = Path(demo_dir) if demo_dir else Path(tempfile.mkdtemp(prefix="wordcam-bench-"))
        summary = run_demo(out, progress=False, device=device)
        demo_dir = out
    return {
        "demo_dir": str(demo_dir) if demo_dir else None,
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


def verify_part(demo_dir: str | Path, lang: str = "ja") -> dict[str, Any]:
    """The verification benchmark on a finished demo in ``demo_dir`` (see the module doc)."""
    from core.lab.demo import DEMO_VERIFY
    from core.lab.verify_bench import (
        STAMP_WORDS,
        _names,
        distractor_check,
        fill_comparison,
        truth_tables,
    )
    from core.verify import run_verify

    demo = Path(demo_dir)
    db = demo / "wordcam.duckdb"
    cues = json.loads((demo / "dataset" / "cues.json").read_text(encoding="utf-8"))
    _, distractors = _names(cues, lang)
    extra = occurring_words(db, sorted(distractors) + STAMP_WORDS[lang])
    t0 = time.perf_counter()
    report = run_verify(db, progress=False, words=tuple(extra), **DEMO_VERIFY)
    seconds = time.perf_counter() - t0
    holdout = holdout_report(demo, db, cues, STAMP_WORDS[lang], lang)
    summary = json.loads((demo / "summary.json").read_text(encoding="utf-8"))
    demo_verify = summary.get("verification") or {}
    return {
        "fills": fill_comparison(demo),
        "distractors_true_boxes": distractor_check(demo),
        "truth": truth_tables(demo, report, holdout, lang),
        "fill": report.fill,
        "words": len(report.words),
        "fallbacks": report.fallbacks,
        "photo_words": sum(w.n for w in report.words),
        "extra_seconds": round(seconds, 1),
        "seconds_per_word": round(
            demo_verify.get("seconds", 0.0) / max(1, len(demo_verify.get("words", []))), 2
        ),
        "demo_verify_seconds": demo_verify.get("seconds"),
        "demo_seconds": summary.get("seconds_before_dashboard"),
        "loadavg": _loadavg(),
    }


def occurring_words(db: Path, words: list[str]) -> list[str]:
    """The ``words`` some explanation of the latest run has regions for."""
    from core.store import latest_run_id, reading
    from core.store.verify_inputs import words_with_regions

    with reading(db) as con:
        found = words_with_regions(con, latest_run_id(con), words)
    return [w for w in words if w in found]


def holdout_report(demo: Path, db: Path, cues: dict, words: list[str], lang: str):
    """The stamp words verified on a run of the shortcut ward's holdout photos (no stamp)."""
    import shutil

    from core.errors import DataError
    from core.jobs import JobSettings, run_precompute
    from core.verify import run_verify

    ward = (cues.get("shortcut") or {}).get("class")
    folder = demo / "dataset" / "holdout" / str(ward)
    if not ward or not folder.is_dir():
        return None
    only = demo / "holdout_shortcut"  # the shortcut ward's holdout photos, labelled by folder
    if not (only / str(ward)).is_dir():
        shutil.copytree(folder, only / str(ward))
    job = JobSettings(model=str(demo / "model"), explainer="grounded", lang=lang, progress=False)
    pre = run_precompute(only, db, settings=job)
    try:
        return run_verify(
            db, run_id=pre.run_id, top=0, words=tuple(words), classes=(ward,), progress=False
        )
    except DataError:  # no holdout explanation names the stamp's words: nothing to hide
        return None


def verify_markdown(part: dict[str, Any]) -> str:
    """The README tables of the verification benchmark."""
    lines = [
        "| fill | photos | drop, object hidden | drop, control | effect | separation (d) "
        "| ms per mask |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in part["fills"]:
        lines.append(
            f"| {r['fill']} | {r['n']} | {r['object_drop']:.3f} | {r['control_drop']:.3f} "
            f"| {r['effect']:+.3f} | {r['separation']:.2f} | {r['ms_per_mask']} |"
        )
    truth = part["truth"]
    lines += [
        "",
        "| ward | object words: effect [95%] | verified | largest effect | colour words "
        "| position words |",
        "|---|---|---|---|---|---|",
    ]
    for ward, r in truth["recall"].items():
        lines.append(
            f"| {ward} | {_effects(r['object_words'])} | {'yes' if r['verified'] else 'no'} "
            f"| {(r['largest'] or {}).get('word', '-')} {'(object)' if r['largest_is_object'] else ''} "
            f"| {_effects(r['colour'])} | {_effects(r['position'])} |"
        )
    share = truth["false_share"]
    cut = truth["shortcut"]
    lines += [
        "",
        f"recall: object word verified causal in **{truth['recall_verified']}/{truth['wards']}** "
        f"wards (goal all); largest effect an object word in {truth['recall_largest']}/"
        f"{truth['wards']}.",
        f"false verification (distractor words, every ward where they occur): "
        f"**{_pct(share)}** causal of {len(truth['false'])} (goal <= 10%): "
        f"{_effects(truth['false'], with_class=True)}.",
        f"false verification on the true boxes (each distractor hidden where it was pasted, "
        f"every ward): **{_pct(part['distractors_true_boxes']['share'])}** causal of "
        f"{len(part['distractors_true_boxes']['rows'])} (ward, distractor) pairs: "
        + "; ".join(
            f"{r['class']}/{r['distractor']} "
            + ("-" if r["effect"] is None else f"{r['effect']:+.2f}")
            + f" n={r['n']}"
            + (" ✓" if r["verdict"] == "causal" else "")
            for r in part["distractors_true_boxes"]["rows"]
        )
        + ".",
        f"shortcut ({cut['class']}, date stamp): validation {_effects(cut['val'])}; "
        f"holdout without the stamp {_effects(cut['holdout']) if cut['holdout'] else 'no explanation names it'}.",
        f"cost: {part['seconds_per_word']} s per word ({part['fill']} fill, 2 cores, load "
        f"{part['loadavg']}); the demo's verification {part['demo_verify_seconds']} s of "
        f"{part['demo_seconds']} s; {part['fallbacks']} control fallbacks in "
        f"{part['photo_words']} photo-words.",
    ]
    return "\n".join(lines)


def _effects(rows: list[dict[str, Any]], with_class: bool = False) -> str:
    if not rows:
        return "-"
    out = []
    for w in rows:
        where = f"{w['class']}/" if with_class else ""
        if w["effect"] is None:
            out.append(f"{where}{w['word']} (n={w['n']})")
            continue
        ci = "" if w["ci_low"] is None else f" [{w['ci_low']:+.2f}, {w['ci_high']:+.2f}]"
        mark = " ✓" if w["causal"] else ""
        out.append(f"{where}{w['word']} {w['effect']:+.2f}{ci} n={w['n']}{mark}")
    return "; ".join(out)


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def throughput_part(quick: bool = False) -> dict[str, Any]:
    """The CAM throughput table of ``benchmarks/bench_attribution.py``."""
    module = load_benchmark_script("bench_attribution")
    return module.run_benchmark(quick=quick) if quick else module.run_benchmark()


def run_bench(
    parts: tuple[str, ...] = ("cues", "faithfulness", "throughput", "verify"),
    demo_dir: str | Path | None = None,
    reuse_demo: bool = False,
    quick: bool = False,
    device: str = "auto",
    kinds_groups: list[str] | None = None,
) -> dict[str, Any]:
    """Run the selected parts; returns ``{"cues": ..., "faithfulness": ..., "throughput": ...,
    "markdown": ...}``. ``device`` is where the demo behind the cue part runs; faithfulness and
    throughput are CPU measurements. ``kinds_groups``: only these lines of the kinds part."""
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
    if "verify" in parts:
        log.info("bench: 4/4 verified words on the planted-cue demo")
        where = report.get("cues", {}).get("demo_dir") or demo_dir
        if where is None or not (Path(where) / "summary.json").is_file():
            where = cue_part(demo_dir, reuse=reuse_demo)["demo_dir"]
        report["verify"] = verify_part(where)
        sections.append(
            "### Verified words (planted-cue demo: hide a word's regions, same-area control)\n\n"
            + verify_markdown(report["verify"])
        )
    if "kinds" in parts:
        from core.lab.kinds_bench import planted_benchmark, planted_markdown

        log.info("bench: one test per kind of word on planted colour and object cues")
        work = Path(demo_dir or tempfile.mkdtemp(prefix="wordcam-kinds-")) / "kinds"
        seeds = (0,) if quick else (0, 1)
        report["kinds"] = planted_benchmark(work, seeds=seeds, groups=kinds_groups)
        sections.append(
            "### One test per kind of word (planted colour and object cues)\n\n"
            + planted_markdown(report["kinds"])
        )
    report["markdown"] = "\n\n".join(sections)
    return report
