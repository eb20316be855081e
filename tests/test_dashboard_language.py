"""One language at a time (issue 23): every page, in Japanese and in English, scanned for text
of the other language. Data (ward names, words, explanations, file and DB paths, the CLI's own
option values) may be in any language; everything the dashboard itself says may not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402
from synthetic_db import make_db  # noqa: E402

from core.store import reading  # noqa: E402
from dashboard.catalogue import CATALOGUE  # noqa: E402

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
VIEWS = ["overview", "keywords", "compare", "photos", "precompute", "report", "export"]
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff01-\uff60]")
ASCII_WORD = re.compile(r"[A-Za-z]{3,}")
# the language switch names each language in itself
LANGUAGE_NAMES = {"日本語", "English"}
# values the CLI takes as they are, typed into text fields (model and explainer specs); the
# choices (mode, CAM method, image mode) are named in the UI language (issue 23)
CLI_VALUES = {"grounded", "imagenet"}
# Elements that carry the dashboard's own words (not data cells, sentences or code)
CHROME = ("title", "header", "subheader", "caption", "info", "warning", "error", "success")
WIDGETS = (
    "button",
    "download_button",
    "checkbox",
    "toggle",
    "radio",
    "selectbox",
    "multiselect",
    "text_input",
    "number_input",
    "slider",
    "segmented_control",
    "metric",
    "expander",
)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return make_db(tmp_path_factory.mktemp("lang") / "w.duckdb", n_images=300)


@pytest.fixture(scope="module")
def data_words(db) -> set[str]:
    """Every piece of data the pages may show: class names, tokens, file names."""
    with reading(db) as con:
        labels = {r[0] for r in con.execute("SELECT DISTINCT true_label FROM images").fetchall()}
        tokens = {
            r[0] for r in con.execute("SELECT DISTINCT unnest(tokens) FROM tokens").fetchall()
        }
    return {w for w in labels | tokens if w}


def _texts(at: AppTest) -> list[tuple[str, str]]:
    """``(element kind, text)`` of what the dashboard says on the page (not data cells)."""
    out: list[tuple[str, str]] = []
    for kind in CHROME:
        out += [(kind, str(el.value)) for el in at.get(kind)]
    for kind in WIDGETS:
        for el in at.get(kind):
            proto = el.proto
            for field in ("label", "help", "placeholder"):
                value = getattr(proto, field, None)
                if value:
                    out.append((f"{kind}.{field}", str(value)))
            if kind in ("radio", "segmented_control", "selectbox"):
                out += [(f"{kind}.option", str(o)) for o in el.options]
            if kind == "metric":
                out.append(("metric.value", str(proto.body)))
    for el in at.get("arrow_data_frame"):
        out += [("dataframe.column", str(c)) for c in el.value.columns]
    return out


def _strip(text: str, data: set[str], db: Path) -> str:
    from dashboard.text import escape_markdown

    text = text.replace(escape_markdown(str(db)), " ").replace(str(db), " ")
    for word in sorted(data | LANGUAGE_NAMES, key=len, reverse=True):
        text = text.replace(word, " ")
    return text


def _page(db: Path, monkeypatch, lang: str, view: str) -> AppTest:
    monkeypatch.setenv("WORDCAM_DB", str(db))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.query_params["lang"] = lang
    at.run()
    if view != "overview":
        at.switch_page(f"views/{view}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _ascii_words(values) -> set[str]:
    placeholder = re.compile(r"\{[a-z_]+(?::[^}]*)?\}")  # {run}, {n:,}: not words shown
    return {w.lower() for v in values for w in ASCII_WORD.findall(placeholder.sub("", v))}


@pytest.mark.parametrize("view", VIEWS)
def test_japanese_pages_have_no_english_words(db, data_words, monkeypatch, view):
    """No English word of the dashboard's own on ?lang=ja: only those the Japanese catalogue
    itself uses (CSV, CAM, wordcam, ...), data and the CLI's values."""
    at = _page(db, monkeypatch, "ja", view)
    allowed = _ascii_words(CATALOGUE["ja"].values()) | {w.lower() for w in CLI_VALUES}
    allowed |= _ascii_words(data_words) | {"english", "duckdb", "content"}
    leaks = [
        (kind, text)
        for kind, text in _texts(at)
        if (set(w.lower() for w in ASCII_WORD.findall(_strip(text, data_words, db))) - allowed)
    ]
    assert leaks == []


@pytest.mark.parametrize("view", VIEWS)
def test_english_pages_have_no_japanese(db, data_words, monkeypatch, view):
    """No Japanese on ?lang=en except data (ward names, words, explanations)."""
    at = _page(db, monkeypatch, "en", view)
    leaks = [(kind, text) for kind, text in _texts(at) if CJK.search(_strip(text, data_words, db))]
    assert leaks == []


def test_stored_values_are_named_in_the_ui_language(db, monkeypatch):
    """The Overview's caption names the run's kind and status in Japanese, never "images"."""
    at = _page(db, monkeypatch, "ja", "overview")
    caption = next(c.value for c in at.caption if "実行" in c.value and "状態" in c.value)
    assert "画像" in caption and "完了" in caption
    assert "images" not in caption and "done" not in caption
