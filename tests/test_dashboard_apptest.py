"""The dashboard's pages driven headlessly with Streamlit's AppTest (no browser), and core.store.queries."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("streamlit")
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402
from synthetic_db import HOSTILE_CLASS, HOSTILE_TEXT, make_db  # noqa: E402

from core.store import (
    queries,  # noqa: E402
    reading,  # noqa: E402
)
from dashboard.text import escape_markdown, highlight_markdown  # noqa: E402

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
VIEWS = ["overview", "keywords", "compare", "photos", "precompute", "report", "export"]
BOM = b"\xef\xbb\xbf"


def _english(at: AppTest) -> AppTest:
    """The English UI (``?lang=en``): these tests check the English labels."""
    at.query_params["lang"] = "en"
    return at


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    return make_db(tmp_path_factory.mktemp("dash") / "w.duckdb", n_images=400, hostile=True)


@pytest.fixture()
def app(hostile_db, monkeypatch):
    monkeypatch.setenv("WORDCAM_DB", str(hostile_db))
    return _english(AppTest.from_file(str(APP), default_timeout=90))


def _open(at: AppTest, view: str) -> AppTest:
    at.run()
    if view != "overview":
        at.switch_page(f"views/{view}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _wait_for_fit(at: AppTest, timeout: float = 60.0) -> None:
    """Wait for the background fits, then rerun: the page shows the new table."""
    import time

    from dashboard.background import background_busy

    deadline = time.time() + timeout
    while background_busy() and time.time() < deadline:
        time.sleep(0.1)
    at.run()


def _all_markdown(at: AppTest) -> list:
    return list(at.markdown) + list(at.caption)


@pytest.mark.parametrize("view", VIEWS)
def test_every_page_renders(app, view):
    at = _open(app, view)
    assert at.title[0].value
    for element in _all_markdown(at):
        assert not element.proto.allow_html


def test_missing_db_shows_the_command_to_run(tmp_path, monkeypatch):
    missing = tmp_path / "none.duckdb"
    monkeypatch.setenv("WORDCAM_DB", str(missing))
    at = _english(AppTest.from_file(str(APP), default_timeout=60)).run()
    assert not at.exception
    assert "No wordcam results" in at.info[0].value
    assert f"wordcam precompute DATA_DIR --db {missing}" in at.code[0].value
    at.switch_page("views/keywords.py").run()
    assert not at.exception and at.info
    at.switch_page("views/precompute.py").run()  # works without a DB: it creates one
    assert not at.exception and at.title[0].value == "Precompute"


def test_ward_filter_changes_the_keyword_table(app, hostile_db):
    at = _open(app, "keywords")
    wards = at.multiselect(key="w_kw_wards").options
    assert len(wards) == 9
    at.multiselect(key="w_kw_wards").set_value(["台東区"]).run()
    table = at.dataframe[0].value
    assert table.columns.tolist() == ["台東区"]
    first = table.iloc[0, 0]
    assert first.endswith(")") and "/" in first  # word(n/m)
    at.multiselect(key="w_kw_wards").set_value(["港区", "新宿区"]).run()
    table = at.dataframe[0].value
    assert table.columns.tolist() == ["港区", "新宿区"]
    assert len(table) == 10
    at.slider(key="w_kw_top").set_value(5).run()
    assert len(at.dataframe[0].value) == 5


def test_keyword_table_matches_the_miner(app, hostile_db):
    from core.mining import keyword_table

    expected = keyword_table(hostile_db).table_rows()  # the one table service's layout
    at = _open(app, "keywords")
    at.multiselect(key="w_kw_wards").set_value(["墨田区"]).run()
    shown = at.dataframe[0].value["墨田区"].tolist()
    assert shown == [row["墨田区"] for row in expected]


def test_keywords_read_the_stored_table_and_refit_other_settings(app, hostile_db):
    from core.mining import MiningSettings, keyword_table, load_corpus, mine

    corpus = load_corpus(hostile_db)
    at = _open(app, "keywords")  # default settings: the table the precompute job stored
    accuracy = next(m for m in at.metric if m.label == "Words → label accuracy")
    assert accuracy.value == f"{mine(corpus, top=1).text_accuracy:.1%}"  # no "computing…"
    at.multiselect(key="w_kw_wards").set_value(["墨田区"]).run()
    at.number_input(key="w_kw_min_df").set_value(40).run()  # no stored table: fit
    _wait_for_fit(at)  # the previous table answers at once; the new one replaces it when fit
    shown = at.dataframe[0].value["墨田区"].tolist()
    expected = keyword_table(hostile_db, settings=MiningSettings(min_df=40)).table_rows()
    assert shown == [row["墨田区"] for row in expected]
    assert shown != [row["墨田区"] for row in keyword_table(hostile_db).table_rows()]


def test_keywords_mine_only_the_chosen_kinds_of_word(tmp_path, monkeypatch):
    import duckdb

    from core.mining import load_corpus, mine

    old = make_db(tmp_path / "old.duckdb", n_images=300)
    monkeypatch.setenv("WORDCAM_DB", str(old))
    at = _open(_english(AppTest.from_file(str(APP), default_timeout=90)), "keywords")
    assert any("stores no word kinds" in c.value for c in at.caption)  # a run from before kinds

    db = make_db(tmp_path / "kinds.duckdb", n_images=300)
    objects = ["皇居", "百貨店", "東京タワー", "ネオン", "提灯", "スカイツリー", "橋", "川"]
    con = duckdb.connect(str(db))
    con.execute(
        "UPDATE tokens SET kinds = list_transform(tokens, lambda t:"
        " CASE WHEN list_contains(?, t) THEN 'object' ELSE 'other' END)",
        [objects],
    )
    con.close()
    monkeypatch.setenv("WORDCAM_DB", str(db))
    at = _open(_english(AppTest.from_file(str(APP), default_timeout=90)), "keywords")
    assert at.multiselect(key="w_kw_kinds").options == ["objects", "other words"]
    at.multiselect(key="w_kw_wards").set_value(["墨田区"]).run()
    at.multiselect(key="w_kw_kinds").set_value(["objects"]).run()  # (AppTest takes labels)
    assert at.session_state["kw_kinds"] == ["object"] and at.query_params["kind"] == "object"
    _wait_for_fit(at)
    # AppTest sends a multiselect's value back as raw options, which a format_func'd widget
    # drops on the next run (a browser sends labels); set it again to read the fitted table.
    at.multiselect(key="w_kw_kinds").set_value(["objects"]).run()
    shown = [w for w in at.dataframe[0].value["墨田区"].tolist() if w]
    expected = mine(load_corpus(db, kinds=("object",)), top=10, cv=0).table_rows()
    assert shown == [row["墨田区"] for row in expected if row["墨田区"]]
    assert all(cell.split("(")[0] in objects for cell in shown)


def test_overview_and_keywords_show_the_same_image_accuracy(tmp_path, monkeypatch):
    """One definition (core.store.metrics): the run's model classes narrow what is scored."""
    import duckdb

    from core.store.metrics import image_accuracy

    db = make_db(tmp_path / "acc.duckdb", n_images=120, failed_share=0.05)
    con = duckdb.connect(str(db))
    classes = json.loads(con.execute("SELECT labels FROM runs").fetchone()[0])
    # A model that knows only some of the folders: photos of the others are not scored.
    con.execute("UPDATE runs SET labels = ?", [json.dumps(classes[:5], ensure_ascii=False)])
    con.close()
    with reading(db) as con:
        accuracy = image_accuracy(con, 1)
    expected = f"{accuracy:.1%}"
    monkeypatch.setenv("WORDCAM_DB", str(db))
    at = _open(_english(AppTest.from_file(str(APP), default_timeout=90)), "overview")
    overview = next(m for m in at.metric if m.label == "Image model (pred = true)")
    at.switch_page("views/keywords.py").run()
    assert not at.exception, [e.value for e in at.exception]
    keywords = next(m for m in at.metric if m.label == "Image model accuracy")
    assert overview.value == keywords.value == expected
    summary = escape_markdown(f"image accuracy {expected}")  # the summary: as the tiles say
    assert any(summary in c.value for c in at.caption)


