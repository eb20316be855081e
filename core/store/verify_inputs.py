"""What verification (``core/verify``) reads of a run: its word regions and its photos' details.

Which photos name a word with stored regions (``word_regions`` joined to ``images``), and each
photo's path and explanation details (the region boxes). The run's model comes from
:func:`core.store.runs.run_config`; what verification writes is in :mod:`core.store.effects`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from core.store.schema import has_table

if TYPE_CHECKING:
    import duckdb


def region_count(con: duckdb.DuckDBPyConnection, run_id: int) -> int:
    """How many ``word_regions`` rows the run has (0 for a DB from before the table)."""
    if not has_table(con, "word_regions"):
        return 0
    return int(
        con.execute("SELECT count(*) FROM word_regions WHERE run_id = ?", [run_id]).fetchone()[0]
    )


class RegionRow(NamedTuple):
    """A finished photo whose explanation has the word, the photo's label and the regions."""

    label: str
    image_id: int
    regions: list[int]
    localized: bool


def word_photos(con: duckdb.DuckDBPyConnection, run_id: int, by: str, word: str) -> list[RegionRow]:
    """The finished, labelled photos whose explanation has ``word`` with at least one stored
    region, by image id; ``label`` is the true label (``by == "true"``) or the predicted one."""
    label = "i.true_label" if by == "true" else "i.pred_label"
    rows = con.execute(
        f"SELECT {label}, w.image_id, w.regions, w.localized FROM word_regions w"
        " JOIN images i ON i.image_id = w.image_id AND i.run_id = w.run_id"
        f" WHERE w.run_id = ? AND w.term = ? AND i.status = 'done' AND {label} IS NOT NULL"
        " AND len(w.regions) > 0 ORDER BY w.image_id",
        [run_id, word],
    ).fetchall()
    return [RegionRow(*row) for row in rows]


def words_with_regions(
    con: duckdb.DuckDBPyConnection, run_id: int, words: Sequence[str]
) -> set[str]:
    """Those of ``words`` that some explanation of the run has regions for."""
    rows = con.execute(
        "SELECT DISTINCT term FROM word_regions WHERE run_id = ? AND term IN (SELECT unnest(?))",
        [run_id, list(words)],
    ).fetchall()
    return {r[0] for r in rows}


class PhotoDetails(NamedTuple):
    """A photo's path and its explanation's details as JSON text (None without one)."""

    image_id: int
    path: str
    details: str | None


def photo_details(
    con: duckdb.DuckDBPyConnection, run_id: int, image_ids: Sequence[int]
) -> list[PhotoDetails]:
    """The path and explanation details of the given photos of the run."""
    if not image_ids:
        return []
    rows = con.execute(
        "SELECT i.image_id, i.path, CAST(e.details AS VARCHAR) FROM images i"
        " LEFT JOIN explanations e ON e.image_id = i.image_id"
        " WHERE i.run_id = ? AND i.image_id IN (SELECT unnest(?))",
        [run_id, list(image_ids)],
    ).fetchall()
    return [PhotoDetails(*row) for row in rows]
