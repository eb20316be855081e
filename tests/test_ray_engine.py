"""The Ray engines: a Ray-made DB equals a local one, resumes after a dead worker or driver, 2
nodes; ``wordcam verify --engine ray`` stores the local effects with the same guarantees.

Fast tests need no Ray cluster (shards, settings, the CLI flags, the openai explainer's seams).
The slow ones share one local Ray (2 CPUs, a session fixture); the killed-driver and two-node
tests run this file as a script in a subprocess (their own Ray), so no two Rays share a
process. Each actor imports this file as a plugin (``RayOptions.plugins``) to register the
tiny test backends.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

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


def crash_once_explainer(arg: str | None = None, crash_marker: str = "", **options):
    """``grounded`` that kills its own process on its first batch (once per marker file)."""
    from core.explainers.grounded import GroundedExplainer

    class CrashOnce(GroundedExplainer):
        def explain_batch(self, requests):
            marker = Path(crash_marker)
            if crash_marker and not marker.exists():
                marker.write_text(str(os.getpid()))
                os._exit(1)  # like a kill -9 of the worker mid-batch
            return super().explain_batch(requests)

    return CrashOnce(arg, **options)


def counting_explainer(arg: str | None = None, count_dir: str = "", **options):
    """``grounded`` that leaves one file per explained photo in ``count_dir``.

    ``WORDCAM_TEST_DELAY`` (seconds per photo) slows it down without changing the run's settings.
    """
    import uuid

    from core.explainers.grounded import GroundedExplainer

    class Counting(GroundedExplainer):
        def explain_batch(self, requests):
            time.sleep(float(os.environ.get("WORDCAM_TEST_DELAY", "0")) * len(requests))
            for request in requests:
                (Path(count_dir) / uuid.uuid4().hex).write_text(request.key)
            return super().explain_batch(requests)

    return Counting(arg, **options)


def register() -> None:
    from core.registry import register_explainer, register_model_loader

    register_model_loader("tiny", tiny_classifier)
    register_explainer("crashonce", crash_once_explainer)
    register_explainer("counting", counting_explainer)


register()


# ----------------------------------------------------------------------------- helpers


def make_photos(root: Path, per_class: int = 3) -> Path:
    """Crops of skimage photos, one folder per class, plus a broken file."""
    from PIL import Image
    from skimage import data

    for label, name in CLASSES.items():
        folder = root / label
        folder.mkdir(parents=True)
        image = Image.fromarray(getattr(data, name)()).convert("RGB")
        w, h = image.size
        for k in range(per_class):
            crop = image.crop((k * w // 8, 0, w - (per_class - 1 - k) * w // 8, h))
            crop.thumbnail((120, 120))
            crop.save(folder / f"{name}_{k}.png")
    (root / "猫" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a JPEG")
    return root


def settings(engine: str = "ray", actors: int = 2, **changes):
    """The job's settings on the tiny backends (``engine`` and ``actors`` aside)."""
    from core.jobs import JobSettings
    from core.jobs.ray_options import RayOptions

    base = dict(
        model="tiny",
        explainer="grounded:tiny",
        lang="ja",
        batch_size=2,
        progress=False,
        engine=engine,
        ray=RayOptions(actors=actors, plugins=(str(HERE),)),
    )
    return JobSettings(**{**base, **changes})


def job(photos: Path, db: Path, engine: str = "ray", **changes) -> dict:
    from core.jobs import run_precompute

    return run_precompute(photos, db, settings=settings(engine, **changes))


