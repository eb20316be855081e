"""The analyst's day on the demo DB, in a real browser, in Japanese and in English (issue 23).

The walk of ``test_dashboard_browser.py::test_the_analysts_day`` runs there on the synthetic
test DB; here it runs on what ``wordcam demo`` builds: a trained model, blind grounded
explanations and verified words, so the verification pictures are real. The demo DB is built
once per session into a temporary folder (never into the repo's ``data/demo``): ~45 s on a quiet
machine, several minutes under load. ``WORDCAM_TEST_DEMO_DIR=<a demo's --out folder>`` reuses an
existing demo (for working on this test; the folder is only read).

Keywords -> click the top bar -> Photos (most confident first, the word's verification
pictures) -> Compare two words and two wards -> click a contrast bar -> Overview -> click a
confusion cell -> export each table, read with ``csv`` -> the report; every request recorded,
none to a host but the dashboard's own. Run with ``-m browser`` (or ``-o addopts=""``).
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from pathlib import Path

import pytest
import test_dashboard_browser as browser  # noqa: I001 - skips the module without chromium
from test_dashboard_browser import download_every_export, h1, no_errors, settle, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(2400)]

PAGES = {
    "ja": {"kw": "キーワード", "ph": "写真", "ov": "概要", "cmp": "単語の比較", "ex": "書き出し"},
    "en": {"kw": "Keywords", "ph": "Photos", "ov": "Overview", "cmp": "Compare words"}
    | {"ex": "Export"},
}
HIDDEN = {"ja": "「{word}」を隠す", "en": "“{word}” hidden"}
CONTROL = {"ja": "対照(同じ面積)", "en": "Control (same area)"}
REPORT = {"ja": "レポート", "en": "Report"}


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Path:
    """The demo's output folder (its DB, dataset, model and summary.json), built once."""
    reuse = os.environ.get("WORDCAM_TEST_DEMO_DIR")
    if reuse:
        return Path(reuse)
    from core.lab.demo import run_demo

    out = tmp_path_factory.mktemp("demo") / "out"
    run_demo(out, progress=False)
    return out


@pytest.fixture(scope="module")
def demo_server(demo, tmp_path_factory):
    with browser.serve(demo / "wordcam.duckdb", tmp_path_factory.mktemp("demo_server")) as base:
        yield base


@pytest.fixture()
def pg(demo_server):
    with browser.sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=browser.CHROMIUM, args=browser.CHROMIUM_ARGS)
        context = chromium.new_context(
            viewport={"width": 1400, "height": 2000}, accept_downloads=True
        )
        page = context.new_page()
        page.dialogs = []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.set_default_timeout(120_000)  # Streamlit's reruns are slow on a loaded machine
        yield page
        context.close()
        chromium.close()


def verified_objects(demo: Path) -> list[dict]:
    """The demo's causal object words (one per ward, in the summary's order)."""
    summary = json.loads((demo / "summary.json").read_text(encoding="utf-8"))
    found: dict[str, dict] = {}
    for w in summary["verification"]["words"]:
        if w["kind"] == "object" and w["verdict"] == "causal" and w["class"] not in found:
            found[w["class"]] = w
    return list(found.values())


def confidences(pg) -> list[float]:
    return [
        float(m.group(1))
        for text in pg.locator('[data-testid="stMarkdownContainer"]').all_inner_texts()
        if (m := re.search(r"(?:confidence|確信度) ([\d.]+)%", text))
    ]


def images_loaded(pg) -> bool:
    return pg.evaluate(
        "[...document.querySelectorAll('[data-testid=stImage] img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )


def dark_teal(r: int, g: int, b: int) -> bool:
    """A keyword bar of high precision (the "teals" scheme's dark end), not text or axes."""
    return r < 120 and g > r + 25 and b > r + 25


def keywords_to_photos(pg, base: str, lang: str, demo: Path) -> str:
    """Keywords of a ward with a verified object word; a click on its top bar opens Photos,
    most confident first, with the word's verification pictures. Returns the word."""
    ward = verified_objects(demo)[0]["class"]
    pg.goto(f"{base}/keywords?lang={lang}&ward={urllib.parse.quote(ward)}")
    h1(pg, PAGES[lang]["kw"])
    chart = pg.locator('[data-testid="stVegaLiteChart"]').first
    chart.wait_for()
    settle(pg)
    assert pg.locator('[data-testid="stMain"] h5').all_inner_texts() == [ward]
    browser._click_colour(pg, chart, dark_teal)  # the first dark bar from the top: rank 1
    h1(pg, PAGES[lang]["ph"])
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(pg.url).query)
    assert query["ward"] == [ward] and "order" not in query
    word = query["word"][0]
    shown = confidences(pg)
    assert len(shown) >= 3 and shown == sorted(shown, reverse=True)
    # the word the user came from is verified in the demo: its pictures are open on the cards
    tested = [
        w
        for w in json.loads((demo / "summary.json").read_text(encoding="utf-8"))["verification"][
            "words"
        ]
        if w["class"] == ward and w["word"] == word and w["n"]
    ]
    assert tested, f"{word} ({ward}) has no verified photos in the demo"
    # every photo of the word on one page: the pictures of the photos its test measured
    pg.goto(f"{pg.url}&size=48")
    h1(pg, PAGES[lang]["ph"])
    pictures = pg.locator('[data-testid="stImage"]')
    hidden = pictures.filter(has_text=HIDDEN[lang].format(word=word))
    control = pictures.filter(has_text=CONTROL[lang])
    hidden.first.wait_for()
    assert hidden.count() >= 1 and control.count() >= 1
    assert images_loaded(pg)
    shot(pg, f"demo_photos_verified_{lang}")
    no_errors(pg)
    return word


