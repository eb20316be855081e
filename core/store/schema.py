"""The tables of a wordcam DB, as DDL, and a look into a DB's catalog.

One DB may hold several runs; readers default to the latest. ``docs/schema.md`` explains every
column; in short:

runs          run_id, created_at, updated_at, kind ('images'|'texts'), source, model,
              explainer, mode ('blind'|'informed'), method, lang, labels (JSON list of the
              model's classes), settings (JSON), status ('running'|'done'|'interrupted'|'failed'),
              image_accuracy (DOUBLE, NULL until known)
images        image_id, run_id, path, rel_path, sha256, true_label, pred_label, pred_prob,
              topk (JSON [{"label","prob"}]), probs (FLOAT[] in the model's label order),
              overlay_path, panel_path, marks_path, thumb_path, status ('done'|'failed'),
              error, updated_at.  One row per (run_id, path).  For a text corpus ``path`` is
              the document id and the image columns are NULL.
explanations  image_id, run_id, explainer, mode, lang, text, error, details (JSON), created_at
tokens        image_id, run_id, tokens (VARCHAR[]; content words, in order, each text tokenized once)
terms         run_id, term_id, term, df (documents containing the term)
doc_terms     run_id, image_id, term_id: the presence (bag-of-words) term matrix, one row per
              (document, term) pair
mining        run_id, settings (canonical JSON of the miner's settings), corpus_key (fingerprint
              of the documents, labels and tokens fit on), result (the keyword table as JSON),
              created_at: keyword tables fit by the precompute job, so that ``wordcam mine`` and
              the dashboard answer default settings without refitting
word_regions, word_effects, word_effect_photos  see the comments of migrations 3 and 4 below
schema_migrations  version, name, applied_at: the migrations this DB has had (see
              :mod:`core.store.migrations`)

The DDL of a table is written once, in the migration that created it; a later change is a new
migration, never an edit here. The first two use ``IF NOT EXISTS`` because DBs written before
migrations were recorded may hold their tables already.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

#: Migration 1: the tables of the first wordcam DBs.
CORE_TABLES = """
CREATE SEQUENCE IF NOT EXISTS run_id_seq START 1;
CREATE SEQUENCE IF NOT EXISTS image_id_seq START 1;
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY DEFAULT nextval('run_id_seq'),
    created_at TIMESTAMP DEFAULT current_timestamp,
    updated_at TIMESTAMP DEFAULT current_timestamp,
    kind VARCHAR NOT NULL DEFAULT 'images',
    source VARCHAR,
    model VARCHAR,
    explainer VARCHAR,
    mode VARCHAR,
    method VARCHAR,
    lang VARCHAR,
    labels JSON,
    settings JSON,
    status VARCHAR DEFAULT 'running',
    image_accuracy DOUBLE
);
CREATE TABLE IF NOT EXISTS images (
    image_id BIGINT PRIMARY KEY DEFAULT nextval('image_id_seq'),
    run_id INTEGER NOT NULL,
    path VARCHAR NOT NULL,
    rel_path VARCHAR,
    sha256 VARCHAR,
    true_label VARCHAR,
    pred_label VARCHAR,
    pred_prob DOUBLE,
    topk JSON,
    probs FLOAT[],
    overlay_path VARCHAR,
    panel_path VARCHAR,
    marks_path VARCHAR,
    thumb_path VARCHAR,
    status VARCHAR NOT NULL,
    error VARCHAR,
    updated_at TIMESTAMP DEFAULT current_timestamp,
    UNIQUE (run_id, path)
);
CREATE TABLE IF NOT EXISTS explanations (
    image_id BIGINT PRIMARY KEY,
    run_id INTEGER NOT NULL,
    explainer VARCHAR,
    mode VARCHAR,
    lang VARCHAR,
    text VARCHAR,
    error VARCHAR,
    details JSON,
    created_at TIMESTAMP DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS tokens (
    image_id BIGINT PRIMARY KEY,
    run_id INTEGER NOT NULL,
    tokens VARCHAR[]
);
CREATE TABLE IF NOT EXISTS terms (
    run_id INTEGER NOT NULL,
    term_id INTEGER NOT NULL,
    term VARCHAR NOT NULL,
    df INTEGER NOT NULL,
    PRIMARY KEY (run_id, term_id)
);
CREATE TABLE IF NOT EXISTS doc_terms (
    run_id INTEGER NOT NULL,
    image_id BIGINT NOT NULL,
    term_id INTEGER NOT NULL
);
"""

#: Migration 2: the stored keyword tables.
MINING_TABLE = """
CREATE TABLE IF NOT EXISTS mining (
    run_id INTEGER NOT NULL,
    settings VARCHAR NOT NULL,
    corpus_key VARCHAR NOT NULL,
    result JSON NOT NULL,
    created_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (run_id, settings)
);
"""

#: The record of applied migrations (created before any migration runs).
# Migration 3: what each stored word is and where it was said.
# ``tokens.kinds`` runs parallel to ``tokens.tokens`` (one kind per token: 'object', 'colour',
# 'position' or 'other'; NULL for rows written before it); ``tokens.tokenizer`` is the
# tokenizer version that produced the row, so a job can re-tokenize older rows without
# re-explaining. ``word_regions``: for each document and term, the heat regions (1-based
# ``Region.index`` values, as in ``explanations.details``) the word was said about;
# ``localized`` is false when the explainer did not say which region (free text): then
# ``regions`` lists every described region.
TERM_DETAILS = """
ALTER TABLE tokens ADD COLUMN kinds VARCHAR[];
ALTER TABLE tokens ADD COLUMN tokenizer VARCHAR;
CREATE TABLE word_regions (
    run_id INTEGER NOT NULL,
    image_id BIGINT NOT NULL,
    term VARCHAR NOT NULL,
    regions INTEGER[] NOT NULL,
    localized BOOLEAN NOT NULL,
    PRIMARY KEY (run_id, image_id, term)
);
"""

# Migration 4: verified words (``wordcam verify``, :mod:`core.verify`). ``word_effects``: per
# run, verification settings (canonical JSON, ``settings``), class and word, the measured
# effect of hiding the word's regions on the model's probability for the class: n photos,
# ``unlocalized`` of them with free-text regions, effect = mean drop (hidden) - mean drop
# (control) with its bootstrap 95% interval, the one-sided bootstrap p-value and its
# Benjamini-Hochberg q-value over every word verified with those settings, the verdict
# ('causal' | 'no effect shown'), the fill and control used and how many photos needed the
# control fallback. ``word_effect_photos``: one row per photo and word (the probabilities
# before, hidden and control; the hidden area's share of the view; how the control was
# placed ('shifted' | 'reshaped' | 'fallback') and its overlap with the hidden area; the two
# pictures written to the asset folder).
WORD_EFFECTS = """
CREATE TABLE word_effects (
    run_id INTEGER NOT NULL,
    settings VARCHAR NOT NULL,
    class VARCHAR NOT NULL,
    word VARCHAR NOT NULL,
    "by" VARCHAR NOT NULL,
    n INTEGER NOT NULL,
    unlocalized INTEGER NOT NULL DEFAULT 0,
    effect DOUBLE,
    ci_low DOUBLE,
    ci_high DOUBLE,
    p_value DOUBLE NOT NULL,
    q_value DOUBLE,
    verdict VARCHAR,
    fill VARCHAR NOT NULL,
    control VARCHAR NOT NULL,
    fallbacks INTEGER NOT NULL DEFAULT 0,
    mean_before DOUBLE,
    mean_hidden DOUBLE,
    mean_control DOUBLE,
    created_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (run_id, settings, class, word)
);
CREATE TABLE word_effect_photos (
    run_id INTEGER NOT NULL,
    settings VARCHAR NOT NULL,
    class VARCHAR NOT NULL,
    word VARCHAR NOT NULL,
    image_id BIGINT NOT NULL,
    regions INTEGER[] NOT NULL,
    localized BOOLEAN NOT NULL,
    p_before DOUBLE NOT NULL,
    p_hidden DOUBLE NOT NULL,
    p_control DOUBLE NOT NULL,
    hidden_share DOUBLE NOT NULL,
    control_kind VARCHAR NOT NULL,
    control_overlap DOUBLE NOT NULL,
    fallback BOOLEAN NOT NULL,
    hidden_path VARCHAR,
    control_path VARCHAR,
    PRIMARY KEY (run_id, settings, class, word, image_id)
);
"""

MIGRATIONS_TABLE = "schema_migrations"
MIGRATIONS_DDL = f"""
CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);
"""

#: The data tables as the latest migration leaves them (for reading; the writer migrates).
SCHEMA = CORE_TABLES + MINING_TABLE


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the connection's current database (a file or an attached snapshot) has ``name``."""
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
        " AND schema_name = current_schema() AND table_name = ?",
        [name],
    ).fetchone()
    return bool(row and row[0])


def has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    """Whether ``table`` of the connection's current database has ``column`` (an older DB,
    read as it is, may lack a column a later migration added)."""
    row = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database()"
        " AND schema_name = current_schema() AND table_name = ? AND column_name = ?",
        [table, column],
    ).fetchone()
    return bool(row and row[0])
