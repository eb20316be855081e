"""Benchmark ``wordcam mine`` on a DB of 30,000 stored explanations (~220 characters each).

The DB is built from a few hundred distinct synthetic Japanese sentences
(:data:`core.lab.synth_text.MINE_GRAMMAR`), each tokenized once
with :func:`core.text.tokenize_many` and reused; a document's tokens are the
concatenation of its sentences' tokens (what tokenizing the whole text gives: janome's
segmentation does not cross 。). A document is 8-10 sentences. Six classes; each has a few
words that appear mostly in its own documents. Then ``wordcam mine --db DB`` runs as a
subprocess, CLI start-up included; the goal is <= 2 s. It runs once before the job's end (no
term matrix: the miner unnests the token lists and fits), then, after what the precompute job
does at its end (``write_terms`` and ``store_default_results``), ``--repeat`` times with the
default settings (answered from the stored keyword table) and ``--repeat`` times with
``--min-df 3`` (no stored table: fit from the integer ``doc_terms`` matrix).

Run: ``.venv/bin/python benchmarks/bench_mine.py [--docs 30000] [--repeat 3]``; results go to
``benchmarks/results/mine.json`` and ``mine.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.mining.settings import DEFAULTS

RESULTS = Path(__file__).resolve().parent / "results"
#: The refit case: one more than the default minimum document frequency (no stored table).
REFIT_MIN_DF = DEFAULTS.min_df + 1
CLASSES = ["中央区", "千代田区", "新宿区", "江東区", "渋谷区", "港区"]
CLASS_WORDS = {
    "中央区": ["市場", "築地", "百貨店", "銀座"],
    "千代田区": ["皇居", "お堀", "官庁", "石垣"],
    "新宿区": ["看板", "ネオン", "雑居ビル", "密集"],
    "江東区": ["倉庫", "運河", "団地", "埋立地"],
    "渋谷区": ["交差点", "若者", "スクランブル", "坂道"],
    "港区": ["タワー", "大使館", "高層ビル", "港"],
}


def build_db(path: Path, docs: int = 30_000, seed: int = 0) -> dict:
    """Write a wordcam DB with ``docs`` explanations (done images, tokens stored) to ``path``."""
    import pandas as pd

    from core.lab.synth_text import MINE_GRAMMAR
    from core.store import StoreWriter
    from core.text import tokenize_many

    rng = random.Random(seed)
    nouns = list(MINE_GRAMMAR.nouns)
    shared = MINE_GRAMMAR.sentences(rng, 300, nouns)
    own = {c: MINE_GRAMMAR.sentences(rng, 40, nouns + CLASS_WORDS[c] * 6) for c in CLASSES}
    pool = shared + [s for c in CLASSES for s in own[c]]
    token_of = dict(zip(pool, tokenize_many(pool, workers=2), strict=True))

    rows_images, rows_text, rows_tokens = [], [], []
    chars = 0
    for i in range(docs):
        label = CLASSES[i % len(CLASSES)]
        pred = label if rng.random() < 0.7 else rng.choice(CLASSES)
        picked = []
        for _ in range(rng.choice((8, 9, 10))):
            r = rng.random()  # own class's sentences, now and then another class's, or shared
            source = own[label] if r < 0.2 else own[rng.choice(CLASSES)] if r < 0.25 else shared
            picked.append(rng.choice(source))
        text = "".join(picked)
        chars += len(text)
        image_id = i + 1
        rows_images.append((image_id, 1, f"photos/{label}/{i:06d}.jpg", label, pred, "done"))
        rows_text.append((image_id, 1, text))
        rows_tokens.append((image_id, 1, [t for s in picked for t in token_of[s]]))

    images = pd.DataFrame(
        rows_images, columns=["image_id", "run_id", "path", "true_label", "pred_label", "status"]
    )
    texts = pd.DataFrame(rows_text, columns=["image_id", "run_id", "text"])
    tokens = pd.DataFrame(rows_tokens, columns=["image_id", "run_id", "tokens"])
    path.unlink(missing_ok=True)
    with StoreWriter(path) as store:
        con = store.con
        con.execute(
            "INSERT INTO runs (run_id, kind, lang, status, labels) VALUES "
            "(1, 'images', 'ja', 'done', ?)",
            [json.dumps(CLASSES, ensure_ascii=False)],
        )
        con.register("bench_images", images)
        con.register("bench_texts", texts)
        con.register("bench_tokens", tokens)
        con.execute(
            "INSERT INTO images (image_id, run_id, path, true_label, pred_label, status) "
            "SELECT * FROM bench_images"
        )
        con.execute("INSERT INTO explanations (image_id, run_id, text) SELECT * FROM bench_texts")
        con.execute(
            "INSERT INTO tokens (image_id, run_id, tokens)"
            " SELECT image_id, run_id, tokens::VARCHAR[] FROM bench_tokens"
        )
    return {"docs": docs, "mean_chars": round(chars / docs, 1), "distinct_sentences": len(pool)}


def run_benchmark(
    docs: int = 30_000,
    repeat: int = 3,
    db: str | Path | None = None,
    extra_args: tuple[str, ...] = (),
    write: bool = True,
    quick: bool = False,
) -> dict:
    """Build the DB (unless ``db`` exists) and time ``wordcam mine --db DB`` ``repeat`` times.

    Two cases, each a subprocess with CLI start included: the default settings, answered from
    the keyword table the precompute job stores, and ``--min-df 3``, which has no stored table
    and is fit from the stored term matrix. ``quick``: 5,000 documents, one timed run each (a
    smoke test; results are not written).
    """
    if quick:
        docs, repeat, write = min(docs, 5_000), 1, False
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(db) if db else Path(tmp) / "bench_mine.duckdb"
        start = time.perf_counter()
        built = build_db(path, docs) if not path.exists() else {"docs": docs, "tables": "terms"}
        build_s = time.perf_counter() - start
        command = [sys.executable, "-m", "core", "mine", "--db", str(path), *extra_args]
        tokens_path_s = None
        if "terms" not in built.get("tables", ""):  # first without terms: unnest token lists
            start = time.perf_counter()
            subprocess.run(command, capture_output=True, text=True, check=True)
            tokens_path_s = time.perf_counter() - start
        start = time.perf_counter()
        stored = _finish_job(path)
        finish_s = time.perf_counter() - start
        stored_runs = _time_runs(command, repeat)
        refit_runs = _time_runs([*command, "--min-df", str(REFIT_MIN_DF)], repeat)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "core", "mine", "--help"], capture_output=True, check=True
        )
        help_s = time.perf_counter() - start
        start, cpu = time.perf_counter(), _children_cpu()
        subprocess.run([sys.executable, "-c", "import sklearn.linear_model"], check=True)
        sklearn_import = (time.perf_counter() - start, _children_cpu() - cpu)
        stages = _stages(path)
    output = stored_runs["output"]
    result = {
        "benchmark": "mine",
        **built,
        "build_db_s": round(build_s, 2),
        "command": "wordcam mine --db DB " + " ".join(extra_args),
        "wall_s": stored_runs["wall_s"],
        "median_s": stored_runs["median_s"],
        "cpu_s": stored_runs["cpu_s"],
        "refit_command": f"wordcam mine --db DB --min-df {REFIT_MIN_DF} " + " ".join(extra_args),
        "refit_wall_s": refit_runs["wall_s"],
        "refit_median_s": refit_runs["median_s"],
        "refit_cpu_s": refit_runs["cpu_s"],
        "refit_summary": _summary_line(refit_runs["output"]),
        "tokens_only_s": None if tokens_path_s is None else round(tokens_path_s, 3),
        "job_finish_s": round(finish_s, 3),
        "stored_label_sources": stored,
        "goal_s": 2.0,
        "help_s": round(help_s, 3),
        "python_import_sklearn_s": [round(x, 3) for x in sklearn_import],
        "stages_s": stages,
        "summary": _summary_line(output),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if write:
        _write(result, output)
    return result


def _summary_line(output: str) -> str:
    """The accuracy line under the table (the first line after its last row)."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    after = [i for i, line in enumerate(lines) if line.startswith("|")]
    rest = lines[after[-1] + 1 :] if after else lines
    return rest[0] if rest else ""


