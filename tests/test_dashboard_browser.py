"""The dashboard in a real browser: `wordcam dashboard`'s streamlit server + headless Chromium.

Needs the Debian ``chromium`` package (``/usr/bin/chromium``) and the ``playwright`` Python
package (its bundled driver only; never ``playwright install``). Run with ``-m browser``.
Screenshots of every page go to ``test-artifacts/``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from synthetic_db import HOSTILE_CLASS, make_db

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
BOM = b"\xef\xbb\xbf"

if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"{CHROMIUM} not found: install the Debian chromium package "
        "(apt-get install -y chromium fonts-noto-cjk)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="pip install playwright (the driver is bundled)"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(db: Path, root: Path):
    """A streamlit server started exactly as `wordcam dashboard` starts it; yields its URL."""
    from core.cli.dashboard import streamlit_command

    port = _free_port()
    log = open(root / "server.log", "wb")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen(
        streamlit_command(db, "127.0.0.1", port),
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "WORDCAM_DB": str(db)},
        cwd=root,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError((root / "server.log").read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The dashboard on a hostile DB (a Japanese run: the UI opens in Japanese)."""
    root = tmp_path_factory.mktemp("browser")
    db = make_db(root / "hostile.duckdb", n_images=300, hostile=True)
    with serve(db, root) as base:
        yield base, db


@pytest.fixture()
def page(server):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1400, "height": 2000}, accept_downloads=True
        )
        pg = context.new_page()
        pg.dialogs = []
        pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
        pg.set_default_timeout(60_000)
        yield pg
        context.close()
        browser.close()


def settle(pg, quiet: float = 1.5, timeout: float = 90) -> None:
    """Wait until the app has finished running (no status widget, no stale elements)."""
    deadline = time.time() + timeout
    calm_since = None
    while time.time() < deadline:
        busy = (
            pg.locator('[data-testid="stStatusWidget"]').count()
            + pg.locator('[data-testid*="Skeleton"]').count()
            + pg.locator('[data-stale="true"]').count()
        )
        if busy:
            calm_since = None
        elif calm_since is None:
            calm_since = time.time()
        elif time.time() - calm_since >= quiet:
            return
        time.sleep(0.25)


def open_view(pg, title: str) -> None:
    pg.get_by_test_id("stSidebarNavLink").filter(has_text=title).click()
    pg.locator('[data-testid="stMain"] h1', has_text=title).wait_for()
    settle(pg)


def shot(pg, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"dashboard_{name}.png"), full_page=True)


def no_errors(pg) -> None:
    assert pg.locator('[data-testid="stException"]').count() == 0
    assert pg.dialogs == []
    scripts = pg.evaluate("[...document.scripts].map(s => s.textContent).join('\\n')")
    assert "xss" not in scripts
    assert pg.locator('img[src="x"], img[src="y"]').count() == 0


