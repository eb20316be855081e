"""The precompute job: every table filled, resume after SIGKILL/Ctrl-C, readers while it runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.errors import DataError, WordcamError
from core.jobs import import_texts, progress_path, read_progress, run_precompute
from core.store import connect_read, work_path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
CLASSES = {"猫": "chelsea", "コーヒー": "coffee", "ロケット": "rocket"}

# ----------------------------------------------------------------------------- test backends


def tiny_classifier(arg: str | None = None, **options):
    """A 3-class random conv net on 64 px inputs: fast, deterministic, labels = folder names."""
    import torch

    from core.models import Classifier, Preprocessing

    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, len(CLASSES)),
    ).eval()
    return Classifier(
        module=module,
        labels=list(CLASSES),
        spec="tiny",
        target_layer="0",
        preprocess=Preprocessing(image_size=64, resize=72),
        arch="tiny",
    )


class WordsExplainer:
    """Describes the hottest part of the CAM by position and colour (pixels only).

    ``WORDCAM_TEST_DELAY`` (seconds per photo) slows it down without changing the run's settings.
    """

    name = "testwords"

    def __init__(self, arg: str | None = None, lang: str = "ja", **options):
        self.lang = lang
        self.delay = float(os.environ.get("WORDCAM_TEST_DELAY", "0"))
        self.calls = 0

    def explain_batch(self, requests):
        import numpy as np

        from core.explainers.base import Explanation

        out = []
        for req in requests:
            self.calls += 1
            time.sleep(self.delay)
            cam = np.asarray(req.cam, dtype=np.float32)
            row = int(np.unravel_index(int(np.argmax(cam)), cam.shape)[0])
            where = "上部" if row < cam.shape[0] / 2 else "下部"
            rgb = np.asarray(req.image.convert("RGB"), dtype=np.float32).reshape(-1, 3).mean(0)
            colour = ["赤", "緑", "青"][int(np.argmax(rgb))]
            text = f"{where}の{colour}い部分が判断の根拠です。{colour}の建物が見えます。"
            out.append(Explanation(text=text, details={"row": row}))
        return out


class FailingExplainer:
    """Fails every request, like a VLM with a wrong API key."""

    name = "failing"

    def __init__(self, arg: str | None = None, **options):
        pass

    def explain_batch(self, requests):
        from core.explainers.base import Explanation

        return [Explanation(text="", error="401 Unauthorized: invalid API key") for _ in requests]


def register_test_backends() -> None:
    from core.registry import register_explainer, register_model_loader

    register_model_loader("tiny", tiny_classifier)
    register_explainer("testwords", WordsExplainer)
    register_explainer("failing", FailingExplainer)


register_test_backends()

# A subprocess that registers the test backends, then runs `wordcam ARGS...`.
# The job is started as a terminal would start it: Ctrl-C raises KeyboardInterrupt even when the
# test run itself was launched with SIGINT ignored (a background job of a shell without job
# control, such as `nohup ... &` in a subshell), whose children inherit the ignored signal.
CLI_SCRIPT = f"""
import importlib.util, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
spec = importlib.util.spec_from_file_location("precompute_test_backends", {str(HERE)!r})
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
from core.cli import main
sys.exit(main(sys.argv[1:]))
"""


def start_cli(args: list[str], delay: float = 0.0) -> subprocess.Popen:
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(
        os.environ, PYTHONPATH=pythonpath, OMP_NUM_THREADS="1", WORDCAM_TEST_DELAY=str(delay)
    )
    return subprocess.Popen(
        [sys.executable, "-c", CLI_SCRIPT, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# ----------------------------------------------------------------------------- fixtures


def make_photos(root: Path, per_class: int = 2, broken: bool = True) -> Path:
    """Crops of real skimage photos in one Japanese-named folder per class, plus a broken file."""
    from PIL import Image
    from skimage import data

    for index, (label, name) in enumerate(CLASSES.items()):
        folder = root / label
        folder.mkdir(parents=True)
        image = Image.fromarray(getattr(data, name)()).convert("RGB")
        w, h = image.size
        for k in range(per_class):
            crop = image.crop((k * w // 8, 0, w - (per_class - 1 - k) * w // 8, h))
            crop.thumbnail((160, 160))
            crop.save(folder / f"{name}_{k}.{'png' if (index + k) % 2 else 'jpg'}")
    if broken:
        (root / "猫" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    return root


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    return make_photos(tmp_path / "photos")


def table_counts(db: Path, run_id: int | None = None) -> dict[str, int]:
    with connect_read(db) as con:
        where = "" if run_id is None else f" WHERE run_id = {int(run_id)}"
        return {
            t: con.execute(f"SELECT count(*) FROM {t}{where}").fetchone()[0]
            for t in ("runs", "images", "explanations", "tokens", "terms", "doc_terms")
        }


def wait_for(predicate, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"job ended early (rc {proc.returncode}): {err[-2000:]}")
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


# ----------------------------------------------------------------------------- tests


def test_fills_every_table_and_resumes_without_recomputing(photos: Path, tmp_path: Path) -> None:
    db = tmp_path / "out" / "wc.duckdb"
    summary = run_precompute(
        photos,
        db,
        model="tiny",
        explainer="testwords",
        batch_size=4,
        progress=False,
        explainer_options={"api_key": "sk-not-stored"},
    )
    assert (summary.done, summary.failed, summary.skipped_existing) == (6, 1, 0)
    assert summary.total == 7 and summary.status == "done"
    assert 0.0 <= summary.image_accuracy <= 1.0
    counts = table_counts(db)
    assert counts["runs"] == 1 and counts["images"] == 7
    assert counts["explanations"] == 6 and counts["tokens"] == 6
    assert counts["terms"] > 0 and counts["doc_terms"] > 0
    assert not work_path(db).exists(), "a finished job removes its work file"

    with connect_read(db) as con:
        run = con.execute(
            "SELECT run_id, kind, model, explainer, mode, method, lang, status,"
            " CAST(labels AS VARCHAR), CAST(settings AS VARCHAR), image_accuracy"
            " FROM runs"
        ).fetchone()
        assert run[1:8] == ("images", "tiny", "testwords", "blind", "gradcam", "ja", "done")
        assert json.loads(run[8]) == list(CLASSES)
        assert "sk-not-stored" not in run[9] and "api_key" not in run[9]
        assert run[10] == pytest.approx(summary.image_accuracy)
        rows = con.execute(
            "SELECT path, rel_path, true_label, pred_label, pred_prob, status, error,"
            " overlay_path, thumb_path, len(probs), CAST(topk AS VARCHAR), sha256"
            " FROM images ORDER BY path"
        ).fetchall()
        tokens = con.execute(
            "SELECT t.tokens FROM tokens t JOIN images i USING (image_id) WHERE i.status = 'done'"
        ).fetchall()
        texts = con.execute("SELECT e.text, e.mode, e.lang FROM explanations e").fetchall()
    failed = [r for r in rows if r[5] == "failed"]
    assert len(failed) == 1 and failed[0][1] == "猫/broken.jpg"
    assert "broken.jpg" in failed[0][6] and "\n" not in failed[0][6]
    for _, rel, true_label, pred, prob, status, _, overlay, thumb, n_probs, topk, sha in rows:
        assert true_label == rel.split("/")[0]
        if status == "done":
            assert pred in CLASSES and 0.0 < prob <= 1.0 and n_probs == len(CLASSES)
            assert Path(overlay).is_file() and Path(thumb).is_file()
            assert json.loads(topk)[0]["label"] == pred and len(sha) == 64
    assert all(tok and all(isinstance(w, str) for w in tok) for (tok,) in tokens)
    assert all(text and mode == "blind" and lang == "ja" for text, mode, lang in texts)
    assert read_progress(db)["status"] == "done" and read_progress(db)["done"] == 6

    # Same command again: nothing recomputed, the broken photo retried (and failing again).
    again = run_precompute(
        photos,
        db,
        model="tiny",
        explainer="testwords",
        batch_size=4,
        progress=False,
        explainer_options={"concurrency": 8},  # runtime-only: still the same run
    )
    assert again.run_id == summary.run_id
    assert (again.done, again.failed, again.skipped_existing) == (0, 1, 6)
    assert table_counts(db)["images"] == 7

    # The broken photo fixed: only it is processed.
    (photos / "猫" / "broken.jpg").unlink()
    make_photos(tmp_path / "more", per_class=1, broken=False)
    (tmp_path / "more" / "猫" / "chelsea_0.jpg").rename(photos / "猫" / "broken.jpg")
    fixed = run_precompute(photos, db, model="tiny", explainer="testwords", progress=False)
    assert (fixed.done, fixed.failed, fixed.skipped_existing) == (1, 0, 6)
    with connect_read(db) as con:
        assert con.execute(
            "SELECT count(*), count(DISTINCT path), count(*) FILTER"
            " (WHERE status = 'done') FROM images"
        ).fetchone() == (7, 7, 7)
        assert con.execute("SELECT count(*) FROM explanations").fetchone()[0] == 7

    # Different settings make a new run in the same DB.
    informed = run_precompute(
        photos, db, model="tiny", explainer="testwords", mode="informed", limit=2, progress=False
    )
    assert informed.run_id != summary.run_id and informed.done == 2
    assert table_counts(db)["runs"] == 2


def test_bad_input_gives_one_line_errors(tmp_path: Path, photos: Path) -> None:
    db = tmp_path / "wc.duckdb"
    with pytest.raises(DataError, match="no such folder"):
        run_precompute(tmp_path / "missing", db, model="tiny", explainer="testwords")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("no photos here")
    with pytest.raises(DataError, match="no image files"):
        run_precompute(tmp_path / "empty", db, model="tiny", explainer="testwords")
    with pytest.raises(WordcamError, match="mode"):
        run_precompute(photos, db, model="tiny", explainer="testwords", mode="peeking")
    assert not db.exists()

    from core.cli import main

    proc = subprocess.run(
        [sys.executable, "-m", "core", "precompute", str(tmp_path / "missing"), "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "no such folder" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert main(["precompute", "--db", str(db)]) == 1


def test_explainer_failing_everything_stops_early(
    photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.jobs.images

    monkeypatch.setattr(core.jobs.images, "FAIL_FAST_AFTER", 3)
    db = tmp_path / "fail.duckdb"
    with pytest.raises(DataError, match="explainer failed on the first 4 photos.*invalid API key"):
        run_precompute(photos, db, model="tiny", explainer="failing", batch_size=2, progress=False)
    with connect_read(db) as con:
        assert con.execute("SELECT status FROM runs").fetchone()[0] == "failed"
        rows = con.execute("SELECT status, error, pred_label FROM images").fetchall()
    assert len(rows) == 4 and all(s == "failed" and "invalid API key" in e for s, e, _ in rows)
    assert all(pred in CLASSES for _, _, pred in rows), "the prediction is kept"
    assert read_progress(db)["status"] == "failed"


def test_cli_summary(photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from core.cli import main

    db = tmp_path / "cli.duckdb"
    rc = main(
        [
            "precompute",
            str(photos),
            "--db",
            str(db),
            "--model",
            "tiny",
            "--explainer",
            "testwords",
            "--lang",
            "en",
            "--no-progress",
            "--batch-size",
            "3",
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 3, "a photo failed: the documented exit status 3"
    assert "1 photos failed (exit status 3)" in err
    assert "6 photos done" in out and "1 failed" in out and "0 skipped" in out
    assert f"wordcam mine --db {db}" in out and "broken.jpg" in err
    with connect_read(db) as con:
        assert con.execute("SELECT lang, mode FROM runs").fetchone() == ("en", "blind")


def test_sigkill_mid_run_then_resume_processes_each_photo_once(
    photos: Path, tmp_path: Path
) -> None:
    db = tmp_path / "kill.duckdb"
    proc = start_cli(
        [
            "precompute",
            str(photos),
            "--db",
            str(db),
            "--model",
            "tiny",
            "--explainer",
            "testwords",
            "--batch-size",
            "1",
            "--no-progress",
        ],
        delay=0.4,
    )
    try:
        wait_for(lambda: (read_progress(db) or {}).get("done", 0) >= 2, 90, proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert work_path(db).exists(), "the killed job's work file is kept for resuming"
    assert read_progress(db)["status"] == "running"

    summary = run_precompute(
        photos, db, model="tiny", explainer="testwords", batch_size=1, progress=False
    )
    assert summary.skipped_existing >= 2
    assert summary.skipped_existing + summary.done == 6 and summary.failed == 1
    with connect_read(db) as con:
        per_path = con.execute("SELECT path, count(*) FROM images GROUP BY path").fetchall()
        assert len(per_path) == 7 and all(n == 1 for _, n in per_path)
        assert con.execute("SELECT count(*) FROM explanations").fetchone()[0] == 6
        assert con.execute("SELECT count(*) FROM tokens").fetchone()[0] == 6
        assert con.execute("SELECT count(*), min(status) FROM runs").fetchone() == (1, "done")


def test_readable_while_running_single_writer_and_ctrl_c(photos: Path, tmp_path: Path) -> None:
    db = tmp_path / "live.duckdb"
    proc = start_cli(
        [
            "precompute",
            str(photos),
            "--db",
            str(db),
            "--model",
            "tiny",
            "--explainer",
            "testwords",
            "--batch-size",
            "1",
            "--no-progress",
            "--publish-every",
            "0.1",
        ],
        delay=0.3,
    )
    try:
        wait_for(lambda: db.exists(), 90, proc)
        # A second writer on the same DB is refused with a clear error.
        with pytest.raises(DataError, match="another precompute job"):
            run_precompute(photos, db, model="tiny", explainer="testwords", progress=False)
        seen: list[int] = []
        while proc.poll() is None and (not seen or seen[-1] < 4):
            with connect_read(db) as con:
                seen.append(con.execute("SELECT count(*) FROM images").fetchone()[0])
            time.sleep(0.02)
        assert proc.poll() is None, "the job should still be running"
        assert seen == sorted(seen), "row counts seen by readers never decrease"
        assert len(set(seen)) >= 3, f"readers saw progress while the job ran: {sorted(set(seen))}"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert read_progress(db)["status"] == "interrupted"
    with connect_read(db) as con:
        assert con.execute("SELECT status FROM runs").fetchone()[0] == "interrupted"
        done_before = con.execute("SELECT count(*) FROM images WHERE status = 'done'").fetchone()[0]
    assert done_before >= 3
    summary = run_precompute(photos, db, model="tiny", explainer="testwords", progress=False)
    assert summary.skipped_existing == done_before and summary.status == "done"
    assert table_counts(db)["images"] == 7


def test_progress_path_beside_db(tmp_path: Path) -> None:
    assert progress_path(tmp_path / "a.duckdb") == tmp_path / "a.duckdb.progress.json"
    assert read_progress(tmp_path / "a.duckdb") is None
    code = "import sys, core.jobs; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_jobs_import_loads_neither_torch_nor_duckdb() -> None:
    code = "import sys, core.jobs; sys.exit(bool({'torch', 'duckdb'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_job_settings_identity_decides_the_run(tmp_path: Path) -> None:
    """The identity is what runs.settings stores: the exact keys of earlier versions, JSON-safe,
    free of secrets, and unchanged by how the job runs (limit, batch size, runtime options)."""
    from core.jobs import JobSettings

    settings = JobSettings(
        model="tiny",
        explainer="testwords",
        explainer_options={"api_key": "sk-x", "concurrency": 8, "url": "http://u:pw@host/v1"},
        model_options={"device": "cpu"},
    )
    identity = settings.identity()
    assert identity == {
        "model": "tiny",
        "model_options": {"device": "cpu"},
        "explainer": "testwords",
        "explainer_options": {"lang": "ja", "url": "http://host/v1"},
        "mode": "blind",
        "method": "gradcam",
        "layer": None,
        "lang": "ja",
        "top_k": 3,
    }
    assert json.loads(json.dumps(identity, sort_keys=True)) == identity
    assert "sk-x" not in repr(settings) and "pw@" not in repr(settings)
    runtime = JobSettings.of(
        settings,
        limit=2,
        batch_size=1,
        progress=False,
        publish_every=0.1,
        explainer_options={"concurrency": 1, "url": "http://host/v1", "token": "t"},
        device="cuda:1",
    )
    assert runtime.identity() == identity
    for change in ({"mode": "informed"}, {"lang": "en"}, {"top_k": 5}, {"layer": "0"}):
        assert JobSettings.of(settings, **change).identity() != identity, change
    assert JobSettings.of(settings, lang="en").explainer_kwargs["lang"] == "en"
    assert JobSettings(model=str(tmp_path)).identity()["model"] == str(tmp_path.resolve())
    with pytest.raises(WordcamError, match="batch-size"):
        JobSettings(batch_size=0)
    with pytest.raises(AttributeError):
        settings.mode = "informed"  # frozen


# Run in its own interpreter: the test process itself never forks (docs/reliability.md).
FORKED_CHILD_SCRIPT = """
import multiprocessing, sys, time
from core.store import StoreWriter

