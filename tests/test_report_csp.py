"""The HTML report's Content-Security-Policy: opened offline, it loads nothing from anywhere.

The report (``core.report.render_html``) embeds every picture as a ``data:`` URI and escapes
every untrusted text. Its ``<meta http-equiv="Content-Security-Policy">`` is the second wall:
should a remote reference ever slip into the page (a template change, a model answer that
escaped escaping), the browser must refuse to fetch it. Two checks:

- the policy as written: one CSP meta, in ``<head>`` before anything that could load, whose
  ``default-src`` is ``'none'`` and whose every directive allows no scheme, host or wildcard
  that reaches a network (only ``'none'``, ``'unsafe-inline'`` for styles, and ``data:``), and
  no script at all;
- the policy as Chromium applies it (``browser`` marker): probes of every kind of remote
  load (image, style sheet, icon, ``@import``, CSS background, font, script, frame, object,
  media, SVG image) put into a rendered report are refused: a local HTTP server counts
  zero requests, while the same page without its CSP draws requests from the same probes.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from synthetic_db import make_db

from core.report import build_report, render_html

#: Source expressions that reach no network; anything else (a scheme, a host, *) would.
LOCAL_SOURCES = {"'none'", "'unsafe-inline'", "data:"}
#: Elements that load something when parsed; the policy must come before the first of them.
LOADING = {"img", "link", "script", "style", "iframe", "frame", "object", "embed", "video",
           "audio", "source", "track", "image", "input", "base", "svg"}  # fmt: skip


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> str:
    """The HTML report of a small demo-like DB with a hostile ward name."""
    db = make_db(tmp_path_factory.mktemp("csp") / "demo.duckdb", n_images=120, hostile=True)
    return render_html(build_report(db))


class _Head(HTMLParser):
    """The CSP metas (with whether they sat in <head> and before any loading element)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_head = False
        self.loaded = False
        self.policies: list[tuple[str, bool, bool]] = []  # (content, in head, before loads)
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "head":
            self.in_head = True
        elif tag == "meta" and values.get("http-equiv", "").lower() == "content-security-policy":
            self.policies.append((values.get("content", ""), self.in_head, not self.loaded))
        elif tag in LOADING:
            self.loaded = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False


def directives(policy: str) -> dict[str, list[str]]:
    """``default-src 'none'; img-src data:`` -> ``{"default-src": ["'none'"], ...}``."""
    out: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out.setdefault(words[0].lower(), [w.lower() for w in words[1:]])  # first one counts
    return out


def policy_of(html: str) -> dict[str, list[str]]:
    head = _Head()
    head.feed(html)
    assert len(head.policies) == 1, head.policies
    content, in_head, before_loads = head.policies[0]
    assert in_head, "the CSP meta is outside <head>: browsers ignore it there"
    assert before_loads, "something loads before the CSP meta, so the policy does not cover it"
    return directives(content)


def test_the_report_policy_forbids_every_remote_source(html: str) -> None:
    policy = policy_of(html)
    assert policy.get("default-src") == ["'none'"], policy
    for name, sources in policy.items():
        assert sources, f"{name} with no source"
        remote = [s for s in sources if s not in LOCAL_SOURCES]
        assert not remote, f"{name} allows {remote}"
    for name in ("script-src", "script-src-elem", "script-src-attr", "worker-src"):
        assert policy.get(name, ["'none'"]) == ["'none'"], f"{name}: {policy.get(name)}"
    assert "'unsafe-inline'" not in policy.get("default-src", [])
    assert "<script" not in html.lower()
    # Not covered by default-src: a <base> (would move relative URLs) or a <form> (a submit
    # is a request) would need their own directives; the report has neither.
    assert not re.search(r"<\s*(base|form)\b", html, re.I)


@pytest.mark.parametrize(
    "changed",
    [
        ("default-src 'none'", "default-src *"),
        ("img-src data:", "img-src data: https:"),
        ("style-src 'unsafe-inline'", "style-src 'unsafe-inline' http://cdn.example"),
        ("default-src 'none';", "default-src 'none'; connect-src 'self';"),
        ("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';"),
    ],
)
def test_the_policy_check_would_fail_on_a_weaker_policy(html: str, changed) -> None:
    """The check above is not vacuous: each weakening of the report's policy fails it."""
    old, new = changed
    assert old in html
    with pytest.raises(AssertionError):
        test_the_report_policy_forbids_every_remote_source(html.replace(old, new, 1))


def test_a_report_without_its_policy_fails_the_check(html: str) -> None:
    without = re.sub(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", "", html)
    assert without != html
    with pytest.raises(AssertionError):
        policy_of(without)
    late = without.replace("</body>", '<meta http-equiv="Content-Security-Policy" '
                           "content=\"default-src 'none'\"></body>")  # fmt: skip
    with pytest.raises(AssertionError):
        policy_of(late)


# ----------------------------------------------------------------------------- in Chromium

CHROMIUM = "/usr/bin/chromium"


def probes(base: str) -> str:
    """Every kind of remote load a page can start, each to its own path on ``base``."""
    return f"""
<img src="{base}/img"><img srcset="{base}/srcset 1x">
<link rel="stylesheet" href="{base}/css">
<link rel="icon" href="{base}/icon">
<style>@import url("{base}/import"); body {{ background: url("{base}/bg"); }}
@font-face {{ font-family: probe; src: url("{base}/font"); }} p {{ font-family: probe; }}</style>
<p style="background-image: url('{base}/inline-bg')">probe</p>
<script src="{base}/script"></script>
<iframe src="{base}/frame"></iframe>
<object data="{base}/object"></object><embed src="{base}/embed">
<video src="{base}/video" autoplay muted></video><audio src="{base}/audio" autoplay></audio>
<svg><image href="{base}/svg-image" width="1" height="1"/></svg>
"""


@contextlib.contextmanager
def counting_server():
    """An HTTP server on 127.0.0.1 that answers 200 to anything and keeps the paths asked."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def open_in_chromium(path: Path, seen: list[str], wait_for: set[str]) -> None:
    """Open ``path`` offline-style (a file URL) and give it time to load: until the server has
    seen every path of ``wait_for``, or 3 s after the page's load event."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(path.as_uri(), wait_until="load")
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and not (wait_for and wait_for <= set(seen)):
                time.sleep(0.1)
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} not found")
def test_chromium_fetches_nothing_the_report_did_not_embed(html: str, tmp_path: Path) -> None:
    meta = re.search(r"<meta http-equiv=\"Content-Security-Policy\"[^>]*>", html)
    assert meta is not None
    with counting_server() as (base, seen):
        probed = html.replace(meta.group(0), meta.group(0) + probes(base), 1)
        guarded = tmp_path / "guarded.html"
        guarded.write_text(probed, encoding="utf-8")
        open_in_chromium(guarded, seen, wait_for=set())
        assert seen == [], f"the report's policy let these through: {seen}"
        # The control: the same probes without the policy are fetched (the probe works).
        bare = tmp_path / "bare.html"
        bare.write_text(probed.replace(meta.group(0), "", 1), encoding="utf-8")
        fetched = {"/img", "/css", "/script", "/import", "/frame"}
        open_in_chromium(bare, seen, wait_for=fetched)
        assert fetched <= set(seen), seen
