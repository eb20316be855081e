"""The fault suite, part two: inputs wordcam did not write (issue 22 and the earlier audits).

Databases of other programs, a bad Ray address, special files named like photos, corrupt model
files and CSV cells that start a formula. Each test is a probe of an audit, kept: it failed
before its fix. ``docs/reliability.md`` lists every promise beside its test; the store's faults
(interruptions, kill -9, damaged and linked work files) are in ``tests/test_faults.py``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb
import pytest
from test_precompute import make_photos

from core.cli import main

# ----------------------------------------------------------------------------- 22.10: other DBs


def foreign_db(path: Path, kind: str) -> Path:
    """A database file that is not wordcam's."""
    if kind == "sqlite":
        import sqlite3

        with sqlite3.connect(path) as con:
            con.execute("CREATE TABLE runs (x)")
        con.close()
        return path
    with duckdb.connect(str(path)) as con:
        if kind == "unrelated-runs":
            con.execute("CREATE TABLE runs (x INTEGER); INSERT INTO runs VALUES (1)")
    return path


@pytest.mark.parametrize("kind", ["empty", "unrelated-runs", "sqlite"])
@pytest.mark.parametrize("command", ["mine", "report", "verify", "precompute"])
def test_a_database_that_is_not_wordcams_is_one_line(
    tmp_path: Path, capsys, monkeypatch, kind: str, command: str
) -> None:
    """22.10: mine, report, verify and precompute say so in one line; no network is tried."""
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("wordcam tried the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    db = foreign_db(tmp_path / "other.duckdb", kind)
    before = db.read_bytes()
    args = {
        "mine": ["mine", "--db", str(db)],
        "report": ["report", "--db", str(db), "--out", str(tmp_path / "r.html")],
        "verify": ["verify", "--db", str(db)],
        "precompute": ["precompute", str(tmp_path), "--db", str(db), "--model", "tiny"],
    }[command]
    if command == "precompute":
        make_photos(tmp_path / "p", per_class=1, broken=False)
        args[1] = str(tmp_path / "p")
    assert main(args) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert re.search("not a (readable )?wordcam database", err) and "download" not in err, err
    assert db.read_bytes() == before


# ----------------------------------------------------------------------------- 22.8: CSV


FORMULAS = ["=1+1", "+cmd|' -C calc'!A0", "@SUM(1)", "-2+3", "\t=x"]


def test_verify_csv_neutralises_formulas() -> None:
    """22.8: wordcam verify --format csv writes no cell that starts a formula."""
    import csv
    import io

    from core.store.effects import WordEffect
    from core.verify.report import VerifyReport

    words = [
        WordEffect(f, f, 3, -0.25, -0.5, 0.1, 0.2, 0.3, "none", "@fill", "=control")
        for f in FORMULAS
    ]
    text = VerifyReport(1, words, "@fill", "=control", {}).to_csv()
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t") or c.startswith("-2")]
    assert "'=1+1" in cells and "-0.25" in cells, "numbers are kept as they are"


def test_one_csv_writer() -> None:
    """22.8: no CSV is written anywhere but through core.export."""
    root = Path(__file__).resolve().parents[1]
    writers = re.compile(r"csv\.(writer|DictWriter)\(|\.to_csv\(")
    found = [
        f"{path.relative_to(root)}:{n}"
        for folder in ("core", "dashboard")
        for path in sorted((root / folder).rglob("*.py"))
        if path.name != "export.py" or path.parent.name != "core"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if writers.search(line)
    ]
    assert found == []


# ----------------------------------------------------------------------------- 22.4: Ray address


@pytest.mark.parametrize(
    "address", ["127.0.0.1:1", "ray://127.0.0.1:1", "garbage::://", "ray://", "host:99999"]
)
def test_bad_ray_address_is_one_line_within_seconds(
    tmp_path: Path, capsys, monkeypatch, address: str
) -> None:
    """22.4: no Ray is started for an address nothing answers at; one line, in seconds."""
    import time

    ray = pytest.importorskip("ray")

    def no_init(*args, **kwargs):
        raise AssertionError("ray.init was called for an address nothing answers at")

    monkeypatch.setattr(ray, "init", no_init)
    photos = make_photos(tmp_path / "p", per_class=1, broken=False)
    argv = ["precompute", str(photos), "--db", str(tmp_path / "wc.duckdb"), "--model", "tiny"]
    argv += ["--explainer", "testwords", "--no-progress", "--engine", "ray"]
    started = time.monotonic()
    assert main([*argv, "--ray-address", address]) == 1
    assert time.monotonic() - started < 15
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "Ray" in err and address.split("://")[-1].split(":")[0] in err
    assert not (tmp_path / "wc.duckdb").exists(), "a run was started"


# ----------------------------------------------------------------------------- earlier audits


def test_fifo_and_other_special_files_are_skipped_and_named(tmp_path: Path) -> None:
    """A FIFO named like a photo would block the reader for ever: skipped, named."""
    from core.jobs.photos import list_photos

    photos = make_photos(tmp_path / "p", per_class=1, broken=False)
    os.mkfifo(photos / "猫" / "pipe.jpg")
    listing = list_photos(photos)
    assert len(listing.photos) == 3
    assert [s.path for s in listing.skipped] == [str(photos.resolve() / "猫" / "pipe.jpg")]


class Boom:
    """A pickle that would create a file if it were ever unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def corrupt_weights(path: Path, kind: str, marker: Path) -> Path:
    import io
    import zipfile

    import torch

    state = {"weight": torch.zeros(2, 2)}
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(bytes(range(256)) * 40)
    elif kind == "text":
        path.write_text("this is a README, not weights\n", encoding="utf-8")
    elif kind == "truncated":
        buf = io.BytesIO()
        torch.save(state, buf)
        path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    elif kind == "zip-of-garbage":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("archive/data.pkl", b"garbage")
    elif kind == "whole-model":
        torch.save(torch.nn.Linear(2, 2), path)
    elif kind == "code":
        torch.save({"weight": Boom(marker)}, path)
    elif kind == "not-tensors":
        torch.save({"weight": [1, 2, 3]}, path)
    return path


@pytest.mark.parametrize(
    "kind",
    [
        "empty",
        "random",
        "text",
        "truncated",
        "zip-of-garbage",
        "whole-model",
        "code",
        "not-tensors",
    ],
)
def test_corrupt_weights_are_one_line_and_never_run_code(tmp_path: Path, kind: str) -> None:
    from core.errors import WordcamError
    from core.models.arch import read_state_dict

    marker = tmp_path / "pwned"
    weights = corrupt_weights(tmp_path / "w.pth", kind, marker)
    with pytest.raises(WordcamError) as raised:
        read_state_dict(weights)
    assert "\n" not in str(raised.value) and str(weights) in str(raised.value)
    assert not marker.exists(), "a pickle was executed"


# ----------------------------------------------------------------------------- the VLM cache

OFFLINE_SETTINGS = (
    "SELECT current_setting('autoinstall_known_extensions'),"
    " current_setting('autoload_known_extensions')"
)


def test_vlm_cache_connections_are_offline(tmp_path: Path, monkeypatch) -> None:
    """The VLM call cache's writing and reading connections use the store's offline settings
    (no DuckDB extension installed or auto-loaded), as the DB's connections do."""
    import core.store.vlm_calls as vlm_calls
    from core.explainers.vlm_cache import VLMCache, usage_summary

    path = tmp_path / "vlm_cache.duckdb"
    with VLMCache(path) as cache:
        assert cache.warning is None
        assert cache._con.execute(OFFLINE_SETTINGS).fetchone() == (False, False)
    seen = []
    real = vlm_calls.usage_by_model

    def spy(con, since_days=None):
        seen.append(con.execute(OFFLINE_SETTINGS).fetchone())
        return real(con, since_days)

    monkeypatch.setattr(vlm_calls, "usage_by_model", spy)
    assert usage_summary(path=path)["total"]["calls"] == 0
    assert seen == [(False, False)]


def test_a_sqlite_file_as_the_vlm_cache_is_one_line_without_a_download(tmp_path: Path) -> None:
    """A SQLite file where the cache should be: caching is off with a one-line warning and
    ``wordcam usage`` is one line; DuckDB's sqlite extension is never fetched or loaded."""
    from core.errors import DataError
    from core.explainers.vlm_cache import VLMCache, usage_summary

    path = foreign_db(tmp_path / "vlm_cache.duckdb", "sqlite")
    before = path.read_bytes()
    cache = VLMCache(path)
    cache.open()
    assert cache._con is None and cache.get("key") is None
    assert "a SQLite database" in cache.warning and "\n" not in cache.warning
    with pytest.raises(DataError, match="a SQLite database") as raised:
        usage_summary(path=path)
    assert "\n" not in str(raised.value) and "move it away" in str(raised.value)
    assert path.read_bytes() == before
