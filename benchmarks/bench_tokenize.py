"""Benchmark Japanese tokenization: documents/s in one process and with ``tokenize_many``.

~2,000 distinct synthetic explanations of ~220 characters (:func:`core.lab.synth_text.make_texts`)
are tokenized (a) in-process (``tokenize_many(workers=1)``: janome on one core) and (b) with
``tokenize_many(workers=2)``, the process pool over both cores, once cold (pool start
included) and once warm. The tokens of (a) and (b) must be identical. Run as a script, the
pool's workers start as a user's script's do (``fork`` on Linux); imported (``python -c``, as
from wordcam's commands and the dashboard) they start from the server (core.processes).

Run: ``.venv/bin/python benchmarks/bench_tokenize.py [--texts 2000]``; results go to
``benchmarks/results/tokenize.json`` and ``tokenize.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from core.lab.synth_text import make_texts
from core.processes import worker_context

RESULTS = Path(__file__).resolve().parent / "results"


def run_benchmark(texts: int = 2000, write: bool = True, quick: bool = False) -> dict:
    """Time single-process and 2-process tokenization of ``texts`` documents.

    ``quick``: 300 texts (a smoke test; results are not written).
    """
    if quick:
        texts, write = min(texts, 300), False
    from core import text as text_module

    docs = make_texts(texts)
    start = time.perf_counter()
    text_module._janome()
    init_s = time.perf_counter() - start

    start, cpu = time.perf_counter(), time.process_time()
    single = text_module.tokenize_many(docs, workers=1)
    single_s, single_cpu_s = time.perf_counter() - start, time.process_time() - cpu

    text_module._shutdown_pool()
    start = time.perf_counter()
    pooled = text_module.tokenize_many(docs, workers=2)
    cold_s = time.perf_counter() - start
    start = time.perf_counter()
    pooled_warm = text_module.tokenize_many(docs, workers=2)
    warm_s = time.perf_counter() - start
    if pooled != single or pooled_warm != single:
        raise RuntimeError("tokenize_many(workers=2) differs from the single-process tokens")

    n = len(docs)
    result = {
        "benchmark": "tokenize",
        "texts": n,
        "mean_chars": round(sum(map(len, docs)) / n, 1),
        "janome_init_s": round(init_s, 3),
        "single_process_docs_per_s": round(n / single_s, 1),
        "single_process_docs_per_cpu_s": round(n / single_cpu_s, 1),
        "two_workers_cold_docs_per_s": round(n / cold_s, 1),
        "two_workers_warm_docs_per_s": round(n / warm_s, 1),
        "speedup_warm": round(single_s / warm_s, 2),
        "pool_start_method": worker_context().get_start_method(),
        "tokens_per_doc": round(sum(map(len, single)) / n, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if write:
        _write(result)
    return result


def _write(result: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tokenize.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = [
        "# Tokenization benchmark (janome)",
        "",
        f"- texts: {result['texts']} distinct, mean {result['mean_chars']} characters, "
        f"{result['tokens_per_doc']} content words each",
        f"- janome dictionary load: {result['janome_init_s']} s (once per process)",
        f"- one process: {result['single_process_docs_per_s']} docs/s "
        f"({result['single_process_docs_per_cpu_s']} docs per CPU second)",
        f"- tokenize_many(workers=2): {result['two_workers_cold_docs_per_s']} docs/s cold "
        f"(pool start included), {result['two_workers_warm_docs_per_s']} docs/s warm "
        f"(x{result['speedup_warm']}); workers started by {result['pool_start_method']}",
        f"- machine: {result['machine']}; measured {result['measured_at']}, load average "
        f"{result['load_average']} (a shared machine: noisy)",
        "",
    ]
    (RESULTS / "tokenize.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    args = parser.parse_args()
    print(json.dumps(run_benchmark(args.texts)))


if __name__ == "__main__":
    main()
