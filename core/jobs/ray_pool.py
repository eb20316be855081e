"""The Ray side every job's Ray engine shares: joining Ray, an actor pool over Ray Data, shards.

A job's Ray engine (the photo job's :mod:`core.jobs.ray_engine`, verification's
:mod:`core.verify.engines`) hands :func:`stream` its batches as JSON-safe records and an actor
class. :func:`stream`:

1. yields the shards an earlier, crashed driver left in the job's shard folder first (the
   caller drops their finished inputs from its batches: nothing finished is recomputed);
2. sends the remaining batches through ``ray.data.from_items(...).map_batches(actor, ...)``
   over an actor pool, one job batch per Ray row: each actor computes its batch, writes the
   results to a new shard (:mod:`core.jobs.ray_shards`) and returns only the shard's name;
3. deletes each shard once the job asks for the next one (after the job committed it).

A driver killed mid-job loses only the batches in flight; a dead actor is restarted by Ray
Data and its batch retried. Ray is imported only inside functions.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from core.errors import WordcamError
from core.jobs.ray_options import RayOptions, check_reachable
from core.jobs.ray_shards import ShardBatch, drain, read_shard

log = logging.getLogger(__name__)


def stream(
    shard_dir: Path,
    todo: Callable[[set[str]], list[Any]],
    actor: type,
    kwargs: dict[str, Any],
    options: RayOptions,
    row_type: type | None = None,
    key: Callable[[Any], str] = lambda row: row.path,
    timings: dict[str, float] | None = None,
    around: Callable[[], AbstractContextManager[dict[str, Any]]] | None = None,
) -> Iterator[ShardBatch]:
    """The job's results, one shard at a time: the shards left behind first, then the pool's.

    ``todo(finished)``: the job's batches as JSON-safe records, without the inputs whose
    ``key`` is in ``finished`` (those of the shards left behind). ``actor(**kwargs,
    actors=N)`` is constructed on each actor; called with ``{"batch": [record]}`` it returns
    ``{"shard": [path], "batch_s": [s], "init_s": [s]}``. ``around()``: a context held while
    the pool runs, giving more actor arguments (the job-wide limits of an API explainer).
    Store each shard's rows before asking for the next: it is deleted then.
    """
    finished: set[str] = set()
    for batch in drain(shard_dir, row_type):
        finished.update(key(r) for r in batch.rows if getattr(r, "status", "done") == "done")
        yield batch
    records = [record for record in todo(finished) if record]
    if not records:
        return
    started = time.monotonic()
    with ray_session(options.address), (around or _no_more)() as more:
        if timings is not None:
            timings["ray_start_s"] = round(time.monotonic() - started, 2)
        for manifest in pool(records, actor, {**kwargs, **more}, options):
            batch = read_shard(manifest["shard"], row_type)
            batch.batch_s, batch.init_s = manifest["batch_s"], manifest["init_s"]
            yield batch
            batch.shard.unlink(missing_ok=True)


def _no_more() -> AbstractContextManager[dict[str, Any]]:
    return nullcontext({})


def pool(
    records: Sequence[Any], actor: type, kwargs: dict[str, Any], options: RayOptions
) -> Iterator[dict[str, Any]]:
    """Each record through an actor of a pool (one record per call); the actors' answers."""
    import ray

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    actors = min(actor_count(options), len(records))  # no idle actors for a short to-do list
    items = [{"batch": record} for record in records]
    # One job batch per block: an actor never holds more than the batch it is working on.
    dataset = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        actor,
        fn_constructor_kwargs={**kwargs, "actors": actors},
        batch_size=1,  # one job batch (already sized by the job) per call
        # One batch at a time per actor: a free actor takes the next batch (no queue behind a
        # busy one), so the last batches do not wait while another actor idles.
        compute=ray.data.ActorPoolStrategy(size=actors, max_tasks_in_flight_per_actor=1),
        num_cpus=options.cpus_per_actor,
        num_gpus=options.gpus_per_actor or None,
    )
    yield from manifests(dataset)


def manifests(dataset: Any) -> Iterator[dict[str, Any]]:
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


def actor_count(options: RayOptions) -> int:
    """``options.actors``, or as many as the cluster's CPUs (or GPUs) allow."""
    import ray

    if options.actors:
        return int(options.actors)
    resources = ray.cluster_resources()
    if options.gpus_per_actor:
        return max(1, int(resources.get("GPU", 0) / options.gpus_per_actor))
    return max(1, int(resources.get("CPU", 1) / options.cpus_per_actor))


def actor_setup(plugins: Sequence[str]) -> str:
    """What every actor does first: import the job's plugins (:func:`core.registry.load_plugins`);
    returns the actor's node id."""
    import ray

    from core.registry import load_plugins

    load_plugins(plugins)
    return ray.get_runtime_context().get_node_id()


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
