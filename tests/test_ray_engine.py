"""The Ray engine: same rows as the local pipeline, resume from shards, dead actors, 2 nodes.

One local Ray (2 CPUs) serves the whole module (session fixture); the two-node cluster test
runs this file as a script in a subprocess, so the two never share a process. Each actor
imports this file as a plugin (``RaySettings.plugins``) to register the tiny test backends.
"""

from __future__ import annotations

import json
import os
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


def register() -> None:
    from core.registry import register_explainer, register_model_loader

    register_model_loader("tiny", tiny_classifier)
    register_explainer("crashonce", crash_once_explainer)


register()


# ----------------------------------------------------------------------------- helpers


def make_photos(root: Path, per_class: int = 3) -> list[tuple[str, str, str | None]]:
    """Crops of skimage photos, one folder per class, plus a broken file: the job's items."""
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
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return [
        (str(p.resolve()), p.relative_to(root).as_posix(), None if p.suffix == ".jpg" else label)
        for p in files
        for label in [p.parent.name]
    ]  # the broken file has no true label: None travels through Ray Data too


def settings_for(tmp: Path, **changes):
    from core.jobs.ray_engine import RaySettings

    base = dict(
        model="tiny",
        explainer="grounded:tiny",
        asset_dir=str(tmp / "assets"),
        lang="ja",
        batch_size=2,
        actors=2,
        plugins=(str(HERE),),
    )
    return RaySettings(**{**base, **changes})


def local_rows(items, settings, out_dir: Path):
    """What the local job computes for ``items`` (same functions, one process)."""
    from core.explainers import load_explainer
    from core.jobs import _result_row, _tokenize_rows
    from core.models import load_model
    from core.pipeline import explain_images

    model = load_model("tiny")
    explainer = load_explainer(settings.explainer, lang=settings.lang)
    paths = [Path(p) for p, _, _ in items]
    results = explain_images(
        paths, model, explainer, lang=settings.lang, mode=settings.mode, out_dir=out_dir
    )
    rows = [
        _result_row(r, p, rel, label, model.labels)
        for r, p, (_, rel, label) in zip(results, paths, items, strict=True)
    ]
    _tokenize_rows(rows, settings.lang)
    return {r.path: r for r in rows}


def picture(path: str | None):
    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)


@pytest.fixture(scope="session")
def ray_local():
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


# ----------------------------------------------------------------------------- limits


def test_rate_limit_spaces_starts() -> None:
    from core.jobs.ray_limits import RateLimit

    limit = RateLimit(rpm=600)  # one start every 0.1 s
    waits = [limit.reserve() for _ in range(5)]
    assert waits[0] == pytest.approx(0.0, abs=0.01)
    assert [round(b - a, 2) for a, b in zip(waits, waits[1:], strict=False)] == [0.1] * 4
    assert RateLimit(rpm=None).reserve() == 0.0


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


@pytest.mark.slow
def test_cache_service_is_one_truth_for_all_actors(ray_local, tmp_path: Path) -> None:
    import duckdb

    from core.jobs.ray_limits import RemoteCache, start_cache_service

    path = tmp_path / "vlm_cache.duckdb"
    service = start_cache_service(str(path))

    @ray.remote(num_cpus=0)
    def worker(handle, key):
        with RemoteCache(handle) as cache:
            assert cache.active
            cache.record({"cache_key": key, "status": "ok", "text": f"answer {key}"})
            return cache.get(key).text, cache.get("nobody") is None

    answers = ray.get([worker.remote(service, f"k{i}") for i in range(4)])
    assert answers == [(f"answer k{i}", True) for i in range(4)]
    ray.get(service.close.remote())
    ray.kill(service)
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM vlm_calls").fetchone()[0] == 4


# ----------------------------------------------------------------------------- the engine


