"""Numbered schema migrations, and DBs written before them (frozen DDL in tests/fixtures/).

A DB written by the schema of 17ed818 (no ``schema_migrations``) and one from before the
``mining`` table keep working: readers (``wordcam mine``, ``core.store.queries``, the dashboard)
read them as they are, and the writer upgrades them in place with every row kept.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import duckdb
import pytest

from core.store import (
    LATEST_VERSION,
    StoreWriter,
    has_table,
    migrate,
    queries,
    reading,
    schema_version,
)
from core.store import migrations as mig

FIXTURES = Path(__file__).resolve().parent / "fixtures"
APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
#: fixture file -> (schema version it shows, whether it has the mining table)
OLD_SCHEMAS = {"schema_before_migrations.sql": 2, "schema_before_mining.sql": 1}
TABLES = ["runs", "images", "explanations", "tokens", "terms", "doc_terms"]
WORDS = {
    "park": ["tree", "grass", "bench", "lawn"],
    "river": ["water", "bridge", "boat", "bank"],
}
SHARED = ["sky", "road", "people"]


def _insert_run(con: duckdb.DuckDBPyConnection, n_per_class: int = 12) -> None:
    """One finished run as the job of 17ed818 wrote it: images, explanations, tokens, terms."""
    rng = random.Random(0)
    labels = list(WORDS)
    con.execute(
        "INSERT INTO runs (kind, source, model, explainer, mode, method, lang, labels, settings,"
        " status, image_accuracy) VALUES ('images', '/photos', 'dir:/m', 'grounded', 'blind',"
        " 'gradcam', 'en', ?, ?, 'done', NULL)",
        [json.dumps(labels), json.dumps({"top_k": 2})],
    )
    for n in range(n_per_class * len(labels)):
        true = labels[n % 2]
        pred = true if n % 6 else labels[(n + 1) % 2]
        tokens = rng.sample(WORDS[true], 3) + rng.sample(SHARED, 1)
        topk = [{"label": pred, "display": pred, "prob": 0.8}, {"label": "x", "prob": 0.2}]
        (image_id,) = con.execute(
            "INSERT INTO images (run_id, path, rel_path, sha256, true_label, pred_label,"
            " pred_prob, topk, probs, status) VALUES (1, ?, ?, 'ab', ?, ?, 0.8, ?, ?, 'done')"
            " RETURNING image_id",
            [
                f"/photos/{true}/{n}.jpg",
                f"{true}/{n}.jpg",
                true,
                pred,
                json.dumps(topk),
                [0.8, 0.2],
            ],
        ).fetchone()
        con.execute(
            "INSERT INTO explanations (image_id, run_id, explainer, mode, lang, text, details)"
            " VALUES (?, 1, 'grounded', 'blind', 'en', ?, '{}')",
            [image_id, "I see " + ", ".join(tokens) + "."],
        )
        con.execute("INSERT INTO tokens VALUES (?, 1, ?)", [image_id, tokens])
    con.execute(
        "INSERT INTO terms SELECT 1, row_number() OVER (ORDER BY term), term, count(*) FROM"
        " (SELECT DISTINCT image_id, unnest(tokens) AS term FROM tokens) GROUP BY term"
    )
    con.execute(
        "INSERT INTO doc_terms SELECT 1, p.image_id, t.term_id FROM"
        " (SELECT DISTINCT image_id, unnest(tokens) AS term FROM tokens) p"
        " JOIN terms t USING (term) ORDER BY p.image_id, t.term_id"
    )


def write_old_db(path: Path, schema_file: str) -> Path:
    """A DB as the code of the fixture's commit wrote it (with the mining table: stored tables)."""
    con = duckdb.connect(str(path))
    con.execute((FIXTURES / schema_file).read_text(encoding="utf-8"))
    _insert_run(con)
    if OLD_SCHEMAS[schema_file] >= 2:  # that job stored its default keyword tables at the end
        from core.mining import store_default_results

        assert store_default_results(con, 1) == ["true", "predicted"]
    con.close()
    return path


def upgrade(db: Path) -> None:
    """Open ``db`` with the writer (which migrates) and close it as a finished job does."""
    with StoreWriter(db):
        pass


def _rows(db: Path) -> dict[str, list[tuple]]:
    with reading(db) as con:
        names = [*TABLES, "mining"] if has_table(con, "mining") else TABLES
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in names}


@pytest.fixture(params=list(OLD_SCHEMAS))
def old(request, tmp_path) -> tuple[Path, int]:
    """``(db, the schema version it was written with)`` for each frozen schema."""
    return write_old_db(tmp_path / "old.duckdb", request.param), OLD_SCHEMAS[request.param]


# ---------------------------------------------------------------- the migrations themselves