def _time_runs(command: list[str], repeat: int) -> dict:
    """Run ``command`` ``repeat`` times: wall and CPU seconds, and the last output."""
    times, cpu_times, output = [], [], ""
    for _ in range(repeat):
        start, cpu = time.perf_counter(), _children_cpu()
        proc = subprocess.run(command, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        cpu_times.append(_children_cpu() - cpu)
        if proc.returncode != 0:
            raise RuntimeError(f"wordcam mine failed: {proc.stderr.strip()}")
        output = proc.stdout
    return {
        "wall_s": [round(t, 3) for t in times],
        "median_s": round(statistics.median(times), 3),
        "cpu_s": [round(t, 3) for t in cpu_times],
        "output": output,
    }


def _finish_job(path: Path) -> list[str]:
    """What the precompute job does at its end: the term matrix, then the keyword tables."""
    from core.mining import store_default_results, write_terms
    from core.store import StoreWriter

    with StoreWriter(path) as store:
        write_terms(store.con, 1)
        return store_default_results(store.con, 1)


def _children_cpu() -> float:
    """User + system CPU seconds of finished child processes."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _stages(path: Path) -> dict:
    """In-process timings of the stages (imports excluded, warm caches)."""
    import sklearn.linear_model  # noqa: F401 - imported before timing

    from core.mining import LARGE_CORPUS_FOLDS, keyword_table, load_corpus, mine
    from core.mining.fit import cv_accuracy, document_matrix, logistic

    out = {}
    start = time.perf_counter()
    keyword_table(path)  # the default settings: the stored table, verified words attached
    out["stored_table"] = time.perf_counter() - start
    start = time.perf_counter()
    corpus = load_corpus(path)
    out["load_corpus"] = time.perf_counter() - start
    start = time.perf_counter()
    mat = document_matrix(corpus, DEFAULTS.min_df, DEFAULTS.stopwords)
    out["matrix"] = time.perf_counter() - start
    start = time.perf_counter()
    model = logistic(1.0, 1e-4, 100).fit(mat.X, mat.y)
    out["fit"] = time.perf_counter() - start
    start = time.perf_counter()
    cv_accuracy(mat, model, LARGE_CORPUS_FOLDS, DEFAULTS.seed, 1.0, 1e-3, 100)
    out["cv_3fold_warm"] = time.perf_counter() - start
    start = time.perf_counter()
    mine(corpus)
    out["mine_total"] = time.perf_counter() - start
    return {k: round(v, 3) for k, v in out.items()}


def _write(result: dict, output: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "mine.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    lines = [
        "# wordcam mine benchmark",
        "",
        f"- documents: {result['docs']} (mean {result.get('mean_chars', '?')} characters)",
        f"- command: `{result['command'].strip()}` (subprocess, CLI start included)",
        f"- default settings (the stored keyword table): {result['wall_s']} s, median "
        f"{result['median_s']} s (goal <= 2 s); "
        f"CPU time (user+sys, all threads): {result['cpu_s']} s",
        f"- a setting without a stored table (`{result['refit_command'].strip()}`, fit from "
        f"the term matrix): {result['refit_wall_s']} s, median {result['refit_median_s']} s; "
        f"CPU {result['refit_cpu_s']} s",
        f"- the precompute job's end (term matrix + keyword tables by "
        f"{' and '.join(result['stored_label_sources'])} label): {result['job_finish_s']} s",
        f"- before the job's end (no term matrix, no stored table; unnesting the token "
        f"lists): {result['tokens_only_s']} s",
        f"- `wordcam mine --help`: {result['help_s']} s",
        f"- of which fixed: `python -c 'import sklearn.linear_model'` [wall, CPU]: "
        f"{result['python_import_sklearn_s']} s",
        f"- in-process stages: {result['stages_s']}",
        f"- machine: {result['machine']}; measured {result['measured_at']}, load average "
        f"{result['load_average']} (a shared machine: noisy)",
        "",
        "Output:",
        "",
        output.strip(),
        "",
        f"With `--min-df {REFIT_MIN_DF}`: {result['refit_summary']}",
        "",
    ]
    (RESULTS / "mine.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", help="reuse (or create) this DB instead of a temporary one")
    args = parser.parse_args()
    result = run_benchmark(args.docs, args.repeat, args.db)
    print(json.dumps({k: v for k, v in result.items() if k != "summary"}, ensure_ascii=False))
    print(result["summary"])


if __name__ == "__main__":
    main()