def db_contents(db: Path) -> dict:
    """Everything a reader sees of the DB's one run, by photo path (pictures as arrays)."""
    from core.store import connect_read

    with connect_read(db) as con:
        run = con.execute(
            "SELECT kind, source, model, explainer, mode, method, lang, status, settings, labels,"
            " image_accuracy FROM runs"
        ).fetchall()
        images = con.execute(
            "SELECT path, rel_path, sha256, true_label, pred_label, pred_prob, topk, probs,"
            " status, error, overlay_path FROM images ORDER BY path"
        ).fetchall()
        explanations = con.execute(
            "SELECT i.path, e.explainer, e.mode, e.lang, e.text, e.error, e.details"
            " FROM explanations e JOIN images i USING (image_id) ORDER BY i.path"
        ).fetchall()
        tokens = con.execute(
            "SELECT i.path, t.tokens FROM tokens t JOIN images i USING (image_id) ORDER BY i.path"
        ).fetchall()
        terms = con.execute(
            "SELECT i.path, t.term, t.df FROM doc_terms d JOIN images i USING (image_id)"
            " JOIN terms t ON t.run_id = d.run_id AND t.term_id = d.term_id ORDER BY i.path, t.term"
        ).fetchall()
    return {"run": run, "images": images, "explanations": explanations, "tokens": tokens,
            "terms": terms}  # fmt: skip


def assert_same_db(got: Path, want: Path) -> None:
    """Same run, photos, predictions, explanations, tokens and terms; maps within PNG rounding."""
    import numpy as np

    a, b = db_contents(got), db_contents(want)
    assert a["run"] == b["run"]
    for key in ("explanations", "tokens", "terms"):
        assert a[key] == b[key], key
    assert len(a["images"]) == len(b["images"])
    for row, expected in zip(a["images"], b["images"], strict=True):
        assert row[:7] + row[8:10] == expected[:7] + expected[8:10]
        if expected[7] is not None:
            np.testing.assert_allclose(row[7], expected[7], atol=1e-6)  # probs
        if expected[10] is not None:  # the maps, through the overlays drawn from them
            diff = np.abs(picture(row[10]) - picture(expected[10]))
            assert diff.max() <= 2.0, row[0]
            assert Path(row[10]).is_relative_to(got.with_name(got.stem + "_assets"))


def picture(path: str):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)


def subprocess_env() -> dict[str, str]:
    paths = [str(ROOT), os.environ.get("PYTHONPATH")]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, paths)))


class EngineLog(logging.Handler):
    """Collects the Ray engine's end-of-job reports (per-actor nodes and counts) while in use."""

    def __init__(self, logger: str = "core.jobs.ray_engine") -> None:
        super().__init__()
        self.reports: list[dict] = []
        self.logger = logging.getLogger(logger)

    def emit(self, record: logging.LogRecord) -> None:
        if hasattr(record, "ray_engine"):
            self.reports.append(record.ray_engine)

    def __enter__(self) -> EngineLog:
        self.level = self.logger.level
        self.logger.setLevel(logging.INFO)
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self)
        self.logger.setLevel(self.level)


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray for every Ray test (they all live in this module), shut down when the
    module ends: later tests fork tokenizer workers, and a fork beside Ray's threads can hang."""
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def local_db(tmp_path_factory) -> tuple[Path, Path]:
    """The photo folder and the local engine's DB of it (the reference)."""
    tmp = tmp_path_factory.mktemp("local")
    photos = make_photos(tmp / "photos")
    db = tmp / "local.duckdb"
    summary = job(photos, db, engine="local")
    assert (summary.done, summary.failed) == (9, 1)
    return photos, db


# ----------------------------------------------------------------------------- fast


