"""The precompute job on Ray: photos -> a pool of model+explainer actors -> shards -> DuckDB.

``explain_rows(items, settings, shard_dir)`` is the engine's one entry point. It streams the
job's rows in batches (:class:`core.jobs.ray_shards.ShardBatch`), for the single DuckDB writer
to store with :func:`merge_batch` as they arrive:

1. shards left by an earlier, crashed run are yielded first (and their done photos dropped
   from ``items``: nothing finished is recomputed);
2. the remaining photos go through ``ray.data.from_items(...).map_batches(ExplainActor, ...)``:
   each actor holds one model and one explainer, runs the same per-batch step as the local job
   (:func:`core.pipeline.explain_images`, the job's ``_result_row`` and ``_tokenize_rows``),
   writes the pictures to ``settings.asset_dir`` and the rows to a new shard, and returns only
   the shard's name; Ray Data's streaming executor hands each name to the driver as soon as
   its batch is done;
3. each shard is deleted once the consumer asks for the next batch (after its commit).

A crash of the driver loses only the batches in flight (their shards, if written, are merged
on the next run); a dead actor is restarted by Ray Data and its batch retried.

Ray is an optional dependency: this module imports it only inside functions.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import WordcamError
from core.jobs.ray_shards import ShardBatch, drain, read_shard, write_shard

if TYPE_CHECKING:
    import duckdb

#: One photo to do: (absolute path, path relative to the photo folder, true label or None).
Item = tuple[str, str, "str | None"]


@dataclass(frozen=True)
class RaySettings:
    """Everything an actor needs (plain data: pickled to every actor).

    ``plugins`` are modules (``pkg.mod``) or ``.py`` files each actor imports before loading
    the backends, for backends registered at run time rather than through entry points.
    ``actors=None`` means one actor per ``cpus_per_actor`` CPUs of the cluster (or per
    ``gpus_per_actor`` GPUs when that is set).
    """

    model: str
    explainer: str
    asset_dir: str
    model_options: dict[str, Any] = field(default_factory=dict)
    explainer_options: dict[str, Any] = field(default_factory=dict)
    mode: str = "blind"
    method: str = "gradcam"
    layer: str | None = None
    lang: str = "ja"
    top_k: int = 3
    batch_size: int = 16
    actors: int | None = None
    cpus_per_actor: float = 1.0
    gpus_per_actor: float = 0.0
    plugins: tuple[str, ...] = ()


def import_plugins(plugins: Sequence[str]) -> None:
    """Import each plugin module or file (idempotent per process)."""
    for name in plugins:
        if not name.endswith(".py"):
            importlib.import_module(name)
            continue
        module_name = "wordcam_plugin_" + Path(name).stem
        spec = importlib.util.spec_from_file_location(module_name, name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


class ExplainActor:
    """A Ray Data actor: one model + one explainer; a batch of photos in, a shard name out."""

    def __init__(
        self,
        settings: RaySettings,
        shard_dir: str,
        rate_limit: Any = None,
        cache: Any = None,
        actors: int = 1,
    ) -> None:
        import ray

        from core.explainers import load_explainer
        from core.jobs import _HeapTrimmer
        from core.jobs.ray_limits import share_limits
        from core.models import load_model
        from core.text import tokenize_many

        started = time.monotonic()
        import_plugins(settings.plugins)
        self.settings = settings
        self.shard_dir = shard_dir
        self.model = load_model(settings.model, **settings.model_options)
        options = {"lang": settings.lang, **settings.explainer_options}
        explainer = load_explainer(settings.explainer, **options)
        concurrency = int(options.get("concurrency", 4))
        self.explainer = share_limits(explainer, rate_limit, cache, actors, concurrency)
        self.labels = list(self.model.labels)
        self.node_id = ray.get_runtime_context().get_node_id()
        self.trim_heap = _HeapTrimmer()
        tokenize_many(["準備"], lang=settings.lang)  # the tokenizer's dictionary, once, here
        self.init_s = time.monotonic() - started

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        started = time.monotonic()
        items = list(zip(batch["path"], batch["rel_path"], batch["true_label"], strict=True))
        rows = self.explain(items)
        shard = write_shard(rows, self.shard_dir, self.node_id, labels=self.labels)
        self.trim_heap()
        seconds = time.monotonic() - started
        return {"shard": [str(shard)], "batch_s": [seconds], "init_s": [self.init_s]}

    def explain(self, items: Sequence[Item]) -> list[Any]:
        """The job's rows for ``items``: the same step and fields as the local job."""
        from core.jobs import _result_row, _tokenize_rows
        from core.pipeline import explain_images

        s = self.settings
        paths = [Path(str(p)) for p, _, _ in items]
        results = explain_images(
            paths, self.model, self.explainer, method=s.method, lang=s.lang, mode=s.mode,
            top_k=s.top_k, out_dir=s.asset_dir, batch_size=len(paths), layer=s.layer,
        )  # fmt: skip
        rows = [
            _result_row(result, path, str(rel), None if label is None else str(label), self.labels)
            for result, path, (_, rel, label) in zip(results, paths, items, strict=True)
        ]
        _tokenize_rows(rows, s.lang)
        return rows


