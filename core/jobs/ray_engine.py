"""The photo job on Ray (``--engine ray``): batches -> a pool of model+explainer actors -> shards.

:class:`RayEngine` is the job's second engine (:class:`core.jobs.images.Engine`): the job
(:func:`core.jobs.images.run_precompute`) lists the photos, skips the finished ones, batches
the rest and stores each batch of rows through the single DuckDB writer exactly as with the
local engine; only where the rows are computed differs. :func:`explain_rows` streams them:

1. shards left by an earlier, crashed driver of the same run are yielded first (and their done
   photos dropped from the batches: nothing finished is recomputed);
2. the remaining batches go through the actor pool of :func:`core.jobs.ray_pool.stream`,
   one Ray row per job batch: each :class:`ExplainActor` holds one model and one explainer
   and runs the local engine's own batch step (:class:`core.jobs.engines.Backends`), writes
   the pictures to the run's asset folder and the rows to a new shard
   (:mod:`core.jobs.ray_shards`), and returns only the shard's name;
3. each shard is deleted once the job asks for the next batch (after its commit).

A crash of the driver loses only the batches in flight (their shards, if written, are merged
on the next run); a dead actor is restarted by Ray Data and its batch retried. The model's
labels travel in the shards: the driver never loads the model.

Ray is an optional dependency (``pip install "wordcam[ray]"``): imported only inside functions.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import WordcamError
from core.jobs.ray_shards import ShardBatch, write_shard

if TYPE_CHECKING:
    from core.jobs.photos import Photo
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
    from core.jobs.ray_pool import stream

    def todo(done: set[str]) -> list[str]:
        left = [[(str(p), label) for p, label in b if str(p) not in done] for b in batches]
        return [json.dumps(b, ensure_ascii=False) for b in left if b]

    folders = (str(root), str(out_dir), str(shard_dir_of(Path(out_dir))))
    kwargs = {"settings": settings, "folders": folders}
    yield from stream(
        shard_dir_of(Path(out_dir)), todo, ExplainActor, kwargs, settings.ray,
        timings=timings, around=lambda: _job_limits(settings),
    )  # fmt: skip


class ExplainActor:
    """A Ray Data actor: one model + one explainer; a job batch in, a shard name out."""

    def __init__(
        self, settings: JobSettings, folders: tuple[str, str, str], limits: Any, actors: int
    ) -> None:
        from core.jobs.engines import Backends
        from core.jobs.memory import HeapTrimmer
        from core.jobs.ray_limits import shared_explainer_options
        from core.jobs.ray_pool import actor_setup
        from core.text import tokenize_many

        started = time.monotonic()
        self.node_id = actor_setup(settings.ray.plugins)
        self.root, self.out_dir, self.shard_dir = (Path(f) for f in folders)
        shared = shared_explainer_options(settings, limits, actors)
        self.backends = Backends.load(settings, **shared)
        self.trim_heap = HeapTrimmer()
        tokenize_many(["準備"], lang=settings.lang)  # the tokenizer's dictionary, once, here
        self.init_s = time.monotonic() - started

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        started = time.monotonic()
        shards = []
        for photos in batch["batch"]:
            chunk = [(Path(p), label) for p, label in json.loads(photos)]
            rows = next(self.backends.row_batches([chunk], self.root, self.out_dir))
            labels = self.backends.labels
            shards.append(str(write_shard(rows, self.shard_dir, self.node_id, labels=labels)))
            del rows
            self.trim_heap()
        seconds = time.monotonic() - started
        return {"shard": shards, "batch_s": [seconds / len(shards)] * len(shards),
                "init_s": [self.init_s] * len(shards)}  # fmt: skip


class _job_limits:
    """The job-wide rate-limit and cache actors of an ``openai:`` explainer (else None), as the
    actors' ``limits`` argument."""

    def __init__(self, settings: JobSettings) -> None:
        self.settings = settings
        self.limits: Any = None

    def __enter__(self) -> dict[str, Any]:
        from core.jobs.ray_limits import start_limits

        self.limits = start_limits(self.settings)
        return {"limits": self.limits}

    def __exit__(self, *exc: object) -> None:
        if self.limits is not None:
            self.limits.stop()