def test_a_new_db_records_every_migration(tmp_path):
    db = tmp_path / "new.duckdb"
    upgrade(db)
    with reading(db) as con:
        rows = con.execute("SELECT version, name, applied_at FROM schema_migrations").fetchall()
        assert [(v, n) for v, n, _ in rows] == [
            (1, "core_tables"),
            (2, "mining_table"),
            (3, "term_details"),
            *[(m.version, m.name) for m in mig.MIGRATIONS[3:]],
        ]
        assert all(at is not None for *_, at in rows)
        assert schema_version(con) == LATEST_VERSION
        assert all(has_table(con, t) for t in [*TABLES, "mining"])
    with StoreWriter(db) as store:
        assert migrate(store.con) == []  # nothing pending the second time


def test_a_failing_migration_leaves_no_trace(tmp_path, monkeypatch):
    def broken(con):
        con.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("boom")

    db = tmp_path / "w.duckdb"
    upgrade(db)
    pending = mig.Migration(LATEST_VERSION + 1, "broken", (), broken)
    monkeypatch.setattr(mig, "MIGRATIONS", [*mig.MIGRATIONS, pending])
    with pytest.raises(RuntimeError, match="boom"):
        StoreWriter(db)
    monkeypatch.undo()
    with StoreWriter(db) as store:  # the lock was released; the work file is as before
        assert not has_table(store.con, "half_done")
        assert schema_version(store.con) == LATEST_VERSION


def test_migration_numbers_must_increase():
    with pytest.raises(ValueError, match="not after"):
        mig.migration(1)(lambda con: None)
    versions = [m.version for m in mig.MIGRATIONS]
    assert versions[:3] == [1, 2, 3] and versions == sorted(set(versions))


# ---------------------------------------------------------------- DBs from before migrations


def test_readers_read_an_old_db_as_it_is(old):
    old_db, version = old
    before = hashlib.sha256(old_db.read_bytes()).hexdigest()
    with reading(old_db) as con:
        assert schema_version(con) == version
        assert not has_table(con, "schema_migrations")
        assert has_table(con, "mining") == (version >= 2)
    con = queries.open_snapshot(old_db)  # the dashboard's attached snapshot
    try:
        assert schema_version(con) == version and has_table(con, "runs")
    finally:
        con.close()
    assert hashlib.sha256(old_db.read_bytes()).hexdigest() == before


def test_the_writer_upgrades_an_old_db_in_place(old):
    old_db, version = old
    rows = _rows(old_db)
    assert len(rows["images"]) == 24 and rows["doc_terms"]
    upgrade(old_db)
    with reading(old_db) as con:
        recorded = con.execute("SELECT version, name FROM schema_migrations ORDER BY 1").fetchall()
        assert recorded == [(m.version, m.name) for m in mig.MIGRATIONS]
        assert schema_version(con) == LATEST_VERSION
    after = _rows(old_db)
    # every row survives, mining rows included; columns added later are NULL on old rows
    width = {t: len(rows[t][0]) for t in rows if rows[t]}
    assert {t: [r[: width.get(t, len(r))] for r in after[t]] for t in rows} == rows
    assert all(r[width["tokens"] :] == (None, None) for r in after["tokens"])
    assert len(after["mining"]) == (2 if version >= 2 else 0)
    with StoreWriter(old_db) as store:  # the sequences carry on where the old job stopped
        (run_id,) = store.con.execute(
            "INSERT INTO runs (source) VALUES ('/more') RETURNING run_id"
        ).fetchone()
        assert run_id == 2
        assert migrate(store.con) == []


@pytest.mark.parametrize("upgraded", [False, True], ids=["as-is", "upgraded"])
def test_wordcam_mine_prints_the_keyword_table(old, upgraded, capsys):
    old_db = old[0]
    from core.cli import main

    def mine_table() -> str:
        assert main(["mine", "--db", str(old_db), "--top", "3"]) == 0
        return capsys.readouterr().out

    before = mine_table()
    assert before.startswith("| rank |") and "park" in before and "river" in before
    assert "bench" in before or "lawn" in before or "tree" in before or "grass" in before
    if upgraded:
        upgrade(old_db)
        assert mine_table() == before


@pytest.mark.parametrize("upgraded", [False, True], ids=["as-is", "upgraded"])
def test_queries_read_an_old_db(old, upgraded):
    old_db = old[0]
    if upgraded:
        upgrade(old_db)
    con = queries.open_snapshot(old_db)
    try:
        runs = queries.list_runs(con)
        assert runs["run_id"].tolist() == [1] and runs["n_done"].tolist() == [24]
        run_id = queries.resolve_run(con)
        stats = queries.run_stats(con, run_id)
        assert (stats.n_images, stats.n_explained) == (24, 24)
        assert stats.image_accuracy == pytest.approx(20 / 24)
        assert stats.baseline == pytest.approx(0.5)
        page = queries.photos(con, run_id, queries.PhotoFilter(word="bridge"), limit=50)
        assert len(page) and set(page["true_label"]) == {"river"}
        assert queries.vocabulary(con, run_id)["term"].str.len().min() > 0
    finally:
        con.close()