def test_keywords_to_photos_to_csv(page, server, tmp_path):
    base, _ = server
    pg = page
    pg.goto(f"{base}/?lang=en")  # the run is Japanese; these checks read the English labels
    pg.locator('[data-testid="stMain"] h1', has_text="Overview").wait_for(timeout=120_000)
    settle(pg)
    pg.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    shot(pg, "overview")
    no_errors(pg)

    # Keywords: the hostile ward name is shown as text (multiselect tag and chart heading).
    open_view(pg, "Keywords")
    pg.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    assert pg.get_by_text(HOSTILE_CLASS, exact=True).count() >= 1
    no_errors(pg)

    # Filter one ward: remove the preselected ones, then pick 台東区.
    wards = pg.get_by_test_id("stMultiSelect").filter(has_text="Wards")
    while wards.get_by_role("button", name="Remove").count():
        wards.get_by_role("button", name="Remove").first.click()
        settle(pg, quiet=0.8)
    wards.get_by_role("combobox").click()
    pg.keyboard.type("台東区")
    pg.keyboard.press("Enter")
    pg.keyboard.press("Escape")
    settle(pg)
    headings = pg.locator('[data-testid="stMain"] h5').all_inner_texts()
    assert headings == ["台東区"]
    shot(pg, "keywords")

    # Click a word: the word picker's first entry (the ward's top word) -> its photos.
    picked = pg.get_by_role("combobox", name="Word").input_value()
    word = picked.split("·")[0].strip()
    assert word
    pg.get_by_role("button", name="Show photos").click()
    pg.locator('[data-testid="stMain"] h1', has_text="Photos").wait_for()
    settle(pg)
    assert pg.get_by_label("Word", exact=True).input_value() == word
    assert f"word={urllib.parse.quote(word)}" in pg.url
    assert pg.get_by_text("photos match").count() == 1
    images = pg.locator('[data-testid="stImage"] img')
    assert images.count() >= 3
    assert pg.evaluate(
        "[...document.querySelectorAll('[data-testid=stImage] img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    shot(pg, "photos")
    no_errors(pg)

    # Hostile explanations render as text.
    pg.get_by_label("Word", exact=True).fill("")
    pg.get_by_label("Search explanations and file names").fill("script")
    pg.keyboard.press("Enter")
    settle(pg)
    assert pg.get_by_text("<script>alert('xss')</script>", exact=False).count() >= 1
    assert pg.get_by_text(":red[赤]", exact=False).count() >= 1
    no_errors(pg)
    shot(pg, "photos_hostile")

    # Clicking a bar of a keyword chart also opens that word's photos.
    open_view(pg, "Keywords")
    chart = pg.locator('[data-testid="stVegaLiteChart"]').first
    chart.wait_for()
    settle(pg)
    box = chart.bounding_box()
    pg.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + 12)  # the top (rank 1) bar
    pg.locator('[data-testid="stMain"] h1', has_text="Photos").wait_for()
    settle(pg)
    assert "word=" in pg.url and "ward=" in pg.url
    assert pg.get_by_text("photos match").count() == 1
    no_errors(pg)

    open_view(pg, "Compare words")
    pg.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    shot(pg, "compare")
    no_errors(pg)

    open_view(pg, "Precompute")
    shot(pg, "precompute")
    no_errors(pg)

    # Export: the CSVs start with a BOM (Excel reads Japanese), the photo CSV is generated on click.
    open_view(pg, "Export")
    shot(pg, "export")
    buttons = pg.get_by_test_id("stDownloadButton")
    assert buttons.count() >= 3
    with pg.expect_download() as info:
        buttons.first.click()
    table = Path(info.value.path()).read_bytes()
    assert table.startswith(BOM)
    assert table.decode("utf-8-sig").startswith("rank,")
    with pg.expect_download() as info:
        buttons.last.click()
    photos = Path(info.value.path()).read_bytes()
    assert photos.startswith(BOM)
    assert "<script>alert('xss')</script>" in photos.decode("utf-8-sig")
    shutil.copyfile(info.value.path(), tmp_path / "photos.csv")
    no_errors(pg)


DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"