writer = StoreWriter(sys.argv[1])
child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(30,))
child.start()
try:
    writer.close()
    with StoreWriter(sys.argv[1]) as again:  # the child is still alive
        print(again.con.execute("SELECT count(*) FROM runs").fetchone()[0])
finally:
    child.kill()
    child.join()
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_does_not_keep_the_writer_lock(tmp_path: Path) -> None:
    """A process forked while the job holds the lock (the caller's own, since wordcam's pools no
    longer fork: core.processes) must not keep it once the job closes."""
    done = subprocess.run(
        [sys.executable, "-c", FORKED_CHILD_SCRIPT, str(tmp_path / "lock.duckdb")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "0"


# ----------------------------------------------------------------------------- texts

TEXTS = [
    ("d1", "中央区", "高いビルが密集している。オフィス街の道路が見える。"),
    ("d2", "中央区", "ビルが密集した交差点。"),
    ("d3", "新宿区", "ビルの群が見える。看板が多い。"),
    ("d4", "新宿区", "看板と群衆が見える。"),
]


def test_import_texts_csv_and_jsonl(tmp_path: Path) -> None:
    import csv

    csv_path = tmp_path / "corpus.csv"
    with open(csv_path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "label", "text"])
        writer.writerows(TEXTS)
    jsonl_path = tmp_path / "corpus.jsonl"
    jsonl_path.write_text(
        "\n".join(
            json.dumps({"id": i, "label": c, "text": t}, ensure_ascii=False) for i, c, t in TEXTS
        )
        + "\n",
        encoding="utf-8",
    )
    db = tmp_path / "texts.duckdb"
    first = import_texts(csv_path, db, progress=False)
    assert (first.done, first.skipped_existing, first.total) == (4, 0, 4)
    second = import_texts(jsonl_path, db, progress=False)
    assert second.run_id != first.run_id and second.done == 4
    again = import_texts(csv_path, db, progress=False)
    assert again.run_id == first.run_id and (again.done, again.skipped_existing) == (
        0,
        4,
    )

    with connect_read(db) as con:
        assert con.execute("SELECT DISTINCT kind FROM runs").fetchall() == [("texts",)]
        labels = con.execute(
            "SELECT CAST(labels AS VARCHAR) FROM runs WHERE run_id = ?", [first.run_id]
        ).fetchone()[0]
        assert json.loads(labels) == ["中央区", "新宿区"]
        rows = con.execute(
            "SELECT i.path, i.true_label, i.status, e.text, t.tokens FROM images i"
            " JOIN explanations e USING (image_id) JOIN tokens t USING (image_id)"
            " WHERE i.run_id = ? ORDER BY i.path",
            [first.run_id],
        ).fetchall()
        terms = dict(
            con.execute("SELECT term, df FROM terms WHERE run_id = ?", [first.run_id]).fetchall()
        )
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [(i, c, "done", t) for i, c, t in TEXTS]
    assert "ビル" in rows[0][4] and terms.get("ビル") == 3


def test_import_texts_missing_columns_named(tmp_path: Path, capsys) -> None:
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("id,category,body\n1,a,b\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"missing column\(s\) label, text"):
        import_texts(bad_csv, tmp_path / "t.duckdb", progress=False)
    bad_jsonl = tmp_path / "bad.jsonl"
    bad_jsonl.write_text(
        '{"id": 1, "label": "a", "text": "x"}\n{"id": 2, "text": "y"}\n', encoding="utf-8"
    )
    with pytest.raises(DataError, match=r"line 2: missing column\(s\) label"):
        import_texts(bad_jsonl, tmp_path / "t.duckdb", progress=False)
    assert not (tmp_path / "t.duckdb").exists()

    from core.cli import main

    assert main(["precompute", "--texts", str(bad_csv), "--db", str(tmp_path / "t.duckdb")]) == 1
    assert "missing column(s) label, text" in capsys.readouterr().err


# ----------------------------------------------------------------------------- real model


@pytest.mark.slow
def test_imagenet_grounded_blind_run(photos: Path, tmp_path: Path) -> None:
    pytest.importorskip("core.explainers.grounded")
    db = tmp_path / "real.duckdb"
    summary = run_precompute(photos, db, batch_size=4, progress=False)
    assert (summary.done, summary.failed) == (6, 1)
    with connect_read(db) as con:
        texts = [t for (t,) in con.execute("SELECT text FROM explanations").fetchall()]
        n_labels = con.execute("SELECT len(CAST(labels AS VARCHAR[])) FROM runs").fetchone()[0]
        assert con.execute("SELECT count(*) FROM terms").fetchone()[0] > 0
    assert n_labels == 1000 and all(texts)


def test_device_goes_through_the_job_and_does_not_change_the_run(
    photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """--device reaches the job's model; a rerun on another device resumes the same run."""
    from core.cli import main
    from core.cli.precompute import job_settings, register

    db = tmp_path / "device.duckdb"
    first = run_precompute(
        photos, db, model="tiny", explainer="testwords", device="cpu", progress=False
    )
    again = run_precompute(
        photos, db, model="tiny", explainer="testwords", device="auto", progress=False
    )
    assert again.run_id == first.run_id and again.done == 0
    assert again.skipped_existing == first.done == 6
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["precompute", str(photos), "--device", "CPU"])
    settings = job_settings(args)
    assert settings.device == "cpu" and settings.batch_size == 16  # the CPU's default batch
    args = parser.parse_args(["precompute", str(photos), "--device", "cpu", "--batch-size", "5"])
    assert job_settings(args).batch_size == 5
    rc = main(["precompute", str(photos), "--db", str(db), "--model", "tiny", "--device", "cuda:3"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and "cuda:3" in err and "--device cpu" in err


def test_the_job_summary_is_typed_and_keeps_its_json_keys() -> None:
    import dataclasses

    from core.jobs.summary import JobSummary

    summary = JobSummary(run_id=1, total=3, db="x.duckdb", done=2, failed=1, errors=("a: bad",))
    assert list(summary.to_dict()) == [
        "run_id", "done", "failed", "skipped_existing", "total", "elapsed", "db",
        "image_accuracy", "status", "errors", "skipped_inputs",
    ]  # fmt: skip
    assert json.loads(json.dumps(summary.to_dict()))["errors"] == ["a: bad"]
    assert summary.some_failed and not JobSummary(run_id=1, total=3, db="x").some_failed
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.done = 3  # type: ignore[misc]
    with pytest.warns(DeprecationWarning, match="use its attributes"):
        assert summary["done"] == 2  # scripts reading the old dict keep working, warned