def test_word_to_photos_flow(app, hostile_db):
    at = _open(app, "keywords")
    at.multiselect(key="w_kw_wards").set_value(["台東区"]).run()
    word, rest = at.selectbox(key="kw_pick").value.split("  ·  ")
    ward = rest.rsplit("  (", 1)[0]
    at.button(key="kw_show").click().run()
    assert not at.exception
    assert at.title[0].value == "Photos"
    assert at.text_input(key="w_ph_word").value == word
    assert at.multiselect(key="w_ph_wards").value == [ward]
    with reading(hostile_db) as con:
        expected = queries.count_photos(con, 1, queries.PhotoFilter(word=word, labels=(ward,)))
    assert any(f"**{expected:,}** photos match" in m.value for m in at.markdown)
    highlighted = [m.value for m in at.markdown if ":orange[" in m.value]
    assert highlighted and all(word in m for m in highlighted)
    # Filtering to wrong predictions narrows the set. (AppTest reruns the page it last switched
    # to itself, not one the script switched to, so switch explicitly; the filters persist.)
    at.switch_page("views/photos.py").run()
    assert at.text_input(key="w_ph_word").value == word
    at.segmented_control(key="w_ph_correct").set_value("incorrect").run()
    with reading(hostile_db) as con:
        wrong = queries.count_photos(
            con, 1, queries.PhotoFilter(word=word, labels=(ward,), correctness="incorrect")
        )
    assert wrong < expected
    assert any(f"**{wrong:,}** photos match" in m.value for m in at.markdown)


