"""Issue 14's audit, kept: links, zero flags, malformed corpora, secrets in URLs, formula cells,
control characters, flag injection, huge images, a full disk, exit statuses, early mining."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest
from test_precompute import make_photos

from core.cli import build_parser, main
from core.errors import DataError, WordcamError
from core.jobs import import_texts, progress_path, read_progress, run_precompute
from core.store import connect_read

JOB = {"model": "tiny", "explainer": "testwords", "progress": False}


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return make_photos(tmp_path / "photos", per_class=1)


def stored_paths(db: Path) -> dict[str, tuple]:
    with connect_read(db) as con:
        rows = con.execute("SELECT path, rel_path, true_label, status, sha256 FROM images")
        return {r[0]: r[1:] for r in rows.fetchall()}


# ----------------------------------------------------------------------------- 2: links


def test_links_resolved_once_by_the_rule(tmp_path: Path, photos: Path) -> None:
    outside = make_photos(tmp_path / "elsewhere", per_class=1, broken=False)
    # A photo linked in from outside, a second name of a photo, a class folder that is a
    # link, a loop, a broken link and a hard link.
    (photos / "猫" / "from_outside.jpg").symlink_to(outside / "コーヒー" / "coffee_0.png")
    (photos / "猫" / "again.jpg").symlink_to(photos / "猫" / "chelsea_0.jpg")
    (photos / "linked_class").symlink_to(outside / "ロケット", target_is_directory=True)
    (photos / "ロケット" / "loop").symlink_to(photos, target_is_directory=True)
    (photos / "猫" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    os.link(photos / "コーヒー" / "coffee_0.png", photos / "コーヒー" / "hard.png")
    db = tmp_path / "wc.duckdb"

    summary = run_precompute(photos, db, **JOB)

    rows = stored_paths(db)
    assert summary.status == "done" and len(rows) == 6  # 3 + 1 broken + outside + class
    linked = str(photos.resolve() / "猫" / "from_outside.jpg")
    assert rows[linked][:3] == ("猫/from_outside.jpg", "猫", "done"), "the path as listed"
    assert rows[str(photos.resolve() / "linked_class" / "rocket_0.jpg")][1] == "linked_class"
    skipped = dict(summary.skipped_inputs)
    assert skipped[str(photos.resolve() / "猫" / "again.jpg")].startswith("same file as")
    assert skipped[str(photos.resolve() / "コーヒー" / "hard.png")].startswith("same file as")
    assert skipped[str(photos.resolve() / "ロケット" / "loop")].startswith("link loop")
    assert skipped[str(photos.resolve() / "猫" / "gone.png")] == "broken link"
    again = run_precompute(photos, db, **JOB)  # every rerun works too
    assert again.skipped_existing == 5 and len(stored_paths(db)) == 6


def test_unreadable_folder_is_skipped_and_named(
    tmp_path: Path, photos: Path, monkeypatch, capsys
) -> None:
    locked = photos / "コーヒー"
    real = os.scandir

    def scandir(path="."):
        if Path(path) == locked.resolve():
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    db = tmp_path / "wc.duckdb"
    rc = main(
        ["precompute", str(photos), "--db", str(db), "--model", "tiny"]
        + ["--explainer", "testwords", "--no-progress"]
    )
    out, err = capsys.readouterr()
    assert rc == 3  # broken.jpg failed
    assert f"skipped: {locked.resolve()}: unreadable folder (Permission denied)" in err
    assert "1 inputs skipped" in out


# ----------------------------------------------------------------------------- 3: zero flags


@pytest.mark.parametrize("flag", ["max-retries", "rpm", "timeout", "concurrency", "max-side"])
def test_zero_is_a_value(flag: str) -> None:
    from core.cli.common import explainer_options

    args = build_parser().parse_args(
        ["precompute", "d", "--explainer", "openai:m", f"--{flag}", "0"]
    )
    assert explainer_options(args)[flag.replace("-", "_")] == 0


@pytest.mark.parametrize(
    ("name", "allowed"),
    [("max_retries", True), ("rpm", False), ("timeout", False), ("concurrency", False)]
    + [("max_side", False)],
)
def test_zero_used_or_refused(name: str, allowed: bool) -> None:
    from core.explainers.openai_vlm import OpenAIExplainer

    options = {"base_url": "http://127.0.0.1:9/v1", "preflight": False, name: 0}
    if allowed:
        assert getattr(OpenAIExplainer("m", **options), name) == 0
    else:
        with pytest.raises(WordcamError, match=name):
            OpenAIExplainer("m", **options)


# ----------------------------------------------------------------------------- 4: strict CSV


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"id,label,text\nd1,wardA,a guardrail, a road sign\n", "line 2: 4 fields"),
        (b'id,label,text\nd1,a,"a road\nd2,b,text\nd3,c,more\n', "line 2: a quote opened"),
        (b"id,label,text\nd1,a,ok\nd2,b," + b"x" * 200_000 + b"\n", "line 3: a field longer"),
        (b"id,label,text\nd1,a,ok\nd2,b,\xff\xfe\n", "line 3: not valid UTF-8"),
        (b"id,label\nd1,a,extra\n", "missing column"),
    ],
    ids=["extra-field", "unclosed-quote", "huge-field", "bad-utf8", "no-text"],
)
def test_csv_read_strictly(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "corpus.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        import_texts(path, tmp_path / "wc.duckdb", progress=False)


def test_jsonl_bad_bytes_named_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(b'{"id": "1", "label": "a", "text": "ok"}\n{"id": "2", "text": "\xff"}\n')
    with pytest.raises(DataError, match="line 2: not valid UTF-8"):
        import_texts(path, tmp_path / "wc.duckdb", progress=False)


def test_csv_quoted_newlines_crlf_and_blank_lines_still_read(tmp_path: Path) -> None:
    from core.mining.files import read_text_records

    path = tmp_path / "corpus.csv"
    path.write_bytes(b'\xef\xbb\xbfid,label,text\r\n\r\nd1,a,"two\r\nlines, ok"\r\nd2,b,x\r\n')
    assert [(r.id, r.text) for r in read_text_records(path)] == [
        ("d1", "two\r\nlines, ok"),
        ("d2", "x"),
    ]


# ----------------------------------------------------------------------------- 5: URL secrets


def test_secrets_stripped_from_every_stored_url(tmp_path: Path, photos: Path) -> None:
    url = "http://user:hunter2@host:8000/v1?api-key=SECRET1&key=SECRET2&sig=SECRET3&x=1#t"
    db = tmp_path / "wc.duckdb"
    run_precompute(photos, db, explainer_options={"base_url": url}, limit=1, **JOB)
    with connect_read(db) as con:
        settings = con.execute("SELECT CAST(settings AS VARCHAR) FROM runs").fetchone()[0]
    assert json.loads(settings)["explainer_options"]["base_url"] == "http://host:8000/v1?x=1"
    for secret in ("hunter2", "SECRET", "user"):
        assert secret not in settings


# ----------------------------------------------------------------------------- 6: formulas


def test_dashboard_csv_neutralises_formulas() -> None:
    import pandas as pd

    from dashboard.tables import to_csv_bytes

    frame = pd.DataFrame(
        {"word": ["=HYPERLINK(1)", "+cmd", "-x", "@a", "\tz", "\rz", "ok"], "w": [-0.5] * 7}
    )
    lines = to_csv_bytes(frame).decode("utf-8-sig").splitlines()
    assert lines[1:5] == ["'=HYPERLINK(1),-0.5", "'+cmd,-0.5", "'-x,-0.5", "'@a,-0.5"]
    assert lines[-1] == "ok,-0.5", "plain text and numbers are kept"


def test_mine_csv_neutralises_formulas(tmp_path: Path, capsys) -> None:
    path = tmp_path / "corpus.csv"
    rows = ["id,label,text"]
    rows += [f"a{i},=SUM(A1),=red apple {i}" for i in range(4)]
    rows += [f"b{i},@evil,blue sky {i}" for i in range(4)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert main(["mine", str(path), "--format", "csv", "--lang", "en", "--cv", "0"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "rank,'=SUM(A1),'@evil"
    assert main(["mine", str(path), "--format", "csv", "--examples", "red", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "'=SUM(A1)" in out and ",=" not in out


# ----------------------------------------------------------------------------- 7: injection


def test_control_characters_escaped_in_failure_lines(tmp_path: Path, photos: Path, capsys) -> None:
    (photos / "猫" / "broken.jpg").rename(photos / "猫" / "evil\x1b[2J\nname.jpg")
    rc = main(
        ["precompute", str(photos), "--db", str(tmp_path / "wc.duckdb"), "--model", "tiny"]
        + ["--explainer", "testwords", "--no-progress"]
    )
    err = capsys.readouterr().err
    assert rc == 3 and "\x1b" not in err
    failed = [line for line in err.splitlines() if line.startswith("  failed:")]
    assert len(failed) == 1 and "evil\\x1b[2J\\nname.jpg" in failed[0]


def test_error_line_escapes_control_characters(tmp_path: Path, capsys) -> None:
    assert main(["mine", str(tmp_path / "no\x1b]0;pwned\x07.csv")]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and len(err.splitlines()) == 1


def test_dashboard_job_passes_absolute_paths_after_double_dash(tmp_path: Path, monkeypatch) -> None:
    from dashboard.job import job_command

    monkeypatch.chdir(tmp_path)
    (tmp_path / "--texts=notes.csv").mkdir()
    command = job_command(Path("wc.duckdb"), "--texts=notes.csv", {"--limit": 0, "--mode": ""})
    assert command[-2:] == ["--", str(tmp_path / "--texts=notes.csv")]
    args = build_parser().parse_args(command[3:])
    assert args.texts is None and args.data_dir == str(tmp_path / "--texts=notes.csv")
    assert args.db == str(tmp_path / "wc.duckdb") and args.limit == 0


def test_dashboard_job_passes_switches_bare_and_leaves_false_ones_out(tmp_path: Path) -> None:
    from dashboard.job import job_command

    (tmp_path / "photos").mkdir()
    on = job_command(tmp_path / "wc.duckdb", str(tmp_path / "photos"), {"--structured": True})
    off = job_command(tmp_path / "wc.duckdb", str(tmp_path / "photos"), {"--structured": False})
    assert "--structured" in on and not any("structured" in part for part in off)
    assert build_parser().parse_args(on[3:]).structured is True
    assert build_parser().parse_args(off[3:]).structured is False


# ----------------------------------------------------------------------------- 8: memory


def test_pixel_budget_closes_batches_early(tmp_path: Path, photos: Path, monkeypatch) -> None:
    from PIL import Image

    from core.jobs import images

    for k in range(3):
        Image.new("RGB", (400, 300), (k * 80, 0, 0)).save(photos / "ロケット" / f"big{k}.png")
    sizes: list[int] = []
    real = images.Backends.explain

    def explain(self, chunk, root, out_dir, *ahead):
        sizes.append(len(chunk))
        return real(self, chunk, root, out_dir, *ahead)

    monkeypatch.setattr(images.Backends, "explain", explain)
    db = tmp_path / "wc.duckdb"
    summary = run_precompute(photos, db, batch_size=16, batch_pixels=250_000, **JOB)
    assert summary.done == 6 and sum(sizes) == 7
    assert max(sizes) < 7, "16 photos fit the batch size, not the pixel budget"
    listed = [p for p, _ in images.list_photos(photos).photos]
    pixels = [images.header_pixels(p) for p in listed]
    for batch in images.pixel_batches(list(zip(listed, pixels, strict=True)), 16, 250_000):
        assert len(batch) == 1 or sum(p for _, p in batch) <= 250_000


# ----------------------------------------------------------------------------- 9: disk full


def test_disk_full_is_one_line_marked_failed_and_resumable(
    tmp_path: Path, photos: Path, monkeypatch, capsys
) -> None:
    import core.jobs.session as session

    real_write, real_text = session.write_rows, Path.write_text
    calls = {"n": 0}

    def write_rows(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(*args, **kwargs)

    def write_text(self, data, *args, **kwargs):  # the progress file's temporary, once full
        if calls["n"] > 1 and self.name.endswith(".tmp"):
            real_text(self, "", *args, **kwargs)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_text(self, data, *args, **kwargs)

    db = tmp_path / "wc.duckdb"
    args = ["precompute", str(photos), "--db", str(db), "--model", "tiny"]
    args += ["--explainer", "testwords", "--no-progress", "--batch-size", "1"]
    with monkeypatch.context() as patch:
        patch.setattr(session, "write_rows", write_rows)
        patch.setattr(Path, "write_text", write_text)
        rc = main(args)
    err = capsys.readouterr().err
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "disk full" in err
    assert "Traceback" not in err
    assert read_progress(db)["status"] == "failed"
    assert not list(tmp_path.glob("*.tmp")), "no temporary file left behind"
    assert main(args) == 3  # resumed after space is freed: only broken.jpg fails
    with connect_read(db) as con:
        assert con.execute("SELECT count(*), count(DISTINCT path) FROM images").fetchone() == (
            4,
            4,
        )


# ----------------------------------------------------------------------------- 10: the rest


def test_exit_status_counts_failures_and_unknown_sha256_is_null(
    tmp_path: Path, photos: Path, capsys
) -> None:
    db = tmp_path / "wc.duckdb"
    rc = main(
        ["precompute", str(photos), "--db", str(db), "--model", "tiny"]
        + ["--explainer", "testwords", "--no-progress"]
    )
    assert rc == 3 and "1 photos failed (exit status 3)" in capsys.readouterr().err
    rows = stored_paths(db)
    broken = [v for v in rows.values() if v[0].endswith("broken.jpg")][0]
    assert broken[2] == "failed" and broken[3] is None
    assert all(len(v[3]) == 64 for v in rows.values() if v[2] == "done")
    (photos / "猫" / "broken.jpg").unlink()
    assert (
        main(
            ["precompute", str(photos), "--db", str(db), "--model", "tiny"]
            + ["--explainer", "testwords", "--no-progress"]
        )
        == 0
    )


def test_mine_early_in_a_job_says_it_is_still_starting(
    tmp_path: Path, photos: Path, capsys
) -> None:
    import duckdb

    db = tmp_path / "wc.duckdb"
    run_precompute(photos, db, limit=1, **JOB)
    with duckdb.connect(str(db)) as con:  # as published a moment after the job started
        con.execute("UPDATE runs SET status = 'running'")
    record = {"status": "running", "run_id": 1, "pid": os.getpid(), "total": 40, "done": 1}
    progress_path(db).write_text(json.dumps(record), encoding="utf-8")
    assert main(["mine", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert "still starting" in err and "1 of 40 photos" in err and "--by predicted" not in err
    progress_path(db).unlink()  # no live job: the usual message
    assert main(["mine", "--db", str(db)]) == 1
    assert "still starting" not in capsys.readouterr().err


def test_shutil_is_not_left_patched() -> None:
    assert shutil.copyfile.__module__ == "shutil"


# ----------------------------------------------------------------------------- 22.9: terminal

#: Class names a terminal would obey: clear screen, retitle, bell, right-to-left override,
#: and a newline that would split a line.
HOSTILE_NAMES = ["cat\x1b[2J", "bell\x07", "rev\u202egnp.exe", "two\nlines"]
VLM_ANSWER = "\x1b]0;pwned\x07 a red \x1b[2J roof \u202eon top"
RAW = ("\x1b", "\x07", "\u202e")


def hostile_classifier(arg: str | None = None, **options):
    from test_precompute import tiny_classifier

    model = tiny_classifier()
    model.labels = list(HOSTILE_NAMES[:3])
    return model


class HostileExplainer:
    """Answers like a VLM that was told to attack the terminal."""

    name = "hostile"

    def __init__(self, arg: str | None = None, lang: str = "ja", **options):
        self.lang = lang

    def explain_batch(self, requests):
        from core.explainers.base import Explanation

        return [Explanation(text=f"{VLM_ANSWER} 赤い屋根 屋根", details={}) for _ in requests]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> tuple[Path, Path]:
    from PIL import Image

    from core.registry import register_explainer, register_model_loader

    register_model_loader("hostile", hostile_classifier)
    register_explainer("hostile", HostileExplainer)
    base = tmp_path_factory.mktemp("hostile")
    photos = base / "photos"
    for k, name in enumerate(HOSTILE_NAMES[:3]):
        (photos / name).mkdir(parents=True)
        for j in range(3):
            Image.new("RGB", (64, 64), (80 * k, 40 * j, 90)).save(photos / name / f"{j}\x1b[1m.png")
    db = base / "wc.duckdb"
    args = ["precompute", str(photos), "--db", str(db), "--model", "hostile"]
    assert main([*args, "--explainer", "hostile", "--no-progress", "--lang", "ja"]) == 0
    return photos, db


def assert_escaped(out: str, err: str) -> None:
    for raw in RAW:
        assert raw not in out and raw not in err, (raw, out[-500:], err[-500:])
    assert "two\nlines" not in out + err


@pytest.mark.parametrize(
    "command",
    [
        ["mine", "--db", "DB"],
        ["mine", "--db", "DB", "--by", "predicted"],
        ["mine", "--db", "DB", "--format", "csv"],
        ["mine", "--db", "DB", "--examples", "屋根"],
        ["mine", "--db", "DB", "--examples", "屋根", "--format", "csv"],
        ["mine", "--db", "DB", "--contrast", HOSTILE_NAMES[0], HOSTILE_NAMES[1]],
        ["report", "--db", "DB", "--out", "OUT/r.md"],
        ["precompute", "PHOTOS", "--db", "DB", "--model", "hostile", "--explainer", "hostile"],
        ["explain", "PHOTOS", "--model", "hostile", "--explainer", "hostile", "--top-k", "3"],
    ],
    ids=lambda c: "-".join(a for a in c[:4] if a.isascii() and a.isalpha() or a[:2] == "--"),
)
def test_every_command_escapes_untrusted_text(hostile_run, tmp_path: Path, capsys, command):
    """22.9: class names, file names and model answers reach the terminal escaped."""
    photos, db = hostile_run
    paths = {"DB": str(db), "PHOTOS": str(photos), "OUT/r.md": str(tmp_path / "r.md")}
    argv = [paths.get(a, a) for a in command]
    if argv[0] == "precompute":
        argv.append("--no-progress")
    main(argv)
    assert_escaped(*capsys.readouterr())


def test_verify_markdown_escapes_words(monkeypatch, capsys, hostile_run) -> None:
    import core.verify
    from core.store.effects import WordEffect
    from core.verify.report import VerifyReport

    words = [
        WordEffect(n, VLM_ANSWER, 3, 0.2, 0.1, 0.3, 0.01, 0.02, "causal", "mean", "same")
        for n in HOSTILE_NAMES
    ]
    report = VerifyReport(1, words, "mean", "same", {}, errors=[f"photo {HOSTILE_NAMES[0]}"])
    monkeypatch.setattr(core.verify, "run_verify", lambda *a, **k: report)
    assert main(["verify", "--db", str(hostile_run[1])]) == 0
    assert_escaped(*capsys.readouterr())


@pytest.mark.parametrize("command", ["train", "eval"])
def test_train_and_eval_reports_escape_class_names(monkeypatch, capsys, tmp_path, command):
    import numpy as np

    import core.evaluation
    import core.train
    from core.evaluation.metrics import classification_metrics

    metrics = classification_metrics([0, 1, 2, 3], np.eye(4), HOSTILE_NAMES)
    metrics.update(model_dir=str(tmp_path / "m\x1b[2J"), best_epoch=1, interrupted=False)
    monkeypatch.setattr(core.train, "train", lambda *a, **k: metrics)
    monkeypatch.setattr(core.evaluation, "evaluate", lambda *a, **k: metrics)
    args = [str(tmp_path), "--out", str(tmp_path / "o")] if command == "train" else [".", "."]
    assert main([command, *args, "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert_escaped(out, err)
    assert "two\\nlines" in out


# ----------------------------------------------------------------------------- 22.11: limits


def test_deeply_nested_jsonl_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    deep = '{"id": "1", "label": "a", "text": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    path.write_text('{"id": "0", "label": "a", "text": "ok"}\n' + deep, encoding="utf-8")
    with pytest.raises(DataError, match="line 2: .*nested") as raised:
        import_texts(path, tmp_path / "wc.duckdb", progress=False)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    "header", ["id,label,text,text", "id,label,label,text", "id,id,label,text"]
)
def test_duplicate_header_column_is_refused(tmp_path: Path, header: str) -> None:
    path = tmp_path / "corpus.csv"
    fields = header.count(",") + 1
    path.write_text(f"{header}\n" + ",".join(["x"] * fields) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="duplicate column"):
        import_texts(path, tmp_path / "wc.duckdb", progress=False)


def test_labels_and_texts_are_nfc(tmp_path: Path) -> None:
    """22.11: "café" typed in NFC and in NFD is one class, and one word."""
    import unicodedata

    from core.mining.files import read_text_records

    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    assert nfc != nfd
    path = tmp_path / "corpus.csv"
    path.write_text(f"id,label,text\n1,{nfc},{nfd} au lait\n2,{nfd},{nfc}\n", encoding="utf-8")
    records = list(read_text_records(path))
    assert {r.label for r in records} == {nfc}
    assert records[0].text == f"{nfc} au lait" and records[1].text == nfc


def test_photo_class_folders_are_nfc(tmp_path: Path) -> None:
    """22.11: a class folder named in NFD (as macOS writes names) gives the NFC label."""
    import unicodedata

    from PIL import Image

    from core.jobs.photos import list_photos

    nfd = unicodedata.normalize("NFD", "café")
    (tmp_path / nfd).mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / nfd / "a.png")
    assert [label for _, label in list_photos(tmp_path).photos] == [
        unicodedata.normalize("NFC", "café")
    ]


# ----------------------------------------------------------------------------- 22.12: arguments


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("args")
    photos = make_photos(base / "photos", per_class=2, broken=False)
    db = base / "wc.duckdb"
    run_precompute(photos, db, **JOB)
    return db


def one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("flag", [["--photos", "-1"], ["--top", "0"], ["--top", "-3"]])
def test_report_counts_are_checked_by_the_parser(small_db: Path, tmp_path, capsys, flag) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["report", "--db", str(small_db), "--out", str(tmp_path / "r.html"), *flag])
    assert raised.value.code == 2 and flag[0] in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_report_out_naming_a_folder_is_one_line(small_db: Path, tmp_path, capsys) -> None:
    (tmp_path / "r.html").mkdir()
    assert main(["report", "--db", str(small_db), "--out", str(tmp_path / "r.html")]) == 1
    assert "is a folder" in one_error_line(capsys.readouterr().err)


def test_report_out_on_a_read_only_filesystem_is_one_line(
    small_db: Path, tmp_path, capsys, monkeypatch
) -> None:
    import tempfile

    real = tempfile.mkstemp

    def mkstemp(*args, **kwargs):  # the report is written to a new file beside r.html first
        if str(kwargs.get("prefix", "")).startswith(".r.html."):
            raise OSError(errno.EROFS, "Read-only file system", str(kwargs.get("dir")))
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    assert main(["report", "--db", str(small_db), "--out", str(tmp_path / "r.html")]) == 1
    assert "Read-only file system" in one_error_line(capsys.readouterr().err)


def test_report_hint_names_only_options_that_exist(tmp_path: Path, capsys) -> None:
    flat = tmp_path / "flat"
    make_photos(tmp_path / "photos", per_class=2, broken=False)
    flat.mkdir()
    for k, photo in enumerate(sorted((tmp_path / "photos").rglob("*.*"))):
        photo.rename(flat / f"{k}{photo.suffix}")
    db = tmp_path / "wc.duckdb"
    run_precompute(flat, db, **JOB)
    assert main(["report", "--db", str(db), "--out", str(tmp_path / "r.html")]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "try --by predicted" not in line and "wordcam mine --by predicted" in line


@pytest.mark.parametrize("top_k", ["0", "-2"])
def test_top_k_refused_before_a_run_starts(photos: Path, tmp_path: Path, capsys, top_k) -> None:
    db = tmp_path / "wc.duckdb"
    with pytest.raises(SystemExit) as raised:
        main(["precompute", str(photos), "--db", str(db), "--model", "tiny", "--top-k", top_k])
    assert raised.value.code == 2 and "--top-k" in capsys.readouterr().err
    assert not db.exists() and not Path(str(db) + ".work").exists()


@pytest.mark.parametrize("command", ["precompute", "explain"])
def test_bad_layer_stops_before_the_first_photo(
    photos: Path, tmp_path: Path, capsys, command
) -> None:
    args = ["--model", "tiny", "--explainer", "testwords", "--layer", "no.such.layer"]
    if command == "precompute":
        argv = ["precompute", str(photos), "--db", str(tmp_path / "wc.duckdb"), "--no-progress"]
    else:
        argv = ["explain", str(photos)]
    assert main(argv + args) == 1
    assert "no.such" in one_error_line(capsys.readouterr().err)


def test_random_bytes_as_weights_are_not_called_pickled_objects(tmp_path: Path) -> None:
    from core.models.arch import read_state_dict

    weights = tmp_path / "w.pth"
    weights.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(WordcamError) as raised:
        read_state_dict(weights)
    assert "pickled Python objects" not in str(raised.value)
    assert "not a readable PyTorch checkpoint" in str(raised.value)
