"""``write_rows`` replaces the rows of a batch's paths: rewritten paths lose their earlier rows
and dependants (also when a batch mixes new and rewritten paths), new paths skip the deletes,
and another run's rows of the same paths are kept."""

from __future__ import annotations

import pytest
from synthetic_db import tree_rows

from core.store import StoreWriter
from core.store.results import ExplanationSource, write_rows
from core.store.runs import RunRecord, create_run
from core.store.terms import write_terms

SOURCE = ExplanationSource("grounded", "blind", "en")
TABLES = ("images", "explanations", "tokens", "word_regions", "doc_terms")


def _counts(con, run_id: int) -> dict[str, int]:
    return {
        t: con.execute(f"SELECT count(*) FROM {t} WHERE run_id = ?", [run_id]).fetchone()[0]
        for t in TABLES
    }


@pytest.fixture
def writer(tmp_path):
    with StoreWriter(tmp_path / "t.duckdb") as w:
        yield w


def test_rewritten_paths_replace_their_rows_and_dependants(writer):
    con = writer.con
    run_id = create_run(con, RunRecord("images", "/p"), ["a"])
    other = create_run(con, RunRecord("images", "/p"), ["a"])
    write_rows(con, other, tree_rows(range(3)), SOURCE)
    write_rows(con, run_id, tree_rows(range(3)), SOURCE)
    write_terms(con, run_id)  # doc_terms rows for the run's images
    assert _counts(con, run_id)["doc_terms"] > 0
    write_rows(con, run_id, tree_rows([1, 2, 3, 4], tag=" again"), SOURCE)  # 2 rewritten, 2 new
    counts = _counts(con, run_id)
    assert counts["images"] == counts["explanations"] == 5
    assert counts["tokens"] == counts["word_regions"] == 5
    texts = dict(
        con.execute(
            "SELECT i.rel_path, e.text FROM images i JOIN explanations e USING (image_id)"
            " WHERE i.run_id = ?",
            [run_id],
        ).fetchall()
    )
    assert texts == {
        "0.jpg": "a tree 0",
        **{f"{i}.jpg": f"a tree {i} again" for i in (1, 2, 3, 4)},
    }
    orphans = con.execute(
        "SELECT count(*) FROM doc_terms WHERE image_id NOT IN (SELECT image_id FROM images)"
    ).fetchone()[0]
    assert orphans == 0
    assert _counts(con, other)["images"] == 3  # another run's rows of the same paths stay


def test_a_batch_of_new_paths_runs_no_delete(writer):
    con = writer.con
    run_id = create_run(con, RunRecord("images", "/p"), ["a"])
    write_rows(con, run_id, tree_rows(range(2)), SOURCE)
    statements = []
    real = con.execute

    class Spy:
        def __getattr__(self, name):
            return getattr(con, name)

        def execute(self, sql, *args):
            statements.append(sql)
            return real(sql, *args)

    write_rows(Spy(), run_id, tree_rows(range(2, 4)), SOURCE)
    assert not [s for s in statements if s.lstrip().upper().startswith("DELETE")]
    assert _counts(con, run_id)["images"] == 4