def test_photos_pagination_and_search(app):
    at = _open(app, "photos")
    first_page = [m.value for m in at.markdown if m.value.startswith("**0")]
    at.number_input(key="w_ph_page").increment().run()
    second_page = [m.value for m in at.markdown if m.value.startswith("**0")]
    assert first_page and second_page and set(first_page).isdisjoint(second_page)
    at.text_input(key="w_ph_search").input("alert('xss')").run()
    assert at.number_input(key="w_ph_page").value == 1  # a new filter starts on page 1
    assert any("**8** photos match" in m.value for m in at.markdown)


def test_hostile_strings_render_as_text(app):
    at = _open(app, "photos")
    at.text_input(key="w_ph_search").input("script").run()
    texts = [m.value for m in _all_markdown(at)]
    joined = "\n".join(texts)
    assert "\\<script\\>alert\\(\\'xss\\'\\)\\<\\/script\\>" in joined
    assert "\\<img src\\=x onerror\\=alert\\(1\\)\\>区" in joined
    for raw in ("<script>", "<img src=x", ":red[赤]", "$x^2$", "<b>"):
        assert raw not in joined
    for element in _all_markdown(at):
        assert not element.proto.allow_html


def test_no_unsafe_html_in_dashboard_code():
    root = APP.parent
    for path in [*root.glob("*.py"), *root.glob("views/*.py")]:
        assert "unsafe_allow_html" not in path.read_text(encoding="utf-8"), path
        assert "st.html" not in path.read_text(encoding="utf-8"), path


def test_markdown_escaping():
    assert escape_markdown("<b>x</b>") == "\\<b\\>x\\<\\/b\\>"
    assert escape_markdown(":red[a] $x$ **b**") == "\\:red\\[a\\] \\$x\\$ \\*\\*b\\*\\*"
    marked = highlight_markdown("台東区の密集と<密集>", "密集")
    assert marked.count(":orange[**密集**]") == 2
    assert "\\<" in marked and "<" not in marked.replace("\\<", "")


def test_compare_words(app):
    at = _open(app, "compare")
    assert at.multiselect(key="w_cmp_words").value == ["密集", "群"]
    wide = at.dataframe[0].value
    assert wide.columns.tolist() == ["密集", "群"]
    assert all("/" in cell for cell in wide["密集"])
    sentences = [m.value for m in at.markdown if ":orange[**密集**]" in m.value]
    assert 1 <= len(sentences) <= 4  # example sentences with the word highlighted
    at.multiselect(key="w_cmp_words").set_value(["密集", "群", "橋"]).run()
    assert at.dataframe[0].value.columns.tolist() == ["密集", "群", "橋"]
    contrast = at.dataframe[1].value
    assert set(contrast.columns) >= {"marks", "word", "z"}
    assert not at.exception


