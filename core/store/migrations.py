"""Numbered schema migrations, recorded in the DB they changed (``schema_migrations``).

Each migration is a small function registered with :func:`migration` under its number; the
writer calls :func:`migrate` whenever it opens its work file, which applies the pending ones in
order, each in one transaction with its record. Readers open published snapshots read-only and
never migrate: they read an older DB as it is and ask :func:`schema_version` (or
:func:`core.store.schema.has_table`) when a newer table may be missing.

DBs written before migrations were recorded have no ``schema_migrations`` table; the
migrations whose tables they already hold are recorded as applied (they are "adopted"), then
the rest run. To change the schema, append a migration with the next number; never edit one
that has shipped.

The same mechanism serves another database file with its own list: :func:`register` adds to
any list, and :func:`migrate` and :func:`schema_version` take the list to apply (the VLM call
cache's, :data:`core.store.vlm_calls.CACHE_MIGRATIONS`, is recorded in that file's own
``schema_migrations``). Each migration runs in one :func:`core.store.writer.transaction`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.store.schema import (
    CORE_TABLES,
    MIGRATIONS_DDL,
    MIGRATIONS_TABLE,
    MINING_TABLE,
    TERM_DETAILS,
    WORD_EFFECTS,
    has_table,
)

if TYPE_CHECKING:
    import duckdb

Apply = Callable[["duckdb.DuckDBPyConnection"], None]


@dataclass(frozen=True)
class Migration:
    """One schema change: its number, name, and the tables that show it has been applied."""

    version: int
    name: str
    tables: tuple[str, ...]
    apply: Apply


MIGRATIONS: list[Migration] = []


def register(
    migrations: list[Migration], version: int, tables: tuple[str, ...] = ()
) -> Callable[[Apply], Apply]:
    """Register the decorated function as migration ``version`` of ``migrations`` (numbers
    strictly increase). ``tables`` lets a DB from before the migrations table be recognised as
    already having it."""

    def add(fn: Apply) -> Apply:
        if migrations and version <= migrations[-1].version:
            raise ValueError(f"migration {version} is not after {migrations[-1].version}")
        migrations.append(Migration(version, fn.__name__, tables, fn))
        return fn

    return add


def migration(version: int, tables: tuple[str, ...] = ()) -> Callable[[Apply], Apply]:
    """Register the decorated function as migration ``version`` of the wordcam DB."""
    return register(MIGRATIONS, version, tables)


@migration(1, tables=("runs", "images", "explanations", "tokens", "terms", "doc_terms"))
def core_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Runs, photos (or documents), explanations, tokens and the term matrix."""
    con.execute(CORE_TABLES)


@migration(2, tables=("mining",))
def mining_table(con: duckdb.DuckDBPyConnection) -> None:
    """The keyword tables the precompute job stores for the default settings."""
    con.execute(MINING_TABLE)


@migration(3, tables=("word_regions",))
def term_details(con: duckdb.DuckDBPyConnection) -> None:
    """Word kinds and the tokenizer version beside each token list; each word's regions."""
    con.execute(TERM_DETAILS)


@migration(4, tables=("word_effects", "word_effect_photos"))
def word_effects(con: duckdb.DuckDBPyConnection) -> None:
    """Verified words: each word's measured effect on the model, and its photos."""
    con.execute(WORD_EFFECTS)