def compare_two_words_and_wards(pg, base: str, lang: str, demo: Path) -> None:
    """Compare the words of two wards, then ward against ward; a contrast bar opens Photos."""
    first, second = verified_objects(demo)[:2]
    words = "&".join(f"word={urllib.parse.quote(w['word'])}" for w in (first, second))
    a, b = (urllib.parse.quote(w["class"]) for w in (first, second))
    pg.goto(f"{base}/compare?lang={lang}&{words}&a={a}&b={b}")
    h1(pg, PAGES[lang]["cmp"])
    tags = pg.get_by_test_id("stMultiSelect").first.inner_text()
    assert first["word"] in tags and second["word"] in tags
    assert pg.locator('[data-testid="stAlertContentWarning"]').count() == 0  # nothing dropped
    assert pg.locator('[data-testid="stVegaLiteChart"]').count() >= 2
    shot(pg, f"demo_compare_{lang}")
    contrast = pg.locator('[data-testid="stVegaLiteChart"]').last
    contrast.scroll_into_view_if_needed()
    settle(pg)
    box = contrast.bounding_box()
    pg.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + 10)  # the first ward's top word
    h1(pg, PAGES[lang]["ph"])
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(pg.url).query)
    assert query.get("ward") == [first["class"]] and query.get("word")
    assert images_loaded(pg)
    no_errors(pg)


def overview_to_a_confusion_cell(pg, base: str, lang: str) -> None:
    pg.goto(f"{base}/?lang={lang}")
    h1(pg, PAGES[lang]["ov"])
    heatmap = pg.locator('[data-testid="stVegaLiteChart"]').nth(1)
    heatmap.scroll_into_view_if_needed()
    settle(pg)
    shot(pg, f"demo_overview_{lang}")
    browser._click_colour(pg, heatmap, lambda r, g, b: r > 150 and g < 110 and b < 60)
    h1(pg, PAGES[lang]["ph"])
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(pg.url).query)
    assert query.get("by") == ["pred"] and query.get("true") and query.get("ward")
    shown = confidences(pg)
    assert shown and shown == sorted(shown, reverse=True)
    no_errors(pg)


def export_every_table(pg, base: str, lang: str) -> int:
    """Download every table of the Export page and read it with ``csv``; returns how many."""
    pg.goto(f"{base}/export?lang={lang}")
    h1(pg, PAGES[lang]["ex"])
    count = download_every_export(pg, lang)
    no_errors(pg)
    return count


def report(pg, base: str, lang: str, demo: Path, tmp_path: Path) -> None:
    pg.goto(f"{base}/report?lang={lang}")
    h1(pg, REPORT[lang])
    with pg.expect_download() as info:
        pg.get_by_test_id("stDownloadButton").first.click()
    html = Path(info.value.path()).read_text(encoding="utf-8")
    assert html.startswith("<!")
    for w in verified_objects(demo):
        assert w["class"] in html and w["word"] in html
    assert html.count("<img") >= 3 * len(verified_objects(demo))  # photo, hidden, control
    (tmp_path / f"report_{lang}.html").write_text(html, encoding="utf-8")
    no_errors(pg)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_analysts_day_on_the_demo(pg, demo_server, demo, tmp_path, lang):
    base = demo_server
    requests: list[str] = []
    pg.context.on("request", lambda r: requests.append(r.url))
    keywords_to_photos(pg, base, lang, demo)
    compare_two_words_and_wards(pg, base, lang, demo)
    overview_to_a_confusion_cell(pg, base, lang)
    assert export_every_table(pg, base, lang) >= 3
    report(pg, base, lang, demo, tmp_path)
    assert requests and browser._own_host_only(requests, base) == []
