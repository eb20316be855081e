"""The photo job on Ray (``--engine ray``): batches -> a pool of model+explainer actors -> shards.

:class:`RayEngine` is the job's second engine (:class:`core.jobs.images.Engine`): the job
(:func:`core.jobs.images.run_precompute`) lists the photos, skips the finished ones, batches
the rest and stores each batch of rows through the single DuckDB writer exactly as with the
local engine; only where the rows are computed differs. :func:`explain_rows` streams them:

1. shards left by an earlier, crashed driver of the same run are yielded first (and their done
   photos dropped from the batches: nothing finished is recomputed);
2. the remaining batches go through ``ray.data.from_items(...).map_batches(ExplainActor, ...)``,
   one Ray row per job batch: each actor holds one model and one explainer and runs the local
   engine's own batch step (:class:`core.jobs.images.Backends`), writes the pictures to the
   run's asset folder and the rows to a new shard (:mod:`core.jobs.ray_shards`), and returns
   only the shard's name; Ray Data's streaming executor hands it to the driver when done;
3. each shard is deleted once the job asks for the next batch (after its commit).

A crash of the driver loses only the batches in flight (their shards, if written, are merged
on the next run); a dead actor is restarted by Ray Data and its batch retried. The model's
labels travel in the shards: the driver never loads the model.

Ray is an optional dependency (``pip install "wordcam[ray]"``): imported only inside functions.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import WordcamError
from core.jobs.ray_options import check_reachable
from core.jobs.ray_shards import ShardBatch, drain, read_shard, write_shard

if TYPE_CHECKING:
    from core.jobs.images import Photo
    from core.jobs.rows import PhotoRow
    from core.jobs.settings import JobSettings

log = logging.getLogger(__name__)


def shard_dir_of(out_dir: Path) -> Path:
    """The run's shard folder, beside its pictures (``<db>_assets/run<N>.shards``)."""
    return out_dir.with_name(out_dir.name + ".shards")


@dataclass
class ActorStats:
    """One actor's share of the job (for the log and the benchmark)."""

    node_id: str
    init_s: float
    photos: int = 0
    busy_s: float = 0.0


@dataclass
class RayEngine:
    """Explains the job's batches on Ray; ``labels`` are known from the first shard on."""

    settings: JobSettings
    labels: list[str] | None = None
    actors: dict[int, ActorStats] = field(default_factory=dict)  # by actor pid
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = self.settings
        if not isinstance(s.model, str) or not isinstance(s.explainer, str):
            raise WordcamError(
                "the ray engine needs the model and explainer as specs (names), not loaded objects"
            )
        self.settings = for_actors(s)

    def row_batches(
        self, batches: Iterable[Sequence[Photo]], root: Path, out_dir: Path
    ) -> Iterator[list[PhotoRow]]:
        """The rows of ``batches``, one shard at a time (:class:`core.jobs.images.Engine`)."""
        started = time.monotonic()
        out_dir = Path(out_dir).resolve()  # actors run in other working directories
        for batch in explain_rows(batches, self.settings, root, out_dir, self.timings):
            self.labels = self.labels or batch.labels
            self._count(batch)
            self.timings.setdefault("first_batch_s", round(time.monotonic() - started, 2))
            yield batch.rows
        self.timings["last_batch_s"] = round(time.monotonic() - started, 2)
        log.info("ray engine: %d actors", len(self.actors), extra={"ray_engine": self.report()})

    def _count(self, batch: ShardBatch) -> None:
        if batch.recovered:
            return
        stats = self.actors.setdefault(batch.pid, ActorStats(batch.node_id, batch.init_s or 0.0))
        stats.photos += len(batch.rows)
        stats.busy_s += batch.batch_s or 0.0

    def report(self) -> dict[str, Any]:
        """Timings and per-actor counts (start-up s, photos, photos/s while busy)."""
        actors = [
            {"node_id": a.node_id, "init_s": round(a.init_s, 2), "photos": a.photos,
             "photos_per_s": round(a.photos / a.busy_s, 2) if a.busy_s else None}
            for a in self.actors.values()
        ]  # fmt: skip
        return {**self.timings, "actors": actors}


def for_actors(settings: JobSettings) -> JobSettings:
    """``settings`` as actors need them: the model folder and option files as absolute paths.

    (Actors run in other working directories, on other nodes.) The run's identity is the job's
    own settings, unchanged.
    """
    from dataclasses import replace

    def absolute(options: Any) -> dict[str, Any]:
        return {k: _absolute(v) for k, v in options.items()}

    return replace(
        settings,
        model=settings.model_spec,
        model_options=absolute(settings.model_options),
        explainer_options=absolute(settings.explainer_options),
    )


def _absolute(value: Any) -> Any:
    """A relative path to an existing file (``weights/x.pth``, ``./prompt.j2``) made absolute."""
    looks_like_path = isinstance(value, Path) or (
        isinstance(value, str) and "://" not in value and ("/" in value or "." in value)
    )
    if looks_like_path:
        path = Path(value).expanduser()
        if not path.is_absolute() and path.exists():
            return str(path.resolve())
    return value


