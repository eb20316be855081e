"""Benchmark ``wordcam precompute``: photos/s and peak memory for 500 and 5,000 photos.

The photo folders are random crops / flips / scales of real photos that ship with scikit-image
and scikit-learn (one class per source photo, Japanese folder names), cached in ``--workdir``.
Each job runs as its own process (this script re-invoked with ``--child``); the parent samples
its resident memory from ``/proc`` while it runs and reads its RSS high-water mark from
``os.wait4`` when it ends, so the numbers are the job's own, not the benchmark's.

Profiles:

- ``imagenet``: the product defaults, ``--model imagenet --explainer grounded`` (EfficientNet-Lite0
  classifier + Grad-CAM + the grounded explainer, which runs the ImageNet model on 2-4 region
  crops per photo), blind mode, Japanese.
- ``small``: the same job machinery (pipeline, Grad-CAM, rendering of three pictures per photo,
  grounded explainer, janome, DuckDB, snapshots) with two small random conv nets in place of
  EfficientNet (the classifier and the grounded explainer's crop model), so that 5,000 photos
  finish in minutes on a laptop CPU. Its words are meaningless; its throughput shows the cost
  of everything around the models.

Beside photos/s, the job's process measures a plain torch forward pass of the same classifier
(its original module, channels-last, batch of ``--batch-size``, inference mode) for a few seconds
just before and just after the job, and reports **forwards per photo**: the job's seconds per
photo divided by one forward's seconds per image (the mean of the two measurements). On a
shared, loaded machine this ratio is steadier than photos/s, since both halves see the same load.

The same figures in CPU seconds (all threads of the process: the job's against the reference
forward's per image) are steadier still on a loaded machine, and ``--threads 1`` makes them
steadier again. "After the first batch" divides only the photos and seconds after the progress
file first counted a batch (the job without its imports and model load). After the job the
child verifies its run (``wordcam verify --by predicted``, ``--verify-top`` words per class,
default 10 with the imagenet profile, ``--verify-per-word`` photos each) and reports
photo-words/s and forwards per photo-word the same way; ``--demo`` also times ``wordcam demo
--no-dashboard`` as a whole; ``--code DIR`` runs another checkout's job (an older commit).

Run: ``.venv/bin/python benchmarks/bench_precompute.py [--sizes 500 5000] [--profile small]``;
results go to ``benchmarks/results/precompute.json`` and ``precompute.md``. The quiet-machine
figures of the README: ``--sizes 96 500 5000 --profile imagenet --demo`` (the default runtime,
auto: OpenVINO when installed), and ``--sizes 96 --profile imagenet --runtime torch --no-write``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]
SOURCES = {
    "猫": "chelsea",
    "コーヒー": "coffee",
    "宇宙飛行士": "astronaut",
    "ロケット": "rocket",
    "寺院": "china.jpg",
    "花": "flower.jpg",
}
PROFILES = ("imagenet", "small")


# ----------------------------------------------------------------------------- photos


def _source_images() -> dict[str, Any]:
    from PIL import Image
    from skimage import data
    from sklearn.datasets import load_sample_images

    samples = load_sample_images()
    by_file = {Path(f).name: img for f, img in zip(samples.filenames, samples.images, strict=True)}
    out = {}
    for label, name in SOURCES.items():
        array = by_file[name] if name.endswith(".jpg") else getattr(data, name)()
        out[label] = Image.fromarray(array).convert("RGB")
    return out


def make_photo_folder(root: str | Path, n: int, seed: int = 0, long_side: int = 320) -> Path:
    """``n`` JPEG photos in one folder per class: random crops (30-90% of the side), flips and
    scales of the source photos. Reuses a complete folder from an earlier call."""
    import random

    from PIL import Image, ImageOps

    root = Path(root)
    marker = root / ".complete"
    if marker.exists() and marker.read_text().strip() == f"{n} {seed} {long_side}":
        return root
    sources = _source_images()
    rng = random.Random(seed)
    labels = list(sources)
    for label in labels:
        (root / label).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        label = labels[i % len(labels)]
        image = sources[label]
        w, h = image.size
        frac = rng.uniform(0.3, 0.9)
        cw, ch = max(32, int(w * frac * rng.uniform(0.8, 1.0))), max(32, int(h * frac))
        x0, y0 = rng.randint(0, w - cw), rng.randint(0, h - ch)
        crop = image.crop((x0, y0, x0 + cw, y0 + ch))
        if rng.random() < 0.5:
            crop = ImageOps.mirror(crop)
        scale = long_side / max(crop.size) * rng.uniform(0.7, 1.0)
        crop = crop.resize(
            (max(8, round(crop.width * scale)), max(8, round(crop.height * scale))),
            Image.Resampling.BILINEAR,
        )
        crop.save(root / label / f"{i:05d}.jpg", quality=85)
    marker.write_text(f"{n} {seed} {long_side}")
    return root


# ----------------------------------------------------------------------------- the job (child)


def _small_net(num_classes: int):
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 3, stride=2, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(32, num_classes),
    ).eval()


def _register_small_backends() -> None:
    """``benchsmall`` model and ``benchgrounded`` explainer (grounded with a small crop model)."""
    from core.explainers.grounded import GroundedExplainer
    from core.models import Classifier, Preprocessing
    from core.models.imagenet import imagenet_labels
    from core.registry import register_explainer, register_model_loader

    def small_classifier(arg: str | None = None, **options: Any) -> Classifier:
        return Classifier(
            module=_small_net(len(SOURCES)),
            labels=list(SOURCES),
            preprocess=Preprocessing(),
            spec="benchsmall",
            target_layer="2",
            arch="benchsmall",
        )

    def small_grounded(arg: str | None = None, **options: Any) -> GroundedExplainer:
        names = imagenet_labels()
        crop = Classifier(
            module=_small_net(1000),
            labels=names["en"],
            preprocess=Preprocessing(),
            spec="benchsmall-crop",
            target_layer="2",
            localized_labels=names,
        )
        return GroundedExplainer(crop_model=crop, **options)

    register_model_loader("benchsmall", small_classifier)
    register_explainer("benchgrounded", small_grounded)


def cpu_seconds() -> float:
    """CPU seconds this process has used so far, all its threads (user + system)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def forward_rate(model: str, batch_size: int = 16, seconds: float = 5.0) -> float:
    """Images/s of a plain torch forward of ``model``'s own module: channels-last when it has
    convolutions, inference mode, one batch of ``batch_size`` random images, repeated."""
    return forward_cost(model, batch_size, seconds)[0]