@pytest.mark.parametrize("upgraded", [False, True], ids=["as-is", "upgraded"])
@pytest.mark.parametrize("view", ["overview", "keywords"])
def test_dashboard_opens_an_old_db(old, upgraded, view, monkeypatch):
    old_db = old[0]
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    if upgraded:
        upgrade(old_db)
    monkeypatch.setenv("WORDCAM_DB", str(old_db))
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    if view != "overview":
        at.switch_page(f"views/{view}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    if view == "overview":
        assert metrics["Photos done"] == "24" and metrics["Image model (pred = true)"] == "83.3%"
    else:
        assert at.dataframe[0].value.columns.tolist() == ["park", "river"]
        assert metrics["Image model accuracy"] == "83.3%"


# ---------------------------------------------------------------- the VLM call cache's own file

CACHE_SCHEMA = "vlm_cache_before_migrations.sql"


def write_old_cache(path: Path) -> Path:
    """A VLM cache as the code of 6016933 wrote it: two calls, one answered, no migrations."""
    con = duckdb.connect(str(path))
    con.execute((FIXTURES / CACHE_SCHEMA).read_text(encoding="utf-8"))
    con.execute(
        "INSERT INTO vlm_calls (cache_key, model, base_url, prompt, params, status, text, details,"
        " prompt_tokens, completion_tokens, total_tokens, cost_usd) VALUES"
        " ('k1', 'gpt-4o-mini', 'https://api.openai.com/v1', 'p', '{}', 'ok', 'a red stamp',"
        " '{\"regions\": [1]}', 100, 20, 120, 0.00003),"
        " ('k2', 'gpt-4o-mini', 'https://api.openai.com/v1', 'p', '{}', 'error', NULL, NULL,"
        " NULL, NULL, NULL, NULL)"
    )
    con.close()
    return path


def _cache_rows(path: Path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT * FROM vlm_calls ORDER BY call_id").fetchall()


def test_a_new_cache_records_its_migrations(tmp_path):
    from core.explainers.vlm_cache import VLMCache
    from core.store.vlm_calls import CACHE_MIGRATIONS, CACHE_VERSION

    path = tmp_path / "vlm_cache.duckdb"
    with VLMCache(path) as cache:
        assert cache.warning is None
        cache.record({"cache_key": "k", "status": "ok", "text": "t", "details": {"a": 1}})
        assert cache.get("k").details == {"a": 1}
    with duckdb.connect(str(path), read_only=True) as con:
        recorded = con.execute("SELECT version, name FROM schema_migrations").fetchall()
        assert recorded == [(m.version, m.name) for m in CACHE_MIGRATIONS]
        assert recorded[0] == (1, "vlm_calls")
        assert schema_version(con, CACHE_MIGRATIONS) == CACHE_VERSION
        assert not has_table(con, "runs")  # the cache has its own list, not the DB's
    with VLMCache(path) as cache:  # nothing pending the second time
        assert cache.get("k").text == "t"


def test_an_old_cache_is_read_as_it_is_and_upgraded_in_place(tmp_path):
    from core.explainers.vlm_cache import VLMCache, usage_summary
    from core.store.vlm_calls import CACHE_MIGRATIONS, CACHE_VERSION

    path = write_old_cache(tmp_path / "vlm_cache.duckdb")
    rows = _cache_rows(path)
    usage = usage_summary(path=path)  # readers read it as it is (read-only)
    assert usage["total"]["calls"] == 2 and usage["total"]["ok"] == 1
    with duckdb.connect(str(path), read_only=True) as con:
        assert not has_table(con, "schema_migrations")
        assert schema_version(con, CACHE_MIGRATIONS) == 1  # recognised by its table
    with VLMCache(path) as cache:  # the writer adopts and upgrades it
        assert cache.warning is None
        hit = cache.get("k1")
        assert (hit.text, hit.details) == ("a red stamp", {"regions": [1]})
        assert cache.get("k2") is None  # a failed call is logged, never an answer
        cache.record({"cache_key": "k3", "model": "gpt-4o-mini", "status": "ok", "text": "x"})
    after = _cache_rows(path)
    assert after[:2] == rows  # every row kept
    assert after[2][0] == 3  # the sequence carries on where the old cache stopped
    with duckdb.connect(str(path), read_only=True) as con:
        recorded = con.execute("SELECT version, name FROM schema_migrations").fetchall()
        assert recorded == [(m.version, m.name) for m in CACHE_MIGRATIONS]
        assert schema_version(con, CACHE_MIGRATIONS) == CACHE_VERSION
    assert usage_summary(path=path)["total"]["calls"] == 3