def explain_rows(
    batches: Iterable[Sequence[Photo]],
    settings: JobSettings,
    root: Path,
    out_dir: Path,
    timings: dict[str, float] | None = None,
) -> Iterator[ShardBatch]:
    """Stream the rows of ``batches`` (photos not done yet), one shard at a time.

    Store each batch before asking for the next: a shard is deleted when the next one is
    requested. Joins Ray at ``settings.ray.address`` (or the one already up, or a local one)
    and stops it again at the end if it started it.
    """
    shard_dir = shard_dir_of(Path(out_dir))
    done: set[str] = set()
    for batch in drain(shard_dir):
        done.update(r.path for r in batch.rows if r.status == "done")
        yield batch
    todo = [[(str(p), label) for p, label in b if str(p) not in done] for b in batches]
    todo = [b for b in todo if b]
    if not todo:
        return
    started = time.monotonic()
    with ray_session(settings.ray.address), _job_limits(settings) as limits:
        if timings is not None:
            timings["ray_start_s"] = round(time.monotonic() - started, 2)
        dataset = _dataset(todo, settings, (str(root), str(out_dir), str(shard_dir)), limits)
        for manifest in _manifests(dataset):
            batch = read_shard(manifest["shard"])
            batch.batch_s, batch.init_s = manifest["batch_s"], manifest["init_s"]
            yield batch
            batch.shard.unlink(missing_ok=True)


def import_plugins(plugins: Sequence[str]) -> None:
    """Import each plugin module or ``.py`` file (registers backends in this process)."""
    for name in plugins:
        if not name.endswith(".py"):
            importlib.import_module(name)
            continue
        module_name = "wordcam_plugin_" + Path(name).stem
        spec = importlib.util.spec_from_file_location(module_name, name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


class ExplainActor:
    """A Ray Data actor: one model + one explainer; a job batch in, a shard name out."""

    def __init__(
        self, settings: JobSettings, folders: tuple[str, str, str], limits: Any, actors: int
    ) -> None:
        import ray

        from core.jobs.images import Backends
        from core.jobs.memory import HeapTrimmer
        from core.jobs.ray_limits import shared_explainer_options
        from core.text import tokenize_many

        started = time.monotonic()
        import_plugins(settings.ray.plugins)
        self.root, self.out_dir, self.shard_dir = (Path(f) for f in folders)
        shared = shared_explainer_options(settings, limits, actors)
        self.backends = _load_backends(Backends, settings, shared)
        self.node_id = ray.get_runtime_context().get_node_id()
        self.trim_heap = HeapTrimmer()
        tokenize_many(["準備"], lang=settings.lang)  # the tokenizer's dictionary, once, here
        self.init_s = time.monotonic() - started

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        started = time.monotonic()
        shards = []
        for photos in batch["photos"]:
            chunk = [(Path(p), label) for p, label in json.loads(photos)]
            rows = next(self.backends.row_batches([chunk], self.root, self.out_dir))
            labels = self.backends.labels
            shards.append(str(write_shard(rows, self.shard_dir, self.node_id, labels=labels)))
            del rows
            self.trim_heap()
        seconds = time.monotonic() - started
        return {"shard": shards, "batch_s": [seconds / len(shards)] * len(shards),
                "init_s": [self.init_s] * len(shards)}  # fmt: skip


def _load_backends(backends: Any, settings: JobSettings, shared: dict[str, Any]) -> Any:
    """The local engine's :class:`Backends`, its explainer with the job's shared limits."""
    from core.explainers import check_explainer, load_explainer
    from core.models import load_model

    classifier = load_model(settings.model, **settings.model_options)
    explainer = load_explainer(settings.explainer, **{**settings.explainer_kwargs, **shared})
    check_explainer(explainer)  # an unreachable endpoint fails the actor, not each photo
    return backends(classifier, explainer, settings, list(classifier.labels))


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


def actor_count(settings: JobSettings) -> int:
    """``settings.ray.actors``, or as many as the cluster's CPUs (or GPUs) allow."""
    import ray

    options = settings.ray
    if options.actors:
        return int(options.actors)
    resources = ray.cluster_resources()
    if options.gpus_per_actor:
        return max(1, int(resources.get("GPU", 0) / options.gpus_per_actor))
    return max(1, int(resources.get("CPU", 1) / options.cpus_per_actor))


def _dataset(todo: list[list[Any]], settings: JobSettings, folders: tuple[str, ...], limits):
    import ray

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    records = [{"photos": json.dumps(batch, ensure_ascii=False)} for batch in todo]
    actors = min(actor_count(settings), len(records))  # no idle actors for a short to-do list
    options = settings.ray
    # One job batch per block: an actor never holds more than the batch it is working on.
    return ray.data.from_items(records, override_num_blocks=len(records)).map_batches(
        ExplainActor,
        fn_constructor_kwargs=dict(
            settings=settings, folders=folders, limits=limits, actors=actors
        ),
        batch_size=1,  # one job batch (already sized by the job) per call
        # One batch at a time per actor: a free actor takes the next batch (no queue behind a
        # busy one), so the last batches do not wait while another actor idles.
        compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
        num_cpus=options.cpus_per_actor,
        num_gpus=options.gpus_per_actor or None,
    )


class ray_session:
    """``ray.init(address)`` unless Ray is already up; shuts down only what it started."""

    def __init__(self, address: str | None) -> None:
        self.address = address
        self.started = False

    def __enter__(self) -> ray_session:
        try:
            import ray
        except ImportError:
            raise WordcamError(
                'the ray engine needs Ray: pip install "wordcam[ray]" (or "ray[data]>=2.10")'
            ) from None
        if not ray.is_initialized():
            check_reachable(self.address)  # nothing answering is one line, not a long wait
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            self.started = True
        return self

    def __exit__(self, *exc: object) -> None:
        import ray

        if self.started:
            ray.shutdown()


class _job_limits:
    """The job-wide rate-limit and cache actors of an ``openai:`` explainer (else None)."""

    def __init__(self, settings: JobSettings) -> None:
        self.settings = settings
        self.limits: Any = None

    def __enter__(self) -> Any:
        from core.jobs.ray_limits import start_limits

        self.limits = start_limits(self.settings)
        return self.limits

    def __exit__(self, *exc: object) -> None:
        if self.limits is not None:
            self.limits.stop()