def screenshot_path(name: str, tmp_path: Path) -> Path:
    """Where a screenshot goes: the README's ``docs/images`` only when asked for
    (``WORDCAM_DOCS_SCREENSHOTS=1``), else the test's own folder, so a test run never
    replaces the README's pictures with this file's fixture photos."""
    folder = DOCS_IMAGES if os.environ.get("WORDCAM_DOCS_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def h1(pg, text: str, timeout: float = 120_000) -> None:
    pg.locator('[data-testid="stMain"] h1', has_text=text).wait_for(timeout=timeout)
    settle(pg)


def test_japanese_ui_then_english_through_the_url(page, server):
    base, _ = server
    pg = page
    pg.goto(base)  # a Japanese run: the UI opens in Japanese
    h1(pg, "概要")
    nav = pg.get_by_test_id("stSidebarNavLink").all_inner_texts()
    assert [n.split("\n")[-1].strip() for n in nav][:4] == [
        "概要",
        "キーワード",
        "単語の比較",
        "写真",
    ]
    assert pg.get_by_text("画像モデル(予測 = 正解)").count() == 1
    assert pg.get_by_text("混同行列").count() == 1
    no_errors(pg)
    pg.goto(f"{base}/keywords?lang=en")
    h1(pg, "Keywords")
    assert pg.get_by_text("Words → label accuracy").count() == 1
    open_view(pg, "Photos")  # the choice holds on the next page
    assert pg.get_by_text("photos match").count() == 1
    no_errors(pg)


def test_keyword_to_the_most_confident_photos_of_the_ward(page, server, tmp_path):
    base, _ = server
    pg = page
    pg.goto(f"{base}/keywords?ward=台東区")
    h1(pg, "キーワード")
    pg.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    pg.screenshot(path=str(screenshot_path("keywords_ja.png", tmp_path)), full_page=True)
    word = pg.get_by_role("combobox", name="単語").input_value().split("·")[0].strip()
    pg.get_by_role("button", name="写真を見る").click()
    h1(pg, "写真")
    # most confident first is the default order (left out of the URL, issue 23)
    assert "order=" not in pg.url and f"word={urllib.parse.quote(word)}" in pg.url
    confidences = [
        float(m.group(1))
        for t in pg.get_by_text("確信度").all_inner_texts()
        if (m := re.search(r"確信度 ([\d.]+)%", t))
    ]
    assert len(confidences) >= 3 and confidences == sorted(confidences, reverse=True)
    shot(pg, "photos_confident_ja")
    no_errors(pg)
    pg.go_back()  # the browser's back button returns to Keywords
    h1(pg, "キーワード")


def test_a_copied_url_restores_keywords_and_compare(page, server):
    base, _ = server
    pg = page
    pg.goto(f"{base}/keywords?lang=en")
    h1(pg, "Keywords")
    # set filters by hand, copy the URL, open it in a fresh session
    wards = pg.get_by_test_id("stMultiSelect").filter(has_text="Wards")
    while wards.get_by_role("button", name="Remove").count():
        wards.get_by_role("button", name="Remove").first.click()
        settle(pg, quiet=0.8)
    for ward in ("港区", "墨田区"):
        wards.get_by_role("combobox").click()
        pg.keyboard.type(ward)
        pg.keyboard.press("Enter")
        pg.keyboard.press("Escape")
        settle(pg)
    copied = pg.url
    assert "ward=" in copied
    fresh = pg.context.browser.new_context(viewport={"width": 1400, "height": 2000}).new_page()
    fresh.goto(copied)
    h1(fresh, "Keywords")
    assert fresh.locator('[data-testid="stMain"] h5').all_inner_texts() == ["港区", "墨田区"]
    fresh.goto(f"{base}/compare?lang=en&word=橋&word=緑&a=港区&b=中央区&top=4")
    h1(fresh, "Compare words")
    tags = fresh.get_by_test_id("stMultiSelect").filter(has_text="Words").inner_text()
    assert "橋" in tags and "緑" in tags and "密集" not in tags
    assert fresh.get_by_role("combobox", name="First ward").input_value() == "港区"
    assert fresh.get_by_role("combobox", name="Second ward").input_value() == "中央区"
    fresh.context.close()


def test_report_downloads_and_opens_offline_with_its_images(page, server, tmp_path):
    base, _ = server
    pg = page
    pg.goto(f"{base}/report")
    h1(pg, "レポート")
    with pg.expect_download() as info:
        pg.get_by_role("button", name="レポートをダウンロード(HTML)").click()
    saved = tmp_path / "report.html"
    shutil.copyfile(info.value.path(), saved)
    offline = pg.context.browser.new_context(viewport={"width": 1100, "height": 1400}, offline=True)
    requests: list[str] = []
    viewer = offline.new_page()
    viewer.on("request", lambda r: requests.append(r.url))
    viewer.goto(saved.as_uri())
    viewer.locator("h1", has_text="区ごとのレポート").wait_for()
    images = viewer.locator("img")
    assert images.count() >= 18
    assert viewer.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    box = viewer.locator("section.ward").nth(1).bounding_box()  # a ward with its photos
    viewer.screenshot(
        path=str(screenshot_path("report_ja.png", tmp_path)),
        full_page=True,
        clip={"x": 0, "y": box["y"] - 10, "width": 1100, "height": 1400},
    )
    offline.close()


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """A real (imagenet + grounded) run of two of four photos, and the dashboard on it."""
    from test_precompute import make_photos

    from core.jobs import run_precompute

    root = tmp_path_factory.mktemp("resume")
    photos = make_photos(root / "photos", per_class=2, broken=False)
    db = root / "real.duckdb"
    run_precompute(photos, db, limit=2, progress=False)
    with serve(db, root) as base:
        yield base, db, photos


def test_precompute_is_prefilled_and_resumes_the_run(page, real_run):
    from core.store import connect_read

    base, db, photos = real_run
    pg = page
    pg.goto(f"{base}/precompute")
    h1(pg, "事前計算")
    assert pg.get_by_label("写真フォルダ").input_value() == str(photos.resolve())
    assert pg.get_by_label("モデル", exact=True).input_value() == "imagenet"
    button = pg.get_by_role("button", name="この実行を再開")
    assert button.count() == 1
    shot(pg, "precompute_prefilled_ja")
    before = db.stat().st_mtime_ns
    assert button.is_disabled()  # writing into the open database waits for a tick
    pg.get_by_text("開いているデータベース").first.click()
    settle(pg)
    button.click()
    pg.get_by_text("ジョブ: 実行中").or_(pg.get_by_text("ジョブ: 開始中")).first.wait_for()
    deadline = time.time() + 300
    while (
        time.time() < deadline
        and pg.get_by_role("button", name="停止(完了した写真は残ります)").count()
    ):
        time.sleep(1)
    pg.get_by_text("完了しました").wait_for(timeout=60_000)
    assert db.stat().st_mtime_ns > before  # a new snapshot was published
    with connect_read(db) as con:
        runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
        done = con.execute("SELECT count(*) FROM images WHERE status = 'done'").fetchone()[0]
    assert (runs, done) == (1, 6)  # the same run, now with every photo
    no_errors(pg)


# ----------------------------------------------------------------- issue 23: the analyst's day


def _own_host_only(requests: list[str], base: str) -> list[str]:
    """The requests that left the machine (anything but the dashboard's own server)."""
    own = urllib.parse.urlsplit(base).netloc
    return [
        u
        for u in requests
        if urllib.parse.urlsplit(u).scheme in ("http", "https", "ws", "wss")
        and urllib.parse.urlsplit(u).netloc != own
    ]


def _click_colour(pg, chart, match) -> None:
    """Click the first pixel of ``chart`` whose colour satisfies ``match(r, g, b)``."""
    import io

    from PIL import Image

    box = chart.bounding_box()
    image = Image.open(io.BytesIO(chart.screenshot())).convert("RGB")
    width, height = image.size
    pixels = image.load()
    for y in range(2, height - 2, 2):
        for x in range(2, width - 2, 2):
            if match(*pixels[x, y]) and match(*pixels[x + 2, y + 2]):
                scale = box["width"] / width
                pg.mouse.click(box["x"] + (x + 2) * scale, box["y"] + (y + 2) * scale)
                return
    raise AssertionError("no such colour in the chart")


def _photos_opened(pg, title: str) -> list[float]:
    """Wait for Photos; return the confidences shown, in page order."""
    h1(pg, title)
    return [
        float(m.group(1))
        for text in pg.locator('[data-testid="stMarkdownContainer"]').all_inner_texts()
        if (m := re.search(r"(?:confidence|確信度) ([\d.]+)%", text))
    ]


DAY = {
    "ja": {"kw": "キーワード", "ph": "写真", "ov": "概要", "cmp": "単語の比較", "ex": "書き出し"},
    "en": {
        "kw": "Keywords",
        "ph": "Photos",
        "ov": "Overview",
        "cmp": "Compare words",
        "ex": "Export",
    },
}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_analysts_day(page, server, tmp_path, lang):
    """Keywords -> click a bar -> Photos (most confident first) -> Compare two words and two
    wards -> click a contrast bar -> Overview -> click a confusion cell -> export each table and
    read it with ``csv`` -> the report; and no request to any host but the dashboard's own."""

    base, _ = server
    pg = page
    words = DAY[lang]
    requests: list[str] = []
    pg.context.on("request", lambda r: requests.append(r.url))

    pg.goto(f"{base}/keywords?lang={lang}&ward=台東区")
    h1(pg, words["kw"])
    chart = pg.locator('[data-testid="stVegaLiteChart"]').first
    chart.wait_for()
    settle(pg)
    box = chart.bounding_box()
    pg.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + 12)  # the top (rank 1) bar
    confidences = _photos_opened(pg, words["ph"])
    assert "word=" in pg.url and "ward=" in pg.url and "order=" not in pg.url
    assert len(confidences) >= 3 and confidences == sorted(confidences, reverse=True)
    chips = pg.get_by_role("button").filter(has_text="台東区")
    assert chips.count() >= 1  # the filter as a removable chip
    shot(pg, f"day_photos_{lang}")
    no_errors(pg)

    pg.goto(f"{base}/compare?lang={lang}&word=密集&word=群&a=台東区&b=港区")
    h1(pg, words["cmp"])
    contrast = pg.locator('[data-testid="stVegaLiteChart"]').last
    contrast.scroll_into_view_if_needed()
    settle(pg)
    box = contrast.bounding_box()
    pg.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + 10)  # the first ward's top word
    _photos_opened(pg, words["ph"])
    assert "ward=" in pg.url and "word=" in pg.url
    no_errors(pg)

    pg.goto(f"{base}/?lang={lang}")
    h1(pg, words["ov"])
    heatmap = pg.locator('[data-testid="stVegaLiteChart"]').nth(1)
    heatmap.scroll_into_view_if_needed()
    settle(pg)
    _click_colour(pg, heatmap, lambda r, g, b: r > 150 and g < 110 and b < 60)  # a full cell
    _photos_opened(pg, words["ph"])
    assert "by=pred" in pg.url and "true=" in pg.url
    no_errors(pg)

    pg.goto(f"{base}/export?lang={lang}")
    h1(pg, words["ex"])
    assert download_every_export(pg, lang) >= 1
    no_errors(pg)

    pg.goto(f"{base}/report?lang={lang}")
    h1(pg, "レポート" if lang == "ja" else "Report")
    with pg.expect_download() as info:
        pg.get_by_test_id("stDownloadButton").first.click()
    assert Path(info.value.path()).read_bytes().startswith(b"<!")
    assert _own_host_only(requests, base) == []


CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def download_every_export(pg, lang: str) -> int:
    """On the Export page: download every table, read it with ``csv`` and check it (a BOM, a
    rectangle, no cell a spreadsheet reads as a date (n/m) or a formula, headers in the UI
    language: the first header is never a ward name); returns how many."""
    import csv

    buttons = pg.get_by_test_id("stDownloadButton")
    for i in range(buttons.count()):
        with pg.expect_download() as info:
            buttons.nth(i).click()
        raw = Path(info.value.path()).read_bytes()
        assert raw.startswith(BOM)
        rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
        assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows)
        assert not [c for r in rows for c in r if re.fullmatch(r"\d+/\d+|[=+@].*", c)]
        assert bool(CJK.search(rows[0][0])) == (lang == "ja"), rows[0]
    return buttons.count()
