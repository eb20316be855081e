"""Benchmark the Ray engine against the local job: photos/s and peak memory on the same photos.

Both jobs run as child processes (this script re-invoked with ``--child local|ray``) over the
same photo folder (:func:`bench_precompute.make_photo_folder`), each into a fresh DB:

- ``local``: :func:`core.jobs.run_precompute` (one process, torch on all cores);
- ``ray``: the same job with ``engine="ray"``: a local Ray (started by the job) with
  ``--actors`` actors of one CPU each; the driver merges their shards into DuckDB and
  finishes the run like the local job (term matrix, keyword tables).

The parent samples the RSS of every process below the child (driver, Ray workers, Ray's own
services) from ``/proc`` every half second; the load average is recorded with the numbers
(the machine may be shared). Profiles as in ``bench_precompute.py``: ``small`` (small random
conv nets, the same job machinery) and ``imagenet`` (the product defaults).

Run: ``.venv/bin/python benchmarks/bench_ray.py [--n 500] [--profile small] [--actors 2]``;
results go to ``benchmarks/results/ray.json`` (one entry per profile and actor count) and ``ray.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
RESULTS = HERE.parent / "results"
ROOT = HERE.parents[1]


def _bench_precompute():
    spec = importlib.util.spec_from_file_location(
        "bench_precompute", HERE.parent / "bench_precompute.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _backends(profile: str, register: bool = True) -> tuple[str, str]:
    if profile == "small":
        if register:
            _bench_precompute()._register_small_backends()
        return "benchsmall", "benchgrounded"
    return "imagenet", "grounded"


if __name__.startswith("wordcam_plugin_"):  # imported by each Ray actor (RaySettings.plugins)
    _backends("small")


# ----------------------------------------------------------------------------- the jobs (child)


def _local_job(folder: str, db: str, profile: str, batch_size: int) -> dict[str, Any]:
    from core.jobs import run_precompute

    model, explainer = _backends(profile)
    return run_precompute(
        folder, db, model=model, explainer=explainer, batch_size=batch_size, progress=False
    ).to_dict()


def _ray_job(folder: str, db: str, profile: str, batch_size: int, actors: int) -> dict[str, Any]:
    """The same job on a local Ray (started by the job): ``run_precompute(..., engine="ray")``."""
    import logging

    from core.jobs import run_precompute
    from core.jobs.ray_options import RayOptions

    model, explainer = _backends(profile, register=False)  # the actors load them, not the driver
    reports: list[dict[str, Any]] = []

    class EngineReport(logging.Handler):  # the engine's end-of-job report: per-actor counts
        def emit(self, record: logging.LogRecord) -> None:
            if hasattr(record, "ray_engine"):
                reports.append(record.ray_engine)

    logger = logging.getLogger("core.jobs.ray_engine")
    logger.setLevel(logging.INFO)
    logger.addHandler(EngineReport())
    plugins = (str(HERE),) if profile == "small" else ()
    summary = run_precompute(
        folder, db, model=model, explainer=explainer, batch_size=batch_size, progress=False,
        engine="ray", ray=RayOptions(actors=actors, plugins=plugins),
    )  # fmt: skip
    return {**summary.to_dict(), **(reports[-1] if reports else {})}


def _child(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("engine", choices=("local", "ray"))
    parser.add_argument("folder")
    parser.add_argument("db")
    parser.add_argument("--profile", default="small")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--actors", type=int, default=2)
    args = parser.parse_args(argv)
    if args.engine == "local":
        summary = _local_job(args.folder, args.db, args.profile, args.batch_size)
    else:
        summary = _ray_job(args.folder, args.db, args.profile, args.batch_size, args.actors)
    print("SUMMARY " + json.dumps(summary, ensure_ascii=False, default=str), flush=True)
    return 0


# ----------------------------------------------------------------------------- parent


def _tree(root_pid: int) -> dict[int, tuple[str, float]]:
    """``pid -> (role, RSS MB)`` for ``root_pid`` and all its descendants."""
    parents, info = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text().splitlines()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status if ":" in line)
        parents[int(entry.name)] = int(fields.get("PPid", "0").strip() or 0)
        rss = int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
        info[int(entry.name)] = (cmd, rss)
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, parent in parents.items() if parent == pid and p not in tree]
        tree.update(kids)
        frontier += kids
    out = {}
    for pid in tree & info.keys():
        cmd, rss = info[pid]
        role = "driver" if pid == root_pid else ("worker" if cmd.startswith("ray::") else "ray")
        out[pid] = (role, rss)
    return out


def run_child(
    engine: str,
    folder: Path,
    db: Path,
    profile: str,
    batch_size: int,
    actors: int,
    local_threads: int | None = None,
):
    """One job as a child process: its summary and peak memory per role."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    if engine == "local" and local_threads:
        env["OMP_NUM_THREADS"] = str(local_threads)  # torch's intra-op threads
    cmd = [sys.executable, str(HERE), "--child", engine, str(folder), str(db), "--profile",
           profile, "--batch-size", str(batch_size), "--actors", str(actors)]  # fmt: skip
    peaks = {"driver": 0.0, "worker": 0.0, "ray": 0.0, "total": 0.0}
    t0 = time.monotonic()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err, text=True)
        while proc.poll() is None:
            tree = _tree(proc.pid)
            for role, rss in tree.values():
                peaks[role] = max(peaks[role], rss)
            peaks["total"] = max(peaks["total"], sum(rss for _, rss in tree.values()))
            time.sleep(0.5)
        wall = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} job failed ({proc.returncode}): {stderr[-3000:]}")
    summary = json.loads(stdout.split("SUMMARY ", 1)[1])
    n = summary["done"] + summary["failed"]
    job_s = float(summary["elapsed"])
    row = {
        "engine": engine,
        "photos": n,
        "done": summary["done"],
        "failed": summary["failed"],
        "job_s": round(job_s, 1),
        "wall_s": round(wall, 1),
        "photos_per_s": round(n / job_s, 2),
        "peak_rss_mb": {k: round(v, 1) for k, v in peaks.items()},
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
    }
    if engine == "ray":
        row["ray_ready_s"] = summary["ray_start_s"]
        row["first_shard_s"] = summary["first_batch_s"]
        row["steady_photos_per_s"] = round(
            n / max(1e-6, summary["last_batch_s"] - summary["ray_start_s"]), 2
        )
        row["actors"] = summary["actors"]
    return row