def test_shards_round_trip_every_row_field(tmp_path: Path) -> None:
    import numpy as np

    from core.jobs.ray_shards import drain, pending_shards, read_shard, write_shard
    from core.jobs.rows import PhotoRow

    rows = [
        PhotoRow("/p/a.png", "a.png", "猫", "done", sha256="ab", pred_label="猫", pred_prob=0.0,
                 topk=[{"label": "猫", "display": None, "prob": 0.5}],
                 probs=np.array([0.5, 0.25, 0.25], dtype=np.float32), text="赤い", tokens=[],
                 details={"regions": [1, 2]}),
        PhotoRow("/p/b.jpg", "b.jpg", None, "failed", error="bad", explainer_failed=True),
    ]  # fmt: skip
    shard = write_shard(rows, tmp_path, node_id="n1", labels=["猫", "犬"])
    (tmp_path / ".tmp-half.parquet").write_bytes(b"PAR1")  # a writer died mid-write
    batch = read_shard(shard)
    assert (batch.node_id, batch.pid, batch.labels) == ("n1", os.getpid(), ["猫", "犬"])
    for got, want in zip(batch.rows, rows, strict=True):
        for name, value in vars(want).items():
            if name == "probs" and value is not None:
                np.testing.assert_array_equal(got.probs, value)
            else:
                assert getattr(got, name) == value, name
    assert pending_shards(tmp_path) == [shard] and not list(tmp_path.glob(".tmp-*"))
    assert [b.recovered for b in drain(tmp_path)] == [True] and not pending_shards(tmp_path)


def test_engine_options_are_not_the_runs_identity() -> None:
    from core.cli import build_parser
    from core.cli.precompute import job_settings
    from core.errors import WordcamError
    from core.jobs.ray_options import RayOptions

    args = build_parser().parse_args(
        ["precompute", "photos", "--engine", "ray", "--ray-address", "ray://head:10001",
         "--actors", "3", "--gpus-per-actor", "0.25"]
    )  # fmt: skip
    on_ray = job_settings(args)
    assert on_ray.engine == "ray"
    assert on_ray.ray == RayOptions(address="ray://head:10001", actors=3, gpus_per_actor=0.25)
    local = job_settings(build_parser().parse_args(["precompute", "photos"]))
    assert local.engine == "local" and local.identity() == on_ray.identity()
    with pytest.raises(WordcamError, match="unknown engine 'spark'"):
        settings(engine="spark")
    with pytest.raises(WordcamError, match="--actors must be at least 1"):
        RayOptions(actors=0)


def test_verify_takes_the_engine_and_device_options_of_precompute() -> None:
    from core.cli import build_parser
    from core.cli.verify import engine_options
    from core.jobs.ray_options import EngineOptions, RayOptions

    args = build_parser().parse_args(
        ["verify", "--engine", "ray", "--ray-address", "auto", "--actors", "2",
         "--gpus-per-actor", "0.5", "--device", "cpu"]
    )  # fmt: skip
    ray_options = RayOptions(address="auto", actors=2, gpus_per_actor=0.5)
    assert engine_options(args) == EngineOptions("ray", "cpu", ray_options)
    assert engine_options(build_parser().parse_args(["verify"])) == EngineOptions()


def test_actors_get_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.jobs.ray_engine import RayEngine

    monkeypatch.chdir(tmp_path)
    (tmp_path / "model").mkdir()
    (tmp_path / "prompt.j2").write_text("{{ x }}")
    options = {"prompt_template": "prompt.j2", "lang": "en", "base_url": "http://h:1/v1"}
    job_settings = settings(model="model", explainer="openai:m", explainer_options=options)
    on_actors = RayEngine(job_settings).settings
    assert on_actors.model == str(tmp_path / "model")
    assert dict(on_actors.explainer_options) == {
        **options,
        "prompt_template": str(tmp_path / "prompt.j2"),
    }
    assert job_settings.model_spec == on_actors.model  # the run's identity names it so too


def test_openai_explainer_takes_a_shared_limiter_and_cache(tmp_path: Path) -> None:
    sys.path.insert(0, str(HERE.parent))
    from test_openai_explainer import make_request
    from vlm_server import FakeVLMServer, Reply

    from core.explainers.openai_vlm import OpenAIExplainer
    from core.explainers.vlm_cache import VLMCache

    class Counting:
        waits = 0

        def wait(self) -> None:
            Counting.waits += 1

    cache = VLMCache(tmp_path / "shared.duckdb")
    with FakeVLMServer(default=Reply("赤い屋根")) as server:
        for _ in range(2):
            explainer = OpenAIExplainer(
                "m", base_url=server.base_url, limiter=Counting(), cache=cache
            )
            [answer] = explainer.explain_batch([make_request()])
        assert answer.text == "赤い屋根" and answer.cached  # the second from the given cache
        assert len(server.chat_requests) == 1 and Counting.waits == 1
        uncached = OpenAIExplainer("m", base_url=server.base_url, cache=cache, no_cache=True)
        uncached.explain_batch([make_request()])
        assert len(server.chat_requests) == 2  # no_cache still wins