@pytest.mark.slow
def test_ray_rows_equal_local_then_rerun_does_nothing(ray_local, tmp_path: Path) -> None:
    import numpy as np

    from core.jobs.ray_engine import explain_rows

    items = make_photos(tmp_path / "photos")
    settings = settings_for(tmp_path)
    shards = tmp_path / "shards"
    batches = list(explain_rows(items, settings, shards))
    rows = {r.path: r for b in batches for r in b.rows}
    assert sorted(rows) == sorted(p for p, _, _ in items)
    assert not any(b.recovered for b in batches) and not list(shards.iterdir())
    expected = local_rows(items, settings, tmp_path / "local")
    for path, want in expected.items():
        got = rows[path]
        for name in ("status", "error", "pred_label", "topk", "text", "text_error", "tokens"):
            assert getattr(got, name) == getattr(want, name), (path, name)
        assert got.details == json.loads(json.dumps(want.details))
        if want.status == "done":
            np.testing.assert_allclose(got.probs, want.probs, atol=1e-6)
            # The maps, through the overlays drawn from them (one px of PNG rounding).
            diff = np.abs(picture(got.overlay_path) - picture(want.overlay_path))
            assert diff.max() <= 2.0, path
            assert Path(got.overlay_path).parent == Path(settings.asset_dir).resolve()
    assert sum(r.status == "failed" for r in rows.values()) == 1  # the broken file

    # A rerun gets only the photos not done: none but the broken one, which fails again.
    todo = [item for item in items if rows[item[0]].status != "done"]
    again = [r for b in explain_rows(todo, settings, shards) for r in b.rows]
    assert [r.rel_path for r in again] == ["猫/broken.jpg"]
    assert list(explain_rows([], settings, shards)) == []


@pytest.mark.slow
def test_merged_into_the_job_tables_and_leftover_shards_resume(ray_local, tmp_path: Path) -> None:
    from core.jobs.ray_engine import explain_rows, merge_batch
    from core.jobs.ray_shards import pending_shards
    from core.store import StoreWriter

    items = make_photos(tmp_path / "photos", per_class=4)
    settings = settings_for(tmp_path, batch_size=1)
    shards = tmp_path / "shards"
    with StoreWriter(tmp_path / "x.duckdb") as writer:
        con = writer.con
        run_id = con.execute(
            "INSERT INTO runs (kind, source, status) VALUES ('images', 'p', 'running')"
            " RETURNING run_id"
        ).fetchone()[0]
        stream = explain_rows(items, settings, shards)
        merge_batch(con, run_id, next(stream), settings.explainer, settings.mode, "ja")
        stream.close()  # the driver "dies": shards written meanwhile stay on disk
        left = len(pending_shards(shards))
        stored = dict(con.execute("SELECT path, status FROM images").fetchall())
        todo = [item for item in items if stored.get(item[0]) != "done"]  # the job's rule
        batches = list(explain_rows(todo, settings, shards))
        recovered = [b for b in batches if b.recovered]
        assert len(recovered) == left
        for batch in batches:
            merge_batch(con, run_id, batch, settings.explainer, settings.mode, "ja")
        computed = sum(len(b.rows) for b in batches if not b.recovered)
        counts = con.execute(
            "SELECT count(*), count(DISTINCT path), count(*) FILTER (WHERE status = 'done')"
            " FROM images WHERE run_id = ?",
            [run_id],
        ).fetchone()
        n_expl = con.execute("SELECT count(*) FROM explanations").fetchone()[0]
        n_tokens = con.execute("SELECT count(*) FROM tokens").fetchone()[0]
    # Each photo once; the second run recomputed only what the first had not written.
    assert counts == (len(items), len(items), len(items) - 1)
    # (The first batch's shard is among the recovered: it is deleted only when the next batch
    # is asked for, so it is merged again, which changes nothing.)
    recovered_done = {r.path for b in recovered for r in b.rows if r.status == "done"}
    assert computed == len({p for p, _, _ in todo} - recovered_done)
    assert (n_expl, n_tokens) == (len(items) - 1, len(items) - 1)
    assert not pending_shards(shards)


