"""The ``runs`` table: find a run by its identity, create one, record its labels and status;
read what a run was computed with and how far it has come."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class RunRecord:
    """The columns a run is found by (``kind``, ``source``, ``settings``) and created with."""

    kind: str
    source: str
    settings: dict[str, Any] = field(default_factory=dict)
    lang: str = "ja"
    model: str | None = None
    explainer: str | None = None
    mode: str | None = None
    method: str | None = None


def find_run(con: duckdb.DuckDBPyConnection, run: RunRecord) -> tuple[int, str] | None:
    """``(run_id, status)`` of the newest run with ``run``'s kind, source and settings."""
    rows = con.execute(
        "SELECT run_id, CAST(settings AS VARCHAR), status FROM runs "
        "WHERE kind = ? AND source = ? ORDER BY run_id DESC",
        [run.kind, run.source],
    ).fetchall()
    for run_id, stored, status in rows:
        try:
            if json.loads(stored or "null") == run.settings:
                return int(run_id), str(status)
        except ValueError:
            continue
    return None


def create_run(con: duckdb.DuckDBPyConnection, run: RunRecord, labels: Sequence[str]) -> int:
    """Insert ``run`` with status ``running``; its new ``run_id``."""
    row = con.execute(
        "INSERT INTO runs (kind, source, model, explainer, mode, method, lang, labels, settings,"
        " status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running') RETURNING run_id",
        [
            run.kind,
            run.source,
            run.model,
            run.explainer,
            run.mode,
            run.method,
            run.lang,
            json.dumps(list(labels), ensure_ascii=False),
            json.dumps(run.settings, ensure_ascii=False, sort_keys=True),
        ],
    ).fetchone()
    return int(row[0])


def set_labels(con: duckdb.DuckDBPyConnection, run_id: int, labels: Sequence[str]) -> None:
    """Record the model's classes (``runs.labels``) of run ``run_id``."""
    con.execute(
        "UPDATE runs SET labels = ? WHERE run_id = ?",
        [json.dumps(list(labels), ensure_ascii=False), run_id],
    )


def set_status(
    con: duckdb.DuckDBPyConnection, run_id: int, status: str, image_accuracy: float | None = None
) -> None:
    """Set the run's status (and its image accuracy when given); touches ``updated_at``."""
    con.execute(
        "UPDATE runs SET status = ?, updated_at = current_timestamp,"
        " image_accuracy = coalesce(?, image_accuracy) WHERE run_id = ?",
        [status, image_accuracy, run_id],
    )


class RunConfig(NamedTuple):
    """What a run was computed with; ``labels`` and ``settings`` as JSON text (or None)."""

    kind: str | None
    model: str | None
    method: str | None
    labels: str | None
    settings: str | None


def run_config(con: duckdb.DuckDBPyConnection, run_id: int) -> RunConfig | None:
    """The run's kind, model, CAM method, classes and settings (None: no such run)."""
    row = con.execute(
        "SELECT kind, model, method, CAST(labels AS VARCHAR), CAST(settings AS VARCHAR)"
        " FROM runs WHERE run_id = ?",
        [run_id],
    ).fetchone()
    return None if row is None else RunConfig(*row)


class RunProgress(NamedTuple):
    """A run's status and how many of its photos are done."""

    status: str | None
    done: int


def run_progress(con: duckdb.DuckDBPyConnection, run_id: int) -> RunProgress | None:
    """The run's status and finished photos (None: no such run)."""
    row = con.execute(
        "SELECT r.status, count(i.image_id) FILTER (WHERE i.status = 'done') FROM runs r"
        " LEFT JOIN images i USING (run_id) WHERE r.run_id = ? GROUP BY r.status",
        [run_id],
    ).fetchone()
    return None if row is None else RunProgress(*row)
