"""Per-interaction render time of the dashboard on a large synthetic DB (Streamlit AppTest).

``run_benchmark(n_images=30000) -> dict`` builds a synthetic DB (tests/synthetic_db.py), loads
each page once (first load: imports, corpus load, mining, cache fill) and then times typical
interactions (ward filter, word, top-K, page, search...) as the wall time of one script run.
Settings are timed by how the page gets the keyword table: "(stored table)" reads the table the
precompute job stored for the default settings, "(prefetched)" was fit in the background after
the previous render (the other label source, min df one step either side), and "(refit)" needs
a new fit: the page answers at once with the previous table marked as updating while the fit
runs in the background; "new table ready" is how long that fit took, "new table swapped in"
the render that shows it.

Run: ``.venv/bin/python benchmarks/bench_dashboard.py [--images N]``; results go to
``benchmarks/results/dashboard[_N].json`` and ``.md``. The synthetic DB is cached under
``--cache-dir`` (default ``/tmp/wordcam-bench``) and reused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
RESULTS = ROOT / "benchmarks" / "results"
BUDGET_MS = 300.0
CACHE_DIR = Path("/tmp/wordcam-bench")


def _timed(at, action=None) -> float:
    if action is not None:
        action(at)
    start = time.perf_counter()
    at.run()
    elapsed = (time.perf_counter() - start) * 1000
    if at.exception:
        raise RuntimeError(f"page raised: {[e.value for e in at.exception]}")
    return elapsed


def _wait_for_cv(timeout: float = 300.0) -> None:
    """Let the background cross-validation finish so it does not compete with the timings."""
    from dashboard.background import background_busy

    deadline = time.time() + timeout
    while background_busy() and time.time() < deadline:
        time.sleep(0.2)


def cached_db(n_images: int, seed: int, cache_dir: Path) -> tuple[Path, float]:
    """The synthetic DB of ``n_images`` photos, built once under ``cache_dir``; (path, build s)."""
    from synthetic_db import make_db

    db = cache_dir / f"bench_{n_images}_seed{seed}.duckdb"
    if db.exists():
        return db, 0.0
    cache_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    partial = cache_dir / f"partial_{n_images}_{seed}.duckdb"
    make_db(partial, n_images=n_images, seed=seed)
    partial.rename(db)  # asset paths are absolute: they stay valid
    return db, time.perf_counter() - t0


class _Recorder:
    """Timed interactions of one AppTest, each after the background work has finished."""

    def __init__(self, at) -> None:
        self.at = at
        self.samples: dict[str, list[float]] = {}
        self.background: dict[str, list[float]] = {}

    def record(self, name: str, action=None) -> None:
        """Time ``action`` and the script run it triggers under ``name``."""
        _wait_for_cv()  # a user's think time: background prefetch/CV has finished
        self.samples.setdefault(name, []).append(_timed(self.at, action))
        if name.endswith("(refit)"):  # answered with the previous table: the swap-in
            start = time.perf_counter()
            _wait_for_cv()
            ready = (time.perf_counter() - start) * 1000
            key = "keywords: new table ready (background fit)"
            self.background.setdefault(key, []).append(ready)
            self.samples.setdefault("keywords: new table swapped in", []).append(_timed(self.at))

    def open(self, page: str) -> None:
        """Switch to ``views/<page>.py`` and render it once, untimed."""
        self.at.switch_page(f"views/{page}.py")
        _timed(self.at)


WARDS = ["台東区", "墨田区", "港区", "新宿区", "江東区", "世田谷区", "千代田区", "中央区"]


def _keywords_scenario(rec: _Recorder, repeats: int) -> None:
    from core.mining.settings import DEFAULTS

    rec.open("keywords")
    for r in range(repeats):
        for i in range(4):
            chosen = [WARDS[(i + r) % 8], WARDS[(i + r + 3) % 8]][: 1 + i % 2]
            rec.record(
                "keywords: ward filter",
                lambda a, c=chosen: a.multiselect(key="w_kw_wards").set_value(c),
            )
        rec.record("keywords: top-K", lambda a, k=8 + r: a.slider(key="w_kw_top").set_value(k))
        rec.record(
            "keywords: pick a word",
            lambda a, r=r: a.selectbox(key="kw_pick").select_index(r + 1),
        )
        rec.record(
            "keywords: extra stop word (refit)",
            lambda a, r=r: a.text_input(key="w_kw_stopwords").input(f"空 窓{r}"),
        )
        rec.record(
            "keywords: stop words cleared (stored table)",
            lambda a: a.text_input(key="w_kw_stopwords").input(""),
        )
        rec.record(
            "keywords: min df +1 (prefetched)",
            lambda a: a.number_input(key="w_kw_min_df").increment(),
        )
        rec.record(
            "keywords: min df -1 (prefetched)",
            lambda a: a.number_input(key="w_kw_min_df").decrement(),
        )
        rec.record(
            "keywords: min df typed (refit)",
            lambda a, r=r: a.number_input(key="w_kw_min_df").set_value(10 * (r + 1)),
        )
        rec.record(
            f"keywords: min df back to {DEFAULTS.min_df} (stored table)",
            lambda a: a.number_input(key="w_kw_min_df").set_value(DEFAULTS.min_df),
        )
        rec.record(
            "keywords: label source (stored table)",
            lambda a, r=r: a.radio(key="w_kw_by").set_value(["pred", "true"][r % 2]),
        )
    rec.at.radio(key="w_kw_by").set_value("true")
    _timed(rec.at)
    _wait_for_cv()


def _photos_scenario(rec: _Recorder, repeats: int) -> None:
    rec.open("photos")
    words = ["密集", "群", "橋", "緑", "看板", "電柱"]
    for r in range(repeats):
        rec.record("photos: word", lambda a, w=words[r % 6]: a.text_input(key="w_ph_word").input(w))
        rec.record(
            "photos: ward filter",
            lambda a, w=WARDS[r]: a.multiselect(key="w_ph_wards").set_value([w]),
        )
        rec.record(
            "photos: correct/incorrect",
            lambda a, r=r: a.segmented_control(key="w_ph_correct").set_value(
                ["incorrect", "correct", "all"][r % 3]
            ),
        )
        rec.record("photos: next page", lambda a: a.number_input(key="w_ph_page").increment())
        rec.record(
            "photos: order (confident first / mistakes / sample)",
            lambda a, r=r: a.selectbox(key="w_ph_order").set_value(
                ["confidence", "mistakes", "random"][r % 3]
            ),
        )
        rec.record(
            "photos: free-text search",
            lambda a, r=r: a.text_input(key="w_ph_search").input(["提灯", "左下", ""][r % 3]),
        )


def _compare_scenario(rec: _Recorder, repeats: int) -> None:
    rec.open("compare")
    pairs = [["密集", "群"], ["橋", "運河"], ["高層ビル", "看板", "ネオン"]]
    for r in range(repeats):
        rec.record(
            "compare: words",
            lambda a, p=pairs[r % 3]: a.multiselect(key="w_cmp_words").set_value(p),
        )
        rec.record(
            "compare: ward vs ward",
            lambda a, w=WARDS[r + 1]: a.selectbox(key="w_cmp_b").set_value(w),
        )


def _stats(samples: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {
        name: {"median_ms": round(statistics.median(v), 1), "max_ms": round(max(v), 1), "n": len(v)}
        for name, v in samples.items()
    }


def run_benchmark(
    n_images: int = 30000, repeats: int = 3, seed: int = 0, cache_dir: Path = CACHE_DIR
) -> dict:
    """Time first loads and interactions on an ``n_images`` synthetic DB; return the numbers."""
    from streamlit.testing.v1 import AppTest

    db, make_db_s = cached_db(n_images, seed, cache_dir)
    os.environ["WORDCAM_DB"] = str(db)
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=600)
    at.query_params["lang"] = "ja"

    first: dict[str, float] = {}
    first["overview"] = _timed(at)
    for view in ("keywords", "compare", "photos", "export", "precompute"):
        _wait_for_cv()
        at.switch_page(f"views/{view}.py")
        first[view] = _timed(at)
    _wait_for_cv()

    rec = _Recorder(at)
    _keywords_scenario(rec, repeats)
    _photos_scenario(rec, repeats)
    _compare_scenario(rec, repeats)
    at.switch_page("views/overview.py")
    rec.record("overview: revisit")
    at.switch_page("views/keywords.py")
    rec.record("keywords: revisit")

    summary = _stats(rec.samples)
    over = sorted(k for k, v in summary.items() if v["median_ms"] > BUDGET_MS)
    return {
        "n_images": n_images,
        "make_db_s": round(make_db_s, 2),
        "first_load_ms": {k: round(v, 1) for k, v in first.items()},
        "interactions": summary,
        "background": _stats(rec.background),
        "budget_ms": BUDGET_MS,
        "within_budget": not over,
        "over_budget": over,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "note": "AppTest wall time of one script run (server-side render; excludes the browser), "
        "each after background work (prefetch, cross-validation) has finished. '(refit)' rows "
        "need a new fit: the page answers with the previous table marked as updating while the "
        "fit runs on the background worker ('new table ready', which also covers the "
        "cross-validation and prefetch queued there), then 'new table swapped in' renders it; "
        "'(prefetched)' rows were fit in the background after the previous render; '(stored "
        "table)' rows read the precompute job's table.",
    }


def to_markdown(result: dict) -> str:
    lines = [
        f"# Dashboard render times ({result['n_images']:,} photos)",
        "",
        f"Machine: {result['machine']}, load average {result['load_average']} at the end "
        "(other jobs inflate every number). "
        + (
            f"Synthetic DB built in {result['make_db_s']} s."
            if result["make_db_s"]
            else "Synthetic DB reused from the cache."
        ),
        f"{result['note']}",
        "",
        "| first load | ms |",
        "|---|---:|",
        *[f"| {k} | {v:,.0f} |" for k, v in result["first_load_ms"].items()],
        "",
        f"| interaction | median ms | max ms | runs |  (budget {result['budget_ms']:.0f} ms)",
        "|---|---:|---:|---:|",
        *[
            f"| {k} | {v['median_ms']:,.0f} | {v['max_ms']:,.0f} | {v['n']} |"
            for k, v in result["interactions"].items()
        ],
        "",
        "| off the script thread (does not block) | median ms | max ms | runs |",
        "|---|---:|---:|---:|",
        *[
            f"| {k} | {v['median_ms']:,.0f} | {v['max_ms']:,.0f} | {v['n']} |"
            for k, v in result.get("background", {}).items()
        ],
        "",
        f"Every interaction's median within budget: {result['within_budget']}"
        + (f" (over: {', '.join(result['over_budget'])})" if result["over_budget"] else ""),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=30000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR, help="synthetic DBs kept here")
    args = parser.parse_args()
    result = run_benchmark(args.images, args.repeats, cache_dir=args.cache_dir)
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "dashboard" if args.images == 30000 else f"dashboard_{args.images}"
    (RESULTS / f"{name}.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (RESULTS / f"{name}.md").write_text(to_markdown(result), encoding="utf-8")
    print(to_markdown(result))


if __name__ == "__main__":
    main()