@pytest.mark.slow
def test_killed_worker_gets_its_photos_redone(ray_local, tmp_path: Path) -> None:
    from core.jobs.ray_engine import explain_rows

    items = make_photos(tmp_path / "photos", per_class=2)
    marker = tmp_path / "crashed"
    settings = settings_for(
        tmp_path, explainer="crashonce:tiny", explainer_options={"crash_marker": str(marker)}
    )
    rows = [r for b in explain_rows(items, settings, tmp_path / "shards") for r in b.rows]
    assert marker.exists()  # one actor died mid-batch
    assert sorted(r.path for r in rows) == sorted(p for p, _, _ in items)  # each photo once
    assert sum(r.status == "done" for r in rows) == len(items) - 1


@pytest.mark.slow
def test_openai_rate_and_cache_hold_for_the_whole_job(
    ray_local, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    sys.path.insert(0, str(HERE.parent))
    from vlm_server import FakeVLMServer, Reply

    from core.jobs.ray_engine import explain_rows

    monkeypatch.setenv("WORDCAM_CACHE_DIR", str(tmp_path / "cache"))
    items = make_photos(tmp_path / "photos", per_class=2)
    with FakeVLMServer(default=Reply("赤い屋根が見えます。")) as server:
        options = {"base_url": server.base_url, "rpm": 120, "concurrency": 2}
        settings = settings_for(tmp_path, explainer="openai:test-model", explainer_options=options)
        batches = list(explain_rows(items, settings, tmp_path / "s1"))
        rows = [r for b in batches for r in b.rows]
        calls = server.chat_requests
        starts = sorted(r.started for r in calls)
        # A rerun from scratch (another DB): every answer comes from the one cache.
        again = [r for b in explain_rows(items, settings, tmp_path / "s2") for r in b.rows]
        assert len(server.chat_requests) == len(calls)
    done = [r for r in rows if r.status == "done"]
    assert len(calls) == len(done) == len(items) - 1  # one call per photo...
    assert len({b.pid for b in batches}) == 2  # ...over two actors
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # 120 rpm for the whole job: starts 0.5 s apart (per actor, the span would be half).
    assert min(gaps) > 0.3 and starts[-1] - starts[0] > 0.5 * (len(starts) - 1) - 0.2
    assert {r.text for r in again if r.status == "done"} == {"赤い屋根が見えます。"}
    with duckdb.connect(str(tmp_path / "cache" / "vlm_cache.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM vlm_calls").fetchone()[0] == len(calls)


@pytest.mark.slow
def test_an_actors_wordcam_error_is_raised_as_itself(ray_local, tmp_path: Path) -> None:
    from core.errors import WordcamError
    from core.jobs.ray_engine import explain_rows

    items = make_photos(tmp_path / "photos", per_class=1)
    settings = settings_for(tmp_path, model="nosuchmodel", actors=1)
    with pytest.raises(WordcamError, match="unknown model loader 'nosuchmodel'"):
        list(explain_rows(items, settings, tmp_path / "shards"))


# ----------------------------------------------------------------------------- two nodes


def _two_node_main(out: Path) -> None:
    from ray.cluster_utils import Cluster

    from core.jobs.ray_engine import explain_rows

    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
    )
    cluster.add_node(num_cpus=1)
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        cluster.wait_for_nodes()
        nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
        items = make_photos(out / "photos", per_class=4)
        settings = settings_for(out, batch_size=1, actors=2)
        batches = list(explain_rows(items, settings, out / "shards"))
        report = {
            "nodes": sorted(nodes),
            "row_nodes": sorted({b.node_id for b in batches}),
            "paths": sorted(r.path for b in batches for r in b.rows),
            "items": sorted(p for p, _, _ in items),
        }
    finally:
        ray.shutdown()
        cluster.shutdown()
    (out / "report.json").write_text(json.dumps(report))


@pytest.mark.slow
def test_two_node_cluster_uses_both_nodes(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    proc = subprocess.run(
        [sys.executable, str(HERE), "two-node", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert len(report["nodes"]) == 2
    assert report["row_nodes"] == report["nodes"]  # work landed on both
    assert report["paths"] == report["items"]


if __name__ == "__main__" and sys.argv[1:2] == ["two-node"]:
    _two_node_main(Path(sys.argv[2]))
