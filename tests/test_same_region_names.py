"""Two object words for one region are one finding, not two causes (issue 21, item 5).

The crop model often gives a region two names ("espresso" and "consommé" for one cup). The
second, ranked below the first, names the same (document, region) pairs: the table shows it
as the other name of that region ("consommé — region of espresso"), after the object words,
never as a second cause beside the first. An object word on regions of its own stays an
object word; a word is never its own owner and never owned by a word ranked below it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.mining import keyword_table
from core.store import StoreWriter
from core.store.results import ExplanationSource, write_rows
from core.store.runs import RunRecord, create_run
from core.store.terms import write_terms
from tests.synthetic_db import done_row

CLASSES = ("cafe", "street")


def _row(i: int, cls: str):
    if cls == "cafe":
        # region 1: the cup, named espresso in every photo and consommé in 8 of 12; region 2:
        # a spoon of its own (another object, other regions)
        tokens = ["espresso", "red", "spoon"]
        kinds = ["object", "colour", "object"]
        regions = {"espresso": ([1], True), "red": ([1], True), "spoon": ([2], True)}
        if i < 8:
            tokens.append("consomme")
            kinds.append("object")
            regions["consomme"] = ([1], True)
    else:
        tokens, kinds = ["car", "grey"], ["object", "colour"]
        regions = {"car": ([1], True), "grey": ([1], True)}
    return done_row(cls, i, tokens, kinds, regions)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    from core.mining import store_default_results

    path = tmp_path_factory.mktemp("names") / "names.duckdb"
    with StoreWriter(path) as w:
        run_id = create_run(w.con, RunRecord("images", "/p", lang="en"), list(CLASSES))
        rows = [_row(i, cls) for cls in CLASSES for i in range(12)]
        write_rows(w.con, run_id, rows, ExplanationSource("grounded", "blind", "en"))
        write_terms(w.con, run_id)
        store_default_results(w.con, run_id)
    return path


def test_a_second_name_of_the_same_region_is_shown_with_the_first(db):
    words = keyword_table(db).classes["cafe"]
    by_word = {k.word: k for k in words}
    assert by_word["espresso"].attribute_of is None  # the first name stands as the object
    assert by_word["consomme"].attribute_of == "espresso"  # the same pairs: its other name
    assert by_word["spoon"].attribute_of is None  # its own region: an object of its own
    assert by_word["red"].attribute_of == "espresso"
    order = [k.word for k in words]
    # object words first, then the other name, then the attribute
    assert order.index("spoon") < order.index("consomme") < order.index("red")
    assert by_word["consomme"].cell().startswith("consomme(8/8) — region of espresso")


def test_a_word_is_never_owned_by_itself_or_by_one_ranked_below(db):
    from core.store import word_owners

    with StoreWriter(db) as w:
        owners = word_owners.attribute_owners(
            w.con, 1, "true", {"cafe": ["espresso", "consomme"]}, {"cafe": ["espresso", "consomme"]}
        )
        assert ("cafe", "espresso") not in owners  # consommé ranks below it; itself never
        assert owners[("cafe", "consomme")].word == "espresso"
        swapped = word_owners.attribute_owners(
            w.con, 1, "true", {"cafe": ["consomme"]}, {"cafe": ["consomme", "espresso"]}
        )
        assert ("cafe", "consomme") not in swapped  # ranked first: it owns, it is not owned