def test_rate_limit_spaces_starts() -> None:
    from core.jobs.ray_limits import RateLimit

    limit = RateLimit(rpm=600)  # one start every 0.1 s
    waits = [limit.reserve() for _ in range(5)]
    assert waits[0] == pytest.approx(0.0, abs=0.01)
    assert [round(b - a, 2) for a, b in zip(waits, waits[1:], strict=False)] == [0.1] * 4
    assert RateLimit(rpm=None).reserve() == 0.0


# ----------------------------------------------------------------------------- one node


@pytest.mark.slow
def test_ray_db_reads_like_the_local_one(ray_local, local_db, tmp_path: Path, capsys) -> None:
    from core.cli import main
    from core.store import queries, reading

    photos, local = local_db
    db = tmp_path / "ray.duckdb"
    # Started locally (4 photos), finished on Ray: one run, whichever engine ran it.
    first = job(photos, db, engine="local", limit=4)
    summary = job(photos, db)
    assert (summary.run_id, summary.skipped_existing) == (first.run_id, 4)
    assert (summary.done, summary.failed, summary.status) == (5, 1, "done")
    assert_same_db(db, local)
    assert not list(db.with_name(db.stem + "_assets").glob("*.shards/*"))  # every shard merged

    outputs, reads = [], []
    COLUMNS = ["path", "true_label", "pred_label", "status", "explanation", "tokens"]
    for path in (local, db):
        assert main(["mine", "--db", str(path)]) == 0
        outputs.append(capsys.readouterr().out.replace(str(path), "DB"))
        with reading(path) as con:  # what the dashboard's pages read
            run_id = queries.resolve_run(con)
            photos_read = queries.photo_results(con, run_id)
            reads.append(
                (queries.run_stats(con, run_id), queries.vocabulary(con, run_id).to_dict(),
                 photos_read.sort_values("path")[COLUMNS].to_dict("records"))
            )  # fmt: skip
    assert outputs[0] == outputs[1] and "猫" in outputs[0]
    assert reads[0] == reads[1]

    # A rerun computes nothing new: the broken file is retried (and fails) as locally.
    again = job(photos, db)
    assert (again.done, again.failed, again.skipped_existing) == (0, 1, 9)
    assert job(photos, db, engine="local").skipped_existing == 9


@pytest.mark.slow
def test_killed_worker_gets_its_photos_redone(ray_local, tmp_path: Path) -> None:
    from core.store import connect_read

    photos = make_photos(tmp_path / "photos", per_class=2)
    marker = tmp_path / "crashed"
    summary = job(
        photos, tmp_path / "x.duckdb", explainer="crashonce:tiny",
        explainer_options={"crash_marker": str(marker)},
    )  # fmt: skip
    assert marker.exists()  # one actor died mid-batch; Ray Data retried its batch elsewhere
    assert (summary.done, summary.failed, summary.status) == (6, 1, "done")
    with connect_read(tmp_path / "x.duckdb") as con:
        per_path = con.execute("SELECT count(*), count(DISTINCT path) FROM images").fetchone()
    assert per_path == (7, 7)


