"""The one transaction helper (``core.store.writer.transaction``): all of a block, or nothing."""

from __future__ import annotations

import pytest
from synthetic_db import tree_rows

from core.store import StoreWriter
from core.store import results as store_results
from core.store.results import ExplanationSource, write_rows
from core.store.runs import RunRecord, create_run
from core.store.terms import write_terms
from core.store.writer import transaction

SOURCE = ExplanationSource("grounded", "blind", "en")


def _count(con, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def writer(tmp_path):
    with StoreWriter(tmp_path / "t.duckdb") as w:
        yield w


def test_the_block_commits(writer):
    with writer.transaction() as con:
        assert con is writer.con
        create_run(writer.con, RunRecord("images", "/p"), ["a"])
    assert _count(writer.con, "runs") == 1


def test_an_exception_rolls_back_every_statement_and_is_re_raised(writer):
    with pytest.raises(ValueError, match="injected"), writer.transaction():
        create_run(writer.con, RunRecord("images", "/p"), ["a"])
        create_run(writer.con, RunRecord("images", "/q"), ["a"])
        raise ValueError("injected")
    assert _count(writer.con, "runs") == 0
    with writer.transaction():  # the connection is usable again, and a new run id is taken
        create_run(writer.con, RunRecord("images", "/p"), ["a"])
    assert _count(writer.con, "runs") == 1


def test_a_batch_that_fails_half_way_leaves_no_partial_rows(writer, monkeypatch):
    con = writer.con
    run_id = create_run(con, RunRecord("images", "/p"), ["a"])
    write_rows(con, run_id, tree_rows(range(2)), SOURCE)
    before = {t: _count(con, t) for t in ("images", "explanations", "tokens", "word_regions")}

    def broken(*args, **kwargs):  # images and explanations are written by then
        raise OSError("injected: disk gone")

    monkeypatch.setattr(store_results, "insert_tokens", broken)
    with pytest.raises(OSError, match="injected"):
        write_rows(con, run_id, tree_rows(range(4)), SOURCE)
    after = {t: _count(con, t) for t in before}
    assert after == before == {"images": 2, "explanations": 2, "tokens": 2, "word_regions": 2}


def test_a_failing_commit_is_rolled_back(writer):
    con = writer.con
    con.execute("CREATE TABLE u (x INTEGER PRIMARY KEY)")
    con.execute("INSERT INTO u VALUES (1)")
    with pytest.raises(Exception, match="[Dd]uplicate|[Cc]onstraint"), transaction(con):
        con.execute("INSERT INTO u VALUES (2)")
        con.execute("INSERT INTO u VALUES (1)")
    assert con.execute("SELECT x FROM u").fetchall() == [(1,)]


def test_a_nested_block_joins_the_outer_transaction(writer):
    con = writer.con
    run_id = create_run(con, RunRecord("images", "/p"), ["a"])
    write_rows(con, run_id, tree_rows(range(3)), SOURCE)
    with pytest.raises(ValueError), transaction(con):
        assert write_terms(con, run_id)["terms"] > 0  # its own block joins this one
        raise ValueError("outer fails after the inner block")
    assert _count(con, "terms") == 0  # rolled back with the outer block
    with transaction(con):
        write_terms(con, run_id)
    assert _count(con, "terms") == 4  # tree, w0, w1, w2


def test_ctrl_c_during_a_statement_is_a_keyboard_interrupt(writer):
    with pytest.raises(KeyboardInterrupt), writer.transaction():
        create_run(writer.con, RunRecord("images", "/p"), ["a"])
        raise RuntimeError("Query interrupted")
    assert _count(writer.con, "runs") == 0