def explain_rows(
    items: Sequence[Item], settings: RaySettings, shard_dir: str | Path, address: str | None = None
) -> Iterator[ShardBatch]:
    """Stream the job's rows for ``items`` (photos not done yet), one shard at a time.

    Store each batch (:func:`merge_batch`) before asking for the next: a shard is deleted
    when the next one is requested. Starts Ray (at ``address``, or a local one) when it is
    not running, and stops it again at the end.
    """
    done: set[str] = set()
    for batch in drain(shard_dir):
        done.update(r.path for r in batch.rows if r.status == "done")
        yield batch
    todo = [item for item in items if str(item[0]) not in done]
    if not todo:
        return
    with ray_session(address), _job_limits(settings) as (rate_limit, cache):
        dataset = _dataset(todo, settings, Path(shard_dir), rate_limit, cache)
        for manifest in _manifests(dataset):
            batch = read_shard(manifest["shard"])
            batch.batch_s, batch.init_s = manifest["batch_s"], manifest["init_s"]
            yield batch
            batch.shard.unlink(missing_ok=True)


def _manifests(dataset: Any) -> Iterator[dict[str, Any]]:
    """The dataset's rows; an actor's wordcam error (a bad spec, say) raised as itself."""
    try:
        yield from dataset.iter_rows()
    except WordcamError:
        raise
    except Exception as exc:
        found = re.findall(r"core\.errors\.\w+: (.+)", str(exc))
        if found:
            raise WordcamError(found[-1].strip()) from None
        raise


def merge_batch(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    batch: ShardBatch,
    explainer: str | None,
    mode: str | None,
    lang: str,
) -> None:
    """Store one batch's rows in one transaction, exactly as the local job writes its batches."""
    from core.jobs import write_rows  # the seam: the store's row write after the restructure

    write_rows(con, run_id, batch.rows, explainer, mode, lang)


def model_labels(settings: RaySettings) -> list[str]:
    """The model's labels (the run's ``labels``), loaded in a Ray task, not in the driver."""
    import ray

    def labels(settings: RaySettings) -> list[str]:
        from core.models import load_model

        import_plugins(settings.plugins)
        return list(load_model(settings.model, **settings.model_options).labels)

    task = ray.remote(num_cpus=settings.cpus_per_actor, num_gpus=settings.gpus_per_actor)(labels)
    return ray.get(task.remote(settings))


def actor_count(settings: RaySettings) -> int:
    """``settings.actors``, or as many as the cluster's CPUs (or GPUs) allow."""
    import ray

    if settings.actors:
        return int(settings.actors)
    resources = ray.cluster_resources()
    if settings.gpus_per_actor:
        return max(1, int(resources.get("GPU", 0) / settings.gpus_per_actor))
    return max(1, int(resources.get("CPU", 1) / max(settings.cpus_per_actor, 1e-6)))


def _dataset(todo: Sequence[Item], settings: RaySettings, shard_dir: Path, rate_limit, cache):
    import ray

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    records = [{"path": str(p), "rel_path": str(r), "true_label": t} for p, r, t in todo]
    size = max(1, int(settings.batch_size))
    blocks = max(1, math.ceil(len(records) / size))
    actors = min(actor_count(settings), blocks)  # no idle actors for a short to-do list
    kwargs = dict(settings=settings, shard_dir=str(shard_dir), rate_limit=rate_limit, cache=cache)
    return ray.data.from_items(records, override_num_blocks=blocks).map_batches(
        ExplainActor,
        fn_constructor_kwargs={**kwargs, "actors": actors},
        batch_size=size,
        # One batch at a time per actor: a free actor takes the next batch (no queue behind a
        # busy one), so the last batches do not wait while another actor idles.
        compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
        num_cpus=settings.cpus_per_actor,
        num_gpus=settings.gpus_per_actor or None,
    )


class ray_session:
    """``ray.init`` unless Ray is already up; shuts down only what it started."""

    def __init__(self, address: str | None) -> None:
        self.address = address
        self.started = False

    def __enter__(self) -> ray_session:
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            self.started = True
        return self

    def __exit__(self, *exc: object) -> None:
        import ray

        if self.started:
            ray.shutdown()


class _job_limits:
    """The job-wide rate-limit and cache actors of an ``openai:`` explainer (else None)."""

    def __init__(self, settings: RaySettings) -> None:
        self.settings = settings
        self.handles: tuple[Any, Any] = (None, None)

    def __enter__(self) -> tuple[Any, Any]:
        from core.jobs.ray_limits import start_cache_service, start_rate_limit

        options = self.settings.explainer_options
        if self.settings.explainer.startswith("openai:"):
            cache = None if options.get("no_cache") else start_cache_service()
            self.handles = (start_rate_limit(options.get("rpm")), cache)
        return self.handles

    def __exit__(self, *exc: object) -> None:
        import ray

        rate_limit, cache = self.handles
        if cache is not None:
            ray.get(cache.close.remote())
        for handle in self.handles:
            if handle is not None:
                ray.kill(handle)