@pytest.mark.slow
def test_an_actors_wordcam_error_is_raised_as_itself(ray_local, tmp_path: Path) -> None:
    from core.errors import WordcamError
    from core.store import connect_read

    photos = make_photos(tmp_path / "photos", per_class=1)
    with pytest.raises(WordcamError, match="unknown model loader 'nosuchmodel'"):
        job(photos, tmp_path / "x.duckdb", model="nosuchmodel", actors=1)
    with connect_read(tmp_path / "x.duckdb") as con:
        assert con.execute("SELECT status FROM runs").fetchone()[0] == "failed"


@pytest.mark.slow
def test_openai_rate_and_cache_hold_for_the_whole_job(
    ray_local, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two actors share the job's one rate limit and one call cache, checked without timing
    the machine (load only delays a request, so only lower bounds are asserted):

    - every request the local server received took a start from the job's one rate-limit
      actor (its starts are recorded there), and those starts are ``60 / rpm`` apart;
    - no request reached the server before its start: the k-th arrival is no earlier than
      the first start plus k intervals, so the server never saw the job's rate exceeded;
    - the same job into another DB asks the server nothing and takes no start.

    A limiter per actor would leave the job's actor without starts; a broken spacing or a
    request sent before its start fails the bounds.
    """
    import duckdb

    import core.jobs.ray_limits as ray_limits

    sys.path.insert(0, str(HERE.parent))
    from vlm_server import FakeVLMServer, Reply

    from core.store import connect_read

    class RecordingRateLimit(ray_limits.RateLimit):
        """The job's rate limit, also keeping each start it hands out (monotonic clock)."""

        def __init__(self, rpm: float | None) -> None:
            super().__init__(rpm)
            self.starts: list[float] = []
            self._recording = ray_limits.threading.Lock()

        def reserve(self) -> float:
            with self._recording:  # so _next is this call's: start + interval
                delay = super().reserve()
                self.starts.append(self._next - self.interval)
            return delay

        def recorded(self) -> list[float]:
            return list(self.starts)

    starts_per_job: list[list[float]] = []
    real_stop = ray_limits.JobLimits.stop

    def stop(limits: ray_limits.JobLimits) -> None:
        starts_per_job.append(ray.get(limits.rate_limit.recorded.remote()))
        real_stop(limits)

    monkeypatch.setattr(ray_limits, "RateLimit", RecordingRateLimit)
    monkeypatch.setattr(ray_limits.JobLimits, "stop", stop)
    monkeypatch.setenv("WORDCAM_CACHE_DIR", str(tmp_path / "cache"))
    photos = make_photos(tmp_path / "photos", per_class=2)
    rpm = 120
    interval = 60 / rpm
    with EngineLog() as handler, FakeVLMServer(default=Reply("赤い屋根が見えます。")) as server:
        options = {"base_url": server.base_url, "rpm": rpm, "concurrency": 2}
        first = job(photos, tmp_path / "a.duckdb", explainer="openai:m", explainer_options=options)
        calls = list(server.chat_requests)
        # The same job into another DB: every answer comes from the one cache.
        again = job(photos, tmp_path / "b.duckdb", explainer="openai:m", explainer_options=options)
        assert len(server.chat_requests) == len(calls)
    assert first.done == again.done == len(calls) == 6  # one call per photo...
    assert len(handler.reports[0]["actors"]) == 2  # ...over two actors
    granted, granted_again = (sorted(s) for s in starts_per_job)
    assert len(granted) == len(calls), "a request did not take its start from the job's limit"
    assert granted_again == [], "a cached answer took a start"
    assert all(b - a >= interval * (1 - 1e-9) for a, b in zip(granted, granted[1:], strict=False))
    arrivals = sorted(r.started for r in calls)
    slack = 0.02 * interval  # the clocks are one (CLOCK_MONOTONIC); only sleep's granularity
    assert all(a >= s - slack for a, s in zip(arrivals, granted, strict=True)), (arrivals, granted)
    assert all(a - granted[0] >= k * interval - slack for k, a in enumerate(arrivals))
    with connect_read(tmp_path / "b.duckdb") as con:
        texts = con.execute("SELECT DISTINCT text FROM explanations WHERE error IS NULL").fetchall()
    assert texts == [("赤い屋根が見えます。",)]
    with duckdb.connect(str(tmp_path / "cache" / "vlm_cache.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM vlm_calls").fetchone()[0] == len(calls)


@pytest.mark.slow
def test_rate_limit_actor_holds_for_the_whole_job(ray_local) -> None:
    from core.jobs.ray_limits import SharedLimiter, start_rate_limit

    handle = start_rate_limit(rpm=1200)  # 0.05 s apart over all callers

    @ray.remote(num_cpus=0)
    def caller(limiter, n):
        starts = []
        for _ in range(n):
            SharedLimiter(limiter).wait()
            starts.append(time.time())
        return starts

    starts = sorted(sum(ray.get([caller.remote(handle, 6) for _ in range(3)]), []))
    assert ray.get(handle.count.remote()) == 18
    # Three callers together never beat the job's rate (each alone would take 0.25 s).
    assert starts[-1] - starts[0] >= 17 * 0.05 - 0.05
    ray.kill(handle)


# ----------------------------------------------------------------------------- verify on Ray

VERIFY = {"top": 2, "per_word": 3, "batch_size": 2, "progress": False}
# A plugin the verify actors import: the first measured batch kills its actor (once per marker).
CRASH_PLUGIN = """
import os
from pathlib import Path
from core.verify import measure
MARKER = Path({marker!r})
real = measure.Measurer.measure
def measure_once(self, items):
    if not MARKER.exists():
        MARKER.write_text(str(os.getpid()))
        os._exit(1)  # like a kill -9 of the actor mid-batch
    return real(self, items)
measure.Measurer.measure = measure_once
"""
# A plugin that counts every photo-word measured (one file each), slowed by WORDCAM_TEST_DELAY.
COUNT_PLUGIN = """
import os, time, uuid
from pathlib import Path
from core.verify import measure
real = measure.Measurer.measure
def counted(self, items):
    time.sleep(float(os.environ.get("WORDCAM_TEST_DELAY", "0")) * len(items))
    rows = real(self, items)
    for r in rows:
        (Path({counts!r}) / uuid.uuid4().hex).write_text(f"{{r.cls}}|{{r.word}}|{{r.test}}|{{r.image_id}}")
    return rows
measure.Measurer.measure = counted
"""


def copy_db(db: Path, to: Path) -> Path:
    import shutil

    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(db, to)
    return to


def effects(db: Path) -> dict:
    """Every stored effect and photo measurement (pictures' paths and times aside)."""
    from core.store import connect_read

    with connect_read(db) as con:
        # the family's id is stamped with the invocation's time: its size is compared
        words = con.execute(
            "SELECT * EXCLUDE (created_at, family) FROM word_effects ORDER BY class, word, test"
        ).fetchall()
        photos = con.execute(
            "SELECT * EXCLUDE (hidden_path, control_path) FROM word_effect_photos"
            " ORDER BY class, word, test, image_id"
        ).fetchall()
        once = con.execute(
            "SELECT count(*) = count(DISTINCT (class, word, test, image_id))"
            " FROM word_effect_photos"
        ).fetchone()[0]
    assert once, "a photo-word stored twice"
    return {"words": words, "photos": photos}


def ray_verify(db: Path, *plugins: str, actors: int = 2, **changes):
    from core.jobs.ray_options import RayOptions
    from core.verify.job import verify

    options = RayOptions(actors=actors, plugins=(str(HERE), *plugins))
    return verify(db, engine="ray", ray=options, **{**VERIFY, **changes})


@pytest.mark.slow
def test_verify_on_ray_gives_the_local_effects_and_redoes_a_killed_actors_batch(
    ray_local, local_db, tmp_path: Path
) -> None:
    from core.verify.job import verify

    _, db = local_db
    here = verify(copy_db(db, tmp_path / "local" / "v.duckdb"), **VERIFY)
    assert here.summary.done > 8 and here.summary.failed == 0
    marker, plugin = tmp_path / "crashed", tmp_path / "crash_plugin.py"
    plugin.write_text(CRASH_PLUGIN.format(marker=str(marker)))
    there = ray_verify(copy_db(db, tmp_path / "ray" / "v.duckdb"), str(plugin))
    assert marker.exists()  # an actor died mid-batch; Ray Data retried its batch
    assert (there.summary.done, there.summary.failed) == (here.summary.done, 0)
    assert there.summary.status == "done"
    assert effects(tmp_path / "ray" / "v.duckdb") == effects(tmp_path / "local" / "v.duckdb")
    assert [w.to_dict() for w in there.report.words] == [w.to_dict() for w in here.report.words]
    assert not list((tmp_path / "ray").rglob("*.shards/*"))  # every shard merged


# ----------------------------------------------------------------------------- own Rays


@pytest.mark.slow
def test_killed_driver_resumes_without_recomputing_merged_photos(tmp_path: Path) -> None:
    from core.jobs import read_progress
    from core.store import connect_read

    photos = make_photos(tmp_path / "photos", per_class=3)
    db, counts = tmp_path / "x.duckdb", tmp_path / "counts"
    counts.mkdir()
    proc = subprocess.Popen(
        [sys.executable, str(HERE), "job", str(photos), str(db), str(counts)],
        cwd=ROOT, env=subprocess_env(), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while (read_progress(db) or {}).get("done", 0) < 3:  # the last may be unpublished
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the job never committed three photos"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray it started, at once
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stderr.close()
    with connect_read(db) as con:  # published after each batch (publish_every=0)
        merged = dict(
            con.execute("SELECT sha256, path FROM images WHERE status = 'done'").fetchall()
        )
    assert len(merged) >= 2
    summary = _resume_job(photos, db, counts)
    # At least what was published is kept (the kill may fall between a commit and its publish).
    assert summary.skipped_existing >= len(merged)
    assert summary.skipped_existing + summary.done == 9 and summary.status == "done"
    computed = [p.read_text() for p in counts.iterdir()]
    assert all(computed.count(sha) == 1 for sha in merged)  # merged photos never redone
    # Only the batches in flight at the kill (one per actor) may have been computed twice.
    assert len(computed) - len(set(computed)) <= 2 and len(set(computed)) == 9
    with connect_read(db) as con:
        assert con.execute("SELECT count(*), count(DISTINCT path) FROM images").fetchone() == (
            10,
            10,
        )


@pytest.mark.slow
def test_killed_verify_driver_resumes_without_measuring_stored_words(
    local_db, tmp_path: Path
) -> None:
    from core.jobs import read_progress

    _, source = local_db
    db, counts, plugin = tmp_path / "v.duckdb", tmp_path / "counts", tmp_path / "count.py"
    copy_db(source, db)
    counts.mkdir()
    plugin.write_text(COUNT_PLUGIN.format(counts=str(counts)))
    proc = subprocess.Popen(
        [sys.executable, str(HERE), "verify-job", str(db), str(plugin)],
        cwd=ROOT, env=subprocess_env(), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while (read_progress(db) or {}).get("job") != "verify" or read_progress(db)["done"] < 4:
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the verification never stored four photo-words"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray it started, at once
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stderr.close()
    stored = effects(db)["photos"]  # published after each batch (publish_every=0)
    assert len(stored) >= 2
    done = ray_verify(db, str(plugin), batch_size=1, publish_every=0.0)
    assert done.summary.status == "done" and done.summary.failed == 0
    assert done.report.resumed >= len(stored)
    measured = [p.read_text() for p in counts.iterdir()]
    keys = {f"{row[2]}|{row[3]}|{row[4]}|{row[5]}" for row in stored}  # class, word, test, image
    assert all(measured.count(k) == 1 for k in keys)  # stored photo-words never measured again
    # Only the batches in flight at the kill (one per actor) may have been measured twice.
    assert len(measured) - len(set(measured)) <= 2
    assert len(set(measured)) == done.report.resumed + done.report.measured
    copy = copy_db(source, tmp_path / "local" / "v.duckdb")
    from core.verify.job import verify

    verify(copy, **{**VERIFY, "batch_size": 1})
    assert effects(db) == effects(copy)  # the resumed verification is the local one


def _verify_killed_main(db: Path, plugin: Path) -> None:
    os.environ["WORDCAM_TEST_DELAY"] = "0.5"  # inherited by the Ray this job starts
    ray_verify(db, str(plugin), batch_size=1, publish_every=0.0)  # killed by the test


def _resume_job(photos: Path, db: Path, counts: Path) -> dict:
    options = {"count_dir": str(counts)}
    return job(
        photos, db, explainer="counting:tiny", explainer_options=options, batch_size=1,
        publish_every=0.0,
    )  # fmt: skip


def _killed_driver_main(photos: Path, db: Path, counts: Path) -> None:
    os.environ["WORDCAM_TEST_DELAY"] = "0.5"  # inherited by the Ray this job starts
    _resume_job(photos, db, counts)  # killed by the test while it runs


def _two_node_main(out: Path) -> None:
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
    )
    cluster.add_node(num_cpus=1)
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        cluster.wait_for_nodes()
        nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        with EngineLog() as handler:
            summary = job(Path(out / "photos"), out / "ray.duckdb", batch_size=1)
        copy_db(out / "ray.duckdb", out / "verified.duckdb")  # verified locally by the test
        with EngineLog("core.verify.engines") as verify_log:
            verified = ray_verify(out / "ray.duckdb", batch_size=1)
    finally:
        ray.shutdown()
        cluster.shutdown()
    report = {
        "nodes": sorted(nodes),
        "actor_nodes": sorted({a["node_id"] for a in handler.reports[0]["actors"]}),
        "summary": {k: getattr(summary, k) for k in ("done", "failed", "status")},
        "verify_nodes": sorted({a["node_id"] for a in verify_log.reports[0]["actors"]}),
        "verify": {k: getattr(verified.summary, k) for k in ("done", "failed", "status")},
    }
    (out / "report.json").write_text(json.dumps(report))


@pytest.mark.slow
def test_two_node_cluster_uses_both_nodes_and_makes_the_local_db(tmp_path: Path) -> None:
    photos = make_photos(tmp_path / "photos")
    proc = subprocess.run(
        [sys.executable, str(HERE), "two-node", str(tmp_path)],
        cwd=ROOT, env=subprocess_env(), capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert len(report["nodes"]) == 2
    assert report["actor_nodes"] == report["nodes"]  # work landed on both
    assert report["summary"] == {"done": 9, "failed": 1, "status": "done"}
    job(photos, tmp_path / "local.duckdb", engine="local")
    assert_same_db(tmp_path / "ray.duckdb", tmp_path / "local.duckdb")
    # wordcam verify --engine ray on the two nodes: both used, the local effects.
    assert report["verify_nodes"] == report["nodes"]
    assert report["verify"]["failed"] == 0 and report["verify"]["status"] == "done"
    from core.verify.job import verify

    local = verify(tmp_path / "verified.duckdb", **{**VERIFY, "batch_size": 1})
    assert local.summary.done == report["verify"]["done"] > 0
    assert effects(tmp_path / "ray.duckdb") == effects(tmp_path / "verified.duckdb")


if __name__ == "__main__" and sys.argv[1:2] == ["two-node"]:
    _two_node_main(Path(sys.argv[2]))
if __name__ == "__main__" and sys.argv[1:2] == ["job"]:
    _killed_driver_main(*(Path(a) for a in sys.argv[2:5]))
if __name__ == "__main__" and sys.argv[1:2] == ["verify-job"]:
    _verify_killed_main(*(Path(a) for a in sys.argv[2:4]))
