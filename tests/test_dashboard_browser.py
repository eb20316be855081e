"""The dashboard in a real browser: `wordcam dashboard`'s streamlit server + headless Chromium.

Needs the Debian ``chromium`` package (``/usr/bin/chromium``) and the ``playwright`` Python
package (its bundled driver only; never ``playwright install``). Run with ``-m browser``.
Screenshots of every page go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
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


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A streamlit server started exactly as `wordcam dashboard` starts it, on a hostile DB."""
    from core.cli.dashboard import streamlit_command

    root = tmp_path_factory.mktemp("browser")
    db = make_db(root / "hostile.duckdb", n_images=300, hostile=True)
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
        yield base, db
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


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
    pg.goto(base)
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
