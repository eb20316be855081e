"""Issue 13 in AppTest: the Japanese UI, shareable URLs, photo orders, the prefilled Precompute
page, two runs side by side, the Report page, and the miner's faster fit (same table)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402
from synthetic_db import make_db  # noqa: E402

from core.store import queries, reading  # noqa: E402

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = make_db(tmp_path_factory.mktemp("features") / "f.duckdb", n_images=400)
    make_db(path, n_images=300, seed=1, mode="informed")  # a second run (run 2)
    return path


def _app(db: Path, monkeypatch, **params: str) -> AppTest:
    monkeypatch.setenv("WORDCAM_DB", str(db))
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.query_params.update(params)
    return at


def test_a_japanese_run_opens_in_japanese_and_lang_en_switches(db, monkeypatch):
    at = _app(db, monkeypatch).run()
    assert not at.exception
    assert at.title[0].value == "概要"
    assert any(m.label == "画像モデル(予測 = 正解)" for m in at.metric)
    at.switch_page("views/keywords.py").run()
    assert at.title[0].value == "キーワード"
    assert at.multiselect(key="w_kw_wards").label == "区"
    english = _app(db, monkeypatch, lang="en").run()
    assert english.title[0].value == "Overview"
    english.switch_page("views/keywords.py").run()
    assert english.title[0].value == "Keywords"  # the choice sticks across pages
    # the sidebar switch changes it back and writes it into the URL
    english.sidebar.segmented_control(key="w_ui_lang").set_value("ja").run()
    assert english.title[0].value == "キーワード"
    assert english.query_params["lang"] == ["ja"] or english.query_params["lang"] == "ja"


def test_keywords_filters_are_restored_from_the_url(db, monkeypatch):
    at = _app(db, monkeypatch, lang="en", ward=["台東区", "港区"], top="5", run="1")
    at.query_params["ward"] = ["台東区", "港区"]
    at.switch_page("views/keywords.py").run()
    assert not at.exception
    assert at.multiselect(key="w_kw_wards").value == ["台東区", "港区"]
    assert at.slider(key="w_kw_top").value == 5
    assert at.dataframe[0].value.columns.tolist() == ["台東区", "港区"]
    assert len(at.dataframe[0].value) == 5
    # and the page writes what the user changes back into the URL
    at.multiselect(key="w_kw_wards").set_value(["墨田区"]).run()
    assert at.query_params["ward"] in (["墨田区"], "墨田区")


def test_compare_filters_are_restored_from_the_url(db, monkeypatch):
    at = _app(db, monkeypatch, lang="en", a="港区", b="中央区", top="4")
    at.query_params["word"] = ["橋", "緑"]
    at.switch_page("views/compare.py").run()
    assert not at.exception
    assert at.multiselect(key="w_cmp_words").value == ["橋", "緑"]
    assert at.selectbox(key="w_cmp_a").value == "港区"
    assert at.selectbox(key="w_cmp_b").value == "中央区"
    assert at.number_input(key="w_cmp_top").value == 4


def test_keyword_opens_the_most_confident_photos_of_the_ward(db, monkeypatch):
    at = _app(db, monkeypatch, lang="en", run="1")
    at.switch_page("views/keywords.py").run()
    at.multiselect(key="w_kw_wards").set_value(["台東区"]).run()
    word = at.selectbox(key="kw_pick").value.split("  ·  ")[0]
    at.button(key="kw_show").click().run()
    assert at.title[0].value == "Photos"
    assert at.selectbox(key="w_ph_order").value == "confidence"
    with reading(db) as con:
        f = queries.PhotoFilter(word=word, labels=("台東区",))
        expected = queries.ordered_photos(con, 1, f, "confidence", limit=12)
    shown = [m.value for m in at.markdown if m.value.startswith("**0")]
    assert [s.split("**")[1].replace("\\", "") for s in shown] == [
        Path(p).name for p in expected["rel_path"]
    ]
    assert expected["score"].is_monotonic_decreasing


def test_photo_orders_mistakes_and_a_seeded_sample(db):
    with reading(db) as con:
        f = queries.PhotoFilter(labels=("港区",))
        mistakes = queries.ordered_photos(con, 1, f, "mistakes", limit=50)
        assert len(mistakes) == queries.count_ordered_photos(con, 1, f, "mistakes") > 0
        assert (mistakes["pred_label"] == "港区").all()
        assert (mistakes["true_label"] != "港区").all()
        assert mistakes["pred_prob"].is_monotonic_decreasing
        a = queries.ordered_photos(con, 1, f, "random", seed=7, limit=10)["image_id"].tolist()
        b = queries.ordered_photos(con, 1, f, "random", seed=7, limit=10)["image_id"].tolist()
        c = queries.ordered_photos(con, 1, f, "random", seed=8, limit=10)["image_id"].tolist()
        assert a == b != c
        for text in ("密集", "ALERT", "0001"):  # uncased text is matched without lower()
            found = queries.PhotoFilter(search=text)
            assert queries.count_ordered_photos(con, 1, found) == queries.count_photos(
                con, 1, found
            )
        confident = queries.ordered_photos(con, 1, f, "confidence", limit=400)
        probs = con.execute(
            "SELECT image_id, probs[list_position(CAST(r.labels AS VARCHAR[]), '港区')] "
            "FROM images i JOIN runs r USING (run_id) WHERE i.run_id = 1"
        ).fetchall()
        ward_prob = dict(probs)
        assert np.allclose(confident["score"], [ward_prob[i] for i in confident["image_id"]])


def test_precompute_is_filled_in_from_the_open_run(db, monkeypatch):
    at = _app(db, monkeypatch, lang="en", run="1")
    at.switch_page("views/precompute.py").run()
    assert not at.exception
    assert at.text_input(key="pc_folder").value == "/photos"
    assert at.text_input(key="pc_model").value == "synthetic-wards"
    assert at.selectbox(key="pc_mode").value == "blind"
    assert at.button(key="pc_start").label == "Resume this run"
    at.selectbox(key="pc_mode").set_value("informed").run()
    assert at.button(key="pc_start").label == "Start a new run"
    runs = at.dataframe[0].value
    assert runs["Run"].tolist() == [2, 1] and set(runs["status"]) == {"done"}
    # another run picked in the sidebar fills the form in with its settings
    at.sidebar.selectbox(key="w_run_id").set_value(2).run()
    assert at.selectbox(key="pc_mode").value == "informed"


def test_two_runs_side_by_side_on_keywords(db, monkeypatch):
    at = _app(db, monkeypatch, lang="en", run="2", vs="1")
    at.query_params["ward"] = ["港区"]
    at.switch_page("views/keywords.py").run()
    assert not at.exception
    table = at.dataframe[-1].value
    assert table.columns.tolist() == ["港区 · #2", "港区 · #1"]
    assert all("/" in cell for cell in table.iloc[:3, 0])


def test_report_page_offers_the_html(db, monkeypatch):
    at = _app(db, monkeypatch, run="1")
    at.switch_page("views/report.py").run()
    assert not at.exception
    assert at.title[0].value == "レポート"
    keys = {b.key for b in at.get("download_button")}
    assert {"rp_html", "rp_md", "rp_csv"} <= keys


def test_distinct_rows_fit_gives_the_same_table(tmp_path, monkeypatch):
    from core.mining import fit as fitting
    from core.mining import load_corpus, mine

    corpus = load_corpus(make_db(tmp_path / "fit.duckdb", n_images=3000))
    mat = fitting.document_matrix(corpus, 2, ())
    X, y, counts = fitting.distinct_rows(mat.X, mat.y)
    assert len(y) < len(mat.y) and counts.sum() == len(mat.y)  # repeats were folded
    monkeypatch.setattr(fitting, "FOLD_REPEATS_BELOW", 1.0)  # fold them however few
    fast = mine(corpus, top=20, cv=0)
    monkeypatch.setattr(
        fitting, "distinct_rows", lambda X, y: (X, y, np.ones(len(y)))
    )  # every row as it is: the plain fit
    plain = mine(corpus, top=20, cv=0)
    assert fast.table_rows() == plain.table_rows()
    for ward, words in fast.classes.items():
        expected = [w.weight for w in plain.classes[ward]]
        assert [w.weight for w in words] == pytest.approx(expected, abs=5e-5)  # solver tol 1e-4


def test_distinct_rows_never_merges_different_rows():
    import scipy.sparse as sp

    from core.mining.fit import distinct_rows

    X = sp.csr_matrix(np.array([[1, 0, 1], [1, 0, 1], [0, 1, 1], [1, 0, 1]], dtype=float))
    y = np.array([0, 0, 0, 1])
    Xu, yu, counts = distinct_rows(X, y)
    rows = sorted(zip(map(tuple, Xu.toarray()), yu, counts, strict=True))
    assert rows == [((0, 1, 1), 0, 1.0), ((1, 0, 1), 0, 2.0), ((1, 0, 1), 1, 1.0)]
