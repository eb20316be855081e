"""``wordcam report`` and core.report: one self-contained, escaped file per run, in ja and en."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from synthetic_db import HOSTILE_CLASS, make_db
from vlm_server import FakeVLMServer, Reply

from core.cli import main
from core.report import build_report, render_html

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?!data:|#)""", re.I)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    """A demo-like DB (eight wards and a hostile one, photos, explanations, stored tables)."""
    return make_db(tmp_path_factory.mktemp("report") / "demo.duckdb", n_images=500, hostile=True)


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("ja", ["区ごとのレポート", "正解率", "係数", "CAM オーバーレイ"]),
        ("en", ["ward report", "Accuracy"]),
    ],
)
def test_report_command_writes_one_self_contained_html(demo_db, tmp_path, lang, words, capsys):
    out = tmp_path / f"report_{lang}.html"
    assert main(["report", "--db", str(demo_db), "--out", str(out), "--lang", lang]) == 0
    assert "wrote" in capsys.readouterr().out
    html = out.read_text(encoding="utf-8")
    assert f'<html lang="{lang}">' in html
    for word in words:
        assert word in html
    # every image is embedded, nothing is fetched from anywhere
    assert html.count('src="data:image/') >= 9 * 2
    assert not EXTERNAL.search(html)
    assert "http://" not in html and "https://" not in html
    assert "@media print" in html
    # untrusted text (a hostile ward name, explanations with HTML) is escaped
    assert HOSTILE_CLASS not in html
    assert "&lt;img src=x onerror=alert(1)&gt;区" in html
    assert "<script>" not in html
    # every ward has a section, its words with n/m and coefficient and marked sentences
    assert html.count('<section class="ward"') == 9
    assert re.search(r"<td class=\"num\">\d+/\d+</td><td class=\"num\">\d\.\d{3}</td>", html)
    assert "<mark>" in html


def test_report_markdown_in_english(demo_db, tmp_path):
    out = tmp_path / "report.md"
    assert main(["report", "--db", str(demo_db), "--out", str(out), "--lang", "en"]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# wordcam ward report")
    assert "| # | word | n | m | coefficient |" in text
    # plain Markdown (issue 23): pictures are files beside it, no base64, no escaped digits
    assert "data:image/" not in text and "base64" not in text
    links = re.findall(r"\]\((report_images/\d+\.(?:png|jpg))\)", text)
    assert links and all((tmp_path / link).is_file() for link in links)
    assert not re.search(r"\\[0-9%.]", text)
    assert not re.search(r"(?<!\\)<img", text)  # every "<" escaped: shown, never HTML
    assert "\\<img src=x onerror=alert(1)\\>区" in text


def test_report_language_follows_the_run_and_names_the_settings(demo_db):
    report = build_report(demo_db)
    assert report.lang == "ja" and report.run_id == 1
    assert ("モデル", "synthetic-wards") in report.settings
    first = report.sections[0]
    assert first.words and first.words[0].photos and first.words[0].sentences
    scores = [p.score for p in first.words[0].photos]
    assert scores == sorted(scores, reverse=True)  # most confident first
    assert all(p.input_uri.startswith("data:image/") for p in first.words[0].photos)


def test_unknown_output_format_is_a_one_line_error(demo_db, tmp_path, capsys):
    assert main(["report", "--db", str(demo_db), "--out", str(tmp_path / "r.pdf")]) == 1
    assert "use a .html or .md" in capsys.readouterr().err


def test_vlm_paragraph_per_ward_is_cached(demo_db, tmp_path, monkeypatch):
    from core.report.vlm import add_paragraphs

    monkeypatch.setenv("WORDCAM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeVLMServer(default=Reply("坂とガードレールは坂道の写真を指していた。")) as server:
        report = build_report(demo_db, wards=["世田谷区", "港区"], top=3)
        add_paragraphs(report, "openai:test-model", base_url=server.base_url)
        assert [s.paragraph for s in report.sections] == [
            "坂とガードレールは坂道の写真を指していた。"
        ] * 2
        chats = lambda: [r for r in server.requests if r.path.endswith("/chat/completions")]  # noqa: E731
        calls = len(chats())
        assert calls == 2
        again = build_report(demo_db, wards=["世田谷区", "港区"], top=3)
        add_paragraphs(again, "openai:test-model", base_url=server.base_url)
        assert len(chats()) == calls  # answered from the cache
    html = render_html(report)
    assert "test-model" in html and "坂道の写真" in html


def test_report_shows_each_words_verified_effect_when_stored(tmp_path):
    import json

    from core.mining import mine_source
    from core.report import build_report, render_html, render_markdown
    from core.store import StoreWriter
    from core.store.effects import WordEffect, write_effect

    db = make_db(tmp_path / "verified.duckdb", n_images=300)
    ward = "港区"
    words = [k.word for k in mine_source(db, 1, top=5, classes=[ward]).classes[ward]]
    key = json.dumps({"by": "true", "fill": "mean", "top": 5}, sort_keys=True)
    with StoreWriter(db) as w:
        for i, word in enumerate(words[:2]):
            causal = i == 0
            write_effect(
                w.con,
                1,
                key,
                WordEffect(
                    ward,
                    word,
                    10,
                    0.4 - i * 0.4,
                    0.3 if causal else -0.1,
                    0.5,
                    0.01,
                    0.02 if causal else 0.6,
                    "causal" if causal else "no effect shown",
                    "mean",
                    "shifted",
                ),
            )
    report = build_report(db, lang="en", top=5, photos=1)
    section = next(s for s in report.sections if s.ward == ward)
    effects = {w.word: w.effect for w in section.words}
    assert effects[words[0]] == "+0.40 [+0.30, +0.50] ✓ causal (hiding)"
    assert effects[words[1]] == "+0.00 [-0.10, +0.50] no effect shown (hiding)"
    assert all(effects[w] == "not tested" for w in words[2:])  # nothing claimed
    html = render_html(report)
    assert "verified effect" in html and "+0.40 [+0.30, +0.50] ✓ causal (hiding)" in html
    assert "| verified effect |" in render_markdown(report)
    plain = build_report(make_db(tmp_path / "plain.duckdb", n_images=300), lang="en", top=5)
    assert "verified effect" not in render_html(plain)


def test_each_word_its_own_photos_and_the_predicted_labels_own_probability(demo_db):
    """Issue 23: the same two photos no longer repeat under every word of a ward, and the
    caption's probability is the predicted label's (the ward's is beside it when they differ)."""
    report = build_report(demo_db, lang="en", top=5, photos=2)
    html = render_html(report)
    for s in report.sections:
        names = [p.name for w in s.words for p in w.photos]
        assert len(names) == len(set(names)), s.name
        for w in s.words:
            scores = [p.score for p in w.photos]
            assert scores == sorted(scores, reverse=True)  # the word's most confident first
            for p in w.photos:
                assert p.pred_prob is not None and p.pred_prob >= p.score - 1e-9
                assert f"predicted {p.pred_label} ({p.pred_prob:.1%})" in html.replace(
                    "&lt;", "<"
                ).replace("&gt;", ">")
