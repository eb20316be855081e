"""The ``runs`` table: find a run by its identity, create one, record its labels and status."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

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