def run_benchmark(
    n: int,
    profile: str,
    batch_size: int,
    actors: int,
    workdir: Path,
    local_threads: int | None = None,
) -> dict:
    folder = _bench_precompute().make_photo_folder(workdir / f"photos_{n}", n)
    rows = []
    load_before = [round(x, 2) for x in os.getloadavg()]
    for engine in ("local", "ray"):
        db = workdir / f"{engine}_{profile}_{n}.duckdb"
        for stale in workdir.glob(db.stem + "*"):
            if stale.is_file():
                stale.unlink()
            else:
                import shutil

                shutil.rmtree(stale)
        row = run_child(engine, folder, db, profile, batch_size, actors, local_threads)
        rows.append(row)
        print(
            f"{engine}: {row['photos_per_s']} photos/s, peak RSS {row['peak_rss_mb']}",
            file=sys.stderr,
        )
    local, ray_row = rows
    result = {
        "benchmark": "ray",
        "profile": profile,
        "photos": n,
        "batch_size": batch_size,
        "actors": actors,
        "local_threads": local_threads or "torch default",
        "key": f"{profile}, {actors} actor(s), local torch threads {local_threads or 'default'}",
        "rows": rows,
        "ratio_ray_vs_local": round(ray_row["photos_per_s"] / local["photos_per_s"], 3),
        "goal": ">= 0.85",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_avg_before": load_before,
            "shared": "yes: other jobs were running on this machine (see the load averages)",
        },
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    result["markdown"] = to_markdown(result)
    return result


def to_markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"### Ray engine vs local job ({result['profile']} profile, {result['photos']} photos, "
        f"batch {result['batch_size']}, {result['actors']} actor(s) vs local with torch threads "
        f"{result['local_threads']}, {m['cpus']} CPUs, "
        f"{result['date']})",
        "",
        "| engine | photos/s (job) | job s | wall s | peak RSS MB driver / worker (max) / Ray services / all | load avg after |",
        "|---|---:|---:|---:|---|---|",
    ]
    for r in result["rows"]:
        p = r["peak_rss_mb"]
        lines.append(
            f"| {r['engine']} | {r['photos_per_s']} | {r['job_s']} | {r['wall_s']} | "
            f"{p['driver']} / {p['worker']} / {p['ray']} / {p['total']} | "
            f"{' '.join(map(str, r['load_avg_after']))} |"
        )
    ray_row = result["rows"][1]
    lines += [
        "",
        f"Throughput ratio Ray / local: **{result['ratio_ray_vs_local']}** (goal {result['goal']}). "
        f"Ray start: {ray_row['ray_ready_s']} s; first shard at "
        f"{ray_row['first_shard_s']} s; photos/s after Ray was up: {ray_row['steady_photos_per_s']}. "
        f"Load average before: {' '.join(map(str, m['load_avg_before']))} (shared machine).",
        "Per actor (start-up s, photos, photos/s while busy): "
        + "; ".join(
            f"{a['init_s']} s, {a['photos']}, {a['photos_per_s']}" for a in ray_row["actors"]
        )
        + ".",
    ]
    loads = [*m["load_avg_before"], *(x for r in result["rows"] for x in r["load_avg_after"])]
    if max(loads) > m["cpus"]:
        lines.append(
            f"Caution: the load average reached {max(loads)} on {m['cpus']} CPUs. On an "
            "oversubscribed machine more runnable processes get a larger share of the CPUs, "
            "which favours Ray's extra processes (driver + actors): rerun on a quiet machine."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--profile", choices=("small", "imagenet"), default="small")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument(
        "--local-threads", type=int, default=None, help="OMP_NUM_THREADS of the local job"
    )
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "wordcam_bench_ray"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    result = run_benchmark(
        args.n, args.profile, args.batch_size, args.actors, workdir, args.local_threads
    )
    print(result["markdown"])
    if not args.no_write:
        _write(result)
    return 0


def _write(result: dict[str, Any]) -> None:
    """Store the result under its key in ``ray.json``; ``ray.md`` shows every stored result."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "ray.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    stored[result["key"]] = result
    path.write_text(json.dumps(stored, indent=2, ensure_ascii=False) + "\n")
    text = "\n\n".join(to_markdown(stored[key]) for key in sorted(stored))
    (RESULTS / "ray.md").write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
