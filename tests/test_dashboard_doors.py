"""Every chart a door (issue 23): each chart selects what its click means, each door lands on
the matching photos, most confident first, with its filter as removable chips in the URL."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402
from synthetic_db import make_db  # noqa: E402

from core.store import queries, reading  # noqa: E402
from dashboard import charts, nav  # noqa: E402

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return make_db(tmp_path_factory.mktemp("doors") / "w.duckdb", n_images=400)


def _photos(db: Path, monkeypatch, **params) -> AppTest:
    monkeypatch.setenv("WORDCAM_DB", str(db))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params.update({"lang": "en", **params})
    at.switch_page("views/photos.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _params(spec: dict) -> list[dict]:
    found = list(spec.get("params") or [])
    for layer in spec.get("layer") or []:
        found += layer.get("params") or []
    return found


@pytest.mark.parametrize(
    ("kind", "frame", "options", "fields"),
    [
        (
            "confusion",
            pd.DataFrame(
                {"true_label": ["a"], "pred_label": ["b"], "n": [5], "share": [0.5]}
            ).assign(true_key="a", pred_key="b"),
            {},
            ["true_key", "pred_key"],
        ),
        (
            "scatter",
            pd.DataFrame(
                {"ward": ["A"], "ward_key": ["a"], "word": ["w"], "weight": [1.0]}
                | {"precision": [0.5], "n": [1], "m": [2]}
            ),
            {},
            ["word", "ward_key"],
        ),
        (
            "compare",
            pd.DataFrame(
                {"label": ["A"], "label_key": ["a"], "word": ["w"], "n": [1], "m": [2]}
                | {"docs": [3], "precision": [0.5], "doc_share": [0.3]}
            ),
            {"field": "precision", "title": "p"},
            ["word", "label_key"],
        ),
        (
            "contrast",
            pd.DataFrame(
                {"side": ["A"], "side_key": ["a"], "word": ["w"], "n_a": [1], "n_b": [0]}
                | {"z": [2.0]}
            ),
            {"a": "A", "b": "B"},
            ["word", "side_key"],
        ),
    ],
)
def test_every_chart_selects_what_its_click_opens(kind, frame, options, fields):
    spec = charts.spec_for(kind, frame, lang="en", **options)
    picks = [p for p in _params(spec) if p.get("name") == charts.WORD_SELECTION]
    assert picks and picks[0]["select"]["fields"] == fields


def test_keyword_bars_share_one_scale_and_show_the_shade_legend():
    frame = pd.DataFrame(
        {"ward": ["a"], "word": ["w"], "rank": [1], "weight": [1.0], "precision": [0.5]}
        | {"nm": ["1/2"], "effect": [float("nan")], "verified": [""]}
    )
    spec = charts.with_x_domain(charts.spec_for("keywords", frame, lang="ja"), [0.0, 2.8])
    bars = spec["layer"][0]["encoding"]
    assert bars["x"]["scale"]["domain"] == [0.0, 2.8]
    assert bars["color"]["legend"] is not None and bars["color"]["title"] == "適合率"


def test_events_give_the_clicked_point_row_and_cell():
    event = SimpleNamespace(selection={charts.WORD_SELECTION: [{"word": "w", "ward": "a"}]})
    assert nav.picked(event, charts.WORD_SELECTION) == {"word": "w", "ward": "a"}
    assert nav.picked(SimpleNamespace(selection={}), charts.WORD_SELECTION) is None
    assert nav.picked_row(SimpleNamespace(selection={"rows": [3], "cells": []})) == 3
    assert nav.picked_cell(SimpleNamespace(selection={"rows": [], "cells": [(2, "x")]})) == (2, "x")
    assert nav.picked_row(None) is None


def test_a_confusion_cell_opens_its_photos_most_confident_first(db, monkeypatch):
    with reading(db) as con:
        conf = queries.confusion(con, 1)
    cell = conf[conf["true_label"] != conf["pred_label"]].sort_values("n").iloc[-1]
    true, pred, n = cell["true_label"], cell["pred_label"], int(cell["n"])
    # what Overview's click sends: predicted ward B, truly A (nav.go_to_photos)
    at = _photos(db, monkeypatch, by="pred", ward=[pred], true=true)
    assert any(f"**{n:,}** photos match" in m.value for m in at.markdown)
    chips = [b.label for b in at.button if str(b.key).startswith("ph_chip_")]
    assert chips == [f"predicted: {pred}", f"truly: {true}"]
    confidences = [
        float(m.value.split("confidence ")[1].split("%")[0])
        for m in at.markdown
        if "confidence " in m.value
    ]
    assert len(confidences) == min(n, 12) and confidences == sorted(confidences, reverse=True)
    # a chip's click drops its filter: every photo predicted as B
    next(b for b in at.button if b.label == f"truly: {true}").click().run()
    assert "true" not in at.query_params
    wider = int(conf[conf["pred_label"] == pred]["n"].sum())
    assert any(f"**{wider:,}** photos match" in m.value for m in at.markdown)


def test_photos_open_most_confident_first_by_default(db, monkeypatch):
    at = _photos(db, monkeypatch)
    assert at.selectbox(key="w_ph_order").value == "confidence"
    assert "order" not in at.query_params  # the default is left out of the URL


def test_precompute_writes_the_output_database_named_on_the_page(db, tmp_path, monkeypatch):
    """Issue 23: an output-database field; another DB needs no tick, the open one does."""
    from dashboard import job

    started: list[Path] = []
    monkeypatch.setattr(
        job,
        "start_job",
        lambda out, folder, options: started.append(out) or SimpleNamespace(pid=0, poll=lambda: 0),
    )
    monkeypatch.setenv("WORDCAM_DB", str(db))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["lang"] = "ja"
    at.switch_page("views/precompute.py").run()
    folder = tmp_path / "photos"
    folder.mkdir()
    at.text_input(key="pc_folder").input(str(folder)).run()
    assert at.text_input(key="pc_out_db").value == str(db.resolve())
    assert at.button(key="pc_start").disabled
    assert at.checkbox(key="pc_confirm_open_db").label.startswith("開いているデータベース")
    other = tmp_path / "other.duckdb"
    at.text_input(key="pc_out_db").input(str(other)).run()
    assert not at.button(key="pc_start").disabled
    at.button(key="pc_start").click().run()
    assert not at.exception and started == [other.resolve()]


def _formats(node) -> list[str]:
    """Every ``format`` a Vega-Lite spec sets (axes, legends, tooltips, text)."""
    if isinstance(node, dict):
        own = [node["format"]] if isinstance(node.get("format"), str) else []
        return own + [f for v in node.values() for f in _formats(v)]
    if isinstance(node, list):
        return [f for v in node for f in _formats(v)]
    return []


@pytest.mark.parametrize(
    ("kind", "frame", "options"),
    [
        ("recall", pd.DataFrame({"label": ["a"], "recall": [0.5]} | {"correct": [1]}), {}),
        (
            "confusion",
            pd.DataFrame({"true_label": ["a"], "pred_label": ["b"], "n": [5], "share": [0.5]}),
            {},
        ),
        (
            "keywords",
            pd.DataFrame(
                {"ward": ["a"], "word": ["w"], "rank": [1], "weight": [1.0], "precision": [0.5]}
                | {"nm": ["1/2"], "effect": [0.1], "verified": [""]}
            ),
            {},
        ),
        (
            "scatter",
            pd.DataFrame(
                {"ward": ["A"], "ward_key": ["a"], "word": ["w"], "weight": [1.0]}
                | {"precision": [0.5], "n": [1], "m": [2]}
            ),
            {},
        ),
        (
            "compare",
            pd.DataFrame(
                {"label": ["A"], "word": ["w"], "n": [1], "m": [2], "docs": [3]}
                | {"precision": [0.5], "doc_share": [0.3]}
            ),
            {"field": "precision", "title": "p"},
        ),
        (
            "contrast",
            pd.DataFrame({"side": ["A"], "word": ["w"], "z": [2.0]}),
            {"a": "A", "b": "B"},
        ),
    ],
)
def test_every_chart_formats_numbers_from_the_one_table(kind, frame, options):
    """Charts take their d3 formats from dashboard.fmt (issue 23: one formatting function)."""
    from dashboard import fmt

    used = _formats(charts.spec_for(kind, frame, lang="en", **options))
    assert used and set(used) <= set(fmt.VEGA_FORMATS.values()) | set(fmt.AXIS_FORMATS.values())


def test_no_chart_writes_its_own_number_format():
    source = (Path(charts.__file__)).read_text(encoding="utf-8")
    assert 'format="' not in source and "format='" not in source


def test_the_scatter_names_a_few_strong_words_and_never_two_on_top_of_each_other():
    """Dense clouds (issue 23): the scatter names at most SCATTER_LABELS words per ward, the
    strongest first, and leaves out a name whose box would overlap a kept one."""
    words = ["スペースシャトル", "マッチ棒", "飛翔体", "青", "トラ猫", "far"]
    frame = pd.DataFrame(
        {
            "ward_key": ["a", "a", "a", "a", "b", "b"],
            "word": words,
            "weight": [1.00, 1.01, 0.50, 0.10, 0.99, 2.5],
            "precision": [1.0, 1.0, 0.5, 0.2, 1.0, 0.3],
        }
    )
    labels = charts.scatter_labels(frame).tolist()
    # マッチ棒 (strongest of a) is kept; スペースシャトル and トラ猫 sit on it: left out
    assert labels == ["", "マッチ棒", "飛翔体", "", "", "far"]
    spread = frame.assign(precision=[1.0, 0.5, 0.0, 0.2, 0.25, 0.75])
    assert charts.scatter_labels(spread).tolist()[:4] == [
        "スペースシャトル",
        "マッチ棒",
        "飛翔体",
        "",
    ]
    names = charts.spec_for("scatter", frame.assign(ward="A", n=1, m=2, label=labels), lang="en")
    text = names["layer"][1]
    assert text["encoding"]["text"]["field"] == "label"
    assert text["transform"] == [{"filter": "datum.label != ''"}]


def test_tables_show_shares_as_the_tiles_do_and_keep_their_numbers():
    """Streamlit's "percent" column format writes 21.74%; the tables use fmt.number (21.7%)."""
    from dashboard import fmt

    frame = pd.DataFrame({"p": [0.2174, None], "e": [0.5, -0.25], "w": ["x", "y"]})
    styler = fmt.styled(frame, {"p": "share", "e": "effect", "missing": "z"})
    text = styler.to_string()
    assert "21.7%" in text and "21.74" not in text and "—" in text
    assert "+0.500" in text and "-0.250" in text
    assert styler.data["p"].iloc[0] == pytest.approx(0.2174)  # sorting and CSV stay numeric


def test_a_link_to_keywords_opens_on_a_run_with_word_kinds(tmp_path, monkeypatch):
    """A door into Keywords (``?ward=``) on a run that stores word kinds (every demo run).

    The URL restore reset the kinds filter to its default, ``None``, and the kinds multiselect
    raised "'NoneType' object is not iterable": found by the browser walk on the demo DB.
    """
    import duckdb

    db = make_db(tmp_path / "kinds.duckdb", n_images=200)
    con = duckdb.connect(str(db))
    con.execute(
        "UPDATE tokens SET kinds = list_transform(tokens, lambda t:"
        " CASE WHEN t IN ('橋', '川') THEN 'object' ELSE 'other' END)"
    )
    con.close()
    monkeypatch.setenv("WORDCAM_DB", str(db))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params.update({"lang": "en", "ward": "港区"})
    at.switch_page("views/keywords.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.multiselect(key="w_kw_kinds").value == []