# Migration 5 (issue 21): one entry per word *and test* (``test``: hide | colour | move). The
# primary keys gain ``test``, so both tables are rebuilt (DuckDB cannot change a key in
# place); old rows are kept as ``hide`` tests. ``word_effects`` also records the word's
# ``kind``, how many of its photos did not count (``skipped``: no fair control, nothing to
# change) and the BH family its q-value was computed in (``family``, ``family_size``).
# ``word_effect_photos`` keeps a photo that did not count with its ``skipped`` reason and
# NULL probabilities, so that a resumed run does not try it again.
WORD_TESTS = """
CREATE TABLE word_effects_v5 AS SELECT *, 'hide' AS test, CAST(NULL AS VARCHAR) AS kind,
    0 AS skipped, CAST(NULL AS VARCHAR) AS family, 0 AS family_size FROM word_effects;
DROP TABLE word_effects;
CREATE TABLE word_effects (
    run_id INTEGER NOT NULL,
    settings VARCHAR NOT NULL,
    class VARCHAR NOT NULL,
    word VARCHAR NOT NULL,
    test VARCHAR NOT NULL DEFAULT 'hide',
    "by" VARCHAR NOT NULL,
    kind VARCHAR,
    n INTEGER NOT NULL,
    skipped INTEGER NOT NULL DEFAULT 0,
    unlocalized INTEGER NOT NULL DEFAULT 0,
    effect DOUBLE,
    ci_low DOUBLE,
    ci_high DOUBLE,
    p_value DOUBLE NOT NULL,
    q_value DOUBLE,
    verdict VARCHAR,
    family VARCHAR,
    family_size INTEGER NOT NULL DEFAULT 0,
    fill VARCHAR NOT NULL,
    control VARCHAR NOT NULL,
    fallbacks INTEGER NOT NULL DEFAULT 0,
    mean_before DOUBLE,
    mean_hidden DOUBLE,
    mean_control DOUBLE,
    created_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (run_id, settings, class, word, test)
);
INSERT INTO word_effects BY NAME SELECT * FROM word_effects_v5;
DROP TABLE word_effects_v5;
CREATE TABLE word_effect_photos_v5 AS SELECT *, 'hide' AS test,
    CAST(NULL AS VARCHAR) AS skipped FROM word_effect_photos;
DROP TABLE word_effect_photos;
CREATE TABLE word_effect_photos (
    run_id INTEGER NOT NULL,
    settings VARCHAR NOT NULL,
    class VARCHAR NOT NULL,
    word VARCHAR NOT NULL,
    test VARCHAR NOT NULL DEFAULT 'hide',
    image_id BIGINT NOT NULL,
    regions INTEGER[] NOT NULL,
    localized BOOLEAN NOT NULL,
    p_before DOUBLE,
    p_hidden DOUBLE,
    p_control DOUBLE,
    hidden_share DOUBLE,
    control_kind VARCHAR,
    control_overlap DOUBLE,
    fallback BOOLEAN NOT NULL DEFAULT false,
    hidden_path VARCHAR,
    control_path VARCHAR,
    skipped VARCHAR,
    PRIMARY KEY (run_id, settings, class, word, test, image_id)
);
INSERT INTO word_effect_photos BY NAME SELECT * FROM word_effect_photos_v5;
DROP TABLE word_effect_photos_v5;
"""


@migration(5)
def word_tests(con: duckdb.DuckDBPyConnection) -> None:
    """Verified words per test (hide, colour, move), with kind, family and skipped photos."""
    con.execute(WORD_TESTS)


LATEST_VERSION = MIGRATIONS[-1].version


def applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    """The migrations recorded in the DB (empty when it has no ``schema_migrations``)."""
    if not has_table(con, MIGRATIONS_TABLE):
        return set()
    return {row[0] for row in con.execute(f"SELECT version FROM {MIGRATIONS_TABLE}").fetchall()}


def _present(con: duckdb.DuckDBPyConnection, migrations: list[Migration]) -> list[Migration]:
    """The leading migrations whose tables an unrecorded DB already holds."""
    present = []
    for m in migrations:
        if not m.tables or not all(has_table(con, t) for t in m.tables):
            break
        present.append(m)
    return present


def schema_version(
    con: duckdb.DuckDBPyConnection, migrations: list[Migration] | None = None
) -> int:
    """The DB's schema version: its highest recorded migration, or for a DB from before
    migrations were recorded the migrations its tables show (0 for an empty DB). Read-only.

    ``migrations``: the list the DB follows (default: the wordcam DB's, :data:`MIGRATIONS`).
    """
    applied = applied_versions(con)
    if applied:
        return max(applied)
    present = _present(con, MIGRATIONS if migrations is None else migrations)
    return present[-1].version if present else 0


def _record(con: duckdb.DuckDBPyConnection, m: Migration) -> None:
    con.execute(
        f"INSERT INTO {MIGRATIONS_TABLE} (version, name) VALUES (?, ?)", [m.version, m.name]
    )


def _adopt(con: duckdb.DuckDBPyConnection, migrations: list[Migration]) -> None:
    """Create ``schema_migrations``; record what a DB from before it already holds."""
    from core.store.writer import transaction  # the writer imports this module

    with transaction(con):
        present = _present(con, migrations)
        con.execute(MIGRATIONS_DDL)
        for m in present:
            _record(con, m)


def migrate(con: duckdb.DuckDBPyConnection, migrations: list[Migration] | None = None) -> list[int]:
    """Apply the pending migrations (each with its record, in one transaction); their numbers.

    ``migrations``: the list to apply (default: the wordcam DB's, :data:`MIGRATIONS`).
    """
    from core.store.writer import transaction  # the writer imports this module

    migrations = MIGRATIONS if migrations is None else migrations
    if not has_table(con, MIGRATIONS_TABLE):
        _adopt(con, migrations)
    applied = applied_versions(con)
    done = []
    for m in migrations:
        if m.version in applied:
            continue
        with transaction(con):
            m.apply(con)
            _record(con, m)
        done.append(m.version)
    return done