def forward_cost(model: str, batch_size: int = 16, seconds: float = 5.0) -> tuple[float, float]:
    """:func:`forward_rate` and the CPU seconds one image cost (all threads of the process):
    on a loaded machine the CPU seconds are steadier than the wall clock."""
    import time

    import torch

    from core.models import load_model

    classifier = load_model(model)
    module = classifier.module.eval()
    size = classifier.preprocess.image_size
    x = torch.randn(batch_size, 3, size, size, generator=torch.Generator().manual_seed(0))
    if any(isinstance(m, torch.nn.Conv2d) for m in module.modules()):
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        module(x)  # warm-up
        done, start, cpu = 0, time.perf_counter(), cpu_seconds()
        while done == 0 or time.perf_counter() - start < seconds:
            module(x)
            done += batch_size
    return done / (time.perf_counter() - start), (cpu_seconds() - cpu) / done


def _child(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("db")
    parser.add_argument("--profile", choices=PROFILES, default="small")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--forward-seconds", type=float, default=5.0)
    parser.add_argument("--verify-top", type=int, default=0)
    parser.add_argument("--verify-per-word", type=int, default=12)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args(argv)
    if args.threads:  # the job, the reference forward and OpenVINO (it follows torch's count)
        import torch

        torch.set_num_threads(args.threads)
    from core.jobs import JobSettings, run_precompute

    if args.profile == "small":
        _register_small_backends()
        model, explainer = "benchsmall", "benchgrounded"
    else:
        model, explainer = "imagenet", "grounded"
    settings = JobSettings(
        model=model, explainer=explainer, batch_size=args.batch_size, progress=False
    )
    costs = []
    if args.forward_seconds > 0:
        costs.append(forward_cost(model, args.batch_size, args.forward_seconds))
    cpu = cpu_seconds()
    summary = run_precompute(args.folder, args.db, settings=settings)
    # An older checkout (--code) returns a dict.
    record = summary.to_dict() if hasattr(summary, "to_dict") else dict(summary)
    record["cpu_s"] = round(cpu_seconds() - cpu, 2)
    if args.verify_top > 0:
        record["verify"] = _verify(args.db, args.verify_top, args.verify_per_word)
    if args.forward_seconds > 0:
        costs.append(forward_cost(model, args.batch_size, args.forward_seconds))
        record["forward_images_per_s"] = [round(r, 2) for r, _ in costs]
        record["forward_cpu_s_per_image"] = [round(c, 5) for _, c in costs]
    print("SUMMARY " + json.dumps(record, ensure_ascii=False, default=str), flush=True)
    return 0


def _verify(db: str, top: int, per_word: int) -> dict[str, Any]:
    """``wordcam verify --by predicted`` of the job's run (top words, ``per_word`` photos each):
    photo-words measured, their wall and CPU seconds."""
    from core.verify import run_verify

    start, cpu = time.perf_counter(), cpu_seconds()
    # The photos' folder names are no ImageNet classes: words by the model's own answer.
    report = run_verify(db, top=top, per_word=per_word, by="predicted", progress=False)
    return {
        "photo_words": report.measured,
        "s": round(time.perf_counter() - start, 2),
        "cpu_s": round(cpu_seconds() - cpu, 2),
        "words": len(report.words),
    }


# ----------------------------------------------------------------------------- parent


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def run_job(
    folder: Path,
    db: Path,
    profile: str = "small",
    batch_size: int = 16,
    sample_every: float = 0.25,
    forward_seconds: float = 5.0,
    runtime: str | None = None,
    verify_top: int = 0,
    verify_per_word: int = 12,
    code: str | Path | None = None,
    threads: int = 0,
) -> dict[str, Any]:
    """Run one precompute job (and with ``verify_top`` a verify of its run) as a child
    process; its throughput and memory. ``code``: import wordcam from this checkout."""
    from core.jobs import read_progress

    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(code or ROOT), os.environ.get("PYTHONPATH")])),
    )
    if runtime:
        env["WORDCAM_RUNTIME"] = runtime  # core.models.accelerate
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        str(folder),
        str(db),
        "--profile",
        profile,
        "--batch-size",
        str(batch_size),
        "--forward-seconds",
        str(forward_seconds),
        "--verify-top",
        str(verify_top),
        "--verify-per-word",
        str(verify_per_word),
        "--threads",
        str(threads),
    ]
    load_before = os.getloadavg()
    t0 = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
        samples: list[dict[str, Any]] = []
        status, phase, last_done = None, "precompute", 0
        while status is None:
            pid, wait_status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                status = wait_status
                break
            rss = _rss_mb(proc.pid)
            progress = read_progress(db) or {}
            done = progress.get("done", 0)
            # Verify writes the same progress file (with job "verify"; an older checkout without
            # the key: its count starts again from 0).
            if phase == "precompute" and (
                progress.get("job", "precompute") != "precompute" or done < last_done
            ):
                phase = "verify"
            last_done = done if phase == "precompute" else last_done
            if rss is not None:
                samples.append(
                    {
                        "t": round(time.monotonic() - t0, 2),
                        "done": last_done,
                        "rss_mb": round(rss, 1),
                        "cpu_s": _cpu_s(proc.pid),
                        "job": phase,
                    }
                )
            time.sleep(sample_every)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"precompute job failed ({proc.returncode}): {stderr[-2000:]}")
    summary = json.loads(stdout.split("SUMMARY ", 1)[1])
    n = summary["done"] + summary["failed"]
    job_s = float(summary["elapsed"])
    peak_mb = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 2**20
    rates = summary.get("forward_images_per_s") or []
    forward_s = sum(1.0 / r for r in rates) / len(rates) if rates else None
    cpu_costs = summary.get("forward_cpu_s_per_image") or []
    forward_cpu = sum(cpu_costs) / len(cpu_costs) if cpu_costs else None
    photo_s = job_s / n if n else None
    photo_cpu = summary["cpu_s"] / n if n and summary.get("cpu_s") else None
    return {
        "photos": n,
        "done": summary["done"],
        "failed": summary["failed"],
        "job_s": round(job_s, 1),
        "wall_s": round(wall, 1),
        "photos_per_s": round(n / job_s, 2) if job_s else None,
        "peak_rss_mb": round(peak_mb, 1),
        "rss_mb_at": _rss_profile(samples, n),
        "db_mb": round(db.stat().st_size / 2**20, 1),
        "forward_images_per_s": rates,
        "forwards_per_photo": round(photo_s / forward_s, 2) if photo_s and forward_s else None,
        "job_cpu_s": summary.get("cpu_s"),
        "forward_cpu_s_per_image": cpu_costs,
        "forwards_per_photo_cpu": _ratio(photo_cpu, forward_cpu),
        "after_first_batch": _steady(samples, forward_s, forward_cpu),
        "verify": _verify_row(summary.get("verify"), forward_s, forward_cpu),
        "load_avg": [round(x, 2) for x in load_before] + [round(x, 2) for x in os.getloadavg()],
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) of process ``pid`` so far, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _steady(samples: list[dict[str, Any]], forward_s, forward_cpu) -> dict[str, Any] | None:
    """Photos/s and forwards per photo between the first and the last batch the progress file
    counted: the job without its start (model load, imports, the first batch)."""
    counted = [s for s in samples if s.get("job") == "precompute" and s["done"] > 0]
    if len(counted) < 2:
        return None
    first = next(s for s in counted if s["done"] == counted[0]["done"])
    last = next(s for s in counted if s["done"] == counted[-1]["done"])
    photos, seconds = last["done"] - first["done"], last["t"] - first["t"]
    if photos <= 0 or seconds <= 0:
        return None
    cpu = (last["cpu_s"] - first["cpu_s"]) if last["cpu_s"] and first["cpu_s"] else None
    return {
        "photos": photos,
        "photos_per_s": round(photos / seconds, 2),
        "forwards_per_photo": _ratio(seconds / photos, forward_s),
        "forwards_per_photo_cpu": _ratio(cpu / photos if cpu else None, forward_cpu),
    }


