"""Where verification measures its photo-words: in this process, or on a pool of Ray actors.

The verification job (:mod:`core.verify.job`) cuts the photo-words still to measure into
batches and stores each batch's rows before the next; an engine only says where a batch is
measured. Both yield one :class:`Measured` per batch:

* :class:`LocalEngine`: the run's model loaded here (on ``--device``), a
  :class:`core.verify.measure.Measurer` over the batches.
* :class:`RayEngine` (``--engine ray``): the same batches through the actor pool every job's
  Ray engine shares (:func:`core.jobs.ray_pool.stream`): each :class:`VerifyActor` holds the
  run's model and measures a batch exactly as the local engine does, writes its rows to a shard
  (with the photo-words it could not measure) and returns the shard's name. Shards left by a
  killed driver are stored first on the next run and their photo-words not measured again; a
  killed actor's batch is retried by Ray Data.

A photo that cannot be read makes its photo-words *failed*: not stored, measured again on the
next run (``wordcam verify`` exits with status 3 until they are).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.store.effects import PhotoEffect
from core.verify.measure import Item, Measurer
from core.verify.sampling import Candidate

if TYPE_CHECKING:
    from core.jobs.ray_options import EngineOptions
    from core.verify.model import RunModel

log = logging.getLogger(__name__)


@dataclass
class Measured:
    """One batch's outcome: the rows to store, the photo-words that failed, and why."""

    rows: list[PhotoEffect]
    size: int  # photo-words in the batch (rows, failed, and those the data rules out)
    failed: list[Item] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    """What every engine needs to measure: the run, the measurement's settings, the photos."""

    run: RunModel
    seed: int
    fill: str
    key: str
    records: dict[int, tuple[str, dict]]
    pictures: str | None  # the folder of hidden/control pictures (absolute), or None


class Engine(Protocol):
    def measured(self, batches: Iterable[Sequence[Item]]) -> Iterator[Measured]:
        """Each batch's :class:`Measured`, a batch at a time (each stored before the next)."""
        ...


def measure_batch(measurer: Measurer, batch: Sequence[Item]) -> Measured:
    """Measure one batch; items whose photo cannot be read are failed, not measured."""
    first = len(measurer.errors)
    readable = [i for i in batch if measurer.photo(i.photo.image_id) is not None]
    failed = [i for i in batch if measurer.photo(i.photo.image_id) is None]
    rows = measurer.measure(readable)
    return Measured(rows, len(batch), failed, list(measurer.errors[first:]))


def new_measurer(plan: Plan, device: str | None) -> Measurer:
    """A measurer with the run's model loaded on ``device``."""
    pictures = Path(plan.pictures) if plan.pictures else None
    model = plan.run.load(device)
    return Measurer(model, plan.run, plan.seed, plan.fill, plan.key, plan.records, pictures)


@dataclass
class LocalEngine:
    """Measures in this process, with the run's model on ``device``."""

    plan: Plan
    device: str | None = None

    def measured(self, batches: Iterable[Sequence[Item]]) -> Iterator[Measured]:
        measurer = new_measurer(self.plan, self.device)
        for batch in batches:
            yield measure_batch(measurer, batch)


def _item_names() -> list[str]:
    """The fields that name what an item measures (``cls``, ``word`` ...), its photo aside."""
    return [f.name for f in fields(Item) if f.name != "photo"]


def item_key(item: Item) -> str:
    """One photo-word (a stored row has the same :func:`row_key`)."""
    names = [getattr(item, name) for name in _item_names()]
    return json.dumps([*names, item.photo.image_id], ensure_ascii=False)


def row_key(row: PhotoEffect) -> str:
    """The :func:`item_key` of the photo-word a stored row measured."""
    names = [getattr(row, name) for name in _item_names()]
    return json.dumps([*names, row.image_id], ensure_ascii=False)


def _encode(batch: Sequence[Item]) -> str:
    """Items as JSON (every field of the item and of its photo)."""
    items = [{**{n: getattr(i, n) for n in _item_names()}, "photo": asdict(i.photo)} for i in batch]
    return json.dumps(items, ensure_ascii=False)


def _decode(record: str) -> list[Item]:
    out = []
    for item in json.loads(record):
        photo = {k: tuple(v) if isinstance(v, list) else v for k, v in item.pop("photo").items()}
        out.append(Item(**item, photo=Candidate(**photo)))
    return out


@dataclass
class RayEngine:
    """Measures on a pool of Ray actors (:mod:`core.jobs.ray_pool`), shards in ``shard_dir``."""

    plan: Plan
    options: EngineOptions
    shard_dir: Path
    timings: dict[str, float] = field(default_factory=dict)
    actors: dict[int, dict[str, Any]] = field(default_factory=dict)  # by actor pid

    def measured(self, batches: Iterable[Sequence[Item]]) -> Iterator[Measured]:
        from core.jobs.ray_pool import stream

        batches = list(batches)

        def todo(done: set[str]) -> list[str]:
            left = [[i for i in b if item_key(i) not in done] for b in batches]
            return [_encode(b) for b in left if b]

        kwargs = {
            "plan": self.plan,
            "device": self.options.device,
            "plugins": self.options.ray.plugins,
            "shard_dir": str(self.shard_dir.resolve()),
        }
        for shard in stream(
            self.shard_dir, todo, VerifyActor, kwargs, self.options.ray, row_type=PhotoEffect,
            key=row_key, timings=self.timings,
        ):  # fmt: skip
            meta = shard.meta
            failed = _decode(json.dumps(meta.get("failed", [])))
            size = int(meta.get("size", len(shard.rows) + len(failed)))
            if not shard.recovered:
                actor = self.actors.setdefault(shard.pid, {"node_id": shard.node_id, "items": 0})
                actor["items"] += size
            yield Measured(list(shard.rows), size, failed, list(meta.get("errors", [])))
        report = {**self.timings, "actors": list(self.actors.values())}
        log.info("ray engine: %d actors", len(self.actors), extra={"ray_engine": report})


class VerifyActor:
    """A Ray Data actor: the run's model; a batch of photo-words in, a shard name out."""

    def __init__(
        self, plan: Plan, device: str, plugins: Sequence[str], shard_dir: str, actors: int
    ) -> None:
        from core.jobs.ray_pool import actor_setup

        started = time.monotonic()
        self.node_id = actor_setup(plugins)
        self.measurer = new_measurer(plan, device)
        self.shard_dir = Path(shard_dir)
        self.init_s = time.monotonic() - started

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        from core.jobs.ray_shards import write_shard

        started = time.monotonic()
        shards = []
        for record in batch["batch"]:
            out = measure_batch(self.measurer, _decode(record))
            failed = json.loads(_encode(out.failed))
            meta = {"failed": failed, "errors": out.errors, "size": out.size}
            shard = write_shard(
                out.rows, self.shard_dir, self.node_id, row_type=PhotoEffect, meta=meta
            )
            shards.append(str(shard))
        seconds = time.monotonic() - started
        return {"shard": shards, "batch_s": [seconds / len(shards)] * len(shards),
                "init_s": [self.init_s] * len(shards)}  # fmt: skip
