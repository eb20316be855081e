"""The VLM call cache's database (``vlm_cache.duckdb``): its schema and every statement on it.

A separate DuckDB file in the user's cache dir (:mod:`core.explainers.vlm_cache` keeps the
caching logic: keys, locking, what to store). Its schema follows numbered migrations
(:data:`CACHE_MIGRATIONS`, the mechanism of :mod:`core.store.migrations`), recorded in the
file's own ``schema_migrations``: :func:`open_cache` applies the pending ones, so a cache made
before they were recorded (its ``vlm_calls`` table is migration 1) is adopted and upgraded in
place. Readers (:func:`read_cache`, :func:`usage_by_model`) read a cache as it is. Both
connections are offline (:mod:`core.store.connect`), as the DB's are.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from core.store.connect import connect
from core.store.migrations import Migration, migrate, register

if TYPE_CHECKING:
    import duckdb

#: Migration 1: the call log, as the cache held it before its migrations were recorded.
CALLS_DDL = """
CREATE SEQUENCE IF NOT EXISTS vlm_call_id_seq START 1;
CREATE TABLE IF NOT EXISTS vlm_calls (
    call_id BIGINT PRIMARY KEY DEFAULT nextval('vlm_call_id_seq'),
    cache_key VARCHAR NOT NULL,
    created_at TIMESTAMP DEFAULT current_timestamp,
    model VARCHAR,
    base_url VARCHAR,
    prompt VARCHAR,
    params JSON,
    image_hashes JSON,
    request_key VARCHAR,
    status VARCHAR,
    error VARCHAR,
    response VARCHAR,
    text VARCHAR,
    details JSON,
    finish_reason VARCHAR,
    prompt_tokens BIGINT,
    completion_tokens BIGINT,
    total_tokens BIGINT,
    latency_s DOUBLE,
    attempts INTEGER,
    cost_usd DOUBLE
);
CREATE INDEX IF NOT EXISTS vlm_calls_key ON vlm_calls (cache_key);
"""

#: The columns a call is recorded with (``call_id`` and ``created_at`` are filled in).
CALL_COLUMNS = (
    "cache_key", "model", "base_url", "prompt", "params", "image_hashes", "request_key",
    "status", "error", "response", "text", "details", "finish_reason", "prompt_tokens",
    "completion_tokens", "total_tokens", "latency_s", "attempts", "cost_usd",
)  # fmt: skip
JSON_COLUMNS = frozenset({"params", "image_hashes", "details"})

CACHE_MIGRATIONS: list[Migration] = []


@register(CACHE_MIGRATIONS, 1, tables=("vlm_calls",))
def vlm_calls(con: duckdb.DuckDBPyConnection) -> None:
    """The call log: one row per call, the ``ok`` ones serving as cached answers."""
    con.execute(CALLS_DDL)


CACHE_VERSION = CACHE_MIGRATIONS[-1].version


def open_cache(path: str | Path) -> duckdb.DuckDBPyConnection:
    """Open (and create) the cache file for writing, its pending migrations applied.

    Offline like every store connection (:func:`core.store.connect.connect`: no extension
    downloaded or loaded; a file that is not DuckDB's refused with ``duckdb.Error``).
    """
    con = connect(path)
    try:
        migrate(con, CACHE_MIGRATIONS)
    except BaseException:
        con.close()
        raise
    return con


def read_cache(path: str | Path) -> duckdb.DuckDBPyConnection:
    """The cache file read-only, as it is (no migration), offline like :func:`open_cache`."""
    return connect(path, read_only=True)


class Answer(NamedTuple):
    """The stored answer of a call: its text and its details as JSON text (either may be None)."""

    text: str | None
    details: str | None


def latest_answer(con: duckdb.DuckDBPyConnection, key: str) -> Answer | None:
    """The latest successful answer stored under ``key``, if any."""
    row = con.execute(
        "SELECT text, details FROM vlm_calls WHERE cache_key = ? AND status = 'ok' "
        "ORDER BY call_id DESC LIMIT 1",
        [key],
    ).fetchone()
    return None if row is None else Answer(*row)


def record_call(con: duckdb.DuckDBPyConnection, entry: dict[str, Any]) -> None:
    """Append one call (``entry``'s keys among :data:`CALL_COLUMNS`; others are ignored)."""
    columns = [c for c in CALL_COLUMNS if c in entry]
    values = [
        json.dumps(entry[c], ensure_ascii=False) if c in JSON_COLUMNS else entry[c] for c in columns
    ]
    con.execute(
        f"INSERT INTO vlm_calls ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
        values,
    )


class ModelUsage(NamedTuple):
    """One model's totals in the call log."""

    model: str | None
    calls: int
    ok: int
    failed: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    unpriced_calls: int
    first_call: Any  # datetime
    last_call: Any  # datetime


_USAGE = """
SELECT model, count(*) AS calls,
       count(*) FILTER (WHERE status = 'ok') AS ok,
       count(*) FILTER (WHERE status <> 'ok') AS failed,
       coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
       coalesce(sum(completion_tokens), 0) AS completion_tokens,
       sum(cost_usd) AS cost_usd,
       count(*) FILTER (WHERE cost_usd IS NULL AND total_tokens > 0) AS unpriced_calls,
       min(created_at) AS first_call, max(created_at) AS last_call
FROM vlm_calls {where}
GROUP BY model ORDER BY cost_usd DESC NULLS LAST, calls DESC, model
"""


def usage_by_model(
    con: duckdb.DuckDBPyConnection, since_days: float | None = None
) -> list[ModelUsage]:
    """Totals per model (costliest first), of the calls of the last ``since_days`` days or all."""
    where, params = "", []
    if since_days is not None:
        where = "WHERE created_at >= current_timestamp::TIMESTAMP - to_seconds(?)"
        params = [float(since_days) * 86400.0]
    rows = con.execute(_USAGE.format(where=where), params).fetchall()
    return [ModelUsage(*row) for row in rows]