def _verify_row(verify: dict[str, Any] | None, forward_s, forward_cpu) -> dict[str, Any] | None:
    """Verify's photo-words/s and its cost in reference forwards per photo-word."""
    if not verify or not verify.get("photo_words"):
        return verify
    n = verify["photo_words"]
    return {
        **verify,
        "photo_words_per_s": round(n / verify["s"], 2) if verify["s"] else None,
        "forwards_per_photo_word": _ratio(verify["s"] / n, forward_s),
        "forwards_per_photo_word_cpu": _ratio(verify["cpu_s"] / n, forward_cpu),
    }


def time_demo(
    runtime: str | None = None, code: str | Path | None = None, workdir: Path | None = None
) -> dict[str, Any]:
    """``wordcam demo --no-dashboard`` as a whole, in a child process: its wall seconds, its
    own seconds before the dashboard and per step (``summary.json``), cue recovery."""
    out = Path(tempfile.mkdtemp(prefix="demo-", dir=workdir))
    env = dict(os.environ, PYTHONPATH=str(code or ROOT))
    if runtime:
        env["WORDCAM_RUNTIME"] = runtime
    cmd = [sys.executable, "-c", "import sys; from core.cli import main; sys.exit(main())"]
    load_before = os.getloadavg()
    t0 = time.monotonic()
    done = subprocess.run(
        [*cmd, "demo", "--no-dashboard", "--out", str(out)],
        cwd=code or ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - t0
    if done.returncode != 0:
        raise RuntimeError(f"wordcam demo failed ({done.returncode}): {done.stderr[-2000:]}")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {
        "wall_s": round(wall, 1),
        "seconds_before_dashboard": summary.get("seconds_before_dashboard"),
        "timings_s": summary.get("timings_s"),
        "cue_recovery": summary.get("cue_recovery"),
        "load_avg": [round(x, 2) for x in load_before] + [round(x, 2) for x in os.getloadavg()],
    }


def _rss_profile(samples: list[dict[str, float]], total: int) -> dict[str, float]:
    """RSS when the job had done about 10%, 50% and 90% of its photos (the flatness check)."""
    out = {}
    for pct in (10, 50, 90):
        target = total * pct / 100
        after = [s for s in samples if s["done"] >= target]
        if after:
            out[f"{pct}%"] = after[0]["rss_mb"]
    return out


def run_benchmark(
    sizes: tuple[int, ...] = (500,),
    profile: str = "small",
    batch_size: int = 16,
    workdir: str | Path | None = None,
    write: bool = True,
    forward_seconds: float = 5.0,
    runtime: str | None = None,
    verify_top: int = 0,
    verify_per_word: int = 12,
    demo: bool = False,
    code: str | Path | None = None,
    threads: int = 0,
) -> dict[str, Any]:
    """Precompute ``sizes`` photos with ``profile``; photos/s and memory per size; with
    ``verify_top`` also verify each job's run, with ``demo`` also time ``wordcam demo``."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; use one of {PROFILES}")
    workdir = Path(workdir or Path(tempfile.gettempdir()) / "wordcam_bench_precompute")
    rows = []
    for n in sizes:
        folder = make_photo_folder(workdir / f"photos_{n}", n)
        db = workdir / f"{profile}_{n}.duckdb"
        for stale in db.parent.glob(db.name + "*"):
            stale.unlink()
        row = run_job(
            folder,
            db,
            profile=profile,
            batch_size=batch_size,
            forward_seconds=forward_seconds,
            runtime=runtime,
            verify_top=verify_top,
            verify_per_word=verify_per_word,
            code=code,
            threads=threads,
        )
        row["size"] = n
        rows.append(row)
        print(
            f"{profile} {n} photos: {row['photos_per_s']} photos/s, "
            f"{row['forwards_per_photo']} forwards/photo "
            f"({row['forwards_per_photo_cpu']} in CPU seconds; after the first batch "
            f"{row['after_first_batch']}; forward {row['forward_images_per_s']} images/s, "
            f"load {row['load_avg']}), verify {row['verify']}, peak RSS "
            f"{row['peak_rss_mb']} MB, RSS at {row['rss_mb_at']}",
            file=sys.stderr,
        )
    result = {
        "benchmark": "precompute",
        "profile": profile,
        "batch_size": batch_size,
        # the job's own default (auto: OpenVINO when installed) when neither names one
        "runtime": runtime or os.environ.get("WORDCAM_RUNTIME") or "auto",
        "code": str(code) if code else None,
        "threads": threads or None,
        "rows": rows,
        "demo": time_demo(runtime, code, workdir) if demo else None,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    if len(rows) > 1 and rows[0]["peak_rss_mb"]:
        result["peak_rss_ratio_largest_vs_smallest"] = round(
            rows[-1]["peak_rss_mb"] / rows[0]["peak_rss_mb"], 3
        )
    result["markdown"] = to_markdown(result)
    if write:
        _write(result)
    return result


def to_markdown(result: dict[str, Any]) -> str:
    lines = [
        f"### precompute ({result['profile']} profile, batch {result['batch_size']}, "
        f"runtime {result.get('runtime', 'not recorded')}, threads {result.get('threads') or 'all'}, "
        f"{result['machine']['cpus']} CPUs, {result['date']})",
        "",
        "| photos | photos/s (job) | forward images/s (before / after) | forwards per photo "
        "| job s | wall s (incl. start) | peak RSS MB | RSS MB at 10% / 50% / 90% | DB MB "
        "| load 1/5/15 min (start, end) |",
        "|---:|---:|---|---:|---:|---:|---:|---|---:|---|",
    ]
    for r in result["rows"]:
        at = " / ".join(str(r["rss_mb_at"].get(k, "-")) for k in ("10%", "50%", "90%"))
        forward = " / ".join(str(x) for x in r.get("forward_images_per_s") or []) or "-"
        load = r.get("load_avg") or []
        load_text = f"{load[:3]}, {load[3:]}" if load else "-"
        lines.append(
            f"| {r['photos']} | {r['photos_per_s']} | {forward} | "
            f"{r.get('forwards_per_photo') or '-'} | {r['job_s']} | {r['wall_s']} | "
            f"{r['peak_rss_mb']} | {at} | {r['db_mb']} | {load_text} |"
        )
    lines += _cost_lines(result)
    if "peak_rss_ratio_largest_vs_smallest" in result:
        lines += [
            "",
            f"Peak RSS ratio largest/smallest: "
            f"{result['peak_rss_ratio_largest_vs_smallest']} (1.0 = flat).",
        ]
    lines += [
        "",
        f"Load average at the end: {result['machine']['load_avg_at_end']} "
        "(a shared machine: numbers are noisy).",
    ]
    return "\n".join(lines)


def _cost_lines(result: dict[str, Any]) -> list[str]:
    """The costs in reference forwards (wall and CPU seconds), verify's and the demo's lines."""
    lines = [
        "",
        "| photos | forwards per photo: wall / CPU s | after the first batch: photos/s, "
        "forwards per photo wall / CPU s | verify: photo-words, s, photo-words/s "
        "| verify forwards per photo-word: wall / CPU s |",
        "|---:|---|---|---|---|",
    ]
    for r in result["rows"]:
        steady = r.get("after_first_batch") or {}
        v = r.get("verify") or {}
        lines.append(
            f"| {r['photos']} | {r.get('forwards_per_photo')} / {r.get('forwards_per_photo_cpu')} "
            f"| {steady.get('photos_per_s', '-')}, {steady.get('forwards_per_photo', '-')} / "
            f"{steady.get('forwards_per_photo_cpu', '-')} "
            f"| {v.get('photo_words', '-')}, {v.get('s', '-')}, {v.get('photo_words_per_s', '-')} "
            f"| {v.get('forwards_per_photo_word', '-')} / "
            f"{v.get('forwards_per_photo_word_cpu', '-')} |"
        )
    if demo := result.get("demo"):
        lines += [
            "",
            f"`wordcam demo --no-dashboard`: {demo['wall_s']} s wall, "
            f"{demo['seconds_before_dashboard']} s before the dashboard, steps "
            f"{demo['timings_s']}, cue recovery {demo['cue_recovery']}, load {demo['load_avg']}.",
        ]
    if result.get("code"):
        lines += ["", f"Code imported from {result['code']}."]
    return lines


def _write(result: dict[str, Any]) -> None:
    """Merge into ``results/precompute.json`` (one entry per profile) and rewrite the Markdown."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "precompute.json"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = {}
    stored[result["profile"]] = {k: v for k, v in result.items() if k != "markdown"}
    path.write_text(json.dumps(stored, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    parts = [
        "# wordcam precompute benchmark",
        "",
        "Generated by `benchmarks/bench_precompute.py`.",
        "",
    ]
    for entry in stored.values():
        parts += [to_markdown(entry), ""]
    (RESULTS / "precompute.md").write_text("\n".join(parts), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500])
    parser.add_argument("--profile", choices=PROFILES, default="small")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--forward-seconds",
        type=float,
        default=5.0,
        help="time the plain forward this long before and after the job (0: skip)",
    )
    parser.add_argument(
        "--runtime",
        choices=("torch", "openvino", "auto"),
        help="inference runtime of the job (WORDCAM_RUNTIME; default: the job's, auto)",
    )
    parser.add_argument(
        "--verify-top",
        type=int,
        help="after each job, verify its top N words per class (default: 10 for the imagenet "
        "profile, as the demo does; 0: skip)",
    )
    parser.add_argument(
        "--verify-per-word", type=int, default=12, help="photos per class and word (default 12)"
    )
    parser.add_argument(
        "--demo", action="store_true", help="also time `wordcam demo --no-dashboard` as a whole"
    )
    parser.add_argument(
        "--code",
        help="import wordcam from this checkout instead (e.g. an older commit's worktree)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch (and OpenVINO) threads of the job and the reference forward (default: every "
        "CPU); 1 makes the CPU-seconds ratio robust on a loaded machine",
    )
    parser.add_argument("--workdir", help="where photo folders and DBs go (default: a temp dir)")
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/results")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = parser.parse_args(argv)
    result = run_benchmark(
        tuple(args.sizes),
        args.profile,
        args.batch_size,
        args.workdir,
        write=not args.no_write,
        forward_seconds=args.forward_seconds,
        runtime=args.runtime,
        verify_top=args.verify_top
        if args.verify_top is not None
        else (10 if args.profile == "imagenet" else 0),
        verify_per_word=args.verify_per_word,
        demo=args.demo,
        code=args.code,
        threads=args.threads,
    )
    print(json.dumps(result, ensure_ascii=False, indent=1) if args.json else result["markdown"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