def test_csv_exports_start_with_a_bom(app, hostile_db, monkeypatch):
    saved: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        if isinstance(path_or_data, bytes) and filename:
            saved[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    at = _open(app, "compare")  # so that the comparison is exportable too
    at.switch_page("views/export.py").run()
    assert not at.exception
    assert {"keywords_table_run1.csv", "keywords_run1.csv", "word_comparison_run1.csv"} <= set(
        saved
    )
    for data in saved.values():
        assert data.startswith(BOM)
    table = saved["keywords_table_run1.csv"].decode("utf-8-sig")
    assert table.splitlines()[0].startswith("rank,")
    assert HOSTILE_CLASS in table.splitlines()[0]
    # The per-photo CSV is generated on click; the page's function produces it.
    from dashboard.tables import to_csv_bytes

    with reading(hostile_db) as con:
        photos = queries.photo_results(con, 1)
    data = to_csv_bytes(photos)
    assert data.startswith(BOM) and HOSTILE_TEXT.encode() in data


def test_precompute_page_shows_progress_and_failures(tmp_path, monkeypatch):
    from core.jobs import progress_path

    db = make_db(tmp_path / "p.duckdb", n_images=50)
    monkeypatch.setenv("WORDCAM_DB", str(db))
    progress_path(db).write_text(
        json.dumps(
            {
                "status": "running",
                "done": 30,
                "failed": 2,
                "total": 100,
                "eta_s": 12.0,
                "started_at": "2026-01-01T00:00:00+00:00",
                "message": "",
                "pid": 1,
            }
        ),
        encoding="utf-8",
    )
    at = _english(AppTest.from_file(str(APP), default_timeout=60)).run()
    at.switch_page("views/precompute.py").run()
    assert not at.exception
    assert any("30 done · 2 failed · 100 photos" in str(p.proto) for p in at.get("progress"))
    # A failed job: its log's tail is shown, the page does not crash.
    progress_path(db).write_text(
        json.dumps({"status": "failed", "done": 30, "total": 100}), encoding="utf-8"
    )
    db.with_name(db.name + ".precompute.log").write_text(
        "loading model\nwordcam precompute: error: no such model 'nope'\n", encoding="utf-8"
    )
    at.run()
    assert not at.exception
    assert any("The job failed" in e.value for e in at.error)
    assert any("no such model 'nope'" in c.value for c in at.code)
    # Submitting a folder that does not exist is refused with a message, no job starts.
    at.text_input(key="pc_folder").input(str(tmp_path / "missing"))
    at.checkbox(key="pc_confirm_open_db").check().run()  # resuming writes into the open DB
    at.button(key="pc_start").click().run()  # prefilled from the run: "Resume this run"
    assert not at.exception
    assert any("existing photo folder" in e.value for e in at.error)


def test_republished_db_is_picked_up(tmp_path, monkeypatch):
    db = make_db(tmp_path / "r.duckdb", n_images=60, failed_share=0.0)
    monkeypatch.setenv("WORDCAM_DB", str(db))
    at = _english(AppTest.from_file(str(APP), default_timeout=60)).run()
    assert any(m.value == "60" for m in at.metric)
    newer = make_db(tmp_path / "newer.duckdb", n_images=90, failed_share=0.0)
    shutil.copyfile(newer, tmp_path / "tmp.duckdb")
    os.replace(tmp_path / "tmp.duckdb", db)  # what StoreWriter.publish does
    os.utime(db, ns=(db.stat().st_atime_ns, db.stat().st_mtime_ns + 1_000_000))
    at.run()
    assert not at.exception
    assert any(m.value == "90" for m in at.metric)


# ---------------------------------------------------------------- core.store.queries


def test_queries_match_pandas(hostile_db):
    with reading(hostile_db) as con:
        run_id = queries.resolve_run(con)
        frame = con.execute(
            "SELECT i.image_id, i.true_label, i.pred_label, i.status, t.tokens, e.text "
            "FROM images i LEFT JOIN tokens t USING (image_id) "
            "LEFT JOIN explanations e USING (image_id)"
        ).df()
        done = frame[frame.status == "done"]
        stats = queries.run_stats(con, run_id)
        assert stats.n_images == len(frame) and stats.n_done == len(done)
        assert stats.image_accuracy == pytest.approx((done.true_label == done.pred_label).mean())
        has = done.tokens.apply(lambda t: "密集" in list(t))
        f = queries.PhotoFilter(word="密集", labels=("台東区",), correctness="correct")
        expected = done[has & (done.true_label == "台東区") & (done.pred_label == "台東区")]
        assert queries.count_photos(con, run_id, f) == len(expected)
        page1 = queries.photos(con, run_id, f, limit=5, offset=0)
        page2 = queries.photos(con, run_id, f, limit=5, offset=5)
        assert page1.image_id.tolist() == sorted(expected.image_id)[:5]
        assert page2.image_id.tolist() == sorted(expected.image_id)[5:10]
        stats_w = queries.word_stats(con, run_id, ["密集", "群"], by="true")
        row = stats_w[(stats_w.word == "密集") & (stats_w.label == "台東区")].iloc[0]
        assert row.n == int((has & (done.true_label == "台東区")).sum())
        assert row.m == int(has.sum())
        assert row.precision == pytest.approx(row.n / row.m)
        conf = queries.confusion(con, run_id)
        assert conf.n.sum() == len(done)
        assert queries.labels(con, run_id) == sorted(done.true_label.unique())
        assert queries.parse_topk(page1.topk.iloc[0])[0][1] > 0
        assert queries.resolve_asset(hostile_db, page1.thumb_path.iloc[0]) is not None
        assert queries.resolve_asset(hostile_db, "nope.png") is None
        results = queries.photo_results(con, run_id)
        assert len(results) == len(frame) and isinstance(results, pd.DataFrame)


def test_dashboard_cli_does_not_load_heavy_modules():
    import subprocess

    code = (
        "import sys; from core.cli import build_parser; build_parser().parse_args(['dashboard']);"
        "from core.cli.dashboard import streamlit_command, app_path;"
        "cmd = streamlit_command(__import__('pathlib').Path('x.duckdb'), '127.0.0.1', 1);"
        "assert app_path().is_file() and cmd[-2:] == ['--db', 'x.duckdb'], cmd;"
        "bad = [m for m in ('torch', 'streamlit', 'sklearn', 'janome') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd="/")


def test_text_corpus_and_empty_db_render(tmp_path, monkeypatch):
    from core.jobs import import_texts
    from core.store import StoreWriter

    empty = tmp_path / "empty.duckdb"
    with StoreWriter(empty):
        pass  # schema only, no runs
    monkeypatch.setenv("WORDCAM_DB", str(empty))
    at = _english(AppTest.from_file(str(APP), default_timeout=90)).run()
    assert not at.exception
    assert "no runs yet" in at.info[0].value

    rows = [
        {
            "id": f"d{i}",
            "label": ["港区", "台東区"][i % 2],
            "text": ["高層ビルとガラスの建物が見える。", "提灯と寺の屋根が密集している。"][i % 2],
        }
        for i in range(24)
    ]
    corpus = tmp_path / "texts.csv"
    pd.DataFrame(rows).to_csv(corpus, index=False)
    db = tmp_path / "texts.duckdb"
    import_texts(corpus, db, progress=False)
    monkeypatch.setenv("WORDCAM_DB", str(db))
    at = _english(AppTest.from_file(str(APP), default_timeout=90))
    for view in VIEWS:
        _open(at, view)
    at.switch_page("views/photos.py").run()
    assert any("**24** photos match" in m.value for m in at.markdown)


def test_run_picker_and_next_page_button(tmp_path, monkeypatch):
    db = make_db(tmp_path / "two.duckdb", n_images=40, failed_share=0.0)
    make_db(db, n_images=70, failed_share=0.0, seed=1)  # a second, newer run
    monkeypatch.setenv("WORDCAM_DB", str(db))
    at = _english(AppTest.from_file(str(APP), default_timeout=90)).run()
    assert not at.exception
    picker = at.sidebar.selectbox(key="w_run_id")
    assert picker.value == 2 and any(m.value == "70" for m in at.metric)
    picker.set_value(1).run()
    assert any(m.value == "40" for m in at.metric)
    at.switch_page("views/photos.py").run()
    assert at.number_input(key="w_ph_page").value == 1
    at.button(key="ph_next").click().run()
    assert at.number_input(key="w_ph_page").value == 2
    assert at.main.caption[-1].value == "page 2 of 4"


def test_single_class_run_warns_instead_of_crashing(tmp_path, monkeypatch):
    db = make_db(tmp_path / "one.duckdb", n_images=30, classes=["港区"])
    monkeypatch.setenv("WORDCAM_DB", str(db))
    at = _english(AppTest.from_file(str(APP), default_timeout=90))
    for view in VIEWS:
        _open(at, view)
        if view in ("keywords", "export"):
            assert any("at least 2 classes" in w.value for w in at.warning)
    # No keyword tables, but the comparison and the per-photo results remain exportable.
    assert {b.key for b in at.get("download_button")} == {"ex_compare", "ex_photos"}


def test_dashboard_never_imports_torch(hostile_db):
    import subprocess

    code = f"""
import os, sys
os.environ["WORDCAM_DB"] = {str(hostile_db)!r}
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({str(APP)!r}, default_timeout=90).run()
for view in {VIEWS[1:]!r}:
    at.switch_page("views/" + view + ".py").run()
    assert not at.exception, view
heavy = [m for m in ("torch", "torchvision", "pytorch_grad_cam") if m in sys.modules]
assert not heavy, heavy
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(APP.parents[1]))
